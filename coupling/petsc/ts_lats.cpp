// The TS type "lats" (see lats/coupling/petsc_ts.hpp). PETSc's private TS header is used
// here and nowhere else (DESIGN.md).
#include <petsc/private/tsimpl.h>
#include <petscdmda.h>
#include <petscdmplex.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/core/mesh.hpp"
#include "lats/core/options.hpp"
#include "lats/core/runtime.hpp"
#include "lats/coupling/assimilating_stepper.hpp"
#include "lats/coupling/hybrid_stepper.hpp"
#include "lats/coupling/petsc_ts.hpp"
#include "lats/coupling/recorder.hpp"
#include "lats/coupling/surrogate_stepper.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/solvers/neural/latent_rollout.hpp"

namespace lats::coupling {
namespace {

const EnumOption kMode{"mode",
                       "classical",
                       {"classical", "surrogate", "hybrid"},
                       "PETSc TS type lats: how steps are taken (classical: an inner TS of -lats_classical_ts_type; "
                       "surrogate: the trained model -lats_model; hybrid: -lats_hybrid_surrogate_steps model steps, "
                       "then -lats_hybrid_classical_steps inner TS steps, repeated)"};
const StringOption kClassicalType{"classical_ts_type", "rk",
                                  "PETSc TS type lats: the PETSc TS type of the classical steps"};

const StringOption kRecord{"record", "",
                           "PETSc TS type lats: record the host's trajectory into this dataset (HDF5), written when "
                           "the solve ends"};
const IntOption kRecordEvery{"record_every", 1, "PETSc TS type lats: steps between recorded snapshots"};

struct TsLats {
  TS inner = nullptr;
  std::string mode = "classical";
  std::string classicalType = "rk";
  // Recording: snapshots of the owned values, written as a dataset when the solve ends.
  std::string record;
  PetscInt recordEvery = 1;
  std::shared_ptr<const Mesh> points;  // where the host's values live
  int components = 1;
  std::unique_ptr<TrajectoryRecorder> recorder;
  // Surrogate mode: a trained model advances the host's Vec in place.
  std::unique_ptr<SurrogateStepper> surrogate;
  std::string field;  // the model's field name
  // Assimilation (-lats_obs): an ensemble of surrogates analysed at the observation times;
  // the host's Vec holds the ensemble mean.
  std::unique_ptr<AssimilatingStepper> assimilating;
  double modelDt = 0.0;
  // Hybrid mode: the schedule's phase and counts.
  HybridSettings hybrid;
  bool surrogatePhase = true;
  std::int64_t phaseSteps = 0, surrogateTaken = 0, classicalTaken = 0, switches = 0;
};

/// The TS's options prefix ("" without one): LaTS reads its options under it.
std::string prefixOf(TS ts) {
  const char* prefix = nullptr;
  TSGetOptionsPrefix(ts, &prefix);
  return prefix ? prefix : "";
}

/// Whether the TS type reads the option `name` (for -help under the TS's prefix).
bool readByTs(const std::string& name) {
  for (const char* exact : {"mode", "view", "model", "classical_ts_type", "record", "record_every", "obs"})
    if (name == exact) return true;
  for (const char* prefix : {"surrogate_", "hybrid_", "da_"})
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

/// A State whose one field wraps the host's solution array (valid until VecRestoreArray).
State wrapSolution(const TsLats* d, PetscScalar* a, double time, std::int64_t step) {
  std::vector<std::string> components;
  for (int c = 0; c < d->components; ++c) components.push_back(d->components == 1 ? "u" : "u" + std::to_string(c));
  State s;
  s.add(Field::wrap(d->field.empty() ? "u" : d->field, a, d->points->ownedSize(), components));
  s.setTime(time);
  s.setStepIndex(step);
  return s;
}

/// LaTS's runtime (Kokkos) for hosts that only started PETSc: made on first need, ended
/// when PETSc finalizes (after the host destroyed its TS).
std::unique_ptr<Runtime>& pluginRuntime() {
  static std::unique_ptr<Runtime> runtime;
  return runtime;
}

PetscErrorCode endRuntime() {
  pluginRuntime().reset();
  return 0;
}

PetscErrorCode ensureRuntime(MPI_Comm comm) {
  PetscFunctionBeginUser;
  if (!Runtime::isActive()) {
    try {
      pluginRuntime() = std::make_unique<Runtime>();
    } catch (const std::exception& e) {
      SETERRQ(comm, PETSC_ERR_LIB, "TS lats: %s", e.what());
    }
    PetscCall(PetscRegisterFinalize(endRuntime));
  }
  PetscFunctionReturn(0);
}

/// The points carrying the host's values: DMDA grid points (its coordinates, or the unit
/// box when it has none), DMPlex cell centroids (values on cells) or vertices (values on
/// vertices). Owned entities in the Vec's order. Collective.
PetscErrorCode hostPoints(TS ts, TsLats* d) {
  DM dm;
  PetscBool isDa, isPlex;
  MPI_Comm comm = PetscObjectComm((PetscObject)ts);
  PetscInt bs, n;
  PetscFunctionBeginUser;
  PetscCall(TSGetDM(ts, &dm));
  PetscCall(VecGetBlockSize(ts->vec_sol, &bs));
  PetscCall(VecGetLocalSize(ts->vec_sol, &n));
  PetscCall(PetscObjectTypeCompare((PetscObject)dm, DMDA, &isDa));
  PetscCall(PetscObjectTypeCompare((PetscObject)dm, DMPLEX, &isPlex));
  std::vector<double> xyz;
  PetscInt dim = 1;
  if (isDa) {
    PetscInt M, N, P, xs, ys, zs, xm, ym, zm, dof;
    PetscCall(DMDAGetInfo(dm, &dim, &M, &N, &P, nullptr, nullptr, nullptr, &dof, nullptr, nullptr, nullptr, nullptr,
                          nullptr));
    PetscCall(DMDAGetCorners(dm, &xs, &ys, &zs, &xm, &ym, &zm));
    Vec coords;
    PetscCall(DMGetCoordinates(dm, &coords));
    const PetscScalar* c = nullptr;
    if (coords) PetscCall(VecGetArrayRead(coords, &c));
    std::int64_t k = 0;
    for (PetscInt z = zs; z < zs + (dim > 2 ? zm : 1); ++z)
      for (PetscInt y = ys; y < ys + (dim > 1 ? ym : 1); ++y)
        for (PetscInt x = xs; x < xs + xm; ++x, ++k) {
          const PetscInt ijk[3] = {x, y, z}, size[3] = {M, N, P};
          for (PetscInt a = 0; a < dim; ++a)
            xyz.push_back(c ? PetscRealPart(c[k * dim + a]) : (size[a] > 1 ? double(ijk[a]) / (size[a] - 1) : 0.0));
        }
    if (coords) PetscCall(VecRestoreArrayRead(coords, &c));
    d->components = static_cast<int>(dof);
  } else if (isPlex) {
    PetscSection section, global;
    PetscInt cStart, cEnd, vStart, vEnd, pStart, pEnd;
    PetscCall(DMGetDimension(dm, &dim));
    PetscCall(DMGetLocalSection(dm, &section));
    PetscCall(DMGetGlobalSection(dm, &global));
    PetscCall(DMPlexGetHeightStratum(dm, 0, &cStart, &cEnd));
    PetscCall(DMPlexGetDepthStratum(dm, 0, &vStart, &vEnd));
    PetscCall(PetscSectionGetChart(global, &pStart, &pEnd));
    PetscInt onCells = 0, onVertices = 0, elsewhere = 0, dofs = 0;
    for (PetscInt p = pStart; p < pEnd; ++p) {
      PetscInt ndof, cdof, off;
      PetscCall(PetscSectionGetDof(global, p, &ndof));
      PetscCall(PetscSectionGetConstraintDof(global, p, &cdof));
      PetscCall(PetscSectionGetOffset(global, p, &off));
      ndof -= cdof;                        // Dirichlet-constrained values are not in the Vec
      if (ndof <= 0 || off < 0) continue;  // no values, or owned by another rank
      dofs = ndof;
      if (p >= cStart && p < cEnd)
        ++onCells;
      else if (p >= vStart && p < vEnd)
        ++onVertices;
      else
        ++elsewhere;
    }
    PetscCheck(elsewhere == 0 && !(onCells > 0 && onVertices > 0), comm, PETSC_ERR_SUP,
               "TS lats: -lats_record needs the values on cells only or on vertices only (this DMPlex has them on "
               "other mesh entities too, e.g. higher-order elements)");
    Vec coordsLocal;
    PetscCall(DMGetCoordinatesLocal(dm, &coordsLocal));
    PetscSection cs;
    PetscCall(DMGetCoordinateSection(dm, &cs));
    const PetscScalar* c;
    PetscCall(VecGetArrayRead(coordsLocal, &c));
    for (PetscInt p = pStart; p < pEnd; ++p) {
      PetscInt ndof, cdof, off;
      PetscCall(PetscSectionGetDof(global, p, &ndof));
      PetscCall(PetscSectionGetConstraintDof(global, p, &cdof));
      PetscCall(PetscSectionGetOffset(global, p, &off));
      if (ndof - cdof <= 0 || off < 0) continue;
      if (p >= cStart && p < cEnd) {
        PetscReal vol, centroid[3], normal[3];
        PetscCall(DMPlexComputeCellGeometryFVM(dm, p, &vol, centroid, normal));
        for (PetscInt a = 0; a < dim; ++a) xyz.push_back(centroid[a]);
      } else {
        PetscInt coff;
        PetscCall(PetscSectionGetOffset(cs, p, &coff));
        for (PetscInt a = 0; a < dim; ++a) xyz.push_back(PetscRealPart(c[coff + a]));
      }
    }
    PetscCall(VecRestoreArrayRead(coordsLocal, &c));
    d->components = static_cast<int>(dofs > 0 ? dofs : bs);
  } else {
    SETERRQ(comm, PETSC_ERR_SUP,
            "TS lats: -lats_record needs the solution on a DMDA or DMPlex (the points come from it)");
  }
  const std::int64_t entities = static_cast<std::int64_t>(xyz.size()) / dim;
  PetscCheck(entities * d->components == n, comm, PETSC_ERR_ARG_SIZ,
             "TS lats: -lats_record found %lld points x %d components but the solution has %lld local values",
             static_cast<long long>(entities), d->components, static_cast<long long>(n));
  try {
    d->points = MeshBuilder(comm, static_cast<int>(dim)).name("host").coordinates(xyz.data(), entities).build();
  } catch (const std::exception& e) {
    SETERRQ(comm, PETSC_ERR_LIB, "%s", e.what());
  }
  PetscFunctionReturn(0);
}

PetscErrorCode recordSnapshot(TS ts, TsLats* d) {
  PetscScalar* a;
  PetscFunctionBeginUser;
  PetscCall(VecGetArray(ts->vec_sol, &a));
  std::string message;
  try {
    const auto state = wrapSolution(d, a, ts->ptime, ts->steps);
    d->recorder->snapshot(*d->points, state);
  } catch (const std::exception& e) {
    message = e.what();
  }
  PetscCall(VecRestoreArray(ts->vec_sol, &a));
  PetscCheck(message.empty(), PetscObjectComm((PetscObject)ts), PETSC_ERR_LIB, "TS lats: -lats_record: %s",
             message.c_str());
  PetscFunctionReturn(0);
}

/// Writes the recorded snapshots as a one-trajectory dataset. Collective.
PetscErrorCode writeRecord(TS ts, TsLats* d) {
  PetscFunctionBeginUser;
  if (!d->recorder || d->recorder->written() || d->recorder->size() < 2) PetscFunctionReturn(0);
  try {
    d->recorder->write(*d->points);
  } catch (const std::exception& e) {
    SETERRQ(PetscObjectComm((PetscObject)ts), PETSC_ERR_FILE_WRITE, "TS lats: -lats_record: %s", e.what());
  }
  PetscFunctionReturn(0);
}

PetscErrorCode setUp(TS ts) {
  auto* d = static_cast<TsLats*>(ts->data);
  DM dm;
  PetscFunctionBeginUser;
  // LaTS options under the TS's prefix: -p_lats_* for a TS with prefix p_.
  const OptionsPrefix scope(prefixOf(ts));
  PetscCall(TSDestroy(&d->inner));
  PetscCall(TSCreate(PetscObjectComm((PetscObject)ts), &d->inner));
  // The inner TS reads -<prefix>lats_classical_ts_* (e.g. -p_lats_classical_ts_rk_type 4).
  PetscCall(TSSetOptionsPrefix(d->inner, prefixOf(ts).c_str()));
  PetscCall(TSAppendOptionsPrefix(d->inner, "lats_classical_"));
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
  if (d->mode == "surrogate" || d->mode == "hybrid") {
    MPI_Comm comm = PetscObjectComm((PetscObject)ts);
    PetscCall(ensureRuntime(comm));
    if (!d->points) PetscCall(hostPoints(ts, d));
    PetscScalar* a;
    PetscCall(VecGetArray(ts->vec_sol, &a));
    PetscErrorCode failed = 0;
    std::string message;
    try {
      d->surrogate = std::make_unique<SurrogateStepper>();
      d->surrogate->setFromOptions();
      solvers::neural::LatentRollout probe(comm, d->surrogate->settings().model);
      d->field = probe.info().fieldNames.at(0);
      auto state = wrapSolution(d, a, ts->ptime, ts->steps);
      d->surrogate->setUp(d->points, state);
      d->modelDt = d->surrogate->modelTimeStep();
      if (d->mode == "hybrid") {
        d->hybrid = HybridSettings::fromOptions();
        LATS_CHECK(d->hybrid.policy == "schedule", ConfigurationError,
                   "TS lats: -lats_mode hybrid follows a schedule (-lats_hybrid_policy schedule with "
                   "-lats_hybrid_surrogate_steps and -lats_hybrid_classical_steps); the error-controlled policy "
                   "needs a LaTS finite-volume solver: use the hybrid stepper (doc/steppers.md)");
        LATS_CHECK(d->hybrid.surrogateSteps >= 0 && d->hybrid.classicalSteps >= 0 &&
                       d->hybrid.surrogateSteps + d->hybrid.classicalSteps > 0,
                   InvalidValueError,
                   "TS lats: -lats_hybrid_surrogate_steps "
                       << d->hybrid.surrogateSteps << " and -lats_hybrid_classical_steps " << d->hybrid.classicalSteps
                       << " must be non-negative, and not both 0");
        d->surrogatePhase = !d->hybrid.startClassical && d->hybrid.surrogateSteps > 0;
        d->phaseSteps = d->surrogateTaken = d->classicalTaken = d->switches = 0;
      }
      auto da = AssimilationSettings::fromOptions();
      d->assimilating.reset();
      if (!da.observations.empty()) {
        // Members are surrogates on the host's points, every member on all ranks.
        LATS_CHECK(da.memberRanks == 0, ConfigurationError,
                   "TS lats: assimilation runs every member on all ranks; leave -lats_da_member_ranks at 0");
        MemberFactory members;
        members.surrogate = [] {
          auto m = std::make_unique<SurrogateStepper>();
          m->setFromOptions();
          return m;
        };
        d->assimilating =
            std::make_unique<AssimilatingStepper>(members, da, solvers::assimilation::ObservationSeries{});
        d->assimilating->setUp(d->points, state);
      }
    } catch (const std::exception& e) {
      failed = 1;
      message = e.what();
    }
    PetscCall(VecRestoreArray(ts->vec_sol, &a));
    PetscCheck(!failed, comm, PETSC_ERR_ARG_WRONG, "TS lats: %s", message.c_str());
  }
  if (!d->record.empty()) {
    PetscCall(ensureRuntime(PetscObjectComm((PetscObject)ts)));
    if (!d->points) PetscCall(hostPoints(ts, d));
    d->recorder = std::make_unique<TrajectoryRecorder>(d->record, "petsc_ts", "recorded by the PETSc TS type lats",
                                                       "PETSc program with -ts_type lats -lats_record");
    PetscCall(recordSnapshot(ts, d));  // the initial state
  }
  if (parseBool(Options::valueText("view"), OptionsPrefix::fullName("view"))) {  // declared by the runtime
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
  TSConvergedReason reason = TS_CONVERGED_ITERATING;
  PetscFunctionBeginUser;
  const OptionsPrefix scope(prefixOf(ts));
  bool useSurrogate = d->mode == "surrogate";
  if (d->mode == "hybrid") {
    // The schedule: k model steps, then m steps of the inner TS, repeated.
    const std::int64_t k = d->hybrid.surrogateSteps, m = d->hybrid.classicalSteps;
    const bool phaseDone = d->surrogatePhase ? d->phaseSteps >= k : d->phaseSteps >= m;
    if (phaseDone && (d->surrogatePhase ? m > 0 : k > 0)) {
      logInfo() << "TS lats hybrid: " << (d->surrogatePhase ? "surrogate -> classical" : "classical -> surrogate")
                << " at step " << ts->steps << ", t = " << ts->ptime << ": schedule: " << (d->surrogatePhase ? k : m)
                << (d->surrogatePhase ? " surrogate" : " classical") << " steps done";
      d->surrogatePhase = !d->surrogatePhase;
      d->phaseSteps = 0;
      ++d->switches;
    }
    useSurrogate = d->surrogatePhase;
    ++d->phaseSteps;
  }
  if (useSurrogate) {
    // One step of the model (its own time step) on the host's array, in place.
    PetscScalar* a;
    PetscCall(VecGetArray(ts->vec_sol, &a));
    StepResult r;
    std::string message;
    try {
      auto state = wrapSolution(d, a, ts->ptime, ts->steps);
      const double dt = std::max(ts->time_step, d->modelDt);
      r = d->assimilating ? d->assimilating->step(state, dt) : d->surrogate->step(state, dt);
    } catch (const std::exception& e) {
      message = e.what();
    }
    PetscCall(VecRestoreArray(ts->vec_sol, &a));
    PetscCheck(message.empty(), PetscObjectComm((PetscObject)ts), PETSC_ERR_LIB, "TS lats: %s", message.c_str());
    if (!r.ok()) {
      ts->reason = TS_DIVERGED_STEP_REJECTED;
      reason = TS_DIVERGED_STEP_REJECTED;
      PetscCall(PetscInfo(ts, "TS lats: surrogate step failed: %s\n", r.reason.c_str()));
    } else {
      ts->ptime += r.dtTaken;
      ts->time_step = r.dtNext;
      ++d->surrogateTaken;
    }
  } else {
    // The inner TS advances the host's solution vector in place, from the outer time and step.
    PetscCall(TSSetTime(d->inner, ts->ptime));
    PetscCall(TSSetTimeStep(d->inner, ts->time_step));
    PetscCall(TSSetMaxTime(d->inner, ts->max_time));
    PetscCall(TSStep(d->inner));
    PetscCall(TSGetConvergedReason(d->inner, &reason));
    if (reason < 0) ts->reason = reason;
    PetscCall(TSGetTime(d->inner, &ts->ptime));
    PetscCall(TSGetTimeStep(d->inner, &ts->time_step));
    if (d->mode == "hybrid" && reason >= 0) {
      // The surrogate continues from the host's classical state (its history window too).
      ++d->classicalTaken;
      PetscScalar* a;
      PetscCall(VecGetArray(ts->vec_sol, &a));
      std::string message;
      try {
        d->surrogate->pushHistory(wrapSolution(d, a, ts->ptime, ts->steps + 1));
      } catch (const std::exception& e) {
        message = e.what();
      }
      PetscCall(VecRestoreArray(ts->vec_sol, &a));
      PetscCheck(message.empty(), PetscObjectComm((PetscObject)ts), PETSC_ERR_LIB, "TS lats: %s", message.c_str());
    }
  }
  if (!d->record.empty() && reason >= 0) {
    // ts->steps counts this step only after we return.
    const PetscInt done = ts->steps + 1;
    if (done % d->recordEvery == 0) PetscCall(recordSnapshot(ts, d));
    const bool last = done >= ts->max_steps || ts->ptime >= ts->max_time - 1e-12 * PetscAbsReal(ts->max_time);
    if (last) PetscCall(writeRecord(ts, d));
  }
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

PetscErrorCode setFromOptions(TS ts, PetscOptionItems* PetscOptionsObject) {
  auto* d = static_cast<TsLats*>(ts->data);
  PetscFunctionBeginUser;
  const OptionsPrefix scope(prefixOf(ts));
  // The LaTS options the TS reads, under its prefix, through PETSc's options object: -help
  // lists them as -<prefix>lats_*, and -options_left counts them as used.
  PetscOptionsHeadBegin(PetscOptionsObject, "TS lats (LaTS) options");
  for (const auto& spec : Options::declared()) {
    if (!readByTs(spec.name)) continue;
    char buffer[4096];
    PetscBool set = PETSC_FALSE;
    PetscCall(PetscOptionsString((std::string(Options::kPrefix) + spec.name).c_str(), spec.help.c_str(),
                                 "TSSetFromOptions", spec.defaultValue.c_str(), buffer, sizeof(buffer), &set));
  }
  PetscOptionsHeadEnd();
  try {
    // A misspelled -<prefix>lats_ option is an error on every rank, with the closest name,
    // before the first step (PETSc would only list it as unused at the end).
    if (parseBool(Options::valueText("check_options"), OptionsPrefix::fullName("check_options")))
      Options::checkUnknown(PetscObjectComm((PetscObject)ts));
    d->mode = kMode.get();  // an unknown value: ConfigurationError naming the choices
    if (d->mode != "surrogate" && !AssimilationSettings::fromOptions().observations.empty())
      LATS_THROW(ConfigurationError,
                 "-lats_obs assimilates with an ensemble of surrogates; use -lats_mode surrogate "
                 "(ensembles of the host's own classical steps, and hybrid ensembles, are not supported)");
    d->classicalType = kClassicalType.get();
    d->record = kRecord.get();
    d->recordEvery = static_cast<PetscInt>(kRecordEvery.get());
    if (d->recordEvery < 1) LATS_THROW(InvalidValueError, "-lats_record_every " << d->recordEvery << "; expected >= 1");
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
    PetscCall(PetscViewerASCIIPrintf(viewer, "  LaTS mode %s, classical steps by TS type %s, options -%slats_*\n",
                                     d->mode.c_str(), d->classicalType.c_str(), prefixOf(ts).c_str()));
    if (d->mode == "hybrid")
      PetscCall(PetscViewerASCIIPrintf(viewer,
                                       "  hybrid schedule %lld surrogate + %lld classical steps: %lld surrogate and "
                                       "%lld classical steps taken, %lld switches\n",
                                       static_cast<long long>(d->hybrid.surrogateSteps),
                                       static_cast<long long>(d->hybrid.classicalSteps),
                                       static_cast<long long>(d->surrogateTaken),
                                       static_cast<long long>(d->classicalTaken), static_cast<long long>(d->switches)));
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
  d->assimilating.reset();
  d->surrogate.reset();
  d->points.reset();
  d->recorder.reset();
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
  Options::addPetscPrefix("classical_ts_");  // -lats_classical_ts_* are the inner TS's PETSc options
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
