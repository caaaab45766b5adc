/* A PETSc program with two TS objects, told apart by their options prefixes "a_" and "b_":
   each integrates the 1D heat equation u_t = u_xx (periodic DMDA, 64 points, central
   differences) from u0 = sin(2 pi x) + 0.3 cos(6 pi x) to t = 0.01 and writes its solution
   with VecView to a_<suffix>.bin / b_<suffix>.bin. Used by ts_plugin_test.sh: run once with
   plain PETSc types and once with -X_ts_type lats -X_lats_classical_ts_type ..., the
   solutions must agree. With -reset_step K the host writes the initial values back into the
   solution after step K of each TS (a host that changes its state between steps). */
#include <petscdmda.h>
#include <petscts.h>

static PetscErrorCode rhs(TS ts, PetscReal t, Vec U, Vec F, void* ctx) {
  DM da;
  Vec local;
  PetscInt xs, xm, M;
  const PetscScalar* u;
  PetscScalar* f;
  PetscFunctionBeginUser;
  PetscCall(TSGetDM(ts, &da));
  PetscCall(DMDAGetInfo(da, NULL, &M, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  PetscCall(DMGetLocalVector(da, &local));
  PetscCall(DMGlobalToLocal(da, U, INSERT_VALUES, local));
  PetscCall(DMDAVecGetArrayRead(da, local, &u));
  PetscCall(DMDAVecGetArray(da, F, &f));
  PetscCall(DMDAGetCorners(da, &xs, NULL, NULL, &xm, NULL, NULL));
  const PetscReal h = 1.0 / M;
  for (PetscInt i = xs; i < xs + xm; ++i) f[i] = (u[i - 1] - 2 * u[i] + u[i + 1]) / (h * h);
  PetscCall(DMDAVecRestoreArrayRead(da, local, &u));
  PetscCall(DMDAVecRestoreArray(da, F, &f));
  PetscCall(DMRestoreLocalVector(da, &local));
  PetscFunctionReturn(0);
}

static Vec gInitial = NULL; /* the initial values, for -reset_step */
static PetscInt gResetStep = -1;

static PetscErrorCode postStep(TS ts) {
  PetscInt step;
  Vec u;
  PetscFunctionBeginUser;
  PetscCall(TSGetStepNumber(ts, &step));
  PetscCall(TSGetSolution(ts, &u));
  if (step == gResetStep) PetscCall(VecCopy(gInitial, u));
  PetscFunctionReturn(0);
}

static PetscErrorCode solve(const char* prefix, const char* suffix) {
  DM da;
  TS ts;
  Vec u;
  PetscScalar* a;
  PetscInt xs, xm;
  PetscViewer viewer;
  char path[256];
  PetscFunctionBeginUser;
  PetscCall(DMDACreate1d(PETSC_COMM_WORLD, DM_BOUNDARY_PERIODIC, 64, 1, 1, NULL, &da));
  PetscCall(DMSetFromOptions(da));
  PetscCall(DMSetUp(da));
  PetscCall(DMCreateGlobalVector(da, &u));
  PetscCall(DMDAGetCorners(da, &xs, NULL, NULL, &xm, NULL, NULL));
  PetscCall(DMDAVecGetArray(da, u, &a));
  for (PetscInt i = xs; i < xs + xm; ++i) {
    const PetscReal x = (PetscReal)i / 64;
    a[i] = PetscSinReal(2 * PETSC_PI * x) + 0.3 * PetscCosReal(6 * PETSC_PI * x);
  }
  PetscCall(DMDAVecRestoreArray(da, u, &a));
  PetscCall(VecDuplicate(u, &gInitial));
  PetscCall(VecCopy(u, gInitial));
  PetscCall(TSCreate(PETSC_COMM_WORLD, &ts));
  PetscCall(TSSetOptionsPrefix(ts, prefix));
  PetscCall(TSSetDM(ts, da));
  PetscCall(TSSetProblemType(ts, TS_NONLINEAR));
  PetscCall(TSSetRHSFunction(ts, NULL, rhs, NULL));
  PetscCall(TSSetTimeStep(ts, 5e-5));
  PetscCall(TSSetMaxTime(ts, 0.01));
  PetscCall(TSSetExactFinalTime(ts, TS_EXACTFINALTIME_MATCHSTEP));
  if (gResetStep >= 0) PetscCall(TSSetPostStep(ts, postStep));
  PetscCall(TSSetFromOptions(ts));
  PetscCall(TSSolve(ts, u));
  PetscCall(PetscSNPrintf(path, sizeof(path), "%s%s.bin", prefix, suffix));
  PetscCall(PetscViewerBinaryOpen(PETSC_COMM_WORLD, path, FILE_MODE_WRITE, &viewer));
  PetscCall(VecView(u, viewer));
  PetscCall(PetscViewerDestroy(&viewer));
  PetscCall(TSDestroy(&ts));
  PetscCall(VecDestroy(&gInitial));
  PetscCall(VecDestroy(&u));
  PetscCall(DMDestroy(&da));
  PetscFunctionReturn(0);
}

int main(int argc, char** argv) {
  char suffix[64] = "out";
  PetscFunctionBeginUser;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-suffix", suffix, sizeof(suffix), NULL));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-reset_step", &gResetStep, NULL));
  PetscCall(solve("a_", suffix));
  PetscCall(solve("b_", suffix));
  PetscCall(PetscFinalize());
  return 0;
}
