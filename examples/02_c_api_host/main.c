/* An OpenFOAM-style host code in C99 that drives LaTS through its C API (lats.h).
 *
 * The host owns everything a finite-volume code owns: an unstructured triangle mesh read
 * from a gmsh file (ASCII 2.2), face addressing (owner / neighbour per face, as OpenFOAM's
 * lduAddressing), cell volumes and centres, and its own explicit upwind advection-diffusion
 * step. It hands LaTS its cell centres and its field array (no copy) and, in a schedule,
 * lets a trained surrogate take some of the steps:
 *
 *     mpiexec -n 2 ./example_02 mesh.msh MODEL_DIR [steps] [own] [surrogate]
 *
 * runs `steps` macro steps of dt = 0.05 (the model's step): `own` steps of its solver,
 * then `surrogate` steps of the model, repeated; then the same run with its own solver
 * only, and prints the relative L2 difference. Every rank runs the (small) solver on the
 * whole mesh; LaTS gets each rank's contiguous block of cells, so the surrogate works on
 * a partitioned mesh, as it would with OpenFOAM's decomposed cases.
 *
 * The model must be trained on LaTS's advection_diffusion solver on the same kind of
 * domain, e.g. (see tests/install/c_api_example_test.sh):
 *     lats generate -lats_equation advection_diffusion -lats_mesh mesh.msh ...
 *     lats train ...
 */
#include <lats.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int nCells, nFaces;
  double *centre, *volume; /* cells: centre[2 c], volume[c] */
  int *owner, *neighbour;  /* faces: neighbour -1 on a wall */
  double *normal, *delta;  /* faces: area vector owner -> outside (2 f), |centre distance| */
} Mesh;

static const double vx = 1.0, vy = 0.5, nu = 0.01; /* the equation's parameters */

/* Reads the triangles of a gmsh ASCII 2.2 file and builds the face addressing. */
static int readGmsh(const char* path, Mesh* m) {
  FILE* f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "example_02: cannot open %s\n", path);
    return 1;
  }
  char line[512];
  int nNodes = 0, nElements = 0, nTri = 0;
  double* xy = NULL;
  int* tri = NULL;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "$MeshFormat", 11) == 0) {
      double version = 0;
      if (!fgets(line, sizeof line, f) || sscanf(line, "%lf", &version) != 1 || version >= 3) {
        fprintf(stderr, "example_02: %s is not gmsh ASCII 2.2 (write it with gmsh -format msh22)\n", path);
        return 1;
      }
    } else if (strncmp(line, "$Nodes", 6) == 0) {
      if (!fgets(line, sizeof line, f) || sscanf(line, "%d", &nNodes) != 1) return 1;
      xy = malloc(sizeof(double) * 2 * (nNodes + 1));
      for (int i = 0; i < nNodes; ++i) {
        int id;
        double x, y, z;
        if (!fgets(line, sizeof line, f) || sscanf(line, "%d %lf %lf %lf", &id, &x, &y, &z) != 4 || id < 1 ||
            id > nNodes)
          return 1;
        xy[2 * id] = x;
        xy[2 * id + 1] = y;
      }
    } else if (strncmp(line, "$Elements", 9) == 0) {
      if (!fgets(line, sizeof line, f) || sscanf(line, "%d", &nElements) != 1) return 1;
      tri = malloc(sizeof(int) * 3 * nElements);
      for (int e = 0; e < nElements; ++e) {
        int id, type, ntags, v[3], tag;
        if (!fgets(line, sizeof line, f)) return 1;
        char* p = line;
        int used;
        if (sscanf(p, "%d %d %d%n", &id, &type, &ntags, &used) != 3) return 1;
        p += used;
        for (int t = 0; t < ntags; ++t) {
          sscanf(p, "%d%n", &tag, &used);
          p += used;
        }
        if (type != 2) continue; /* triangles only */
        if (sscanf(p, "%d %d %d", &v[0], &v[1], &v[2]) != 3) return 1;
        memcpy(tri + 3 * nTri++, v, sizeof v);
      }
    }
  }
  fclose(f);
  if (nTri == 0) {
    fprintf(stderr, "example_02: %s has no triangles\n", path);
    return 1;
  }
  m->nCells = nTri;
  m->centre = malloc(sizeof(double) * 2 * nTri);
  m->volume = malloc(sizeof(double) * nTri);
  /* Faces: every edge once; an edge's first cell is its owner. */
  int maxFaces = 3 * nTri, nf = 0;
  int* edgeA = malloc(sizeof(int) * maxFaces);
  int* edgeB = malloc(sizeof(int) * maxFaces);
  m->owner = malloc(sizeof(int) * maxFaces);
  m->neighbour = malloc(sizeof(int) * maxFaces);
  int* head = malloc(sizeof(int) * (nNodes + 1)); /* faces by lowest vertex, chained */
  int* next = malloc(sizeof(int) * maxFaces);
  for (int i = 0; i <= nNodes; ++i) head[i] = -1;
  for (int c = 0; c < nTri; ++c) {
    const int* v = tri + 3 * c;
    const double x0 = xy[2 * v[0]], y0 = xy[2 * v[0] + 1], x1 = xy[2 * v[1]], y1 = xy[2 * v[1] + 1];
    const double x2 = xy[2 * v[2]], y2 = xy[2 * v[2] + 1];
    m->centre[2 * c] = (x0 + x1 + x2) / 3;
    m->centre[2 * c + 1] = (y0 + y1 + y2) / 3;
    m->volume[c] = 0.5 * fabs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0));
    for (int k = 0; k < 3; ++k) {
      int a = v[k], b = v[(k + 1) % 3];
      if (a > b) {
        int t = a;
        a = b;
        b = t;
      }
      int found = -1;
      for (int g = head[a]; g >= 0; g = next[g])
        if (edgeB[g] == b) found = g;
      if (found >= 0) {
        m->neighbour[found] = c;
      } else {
        edgeA[nf] = a;
        edgeB[nf] = b;
        m->owner[nf] = c;
        m->neighbour[nf] = -1;
        next[nf] = head[a];
        head[a] = nf++;
      }
    }
  }
  m->nFaces = nf;
  m->normal = malloc(sizeof(double) * 2 * nf);
  m->delta = malloc(sizeof(double) * nf);
  for (int g = 0; g < nf; ++g) {
    const double ax = xy[2 * edgeA[g]], ay = xy[2 * edgeA[g] + 1], bx = xy[2 * edgeB[g]], by = xy[2 * edgeB[g] + 1];
    double nx = by - ay, ny = -(bx - ax); /* length = edge length */
    const int o = m->owner[g], n = m->neighbour[g];
    const double fx = 0.5 * (ax + bx), fy = 0.5 * (ay + by);
    if (nx * (fx - m->centre[2 * o]) + ny * (fy - m->centre[2 * o + 1]) < 0) {
      nx = -nx;
      ny = -ny;
    }
    m->normal[2 * g] = nx;
    m->normal[2 * g + 1] = ny;
    m->delta[g] =
        n >= 0 ? hypot(m->centre[2 * n] - m->centre[2 * o], m->centre[2 * n + 1] - m->centre[2 * o + 1]) : 1.0;
  }
  free(edgeA);
  free(edgeB);
  free(head);
  free(next);
  free(xy);
  free(tri);
  return 0;
}

