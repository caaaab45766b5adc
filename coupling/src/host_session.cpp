#include "lats/coupling/host_session.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "lats/core/error.hpp"
#include "lats/coupling/assimilating_stepper.hpp"
#include "lats/coupling/recorder.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/assimilation/observations.hpp"

namespace lats::coupling {

struct HostSession::Impl {
  std::shared_ptr<const Mesh> points;
  State state;
  std::function<std::unique_ptr<TimeStepper>()> hostStepper;
  std::unique_ptr<TimeStepper> stepper;
  AssimilatingStepper* assimilating = nullptr;  // the stepper, when the session made one
  std::vector<solvers::assimilation::Observations> pending;
  std::unique_ptr<TrajectoryRecorder> recorder;
  std::int64_t recordEvery = 1, recordSteps = 0;
  bool hostReports = false;

  std::unique_ptr<TimeStepper> make(const std::string& type) {
    if (type == "classical" && hostStepper) return hostStepper();
    LATS_CHECK(type != "classical" || meshio::PlexMesh::of(*points) != nullptr, ConfigurationError,
               "the stepper 'classical' (alone, or a hybrid's reference part) is the host's own step here, but the "
               "host gave none and its points are not a LaTS finite-volume mesh; give the host's step "
               "(lats_session_set_host_step in the C API) or use the stepper 'surrogate'");
    return timeSteppers().create(type);
  }

