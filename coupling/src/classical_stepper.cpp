#include "lats/coupling/classical_stepper.hpp"

#include <algorithm>
#include <cmath>

#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/core/strings.hpp"
#include "lats/solvers/classical/fv_operator.hpp"
#include "lats/solvers/classical/fv_solver.hpp"

namespace lats::coupling {
namespace {
// The same declaration as the generator's (identical redeclarations are allowed).
}  // namespace

ClassicalStepper::ClassicalStepper() : fromOptions_(true) {}

ClassicalStepper::ClassicalStepper(std::shared_ptr<const meshio::PlexMesh> mesh, std::string equation)
    : plex_(std::move(mesh)), equation_(std::move(equation)) {
  solvers::fvOperators().create(equation_);  // unknown names fail here, with a suggestion
}

ClassicalStepper::~ClassicalStepper() = default;

void ClassicalStepper::setFromOptions() {
  if (fromOptions_) setEquation(solvers::equationFromOptions());
}

void ClassicalStepper::setPlexMesh(std::shared_ptr<const meshio::PlexMesh> mesh) { plex_ = std::move(mesh); }

void ClassicalStepper::setEquation(const std::string& equation) {
  solvers::fvOperators().create(equation);
  equation_ = equation;
}

void ClassicalStepper::setParameter(const std::string& name, double value) {
  if (solver_) {
    solver_->op().setParameter(name, value);
  } else {
    // Checked now against a throw-away operator, so the error comes where the mistake is.
    LATS_CHECK(!equation_.empty(), ConfigurationError,
               "classical stepper: set the equation (-lats_equation) before its parameters");
    solvers::fvOperators().create(equation_)->setParameter(name, value);
  }
  parameters_.emplace_back(name, value);
}

solvers::FvSolver& ClassicalStepper::solver() {
  LATS_CHECK(solver_ != nullptr, ConfigurationError, "classical stepper: call setUp(mesh, state) first");
  return *solver_;
}

void ClassicalStepper::doSetUp(const Mesh& mesh, State& state) {
  if (equation_.empty()) setEquation(solvers::equationFromOptions());
  if (plex_ == nullptr) plex_ = meshio::PlexMesh::of(mesh);  // a mesh made by a PlexMesh knows it
  LATS_CHECK(plex_ != nullptr, ConfigurationError,
             "classical stepper: no finite-volume mesh; set it up on a PlexMesh's mesh(), construct it with the "
             "PlexMesh (ClassicalStepper(plex, equation)) or call setPlexMesh() before setUp()");
  LATS_CHECK(&mesh == plex_->mesh().get(), ConfigurationError,
             "classical stepper: setUp() got the mesh '"
                 << mesh.name() << "' but the stepper integrates on the PlexMesh '" << plex_->mesh()->name()
                 << "'; pass plex->mesh()");
  auto op = solvers::fvOperators().create(equation_);
  solver_ = std::make_unique<solvers::FvSolver>(plex_, std::move(op));
  solver_->setFromOptions();
  for (const auto& [name, value] : parameters_) solver_->op().setParameter(name, value);
  LATS_CHECK(state.has(equation_), ConfigurationError,
             "classical stepper: the state has no field '"
                 << equation_ << "' (the " << equation_ << " solver evolves a field named after the equation)."
                 << didYouMean(equation_, state.fieldNames()) << " State fields: " << join(state.fieldNames(), ", "));
  const Field& f = state.field(equation_);
  LATS_CHECK(f.numComponents() == solver_->op().numComponents() && f.size() >= mesh.ownedSize(), DimensionMismatchError,
             "classical stepper: field '" << equation_ << "' is " << f.size() << " x " << f.numComponents()
                                          << "; expected at least " << mesh.ownedSize() << " entities x "
                                          << solver_->op().numComponents() << " components ("
                                          << join(solver_->op().components(), ", ") << ")");
}

StepResult ClassicalStepper::doStep(State& state, double dt) {
  Field& f = state.field(equation_);
  const std::int64_t n = mesh()->ownedSize();
  const int nc = f.numComponents();
  // The host's values in, whatever happened to them since the last step (another stepper, an
  // analysis): the classical step always starts from the state it is given.
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), f.view());
  std::vector<double> values(static_cast<std::size_t>(n * nc));
  for (std::int64_t i = 0; i < n; ++i)
    for (int c = 0; c < nc; ++c) values[i * nc + c] = host(i, c);
  solver_->setSolution(values, state.time());
  StepResult r = solver_->advance(state.time() + dt);
  if (!r.ok()) {
    r.dtTaken = 0.0;  // the state keeps its values and time
    return r;
  }
  values = solver_->values();
  for (std::int64_t i = 0; i < n; ++i)
    for (int c = 0; c < nc; ++c) host(i, c) = values[i * nc + c];
  Kokkos::deep_copy(f.view(), host);
  r.dtTaken = dt;
  r.dtNext = dt;  // the host's macro step; the solver chooses its own inner steps
  return r;
}

void registerClassicalStepper() {
  timeSteppers().addIfAbsent("classical",
                             "a PETSc finite-volume solver (-lats_equation, any -ts_type) on a DMPlex mesh",
                             [] { return std::make_unique<ClassicalStepper>(); });
}

}  // namespace lats::coupling