/* The host's own step: explicit upwind advection + two-point diffusion, walls with zero
 * normal gradient, sub-steps of a stable size landing on dt. */
static void ownStep(const Mesh* m, double* u, double dt) {
  double* flux = malloc(sizeof(double) * m->nCells);
  double dtStable = 1e300;
  for (int c = 0; c < m->nCells; ++c) flux[c] = 0;
  for (int g = 0; g < m->nFaces; ++g) {
    const double an = fabs(vx * m->normal[2 * g] + vy * m->normal[2 * g + 1]);
    const double d = m->neighbour[g] >= 0 ? nu * hypot(m->normal[2 * g], m->normal[2 * g + 1]) / m->delta[g] : 0;
    flux[m->owner[g]] += an + d;
    if (m->neighbour[g] >= 0) flux[m->neighbour[g]] += an + d;
  }
  for (int c = 0; c < m->nCells; ++c) dtStable = fmin(dtStable, 0.5 * m->volume[c] / flux[c]);
  const int sub = (int)ceil(dt / dtStable);
  const double h = dt / sub;
  for (int s = 0; s < sub; ++s) {
    for (int c = 0; c < m->nCells; ++c) flux[c] = 0;
    for (int g = 0; g < m->nFaces; ++g) {
      const int o = m->owner[g], n = m->neighbour[g];
      const double an = vx * m->normal[2 * g] + vy * m->normal[2 * g + 1];
      if (n < 0) {
        flux[o] -= an * u[o]; /* zero-gradient wall: the cell value on both sides */
        continue;
      }
      const double up = an > 0 ? u[o] : u[n];
      const double diff = nu * hypot(m->normal[2 * g], m->normal[2 * g + 1]) / m->delta[g] * (u[n] - u[o]);
      flux[o] += -an * up + diff;
      flux[n] -= -an * up + diff;
    }
    for (int c = 0; c < m->nCells; ++c) u[c] += h * flux[c] / m->volume[c];
  }
  free(flux);
}

