#include "lats/solvers/classical/fv_solver.hpp"

#include <cmath>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/petsc.hpp"

namespace lats::solvers {

namespace {
const RealOption kCfl{"fv_cfl", 0.5,
                      "time step as a fraction of the equation's stable explicit step, re-evaluated every step "
                      "(used unless -ts_dt or FvSolver::setTimeStep fixes the step)"};
}  // namespace

struct FvSolver::Impl {
  std::shared_ptr<const meshio::PlexMesh> mesh;
  std::unique_ptr<FvOperator> op;
  DM dm = nullptr;
  TS ts = nullptr;
  Vec u = nullptr;
  bool imex = false;
  bool automaticStep = true;
  double fixedDt = 0.0;  // the step when not automatic
  double cfl = 0.5;
  FvSolver* owner = nullptr;
  std::function<void(const double*, double, double*)> source;

  ~Impl() {
    if (u) VecDestroy(&u);
    if (ts) TSDestroy(&ts);
    if (dm) DMDestroy(&dm);
  }

  enum class Part { All, Explicit, Stiff };

  void evaluate(double t, Vec U, Vec F, Part part) {
    const auto& g = mesh->geometry();
    const int nc = op->numComponents();
    Vec local;
    LATS_PETSC_CALL(DMGetLocalVector(dm, &local));
    LATS_PETSC_CALL(DMGlobalToLocal(dm, U, INSERT_VALUES, local));
    const PetscScalar* uArray;
    PetscScalar* fArray;
    LATS_PETSC_CALL(VecGetArrayRead(local, &uArray));
    LATS_PETSC_CALL(VecGetArray(F, &fArray));
    ConstCellValues uView(uArray, g.numLocal, nc);
    CellValues fView(fArray, g.numOwned, nc);
    if (part == Part::All)
      op->rhs(t, uView, fView);
    else if (part == Part::Explicit)
      op->explicitRhs(t, uView, fView);
    else
      op->stiffRhs(t, uView, fView);
    Kokkos::fence();
    if (source && part != Part::Stiff) {
      auto xy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.centroids);
      std::vector<double> s(nc);
      for (std::int64_t k = 0; k < g.numOwned; ++k) {
        double x[3] = {0, 0, 0};
        for (int d = 0; d < g.dimension; ++d) x[d] = xy(k, d);
        source(x, t, s.data());
        for (int c = 0; c < nc; ++c) fArray[k * nc + c] += s[c];
      }
    }
    LATS_PETSC_CALL(VecRestoreArray(F, &fArray));
    LATS_PETSC_CALL(VecRestoreArrayRead(local, &uArray));
    LATS_PETSC_CALL(DMRestoreLocalVector(dm, &local));
  }

  /// Exceptions must not cross PETSc's C frames: turn them into a PETSc error.
  template <class F>
  static PetscErrorCode guarded(const char* where, F&& f) {
    try {
      f();
      return 0;
    } catch (const std::exception& e) {
      return PetscError(PETSC_COMM_SELF, __LINE__, where, __FILE__, PETSC_ERR_LIB, PETSC_ERROR_INITIAL, "%s", e.what());
    }
  }
  static PetscErrorCode postStep(TS ts) {
    void* ctx;
    PetscErrorCode ierr = TSGetApplicationContext(ts, &ctx);
    if (ierr) return ierr;
    return guarded("lats::FvSolver::postStep", [&] {
      auto* self = static_cast<Impl*>(ctx);
      LATS_PETSC_CALL(TSSetTimeStep(ts, self->nextStep()));
    });
  }
  /// The next inner step: automatic (CFL) or fixed, shortened so that the step ending at
  /// the target time lands on it (some TS types ignore TS_EXACTFINALTIME_MATCHSTEP).
  double nextStep() const {
    double h = automaticStep ? cfl * owner->stableTimeStep() : fixedDt;
    PetscReal t, maxTime;
    LATS_PETSC_CALL(TSGetTime(ts, &t));
    LATS_PETSC_CALL(TSGetMaxTime(ts, &maxTime));
    const double remaining = maxTime - t;
    if (remaining > 0 && remaining < h) h = remaining;
    return h;
  }
  static PetscErrorCode rhsAll(TS, PetscReal t, Vec U, Vec F, void* ctx) {
    return guarded("lats::FvSolver::rhs", [&] { static_cast<Impl*>(ctx)->evaluate(t, U, F, Part::All); });
  }
  static PetscErrorCode rhsExplicit(TS, PetscReal t, Vec U, Vec F, void* ctx) {
    return guarded("lats::FvSolver::rhsExplicit", [&] { static_cast<Impl*>(ctx)->evaluate(t, U, F, Part::Explicit); });
  }
  // IMEX implicit part: F = Udot - S(U), S the stiff (linear) part.
  static PetscErrorCode iFunction(TS, PetscReal t, Vec U, Vec Udot, Vec F, void* ctx) {
    return guarded("lats::FvSolver::ifunction", [&] {
      static_cast<Impl*>(ctx)->evaluate(t, U, F, Part::Stiff);
      LATS_PETSC_CALL(VecAYPX(F, -1.0, Udot));
    });
  }
};

