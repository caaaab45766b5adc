// The TS type "lats" (see lats/coupling/petsc_ts.hpp). PETSc's private TS header is used
// here and nowhere else (DESIGN.md).
#include <petsc/private/tsimpl.h>

#include <sstream>
#include <string>

#include "lats/core/options.hpp"
#include "lats/coupling/petsc_ts.hpp"

namespace lats::coupling {
namespace {

const EnumOption kMode{"mode",
                       "classical",
                       {"classical"},
                       "PETSc TS type lats: how steps are taken (classical: an inner TS of -lats_classical_ts_type)"};
// The same declaration as the runtime's (identical redeclarations are allowed).
const BoolOption kView{"view", false, "print the effective LaTS configuration once at start-up"};
const StringOption kClassicalType{"classical_ts_type", "rk",
                                  "PETSc TS type lats: the PETSc TS type of the classical steps"};

struct TsLats {
  TS inner = nullptr;
  std::string mode = "classical";
  std::string classicalType = "rk";
};

PetscErrorCode setUp(TS ts) {
  auto* d = static_cast<TsLats*>(ts->data);
  DM dm;
  PetscFunctionBeginUser;
  PetscCall(TSDestroy(&d->inner));
  PetscCall(TSCreate(PetscObjectComm((PetscObject)ts), &d->inner));
  PetscCall(TSSetOptionsPrefix(d->inner, "lats_classical_"));
  PetscCall(TSSetType(d->inner, d->classicalType.c_str()));
  {
    // The nonlinear and linear solvers read the host's own options (-snes_*, -ksp_*, -pc_*):
    // a run with -ts_type lats solves exactly what the host asked for.
    const char* prefix = nullptr;
    SNES snes;
    PetscCall(TSGetOptionsPrefix(ts, &prefix));
    PetscCall(TSGetSNES(d->inner, &snes));
    PetscCall(SNESSetOptionsPrefix(snes, prefix));
  }
  {
    TSProblemType type;
    PetscCall(TSGetProblemType(ts, &type));
    PetscCall(TSSetProblemType(d->inner, type));  // linear problems: the same KSP-only SNES
  }
  // The host's functions live in the DM (DMTS): sharing the DM shares them.
  PetscCall(TSGetDM(ts, &dm));
  PetscCall(TSSetDM(d->inner, dm));
  {
    Mat A = nullptr, B = nullptr;
    TSRHSJacobian rhsJac = nullptr;
    void* ctx = nullptr;
    PetscCall(TSGetRHSJacobian(ts, &A, &B, &rhsJac, &ctx));
    if (A || B) PetscCall(TSSetRHSJacobian(d->inner, A, B, rhsJac, ctx));
    TSIJacobian iJac = nullptr;
    A = B = nullptr;
    PetscCall(TSGetIJacobian(ts, &A, &B, &iJac, &ctx));
    if (A || B) PetscCall(TSSetIJacobian(d->inner, A, B, iJac, ctx));
  }
  PetscCall(TSSetMaxTime(d->inner, ts->max_time));
  PetscCall(TSSetMaxSteps(d->inner, PETSC_MAX_INT - 1));  // the outer TS decides when to stop
  PetscCall(TSSetExactFinalTime(d->inner, ts->exact_final_time));
  PetscCall(TSSetTime(d->inner, ts->ptime));
  PetscCall(TSSetTimeStep(d->inner, ts->time_step));
  PetscCall(TSSetSolution(d->inner, ts->vec_sol));
  PetscCall(TSSetFromOptions(d->inner));
  PetscCall(TSSetUp(d->inner));
  if (kView.get()) {
    // The configuration, once per set-up, on the first rank of the TS's communicator.
    std::ostringstream os;
    Options::view(os);
    PetscCall(PetscPrintf(PetscObjectComm((PetscObject)ts), "TS lats: mode %s, classical steps by TS type %s\n%s",
                          d->mode.c_str(), d->classicalType.c_str(), os.str().c_str()));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode step(TS ts) {
  auto* d = static_cast<TsLats*>(ts->data);
  PetscFunctionBeginUser;
  // The inner TS advances the host's solution vector in place, from the outer time and step.
  PetscCall(TSSetTime(d->inner, ts->ptime));
  PetscCall(TSSetTimeStep(d->inner, ts->time_step));
  PetscCall(TSSetMaxTime(d->inner, ts->max_time));
  PetscCall(TSStep(d->inner));
  TSConvergedReason reason;
  PetscCall(TSGetConvergedReason(d->inner, &reason));
  if (reason < 0) ts->reason = reason;
  PetscCall(TSGetTime(d->inner, &ts->ptime));
  PetscCall(TSGetTimeStep(d->inner, &ts->time_step));
  PetscFunctionReturn(0);
}

// The host's DM (and with it the SNES function hooks of implicit TS types) is shared with
// the inner TS, and PETSc's hooks may hand either TS to the nonlinear function: the outer one
// forwards to the inner one, whose type knows what to compute.
PetscErrorCode snesFunction(SNES snes, Vec x, Vec f, TS ts) {
  auto* d = static_cast<TsLats*>(ts->data);
  PetscFunctionBeginUser;
  PetscCheck(d->inner && d->inner->ops->snesfunction, PetscObjectComm((PetscObject)ts), PETSC_ERR_ARG_WRONGSTATE,
             "TS lats: the classical TS type has no nonlinear function");
  PetscCall(d->inner->ops->snesfunction(snes, x, f, d->inner));
  PetscFunctionReturn(0);
}

PetscErrorCode snesJacobian(SNES snes, Vec x, Mat A, Mat B, TS ts) {
  auto* d = static_cast<TsLats*>(ts->data);
  PetscFunctionBeginUser;
  PetscCheck(d->inner && d->inner->ops->snesjacobian, PetscObjectComm((PetscObject)ts), PETSC_ERR_ARG_WRONGSTATE,
             "TS lats: the classical TS type has no Jacobian");
  PetscCall(d->inner->ops->snesjacobian(snes, x, A, B, d->inner));
  PetscFunctionReturn(0);
}

PetscErrorCode setFromOptions(TS ts, PetscOptionItems* /*items*/) {
  auto* d = static_cast<TsLats*>(ts->data);
  PetscFunctionBeginUser;
  try {
    d->mode = kMode.get();  // an unknown value: ConfigurationError naming the choices
    d->classicalType = kClassicalType.get();
  } catch (const std::exception& e) {
    SETERRQ(PetscObjectComm((PetscObject)ts), PETSC_ERR_ARG_WRONG, "%s", e.what());
  }
  PetscFunctionReturn(0);
}

PetscErrorCode view(TS ts, PetscViewer viewer) {
  auto* d = static_cast<TsLats*>(ts->data);
  PetscBool ascii;
  PetscFunctionBeginUser;
  PetscCall(PetscObjectTypeCompare((PetscObject)viewer, PETSCVIEWERASCII, &ascii));
  if (ascii) {
    PetscCall(PetscViewerASCIIPrintf(viewer, "  LaTS mode %s, classical steps by TS type %s\n", d->mode.c_str(),
                                     d->classicalType.c_str()));
    if (d->inner) {
      PetscCall(PetscViewerASCIIPushTab(viewer));
      PetscCall(TSView(d->inner, viewer));
      PetscCall(PetscViewerASCIIPopTab(viewer));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode reset(TS ts) {
  auto* d = static_cast<TsLats*>(ts->data);
  PetscFunctionBeginUser;
  PetscCall(TSDestroy(&d->inner));
  PetscFunctionReturn(0);
}

PetscErrorCode destroy(TS ts) {
  PetscFunctionBeginUser;
  PetscCall(reset(ts));
  delete static_cast<TsLats*>(ts->data);
  ts->data = nullptr;
  PetscFunctionReturn(0);
}

PetscErrorCode create(TS ts) {
  PetscFunctionBeginUser;
  ts->data = new TsLats();
  ts->ops->setup = setUp;
  ts->ops->step = step;
  ts->ops->setfromoptions = setFromOptions;
  ts->ops->view = view;
  ts->ops->reset = reset;
  ts->ops->destroy = destroy;
  ts->ops->snesfunction = snesFunction;
  ts->ops->snesjacobian = snesJacobian;
  ts->usessnes = PETSC_FALSE;
  PetscFunctionReturn(0);
}

}  // namespace

void registerPetscTs() {
  static bool done = false;
  if (done) return;
  if (TSRegister("lats", create) == 0) done = true;
}

}  // namespace lats::coupling

// Called by PETSc when liblats.so is loaded with -dll_append (the name is derived from the
// library's file name).
extern "C" PetscErrorCode PetscDLLibraryRegister_lats(void) {
  lats::coupling::registerPetscTs();
  return 0;
}
