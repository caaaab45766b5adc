/* The C API from C99: a host's arrays advanced by a trained surrogate without copies, the
 * same values on 2 ranks (mesh partitioned) as on 1, the host's own steps, and errors as
 * codes with messages. Usage: test_c_api MODEL_DIR (a Burgers model, see CMakeLists). */
#include <hdf5.h>
#include <lats.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 32
static int failures = 0;
#define EXPECT(cond, ...)                                                \
  do {                                                                   \
    if (!(cond)) {                                                       \
      ++failures;                                                        \
      fprintf(stderr, "%s:%d: failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                      \
      fprintf(stderr, "\n");                                             \
    }                                                                    \
  } while (0)

static void initial(double* u, const double* x, int n) {
  for (int i = 0; i < n; ++i) u[i] = sin(2 * M_PI * x[i]) + 0.5;
}

/* Runs `steps` surrogate steps on points [first, first + n) of the 32 cell centres. */
static int run(MPI_Comm comm, const char* options, int first, int n, int steps, double* u) {
  double x[N];
  for (int i = 0; i < n; ++i) x[i] = (first + i + 0.5) / N;
  initial(u, x, n);
  lats_session s = NULL;
  int rc = lats_session_create(comm, options, &s);
  if (rc == LATS_OK) rc = lats_session_set_points(s, 1, n, x);
  if (rc == LATS_OK) rc = lats_session_add_field(s, "burgers", 1, u);
  if (rc == LATS_OK) rc = lats_session_setup(s, "surrogate");
  for (int k = 0; k < steps && rc == LATS_OK; ++k) {
    double taken = 0;
    rc = lats_session_step(s, 0.05, &taken);
    EXPECT(fabs(taken - 0.05) < 1e-15, "dt taken %g", taken);
  }
  if (rc != LATS_OK) fprintf(stderr, "run: %s %s\n", lats_session_last_error(s), lats_last_error());
  lats_session_destroy(&s);
  EXPECT(s == NULL, "destroy sets the handle to NULL");
  return rc;
}

/* The host's own step for section 6: u <- u exp(-dt) at every point (a pointwise decay, so
 * any partition gives the same values); counts its calls and those on the host's own array. */
struct HostModel {
  int n, calls, onHostArray, failAt;
  double* u;
};
static int hostDecay(void* context, double time, double dt, double* const* values) {
  struct HostModel* m = (struct HostModel*)context;
  (void)time;
  ++m->calls;
  if (values[0] == m->u) ++m->onHostArray;
  for (int i = 0; i < m->n; ++i) values[0][i] *= exp(-dt);
  return m->calls == m->failAt ? 1 : 0; /* a failure after it wrote: LaTS must restore */
}

/* A session on points [first, last) whose "classical" stepper is hostDecay. */
static lats_session hostSession(const char* options, int first, int last, double* x, double* u, struct HostModel* m,
                                const char* stepper) {
  const int n = last - first;
  for (int i = 0; i < n; ++i) x[i] = (first + i + 0.5) / N;
  initial(u, x, n);
  m->n = n;
  m->calls = m->onHostArray = 0;
  m->u = u;
  lats_session s = NULL;
  EXPECT(lats_session_create(MPI_COMM_WORLD, options, &s) == LATS_OK, "%s", lats_last_error());
  EXPECT(lats_session_set_points(s, 1, n, x) == LATS_OK, "%s", lats_session_last_error(s));
  EXPECT(lats_session_add_field(s, "burgers", 1, u) == LATS_OK, "%s", lats_session_last_error(s));
  EXPECT(lats_session_set_host_step(s, hostDecay, m) == LATS_OK, "%s", lats_session_last_error(s));
  EXPECT(lats_session_setup(s, stepper) == LATS_OK, "%s", lats_session_last_error(s));
  return s;
}

/* One assimilating step (see main, part 4) on points [first, last); returns the RMS misfit of
 * the host's array at the 8 sensors, over all ranks. */
static double assimilate(const char* options, int first, int last, double noiseStd) {
  double x[N], u[N], xs[8], ys[8], noise[8];
  const int n = last - first;
  for (int i = 0; i < n; ++i) x[i] = (first + i + 0.5) / N;
  initial(u, x, n);
  for (int k = 0; k < 8; ++k) {
    xs[k] = (4 * k + 1.5) / N; /* cell centres 1, 5, 9, ... */
    ys[k] = sin(2 * M_PI * (xs[k] + 0.1)) + 0.5;
    noise[k] = noiseStd;
  }
  char daOptions[4200];
  snprintf(daOptions, sizeof daOptions, "%s -lats_da_member surrogate -lats_ensemble_size 4 -lats_da_init_spread 0.3",
           options);
  lats_session s;
  EXPECT(lats_session_create(MPI_COMM_WORLD, daOptions, &s) == LATS_OK, "%s", lats_last_error());
  EXPECT(lats_session_set_points(s, 1, n, x) == LATS_OK, "%s", lats_session_last_error(s));
  EXPECT(lats_session_add_field(s, "burgers", 1, u) == LATS_OK, "%s", lats_session_last_error(s));
  EXPECT(lats_session_add_observations(s, 0.05, 4, xs, "burgers", ys, noise) == LATS_OK, "%s",
         lats_session_last_error(s));
  EXPECT(lats_session_setup(s, "assimilating") == LATS_OK, "%s", lats_session_last_error(s));
  EXPECT(lats_session_add_observations(s, 0.05, 4, xs + 4, "burgers", ys + 4, noise) == LATS_OK, "%s",
         lats_session_last_error(s));
  EXPECT(lats_session_step(s, 0.05, NULL) == LATS_OK, "%s", lats_session_last_error(s));
  /* Sensors of the past, unknown components, NaN values: codes with messages. */
  EXPECT(lats_session_add_observations(s, 0.01, 1, xs, "burgers", ys, noise) == LATS_ERR_INVALID_VALUE, "past");
  EXPECT(strstr(lats_session_last_error(s), "arrive after the ensemble reached") != NULL, "%s",
         lats_session_last_error(s));
  EXPECT(lats_session_add_observations(s, 0.1, 1, xs, "v", ys, noise) == LATS_ERR_CONFIGURATION, "component");
  double bad = NAN;
  EXPECT(lats_session_add_observations(s, 0.1, 1, xs, "burgers", &bad, noise) == LATS_ERR_INVALID_VALUE, "NaN");
  lats_session_destroy(&s);
  double misfit = 0, all = 0;
  for (int k = 0; k < 8; ++k) {
    const int i = 4 * k + 1;
    if (i >= first && i < last) misfit += pow(u[i - first] - ys[k], 2);
  }
  MPI_Allreduce(&misfit, &all, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return sqrt(all / 8);
}

int main(int argc, char** argv) {
  EXPECT(lats_initialize(&argc, &argv) == LATS_OK, "%s", lats_last_error());
  if (argc < 2) {
    fprintf(stderr, "usage: test_c_api MODEL_DIR\n");
    return 2;
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char options[4096];
  snprintf(options, sizeof options, "-lats_model %s -lats_surrogate_parameters nu=0.02", argv[1]);

  /* 1. The whole mesh on this rank alone, then a block per rank: the same values. */
  double serial[N], part[N];
  EXPECT(run(MPI_COMM_SELF, options, 0, N, 3, serial) == LATS_OK, "serial run");
  const int first = rank * N / size, last = (rank + 1) * N / size;
  EXPECT(run(MPI_COMM_WORLD, options, first, last - first, 3, part) == LATS_OK, "partitioned run");
  double worst = 0, scale = 0;
  for (int i = first; i < last; ++i) {
    worst = fmax(worst, fabs(part[i - first] - serial[i]));
    scale = fmax(scale, fabs(serial[i]));
  }
  double x0[N];
  for (int i = 0; i < N; ++i) x0[i] = (i + 0.5) / N;
  double u0[N];
  initial(u0, x0, N);
  double moved = 0;
  for (int i = 0; i < N; ++i) moved = fmax(moved, fabs(serial[i] - u0[i]));
  printf("[c api] rank %d/%d: |partitioned - serial| / max|u| = %.2e; the host array changed by %.3f\n", rank, size,
         worst / scale, moved);
  EXPECT(worst <= 1e-5 * scale, "partitioned differs from serial by %g", worst);
  EXPECT(moved > 1e-3, "the surrogate wrote into the host's array (zero copy)");

  /* 2. The host's own step: time and count advance, the next surrogate step starts from it. */
  {
    double x[N], u[N];
    for (int i = 0; i < N; ++i) x[i] = (i + 0.5) / N;
    initial(u, x, N);
    lats_session s;
    EXPECT(lats_session_create(MPI_COMM_SELF, options, &s) == LATS_OK, "%s", lats_last_error());
    EXPECT(lats_session_set_points(s, 1, N, x) == LATS_OK, "%s", lats_session_last_error(s));
    EXPECT(lats_session_add_field(s, "burgers", 1, u) == LATS_OK, "%s", lats_session_last_error(s));
    EXPECT(lats_session_setup(s, NULL) == LATS_OK, "%s", lats_session_last_error(s));
    for (int i = 0; i < N; ++i) u[i] *= 0.9; /* "my own step" */
    EXPECT(lats_session_host_step(s, 0.05) == LATS_OK, "%s", lats_session_last_error(s));
    EXPECT(lats_session_step(s, 0.05, NULL) == LATS_OK, "%s", lats_session_last_error(s));
    double t = 0;
    int64_t steps = 0;
    int status = -1;
    lats_session_status(s, &t, &steps, &status);
    EXPECT(fabs(t - 0.1) < 1e-15 && steps == 2 && status == LATS_STEP_SUCCESS, "t %g steps %lld status %d", t,
           (long long)steps, status);
    EXPECT(lats_session_host_step(s, -0.05) == LATS_ERR_INVALID_VALUE, "negative host step");
    EXPECT(strstr(lats_session_last_error(s), "expected a positive finite step") != NULL, "%s",
           lats_session_last_error(s));
    EXPECT(lats_session_set_points(s, 1, N, x) == LATS_ERR_CONFIGURATION, "points after setup");
    EXPECT(strstr(lats_session_last_error(s), "already set up") != NULL, "%s", lats_session_last_error(s));
    /* A step smaller than the model's: a failed step with the reason, arrays untouched. */
    double before = u[3];
    EXPECT(lats_session_step(s, 0.01, NULL) == LATS_ERR_STEP_FAILED, "small step");
    EXPECT(strstr(lats_session_last_error(s), "model's time step") != NULL, "%s", lats_session_last_error(s));
    lats_session_status(s, NULL, NULL, &status);
    EXPECT(status == LATS_STEP_REJECTED && u[3] == before, "status %d", status);
    lats_session_destroy(&s);
  }

  /* 3. Errors are codes with messages, never crashes. */
  {
    lats_session s = NULL;
    EXPECT(lats_session_create(MPI_COMM_WORLD, "-lats_modell x", &s) == LATS_ERR_CONFIGURATION, "bad option");
    EXPECT(strstr(lats_last_error(), "Did you mean -lats_model?") != NULL, "%s", lats_last_error());
    EXPECT(s == NULL, "no session on failure");
    EXPECT(lats_session_create(MPI_COMM_WORLD, NULL, &s) == LATS_OK, "%s", lats_last_error());
    EXPECT(lats_session_add_field(s, "u", 1, NULL) == LATS_ERR_CONFIGURATION, "field before points");
    EXPECT(strstr(lats_session_last_error(s), "lats_session_set_points first") != NULL, "%s",
           lats_session_last_error(s));
    double x[2] = {0.25, 0.75}, u[2] = {1, 2};
    EXPECT(lats_session_set_points(s, 4, 2, x) == LATS_ERR_INVALID_VALUE, "dimension 4");
    EXPECT(lats_session_set_points(s, 1, 2, x) == LATS_OK, "%s", lats_session_last_error(s));
    EXPECT(lats_session_add_field(s, "u", 1, NULL) == LATS_ERR_INVALID_VALUE, "NULL values");
    EXPECT(lats_session_step(s, 0.1, NULL) == LATS_ERR_CONFIGURATION, "step before setup");
    EXPECT(lats_session_add_field(s, "velocity", 1, u) == LATS_OK, "%s", lats_session_last_error(s));
    EXPECT(lats_session_setup(s, "surrogat") == LATS_ERR_CONFIGURATION, "unknown stepper");
    EXPECT(strstr(lats_session_last_error(s), "Did you mean 'surrogate'?") != NULL, "%s", lats_session_last_error(s));
    lats_session_destroy(&s);
    /* The model expects a field 'burgers'. */
    EXPECT(lats_session_create(MPI_COMM_WORLD, options, &s) == LATS_OK, "%s", lats_last_error());
    lats_session_set_points(s, 1, 2, x);
    lats_session_add_field(s, "velocity", 1, u);
    EXPECT(lats_session_setup(s, "surrogate") == LATS_ERR_MODEL_MISMATCH, "field mismatch");
    EXPECT(strstr(lats_session_last_error(s), "expects a field 'burgers'") != NULL, "%s", lats_session_last_error(s));
    EXPECT(lats_finalize() == LATS_ERR_CONFIGURATION, "finalize with a live session");
    lats_session_destroy(&s);
    EXPECT(lats_session_step(NULL, 0.1, NULL) == LATS_ERR_INVALID_VALUE, "NULL session");
  }

  /* 4. Assimilation: 8 sensors read a shifted profile at t = 0.05; an ensemble of 4
   * surrogates (LETKF), observations added before and after setup, the mesh partitioned over
   * the ranks. With informative sensors (noise 0.02) the host's array ends closer to them
   * than with uninformative ones (noise 1e3): the same ensemble, only the analysis differs. */
  {
    const double informative = assimilate(options, first, last, 0.02);
    const double uninformative = assimilate(options, first, last, 1e3);
    printf("[c api] sensor misfit after one step: assimilating %.4f, same ensemble without information %.4f\n",
           informative, uninformative);
    EXPECT(informative < 0.9 * uninformative, "assimilation moves the host array toward the sensors");
  }

  /* 5. Recording: 2 surrogate steps and 1 host step, every step, on the partitioned points;
   * the dataset holds 4 snapshots at t = 0, 0.05, 0.1, 0.15 and its last one is the host's array. */
  {
    char path[64]; /* one file per rank count: ctest may run np1 and np2 at the same time */
    snprintf(path, sizeof path, "c_api_record_np%d.h5", size);
    if (rank == 0) remove(path);
    MPI_Barrier(MPI_COMM_WORLD);
    double x[N], u[N];
    const int n = last - first;
    for (int i = 0; i < n; ++i) x[i] = (first + i + 0.5) / N;
    initial(u, x, n);
    lats_session s;
    EXPECT(lats_session_create(MPI_COMM_WORLD, options, &s) == LATS_OK, "%s", lats_last_error());
    lats_session_set_points(s, 1, n, x);
    lats_session_add_field(s, "burgers", 1, u);
    EXPECT(lats_session_record(s, path, 1) == LATS_ERR_CONFIGURATION, "record before setup");
    EXPECT(lats_session_setup(s, "surrogate") == LATS_OK, "%s", lats_session_last_error(s));
    EXPECT(lats_session_record(s, path, 0) == LATS_ERR_INVALID_VALUE, "every 0");
    EXPECT(lats_session_record_finish(s) == LATS_ERR_CONFIGURATION, "finish without recording");
    EXPECT(strstr(lats_session_last_error(s), "not recording") != NULL, "%s", lats_session_last_error(s));
    EXPECT(lats_session_record(s, path, 1) == LATS_OK, "%s", lats_session_last_error(s));
    EXPECT(lats_session_record(s, path, 1) == LATS_ERR_CONFIGURATION, "recording twice");
    EXPECT(strstr(lats_session_last_error(s), "already recording") != NULL, "%s", lats_session_last_error(s));
    EXPECT(lats_session_record_finish(s) == LATS_ERR_INVALID_VALUE, "one snapshot is too few");
    EXPECT(lats_session_step(s, 0.05, NULL) == LATS_OK, "%s", lats_session_last_error(s));
    EXPECT(lats_session_step(s, 0.05, NULL) == LATS_OK, "%s", lats_session_last_error(s));
    for (int i = 0; i < n; ++i) u[i] *= 0.5; /* the host's own step */
    EXPECT(lats_session_host_step(s, 0.05) == LATS_OK, "%s", lats_session_last_error(s));
    EXPECT(lats_session_record_finish(s) == LATS_OK, "%s", lats_session_last_error(s));
    lats_session_destroy(&s);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    EXPECT(f >= 0, "open %s", path);
    if (f >= 0) {
      hid_t d = H5Dopen2(f, "fields", H5P_DEFAULT), space = H5Dget_space(d);
      hsize_t dims[4] = {0, 0, 0, 0};
      H5Sget_simple_extent_dims(space, dims, NULL);
      EXPECT(dims[0] == 1 && dims[1] == 4 && dims[2] == N && dims[3] == 1, "fields %llu x %llu x %llu x %llu",
             (unsigned long long)dims[0], (unsigned long long)dims[1], (unsigned long long)dims[2],
             (unsigned long long)dims[3]);
      double values[4 * N], times[4];
      H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
      hid_t td = H5Dopen2(f, "times", H5P_DEFAULT);
      H5Dread(td, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, times);
      double worst = 0;
      for (int i = 0; i < n; ++i) worst = fmax(worst, fabs(values[3 * N + first + i] - u[i]));
      EXPECT(worst == 0.0, "last snapshot differs from the host's array by %g", worst);
      EXPECT(fabs(times[0]) < 1e-15 && fabs(times[3] - 0.15) < 1e-12, "times %g .. %g", times[0], times[3]);
      H5Dclose(td);
      H5Sclose(space);
      H5Dclose(d);
      H5Fclose(f);
    }
  }

  /* 6. The host's own step function (lats_session_set_host_step) is the reference part of a
   * hybrid, under every trust policy, on the partitioned points. */
  {
    const int n = last - first;
    double x[N], u[N], expected[N];
    struct HostModel m = {0, 0, 0, 0, NULL};
    char o[4400];
    /* a. Error control with a residual tolerance no model meets: each surrogate step is
     * compared with the host's step from the same state (on a copy), rejected and replaced by
     * it; then 2 host steps on the host's array. 4 steps: exactly the host's decay 4 times. */
    snprintf(o, sizeof o,
             "%s -lats_hybrid_policy error -lats_hybrid_residual_every 1 -lats_hybrid_residual_tol 1e-12 "
             "-lats_hybrid_fallback_steps 2",
             options);
    lats_session s = hostSession(o, first, last, x, u, &m, "hybrid");
    for (int i = 0; i < n; ++i) expected[i] = u[i];
    for (int k = 0; k < 4; ++k) {
      EXPECT(lats_session_step(s, 0.05, NULL) == LATS_OK, "%s", lats_session_last_error(s));
      for (int i = 0; i < n; ++i) expected[i] *= exp(-0.05);
    }
    double worst = 0;
    for (int i = 0; i < n; ++i) worst = fmax(worst, fabs(u[i] - expected[i]));
    printf("[c api] hybrid, error control, host step: %d host calls (%d on the host's array), |u - decay^4| = %.1e\n",
           m.calls, m.onHostArray, worst);
    EXPECT(worst == 0.0 && m.calls == 4 && m.onHostArray == 2, "calls %d on array %d worst %g", m.calls, m.onHostArray,
           worst);
    lats_session_destroy(&s);
    /* b. Loose tolerances: every surrogate step is kept, the host is never called, and the
     * result is the plain surrogate's bit for bit. (Options stay in the database from one
     * session to the next: the residual check is switched off explicitly.) */
    snprintf(o, sizeof o, "%s -lats_hybrid_policy error -lats_hybrid_bound_tol 0 -lats_hybrid_residual_every 0",
             options);
    s = hostSession(o, first, last, x, u, &m, "hybrid");
    for (int k = 0; k < 3; ++k) EXPECT(lats_session_step(s, 0.05, NULL) == LATS_OK, "%s", lats_session_last_error(s));
    lats_session_destroy(&s);
    double plain[N];
    EXPECT(run(MPI_COMM_WORLD, options, first, n, 3, plain) == LATS_OK, "plain surrogate run");
    worst = 0;
    for (int i = 0; i < n; ++i) worst = fmax(worst, fabs(u[i] - plain[i]));
    EXPECT(m.calls == 0 && worst == 0.0, "loose: %d host calls, differs from the surrogate by %g", m.calls, worst);
    /* c. A schedule of 1 surrogate + 1 host step: the host steps on its own array, once. */
    snprintf(o, sizeof o,
             "%s -lats_hybrid_policy schedule -lats_hybrid_surrogate_steps 1 "
             "-lats_hybrid_classical_steps 1",
             options);
    s = hostSession(o, first, last, x, u, &m, "hybrid");
    for (int k = 0; k < 2; ++k) EXPECT(lats_session_step(s, 0.05, NULL) == LATS_OK, "%s", lats_session_last_error(s));
    EXPECT(m.calls == 1 && m.onHostArray == 1, "schedule: %d host calls, %d on the array", m.calls, m.onHostArray);
    lats_session_destroy(&s);
    /* d. "spread" needs an ensemble: a clear error at setup. */
    snprintf(o, sizeof o, "%s -lats_hybrid_policy spread -lats_hybrid_spread_tol 0.1", options);
    EXPECT(lats_session_create(MPI_COMM_WORLD, o, &s) == LATS_OK, "%s", lats_last_error());
    lats_session_set_points(s, 1, n, x);
    lats_session_add_field(s, "burgers", 1, u);
    lats_session_set_host_step(s, hostDecay, &m);
    EXPECT(lats_session_setup(s, "hybrid") == LATS_ERR_CONFIGURATION, "spread without an ensemble");
    EXPECT(strstr(lats_session_last_error(s), "is a single run; give it members") != NULL, "%s",
           lats_session_last_error(s));
    lats_session_destroy(&s);
    /* e. A hybrid without the host's step on a point cloud: refused, saying what to give. */
    EXPECT(lats_session_create(MPI_COMM_WORLD, options, &s) == LATS_OK, "%s", lats_last_error());
    lats_session_set_points(s, 1, n, x);
    lats_session_add_field(s, "burgers", 1, u);
    EXPECT(lats_session_setup(s, "hybrid") == LATS_ERR_CONFIGURATION, "hybrid without a host step");
    EXPECT(strstr(lats_session_last_error(s), "lats_session_set_host_step") != NULL, "%s", lats_session_last_error(s));
    lats_session_destroy(&s);
    /* f. The host's step alone ("classical"); a failure restores the arrays. */
    s = hostSession(options, first, last, x, u, &m, "classical");
    m.failAt = 2;
    EXPECT(lats_session_step(s, 0.05, NULL) == LATS_OK, "%s", lats_session_last_error(s));
    for (int i = 0; i < n; ++i) expected[i] = u[i];
    EXPECT(lats_session_step(s, 0.05, NULL) == LATS_ERR_STEP_FAILED, "a failing host step");
    EXPECT(strstr(lats_session_last_error(s), "reported a failure") != NULL, "%s", lats_session_last_error(s));
    worst = 0;
    for (int i = 0; i < n; ++i) worst = fmax(worst, fabs(u[i] - expected[i]));
    EXPECT(worst == 0.0, "a failed host step left the arrays changed by %g", worst);
    m.failAt = 0;
    lats_session_destroy(&s);
  }

  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT(lats_finalize() == LATS_OK, "%s", lats_last_error());
  if (rank == 0) printf("[c api] %d failure(s)\n", all);
  return all == 0 ? 0 : 1;
}