FvSolver::FvSolver(std::shared_ptr<const meshio::PlexMesh> mesh, std::unique_ptr<FvOperator> op)
    : impl_(std::make_unique<Impl>()) {
  LATS_CHECK(op != nullptr, InvalidValueError, "FvSolver: no operator");
  op->setUp(mesh);
  impl_->mesh = std::move(mesh);
  impl_->op = std::move(op);
  // A private clone of the mesh's cell DM: PETSc keeps the TS callbacks (RHS, IFunction) on
  // the DM, and solvers sharing a mesh must not see each other's.
  DM shared = impl_->mesh->cellDM(impl_->op->numComponents());
  PetscSection section;
  LATS_PETSC_CALL(DMClone(shared, &impl_->dm));
  LATS_PETSC_CALL(DMGetLocalSection(shared, &section));
  LATS_PETSC_CALL(DMSetLocalSection(impl_->dm, section));
  const MPI_Comm comm = impl_->mesh->comm();
  LATS_PETSC_CALL(DMCreateGlobalVector(impl_->dm, &impl_->u));
  LATS_PETSC_CALL(PetscObjectSetName(reinterpret_cast<PetscObject>(impl_->u), impl_->op->equation().c_str()));
  LATS_PETSC_CALL(VecSet(impl_->u, 0.0));
  LATS_PETSC_CALL(TSCreate(comm, &impl_->ts));
  LATS_PETSC_CALL(TSSetDM(impl_->ts, impl_->dm));
  LATS_PETSC_CALL(TSSetProblemType(impl_->ts, TS_NONLINEAR));
  LATS_PETSC_CALL(TSSetType(impl_->ts, TSSSP));
  LATS_PETSC_CALL(TSSSPSetType(impl_->ts, TSSSPRKS3));
  // Four stages, SSP coefficient 2 (PETSc's default for rks3 is nine stages): the same
  // stability at the automatic step for less than half the evaluations.
  LATS_PETSC_CALL(TSSSPSetNumStages(impl_->ts, 4));
  LATS_PETSC_CALL(TSSetRHSFunction(impl_->ts, nullptr, &Impl::rhsAll, impl_.get()));
  LATS_PETSC_CALL(TSSetExactFinalTime(impl_->ts, TS_EXACTFINALTIME_MATCHSTEP));
  LATS_PETSC_CALL(TSSetMaxSteps(impl_->ts, PETSC_MAX_INT));
  LATS_PETSC_CALL(TSSetTime(impl_->ts, 0.0));
  LATS_PETSC_CALL(TSSetApplicationContext(impl_->ts, impl_.get()));
  impl_->owner = this;
  impl_->cfl = kCfl.get();
}

FvSolver::~FvSolver() = default;

FvOperator& FvSolver::op() { return *impl_->op; }
const meshio::PlexMesh& FvSolver::mesh() const { return *impl_->mesh; }
DM FvSolver::dm() const { return impl_->dm; }
TS FvSolver::ts() const { return impl_->ts; }
Vec FvSolver::solution() const { return impl_->u; }

double FvSolver::time() const {
  PetscReal t;
  LATS_PETSC_CALL(TSGetTime(impl_->ts, &t));
  return t;
}

void FvSolver::setSolution(const std::function<void(const double* x, double* u)>& f, double t0) {
  const auto& g = impl_->mesh->geometry();
  const int nc = impl_->op->numComponents();
  auto xy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.centroids);
  PetscScalar* a;
  LATS_PETSC_CALL(VecGetArray(impl_->u, &a));
  for (std::int64_t k = 0; k < g.numOwned; ++k) {
    double x[3] = {0, 0, 0};
    for (int d = 0; d < g.dimension; ++d) x[d] = xy(k, d);
    f(x, a + k * nc);
  }
  LATS_PETSC_CALL(VecRestoreArray(impl_->u, &a));
  LATS_PETSC_CALL(TSSetTime(impl_->ts, t0));
  LATS_PETSC_CALL(TSSetStepNumber(impl_->ts, 0));
}