static void initial(const Mesh* m, double* u) {
  for (int c = 0; c < m->nCells; ++c) {
    const double dx = m->centre[2 * c] - 0.3, dy = m->centre[2 * c + 1] - 0.3;
    u[c] = exp(-(dx * dx + dy * dy) / 0.02);
  }
}

#define CHECK(call)                                                                             \
  do {                                                                                          \
    if ((call) != LATS_OK) {                                                                    \
      fprintf(stderr, "example_02: %s failed: %s%s\n", #call, lats_session_last_error(session), \
              session ? "" : lats_last_error());                                                \
      return 1;                                                                                 \
    }                                                                                           \
  } while (0)

int main(int argc, char** argv) {
  if (lats_initialize(&argc, &argv) != LATS_OK) {
    fprintf(stderr, "example_02: %s\n", lats_last_error());
    return 1;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: example_02 mesh.msh MODEL_DIR [steps] [own] [surrogate]\n");
    return 2;
  }
  const int steps = argc > 3 ? atoi(argv[3]) : 12, own = argc > 4 ? atoi(argv[4]) : 2,
            surrogate = argc > 5 ? atoi(argv[5]) : 2;
  const double dt = 0.05;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  Mesh mesh;
  if (readGmsh(argv[1], &mesh)) return 1;
  const int first = rank * mesh.nCells / size, last = (rank + 1) * mesh.nCells / size, mine = last - first;

  double* u = malloc(sizeof(double) * mesh.nCells); /* the host's field (whole mesh) */
  double* block = malloc(sizeof(double) * mine);    /* this rank's block, shared with LaTS */
  double* reference = malloc(sizeof(double) * mesh.nCells);
  initial(&mesh, u);
  initial(&mesh, reference);
  memcpy(block, u + first, sizeof(double) * mine);

  char options[4096];
  snprintf(options, sizeof options, "-lats_model %s -lats_surrogate_parameters vx=%g,vy=%g,nu=%g", argv[2], vx, vy, nu);
  lats_session session = NULL;
  CHECK(lats_session_create(MPI_COMM_WORLD, options, &session));
  CHECK(lats_session_set_points(session, 2, mine, mesh.centre + 2 * first));
  CHECK(lats_session_add_field(session, "advection_diffusion", 1, block));
  CHECK(lats_session_setup(session, "surrogate"));

  int ownSteps = 0, surrogateSteps = 0;
  for (int k = 0; k < steps; ++k) {
    const int useSurrogate = (k % (own + surrogate)) >= own;
    if (useSurrogate) {
      CHECK(lats_session_step(session, dt, NULL)); /* LaTS writes into `block` */
      /* Reassemble the whole field from every rank's block for the next own step. */
      int* counts = malloc(sizeof(int) * size);
      int* offsets = malloc(sizeof(int) * size);
      for (int r = 0; r < size; ++r) {
        offsets[r] = r * mesh.nCells / size;
        counts[r] = (r + 1) * mesh.nCells / size - offsets[r];
      }
      MPI_Allgatherv(block, mine, MPI_DOUBLE, u, counts, offsets, MPI_DOUBLE, MPI_COMM_WORLD);
      free(counts);
      free(offsets);
      ++surrogateSteps;
    } else {
      ownStep(&mesh, u, dt);
      memcpy(block, u + first, sizeof(double) * mine);
      CHECK(lats_session_host_step(session, dt)); /* the surrogate continues from our values */
      ++ownSteps;
    }
    ownStep(&mesh, reference, dt);
  }
  double t = 0;
  int64_t n = 0;
  CHECK(lats_session_status(session, &t, &n, NULL));
  double num = 0, den = 0, mass = 0, massRef = 0;
  for (int c = 0; c < mesh.nCells; ++c) {
    num += (u[c] - reference[c]) * (u[c] - reference[c]);
    den += reference[c] * reference[c];
    mass += mesh.volume[c] * u[c];
    massRef += mesh.volume[c] * reference[c];
  }
  int ok = isfinite(num) && n == steps && fabs(t - steps * dt) < 1e-12;
  if (rank == 0)
    printf(
        "example_02: %d cells, %d own + %d surrogate steps to t = %g on %d rank(s); relative L2 difference to the "
        "own-solver run %.3e, integral %.4f vs %.4f\n",
        mesh.nCells, ownSteps, surrogateSteps, t, size, sqrt(num / den), mass, massRef);
  CHECK(lats_session_destroy(&session));
  free(u);
  free(block);
  free(reference);
  lats_finalize();
  return ok ? 0 : 1;
}
