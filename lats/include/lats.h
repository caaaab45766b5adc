/* lats.h: the C API of LaTS (C99; usable from C, C++ and Fortran through bind(C)).
 *
 * A host code (an OpenFOAM-style or Fortran finite-volume solver) keeps its own arrays:
 * it hands LaTS its cell centres and field arrays by pointer (no copy), then lets LaTS
 * advance them (a surrogate step of a trained model) or advances them itself and says so.
 *
 *     lats_initialize(&argc, &argv);                      // or let the first session do it
 *     lats_session s;
 *     lats_session_create(MPI_COMM_WORLD, "-lats_model m -lats_surrogate_parameters nu=0.02", &s);
 *     lats_session_set_points(s, 2, n_cells, centres);    // owned cells, xyz interleaved
 *     lats_session_add_field(s, "burgers", 1, u);         // u[n_cells * components]
 *     lats_session_setup(s, "surrogate");
 *     lats_session_step(s, dt, &taken);                   // u now holds the surrogate's step
 *     my_own_step(u); lats_session_host_step(s, dt);      // the host's step, LaTS is told
 *     lats_session_destroy(&s);
 *     lats_finalize();
 *
 * Every function returns LATS_OK (0) or an error code; lats_session_last_error() (or
 * lats_last_error() for failures without a session) gives the message. No exception
 * crosses the API. Functions marked collective must be called on every rank of the
 * session's communicator; their errors are raised on every rank alike.
 */
#ifndef LATS_H
#define LATS_H

#include <mpi.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum lats_code {
  LATS_OK = 0,
  LATS_ERR_GENERIC = 1,            /* any other failure */
  LATS_ERR_CONFIGURATION = 2,      /* unknown option or name, call out of order */
  LATS_ERR_DIMENSION_MISMATCH = 3, /* sizes that do not fit */
  LATS_ERR_FILE_FORMAT = 4,        /* missing or corrupt files */
  LATS_ERR_MODEL_MISMATCH = 5,     /* a model that does not fit the mesh or fields */
  LATS_ERR_INVALID_VALUE = 6,      /* NaN, negative sizes, null pointers */
  LATS_ERR_STEP_FAILED = 7         /* a step did not succeed (diverged, rejected): see the message */
};

/* Status of the last step (lats_session_status). */
enum lats_step_status {
  LATS_STEP_SUCCESS = 0,
  LATS_STEP_DIVERGED = 1,
  LATS_STEP_SOLVER_FAILED = 2,
  LATS_STEP_REJECTED = 3
};

typedef struct lats_session_s* lats_session;

/* Starts MPI (unless the host did), PETSc and Kokkos; argc/argv may be NULL. Optional: the
 * first lats_session_create() starts them too. Collective over MPI_COMM_WORLD. */
int lats_initialize(int* argc, char*** argv);
/* Stops what lats_initialize (or the first session) started; every session must be
 * destroyed first. */
int lats_finalize(void);
/* The message of the last failure of a call without a session (thread-local). */
const char* lats_last_error(void);

/* A session on `comm`; `options` ("-lats_model dir -ts_type rk ...", may be NULL) are
 * added to the options database. Collective. */
int lats_session_create(MPI_Comm comm, const char* options, lats_session* session);
/* The same for Fortran communicators (MPI_Fint, e.g. MPI_COMM_WORLD in Fortran). */
int lats_session_create_f(MPI_Fint comm, const char* options, lats_session* session);
/* The owned entities of this rank: `n` points of dimension `dim` (1 to 3), coordinates
 * interleaved (x0 y0 x1 y1 ...). Copied. */
int lats_session_set_points(lats_session session, int dim, int64_t n, const double* xyz);
/* A field of `components` values per point, entity-major, in the host's memory (not
 * copied: it must stay valid until the session is destroyed; LaTS writes into it). */
int lats_session_add_field(lats_session session, const char* name, int components, double* values);
/* The host's own step, for LaTS to call: advance `values[f]` (the fields in the order they
 * were added, n * components values each) from `time` by `dt` in place and return 0, or
 * anything else on failure (LaTS then restores the arrays; a failure on any rank is a
 * failure on all). The arrays are the session's fields or, when a trust policy compares a
 * surrogate step with the host's (-lats_hybrid_residual_every), copies of them. Collective. */
typedef int (*lats_host_step_fn)(void* context, double time, double dt, double* const* values);
/* Makes `step` (with `context`) the session's "classical" stepper: lats_session_setup(s,
 * "classical") steps with it, and a "hybrid" session uses it as its reference part (any trust
 * policy: -lats_hybrid_policy schedule, error or spread). Before lats_session_setup. */
int lats_session_set_host_step(lats_session session, lats_host_step_fn step, void* context);
/* Creates the stepper by name ("surrogate", "hybrid", "assimilating", "rk", ...; NULL:
 * "surrogate") from the options and checks that points and fields fit it. Collective. */
int lats_session_setup(lats_session session, const char* stepper);
/* One step of at most dt; *dt_taken (may be NULL) gets the time advanced. A failed step
 * returns LATS_ERR_STEP_FAILED and leaves the arrays as they were. Collective. */
int lats_session_step(lats_session session, double dt, double* dt_taken);
/* Steps to `to_time`, starting with `dt`. Collective. */
int lats_session_advance(lats_session session, double to_time, double dt);
/* The host advanced its arrays by `dt` itself: the session's time moves on and the
 * surrogate continues from the host's values (they join its history). Collective. */
int lats_session_host_step(lats_session session, double dt);
/* Makes the arrays hold the current state (after steps with -lats_surrogate_decode_every
 * k > 1 or 0). Collective. */
int lats_session_synchronize(lats_session session);
/* Observations for a session set up with the "assimilating" stepper (options -lats_da_type,
 * -lats_ensemble_size, -lats_da_member surrogate, ...): `n` sensors at `xyz` (dim values
 * each, in the points' dimension) observe `component` ("u", or "field.component") with
 * noise standard deviations `noise_std`; their values at `time` are `values`. Before or
 * after lats_session_setup (after it, `time` must lie ahead of the session's time). Copied.
 * Collective: the same sensors and values on every rank. */
int lats_session_add_observations(lats_session session, double time, int64_t n, const double* xyz,
                                  const char* component, const double* values, const double* noise_std);
/* Records the session's fields as a dataset (HDF5, the format of `lats generate`, with an
 * XDMF sidecar) so that the host's run becomes training data: a snapshot now and after
 * every `every`-th successful step (LaTS's or the host's own). The snapshots are kept in
 * memory and written by lats_session_record_finish or lats_session_destroy. After setup.
 * Collective. */
int lats_session_record(lats_session session, const char* path, int every);
/* Writes the recording (at least two snapshots). Collective. */
int lats_session_record_finish(lats_session session);
/* Time, step count and the status of the last step (any pointer may be NULL). */
int lats_session_status(lats_session session, double* time, int64_t* steps, int* last_step_status);
/* The message of the session's last failure ("" if none). */
const char* lats_session_last_error(lats_session session);
/* Frees the session and sets *session to NULL. Collective. */
int lats_session_destroy(lats_session* session);

#ifdef __cplusplus
}
#endif

#endif /* LATS_H */