void FvSolver::setSolution(const std::vector<double>& values, double t0) {
  const auto& g = impl_->mesh->geometry();
  const auto expected = g.numOwned * impl_->op->numComponents();
  LATS_CHECK(static_cast<std::int64_t>(values.size()) == expected, DimensionMismatchError,
             impl_->op->equation() << ": " << values.size() << " values for " << g.numOwned << " owned cells x "
                                   << impl_->op->numComponents() << " components; expected " << expected);
  PetscScalar* a;
  LATS_PETSC_CALL(VecGetArray(impl_->u, &a));
  std::copy(values.begin(), values.end(), a);
  LATS_PETSC_CALL(VecRestoreArray(impl_->u, &a));
  LATS_PETSC_CALL(TSSetTime(impl_->ts, t0));
  LATS_PETSC_CALL(TSSetStepNumber(impl_->ts, 0));
}

void FvSolver::setFromOptions() {
  impl_->op->setFromOptions();
  impl_->cfl = kCfl.get();
  LATS_CHECK(impl_->cfl > 0 && std::isfinite(impl_->cfl), InvalidValueError,
             "-lats_fv_cfl " << impl_->cfl << "; expected a positive number (typically 0.2 to 1)");
  LATS_PETSC_CALL(TSSetFromOptions(impl_->ts));
  PetscBool dtGiven = PETSC_FALSE;
  LATS_PETSC_CALL(PetscOptionsHasName(nullptr, nullptr, "-ts_dt", &dtGiven));
  if (dtGiven) {
    impl_->automaticStep = false;
    PetscReal dt;
    LATS_PETSC_CALL(TSGetTimeStep(impl_->ts, &dt));
    impl_->fixedDt = dt;
  }
  TSType type;
  LATS_PETSC_CALL(TSGetType(impl_->ts, &type));
  impl_->imex = impl_->op->hasStiffPart() && std::string(type) == TSARKIMEX;
  if (impl_->imex) {
    LATS_PETSC_CALL(TSSetRHSFunction(impl_->ts, nullptr, &Impl::rhsExplicit, impl_.get()));
    LATS_PETSC_CALL(TSSetIFunction(impl_->ts, nullptr, &Impl::iFunction, impl_.get()));
    // The stiff part is applied matrix-free (Jacobian-free Newton-Krylov) unless the user
    // chose otherwise on the command line.
    SNES snes;
    LATS_PETSC_CALL(TSGetSNES(impl_->ts, &snes));
    LATS_PETSC_CALL(SNESSetUseMatrixFree(snes, PETSC_TRUE, PETSC_TRUE));
    KSP ksp;
    PC pc;
    LATS_PETSC_CALL(SNESGetKSP(snes, &ksp));
    LATS_PETSC_CALL(KSPGetPC(ksp, &pc));
    LATS_PETSC_CALL(PCSetType(pc, PCNONE));
    LATS_PETSC_CALL(TSSetFromOptions(impl_->ts));
  }
}

void FvSolver::setTimeStep(double dt) {
  LATS_CHECK(dt > 0 && std::isfinite(dt), InvalidValueError,
             "time step " << dt << "; expected a positive finite number");
  impl_->automaticStep = false;
  impl_->fixedDt = dt;
  LATS_PETSC_CALL(TSSetTimeStep(impl_->ts, dt));
}

double FvSolver::timeStep() const {
  PetscReal dt;
  LATS_PETSC_CALL(TSGetTimeStep(impl_->ts, &dt));
  return dt;
}

double FvSolver::stableTimeStep() const {
  const auto& g = impl_->mesh->geometry();
  const PetscScalar* a;
  LATS_PETSC_CALL(VecGetArrayRead(impl_->u, &a));
  ConstCellValues view(a, g.numOwned, impl_->op->numComponents());
  const double dt = Comm(impl_->mesh->comm()).min(impl_->op->stableTimeStep(view));
  LATS_PETSC_CALL(VecRestoreArrayRead(impl_->u, &a));
  return dt;
}

std::string FvSolver::divergedReason() const {
  return impl_->op->equation() + ": non-finite values by t = " + std::to_string(time()) + " with time step " +
         std::to_string(timeStep()) +
         "; reduce the step (-lats_fv_cfl, -ts_dt) or treat the stiff part implicitly (-ts_type arkimex)";
}

