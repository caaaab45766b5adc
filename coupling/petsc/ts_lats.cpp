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
#include "lats/core/petsc.hpp"
#include "lats/core/runtime.hpp"
#include "lats/coupling/assimilating_stepper.hpp"
#include "lats/coupling/host_session.hpp"
#include "lats/coupling/petsc_ts.hpp"
#include "lats/coupling/surrogate_stepper.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/solvers/neural/latent_rollout.hpp"

namespace lats::coupling {
namespace {

const EnumOption kMode{"mode",
                       "classical",
                       {"classical", "surrogate", "hybrid"},
                       "PETSc TS type lats: how steps are taken (classical: an inner TS of -lats_classical_ts_type; "
                       "surrogate: the trained model -lats_model; hybrid: model steps and inner TS steps as the trust "
                       "policy -lats_hybrid_policy decides)"};
const StringOption kClassicalType{"classical_ts_type", "rk",
                                  "PETSc TS type lats: the PETSc TS type of the classical steps"};

const StringOption kRecord{"record", "",
                           "PETSc TS type lats: record the host's trajectory into this dataset (HDF5), each "
                           "snapshot on disk as it is taken, finished when the solve ends"};
const IntOption kRecordEvery{"record_every", 1, "PETSc TS type lats: steps between recorded snapshots"};

struct TsLats {
  TS inner = nullptr;
  // Hybrid mode: the inner TS steps on `work`, into which the state's array is placed (no
  // copy); `backup` restores it when a step fails.
  Vec work = nullptr, backup = nullptr;
  std::string mode = "classical";
  std::string classicalType = "rk";
  std::string record;
  PetscInt recordEvery = 1;
  std::shared_ptr<const Mesh> points;  // where the host's values live
  int components = 1;
  std::string field = "u";  // the name of the host's values (the model's field)
  double hostDt = 0.0;      // the host's step (-ts_dt) at set-up: the inner TS's step in hybrid mode
  // The solution's PetscObjectState after LaTS last touched it: a different state before a
  // step means the host changed the values (no checksum passes or allreduces needed).
  PetscObjectState solutionState = 0;
  // The host adapter: surrogate and hybrid steppers, recording (any mode).
  std::unique_ptr<HostSession> session;
};

/// The host's PETSc TS (the inner TS of -lats_classical_ts_type, which shares the host's DM
/// and with it its functions) as a stepper: "classical" of a hybrid run through the TS type.
/// A step integrates [t, t + dt] with the host's step size; the state's array is placed in
/// the inner TS's solution vector, so nothing is copied except a backup for failures.
class PetscTsStepper final : public TimeStepper {
 public:
  PetscTsStepper(TS inner, Vec work, Vec backup, std::string field, double hostDt)
      : inner_(inner), work_(work), backup_(backup), field_(std::move(field)), hostDt_(hostDt) {}
  std::string type() const override { return "petsc_ts"; }
  std::vector<std::string> evolvedFields() const override { return {field_}; }

 protected:
  void doSetUp(const Mesh& mesh, State& state) override {
    LATS_CHECK(state.has(field_), ConfigurationError, "TS lats: the state has no field '" << field_ << "'");
    PetscInt n;
    LATS_PETSC_CALL(VecGetLocalSize(work_, &n));
    const Field& f = state.field(field_);
    LATS_CHECK(mesh.ownedSize() * f.numComponents() == n, DimensionMismatchError,
               "TS lats: " << mesh.ownedSize() << " points x " << f.numComponents()
                           << " components but the solution has " << n << " local values");
  }
  StepResult doStep(State& state, double dt) override {
    Field& f = state.field(field_);
    LATS_PETSC_CALL(VecPlaceArray(work_, f.view().data()));
    TSConvergedReason reason = TS_CONVERGED_ITERATING;
    try {
      LATS_PETSC_CALL(VecCopy(work_, backup_));
      const double t0 = state.time(), end = t0 + dt, eps = 1e-12 * std::max(std::abs(end), dt);
      double t = t0;
      // The values may come from a model step since the inner TS's last step: methods that
      // reuse the last stage (first-same-as-last RK, the default rk 3bs) must start afresh.
      LATS_PETSC_CALL(TSRestartStep(inner_));
      while (t < end - eps && reason >= 0) {
        // The host's step exactly (as in its own run: the same arithmetic), shortened only
        // where it would overshoot the end.
        double h = hostDt_ > 0 ? hostDt_ : dt;
        if (end - t < h - eps) h = end - t;
        LATS_PETSC_CALL(TSSetTime(inner_, t));
        LATS_PETSC_CALL(TSSetTimeStep(inner_, h));
        LATS_PETSC_CALL(TSStep(inner_));
        LATS_PETSC_CALL(TSGetConvergedReason(inner_, &reason));
        LATS_PETSC_CALL(TSGetTime(inner_, &t));
      }
      if (reason < 0) LATS_PETSC_CALL(VecCopy(backup_, work_));
    } catch (...) {
      VecCopy(backup_, work_);
      VecResetArray(work_);
      throw;
    }
    LATS_PETSC_CALL(VecResetArray(work_));
    if (reason < 0)
      return {0.0, dt, StepStatus::SolverFailed,
              std::string("the inner TS (") + TSConvergedReasons[reason] + ") failed a step"};
    return {dt, dt, StepStatus::Success, {}};
  }