  void recordIfDue() {
    if (!recorder || recorder->written()) return;
    if (++recordSteps % recordEvery != 0) return;
    if (stepper) stepper->synchronize(state);
    recorder->snapshot(*points, state);
  }
};

HostSession::HostSession(std::shared_ptr<const Mesh> points) : impl_(std::make_unique<Impl>()) {
  LATS_CHECK(points != nullptr, ConfigurationError, "host session: no points");
  impl_->points = std::move(points);
}

HostSession::~HostSession() = default;

void HostSession::bindField(const std::string& name, int components, double* values,
                            const std::vector<std::string>& componentNames) {
  auto& I = *impl_;
  const std::int64_t n = I.points->size();  // owned entities, then ghosts (finite-volume hosts)
  if (I.state.has(name)) {
    Field& f = I.state.field(name);
    LATS_CHECK(f.numComponents() == components, DimensionMismatchError,
               "host session: field '" << name << "' was bound with " << f.numComponents() << " components, now "
                                       << components);
    if (f.view().data() == values) return;
    LATS_CHECK(values != nullptr || n == 0, InvalidValueError, "host session: field '" << name << "' at NULL");
    f = Field::wrap(name, values, n, f.componentNames(), f.location());
    return;
  }
  LATS_CHECK(components >= 1, InvalidValueError,
             "host session: field '" << name << "' with " << components << " components; expected at least 1");
  LATS_CHECK(componentNames.empty() || componentNames.size() == static_cast<std::size_t>(components),
             DimensionMismatchError,
             "host session: field '" << name << "' with " << components << " components but " << componentNames.size()
                                     << " component names");
  std::vector<std::string> names = componentNames;
  for (int c = 0; c < components && componentNames.empty(); ++c)
    names.push_back(components == 1 ? name : name + std::to_string(c));
  I.state.add(Field::wrap(name, values, n, names));  // NULL with n > 0: InvalidValueError
}

void HostSession::setHostStepper(std::function<std::unique_ptr<TimeStepper>()> make) {
  impl_->hostStepper = std::move(make);
}

void HostSession::setUp(const std::string& type) {
  auto& I = *impl_;
  LATS_CHECK(!I.stepper, ConfigurationError, "host session: already set up (with '" << I.stepper->type() << "')");
  std::unique_ptr<TimeStepper> stepper;
  if (type == "assimilating") {
    // The session talks to the assimilating stepper it made (observations arrive through it).
    auto a = std::make_unique<AssimilatingStepper>();
    I.assimilating = a.get();
    stepper = std::move(a);
  } else {
    stepper = I.make(type);
  }
  stepper->setStepperFactory([&I](const std::string& part) { return I.make(part); });
  stepper->setFromOptions();
  if (I.assimilating) {
    auto settings = I.assimilating->settings();
    settings.observationsLater = true;  // a host may add them while it runs
    I.assimilating->setSettings(settings);
    for (const auto& b : I.pending) I.assimilating->addObservations(b);
    I.pending.clear();
  }
  try {
    setUp(std::move(stepper));
  } catch (...) {
    I.assimilating = nullptr;
    throw;
  }
}

void HostSession::setUp(std::unique_ptr<TimeStepper> stepper) {
  auto& I = *impl_;
  LATS_CHECK(stepper != nullptr, ConfigurationError, "host session: no stepper");
  LATS_CHECK(!I.stepper, ConfigurationError, "host session: already set up (with '" << I.stepper->type() << "')");
  LATS_CHECK(I.pending.empty(), ConfigurationError,
             "host session: observations were added but the stepper '"
                 << stepper->type() << "' does not assimilate; use the stepper \"assimilating\"");
  LATS_CHECK(I.state.numFields() > 0, ConfigurationError, "host session: no fields; bind the host's arrays first");
  stepper->setHostReportsChanges(I.hostReports);
  stepper->setUp(I.points, I.state);
  stepper->addObserver([&I](const TimeStepper&, const State&, const StepResult& r) {
    if (r.ok()) I.recordIfDue();
  });
  I.stepper = std::move(stepper);
}

void HostSession::setHostReportsChanges(bool reports) {
  LATS_CHECK(!impl_->stepper, ConfigurationError, "host session: setHostReportsChanges() after setUp()");
  impl_->hostReports = reports;
}

void HostSession::fieldsChangedByHost() {
  if (impl_->stepper) impl_->stepper->fieldsChangedByHost();
}

bool HostSession::isSetUp() const { return impl_->stepper != nullptr; }

void HostSession::setTime(double time, std::int64_t stepIndex) {
  impl_->state.setTime(time);
  impl_->state.setStepIndex(stepIndex);
}

StepResult HostSession::step(double dt, bool atLeastPreferred) {
  auto& I = *impl_;
  LATS_CHECK(I.stepper, ConfigurationError, "host session: set up a stepper before stepping");
  if (atLeastPreferred) dt = std::max(dt, I.stepper->preferredTimeStep());
  return I.stepper->step(I.state, dt);
}

StepResult HostSession::advance(double toTime, double dt) {
  auto& I = *impl_;
  LATS_CHECK(I.stepper, ConfigurationError, "host session: set up a stepper before stepping");
  return I.stepper->advance(I.state, toTime, dt);
}

void HostSession::hostStep(double dt) {
  auto& I = *impl_;
  LATS_CHECK(dt > 0 && std::isfinite(dt), InvalidValueError,
             "host step: dt = " << dt << "; expected a positive finite step");
  I.state.setTime(I.state.time() + dt);
  I.state.setStepIndex(I.state.stepIndex() + 1);
  if (I.stepper) I.stepper->pushHistory(I.state);
  I.recordIfDue();
}

void HostSession::synchronize() {
  if (impl_->stepper) impl_->stepper->synchronize(impl_->state);
}

void HostSession::addObservations(const solvers::assimilation::Observations& batch) {
  auto& I = *impl_;
  if (I.stepper) {
    LATS_CHECK(I.assimilating != nullptr, ConfigurationError,
               "the stepper '" << I.stepper->type() << "' does not assimilate; set it up as \"assimilating\"");
    I.assimilating->addObservations(batch);
  } else {
    batch.validate();
    I.pending.push_back(batch);
  }
}

void HostSession::record(const std::string& path, std::int64_t every, const std::string& equation,
                         const std::string& source, const std::string& commandLine, std::int64_t expectedSnapshots) {
  auto& I = *impl_;
  LATS_CHECK(!path.empty(), InvalidValueError, "record: no file name");
  LATS_CHECK(every >= 1, InvalidValueError, "record: every " << every << " steps; expected >= 1");
  LATS_CHECK(!recording(), ConfigurationError,
             "record: already recording to '" << I.recorder->path() << "'; finish that recording first");
  LATS_CHECK(I.state.numFields() > 0, ConfigurationError, "record: no fields; bind the host's arrays first");
  auto recorder = std::make_unique<TrajectoryRecorder>(path, equation, source, commandLine, expectedSnapshots);
  synchronize();
  recorder->snapshot(*I.points, I.state);  // creates (or continues) the file: a refusal leaves no recording
  I.recorder = std::move(recorder);
  I.recordEvery = every;
  I.recordSteps = 0;
}

bool HostSession::recording() const { return impl_->recorder && !impl_->recorder->written(); }

const std::string& HostSession::recordPath() const {
  static const std::string none;
  return impl_->recorder ? impl_->recorder->path() : none;
}

std::size_t HostSession::recordedSnapshots() const { return impl_->recorder ? impl_->recorder->size() : 0; }

void HostSession::finishRecording() {
  auto& I = *impl_;
  LATS_CHECK(I.recorder != nullptr, ConfigurationError, "record: not recording");
  I.recorder->write();
}

State& HostSession::state() { return impl_->state; }

const std::shared_ptr<const Mesh>& HostSession::points() const { return impl_->points; }

TimeStepper& HostSession::stepper() {
  LATS_CHECK(impl_->stepper, ConfigurationError, "host session: no stepper yet (set it up first)");
  return *impl_->stepper;
}

}  // namespace lats::coupling