StepResult FvSolver::advance(double toTime) {
  const double t0 = time();
  LATS_CHECK(std::isfinite(toTime) && toTime >= t0, InvalidValueError,
             "advance to t = " << toTime << " from t = " << t0 << "; expected a finite time >= the current one");
  StepResult result;
  if (toTime == t0) return result;
  if (!impl_->automaticStep && impl_->fixedDt <= 0) impl_->fixedDt = timeStep();
  LATS_PETSC_CALL(TSSetMaxTime(impl_->ts, toTime));
  LATS_PETSC_CALL(TSSetTimeStep(impl_->ts, impl_->nextStep()));
  LATS_PETSC_CALL(TSSetPostStep(impl_->ts, &Impl::postStep));
  // A blow-up is a status, not an exception: PETSc stops with an error when values turn
  // non-finite, which is reported as Diverged; any other PETSc error is thrown.
  PetscPushErrorHandler(PetscReturnErrorHandler, nullptr);
  const PetscErrorCode solveError = TSSolve(impl_->ts, impl_->u);
  PetscPopErrorHandler();
  if (solveError) {
    PetscReal bad;
    LATS_PETSC_CALL(VecNorm(impl_->u, NORM_INFINITY, &bad));
    if (std::isfinite(bad)) detail::throwPetscError(solveError, "TSSolve", LATS_HERE);
    result.status = StepStatus::Diverged;
    result.dtTaken = time() - t0;
    result.reason = divergedReason();
    return result;
  }
  TSConvergedReason reason;
  LATS_PETSC_CALL(TSGetConvergedReason(impl_->ts, &reason));
  PetscReal norm;
  LATS_PETSC_CALL(VecNorm(impl_->u, NORM_INFINITY, &norm));
  result.dtTaken = time() - t0;
  result.dtNext = timeStep();
  if (reason < 0) {
    result.status = reason == TS_DIVERGED_NONLINEAR_SOLVE ? StepStatus::SolverFailed : StepStatus::Diverged;
    result.reason = std::string(impl_->op->equation()) + ": PETSc TS stopped at t = " + std::to_string(time()) +
                    " with " + TSConvergedReasons[reason];
  } else if (!std::isfinite(norm)) {
    result.status = StepStatus::Diverged;
    result.reason = divergedReason();
  }
  return result;
}

void FvSolver::setSourceTerm(std::function<void(const double* x, double t, double* s)> source) {
  impl_->source = std::move(source);
}

void FvSolver::rhs(double t, Vec u, Vec f) { impl_->evaluate(t, u, f, Impl::Part::All); }

std::vector<double> FvSolver::integrals() const {
  const auto& g = impl_->mesh->geometry();
  const int nc = impl_->op->numComponents();
  auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.volumes);
  const PetscScalar* a;
  LATS_PETSC_CALL(VecGetArrayRead(impl_->u, &a));
  std::vector<double> sums(nc, 0.0);
  for (std::int64_t k = 0; k < g.numOwned; ++k)
    for (int c = 0; c < nc; ++c) sums[c] += vol(k) * a[k * nc + c];
  LATS_PETSC_CALL(VecRestoreArrayRead(impl_->u, &a));
  MPI_Allreduce(MPI_IN_PLACE, sums.data(), nc, MPI_DOUBLE, MPI_SUM, impl_->mesh->comm());
  return sums;
}

std::vector<double> FvSolver::values() const {
  const PetscScalar* a;
  PetscInt n;
  LATS_PETSC_CALL(VecGetLocalSize(impl_->u, &n));
  LATS_PETSC_CALL(VecGetArrayRead(impl_->u, &a));
  std::vector<double> out(a, a + n);
  LATS_PETSC_CALL(VecRestoreArrayRead(impl_->u, &a));
  return out;
}

Field FvSolver::field() const {
  const auto& g = impl_->mesh->geometry();
  Field f(impl_->op->equation(), g.numOwned, impl_->op->components());
  const std::vector<double> v = values();
  auto h = Kokkos::create_mirror_view(f.view());
  for (std::int64_t k = 0; k < g.numOwned; ++k)
    for (int c = 0; c < f.numComponents(); ++c) h(k, c) = v[k * f.numComponents() + c];
  Kokkos::deep_copy(f.view(), h);
  return f;
}

}  // namespace lats::solvers