 private:
  TS inner_;
  Vec work_, backup_;
  std::string field_;
  double hostDt_;
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

/// Runs `f` on the host session with the host's solution array bound as its field and the
/// session's clock at the TS's; a LaTS error becomes a PETSc error on every rank.
template <class F>
PetscErrorCode withSolution(TS ts, TsLats* d, double time, std::int64_t step, F&& f) {
  PetscScalar* a;
  PetscFunctionBeginUser;
  PetscCall(VecGetArray(ts->vec_sol, &a));
  std::string message;
  try {
    std::vector<std::string> components;  // "u" (or u0, u1, ...) whatever the field's name
    for (int c = 0; c < d->components; ++c) components.push_back(d->components == 1 ? "u" : "u" + std::to_string(c));
    d->session->bindField(d->field, d->components, a, components);
    d->session->setTime(time, step);
    f(*d->session);
  } catch (const std::exception& e) {
    message = e.what();
  }
  PetscCall(VecRestoreArray(ts->vec_sol, &a));
  PetscCheck(message.empty(), PetscObjectComm((PetscObject)ts), PETSC_ERR_LIB, "TS lats: %s", message.c_str());
  PetscFunctionReturn(0);
}

PetscErrorCode setUp(TS ts) {
  auto* d = static_cast<TsLats*>(ts->data);
  DM dm;
  PetscFunctionBeginUser;
  // LaTS options under the TS's prefix: -p_lats_* for a TS with prefix p_.
  const OptionsPrefix scope(prefixOf(ts));
  d->session.reset();  // its steppers hold the inner TS and its vectors
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
  PetscCall(VecDestroy(&d->work));
  PetscCall(VecDestroy(&d->backup));
  if (d->mode == "hybrid") {
    // The inner TS steps on a vector of its own: the hybrid hands it the host's array, or a
    // copy of it when a trust policy compares a model step with an inner TS step.
    PetscCall(VecDuplicate(ts->vec_sol, &d->work));
    PetscCall(VecDuplicate(ts->vec_sol, &d->backup));
    PetscCall(TSSetSolution(d->inner, d->work));
  } else {
    PetscCall(TSSetSolution(d->inner, ts->vec_sol));
  }
  PetscCall(TSSetFromOptions(d->inner));
  PetscCall(TSSetUp(d->inner));
  d->hostDt = ts->time_step;
  if (d->mode != "classical" || !d->record.empty()) {
    MPI_Comm comm = PetscObjectComm((PetscObject)ts);
    PetscCall(ensureRuntime(comm));
    if (!d->points) PetscCall(hostPoints(ts, d));
    std::string message;
    try {
      const std::string model = SurrogateSettings::fromOptions().model;
      if (d->mode != "classical" && !model.empty()) {
        // The host's values carry the model's field name (without a model the stepper's own
        // set-up says what is missing).
        solvers::neural::LatentRollout probe(comm, model);
        d->field = probe.info().fieldNames.at(0);
      }
      d->session = std::make_unique<HostSession>(d->points);
      d->session->setHostReportsChanges(true);
    } catch (const std::exception& e) {
      message = e.what();
    }
    PetscCheck(message.empty(), comm, PETSC_ERR_ARG_WRONG, "TS lats: %s", message.c_str());
    PetscCall(withSolution(ts, d, ts->ptime, ts->steps, [&](HostSession& session) {
      if (d->mode == "hybrid") {
        // "classical" is the host's own TS: every trust policy works on it.
        TS inner = d->inner;
        Vec work = d->work, backup = d->backup;
        const std::string field = d->field;
        const double hostDt = d->hostDt;
        session.setHostStepper([=] { return std::make_unique<PetscTsStepper>(inner, work, backup, field, hostDt); });
        session.setUp("hybrid");
      } else if (d->mode == "surrogate") {
        auto da = AssimilationSettings::fromOptions();
        if (da.observations.empty()) {
          session.setUp("surrogate");
        } else {
          // Members are surrogates on the host's points, every member on all ranks.
          LATS_CHECK(da.memberRanks == 0, ConfigurationError,
                     "TS lats: assimilation runs every member on all ranks; leave -lats_da_member_ranks at 0");
          MemberFactory members;
          members.surrogate = [] {
            auto m = std::make_unique<SurrogateStepper>();
            m->setFromOptions();
            return m;
          };
          session.setUp(std::make_unique<AssimilatingStepper>(members, da, solvers::assimilation::ObservationSeries{}));
        }
      }
      if (!d->record.empty()) {  // the initial state is the first snapshot
        // Room for -ts_max_steps' snapshots at first (the file grows beyond).
        const std::int64_t expected =
            ts->max_steps > 0 && ts->max_steps < PETSC_MAX_INT ? ts->max_steps / d->recordEvery + 1 : 64;
        session.record(d->record, d->recordEvery, "petsc_ts", "recorded by the PETSc TS type lats",
                       "PETSc program with -ts_type lats -lats_record", std::min<std::int64_t>(expected, 4096));
      }
    }));
    PetscCall(PetscObjectStateGet((PetscObject)ts->vec_sol, &d->solutionState));
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
  const double t0 = ts->ptime;
  if (d->mode == "classical") {
    // The inner TS advances the host's solution vector in place, from the outer time and step.
    PetscCall(TSSetTime(d->inner, ts->ptime));
    PetscCall(TSSetTimeStep(d->inner, ts->time_step));
    PetscCall(TSSetMaxTime(d->inner, ts->max_time));
    PetscCall(TSStep(d->inner));
    PetscCall(TSGetConvergedReason(d->inner, &reason));
    if (reason < 0) ts->reason = reason;
    PetscCall(TSGetTime(d->inner, &ts->ptime));
    PetscCall(TSGetTimeStep(d->inner, &ts->time_step));
    if (d->session && reason >= 0)  // recording: the host's step
      PetscCall(withSolution(ts, d, t0, ts->steps, [&](HostSession& session) { session.hostStep(ts->ptime - t0); }));
  } else {
    // A step of the session's stepper (surrogate, assimilating or hybrid) on the host's
    // array, in place; at least the model's time step.
    StepResult r;
    PetscObjectState now;
    PetscCall(PetscObjectStateGet((PetscObject)ts->vec_sol, &now));
    const bool changed = now != d->solutionState;  // the host wrote into its solution
    PetscCall(withSolution(ts, d, ts->ptime, ts->steps, [&](HostSession& session) {
      if (changed) session.fieldsChangedByHost();
      r = session.step(ts->time_step, true);
    }));
    PetscCall(PetscObjectStateGet((PetscObject)ts->vec_sol, &d->solutionState));
    if (!r.ok()) {
      ts->reason = TS_DIVERGED_STEP_REJECTED;
      reason = TS_DIVERGED_STEP_REJECTED;
      // Said on the first rank (every rank has the same reason); the host sees the converged
      // reason (TSSolve stops, or errors with -ts_error_if_step_fails, PETSc's default).
      PetscCall(PetscPrintf(PetscObjectComm((PetscObject)ts), "TS lats: step %" PetscInt_FMT " at t = %g failed: %s\n",
                            ts->steps, (double)ts->ptime, r.reason.c_str()));
    } else {
      ts->ptime += r.dtTaken;
      ts->time_step = r.dtNext;
    }
  }
  if (d->session && d->session->recording() && reason >= 0) {
    // ts->steps counts this step only after we return.
    const PetscInt done = ts->steps + 1;
    const bool last = done >= ts->max_steps || ts->ptime >= ts->max_time - 1e-12 * PetscAbsReal(ts->max_time);
    if (last && d->session->recordedSnapshots() >= 2) {
      std::string message;
      try {
        d->session->finishRecording();
      } catch (const std::exception& e) {
        message = e.what();
      }
      PetscCheck(message.empty(), PetscObjectComm((PetscObject)ts), PETSC_ERR_FILE_WRITE, "TS lats: -lats_record: %s",
                 message.c_str());
    }
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
    if (d->session && d->session->isSetUp()) {
      std::ostringstream os;
      os << "  stepper " << d->session->stepper().type();
      const char* sep = ": ";
      for (const auto& [name, count] : d->session->stepper().counters()) os << sep << name << " " << count, sep = ", ";
      PetscCall(PetscViewerASCIIPrintf(viewer, "%s\n", os.str().c_str()));
    }
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
  d->session.reset();
  PetscCall(TSDestroy(&d->inner));
  PetscCall(VecDestroy(&d->work));
  PetscCall(VecDestroy(&d->backup));
  d->points.reset();
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
