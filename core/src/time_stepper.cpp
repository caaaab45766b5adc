#include "lats/core/time_stepper.hpp"

#include <cmath>

#include "lats/core/error.hpp"

namespace lats {

const char* toString(StepStatus status) {
  switch (status) {
    case StepStatus::Success: return "success";
    case StepStatus::Diverged: return "diverged";
    case StepStatus::SolverFailed: return "solver-failed";
    case StepStatus::Rejected: return "rejected";
  }
  return "?";
}

StepResult agreeOnStep(MPI_Comm comm, const StepResult& local) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int mine = local.ok() ? size : rank;
  int first = size;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == size) return local;  // nobody failed
  // The lowest failing rank tells everyone what went wrong.
  int header[2] = {static_cast<int>(local.status), static_cast<int>(local.reason.size())};
  MPI_Bcast(header, 2, MPI_INT, first, comm);
  std::string reason(static_cast<std::size_t>(header[1]), '\0');
  if (rank == first) reason = local.reason;
  MPI_Bcast(reason.data(), header[1], MPI_CHAR, first, comm);
  StepResult r;
  r.status = static_cast<StepStatus>(header[0]);
  r.reason = size > 1 ? "[rank " + std::to_string(first) + "] " + reason : reason;
  r.dtTaken = 0.0;
  r.dtNext = local.dtNext;
  return r;
}

TimeStepper::~TimeStepper() = default;

void TimeStepper::setUp(std::shared_ptr<const Mesh> mesh, State& state) {
  LATS_CHECK(mesh != nullptr, ConfigurationError, "time stepper '" << type() << "': setUp() needs a mesh, got null");
  mesh_ = std::move(mesh);
  doSetUp(*mesh_, state);
  setUp_ = true;
}

StepResult TimeStepper::step(State& state, double dt) {
  LATS_CHECK(setUp_, ConfigurationError, "time stepper '" << type() << "': call setUp(mesh, state) before step()");
  LATS_CHECK(std::isfinite(dt) && dt > 0.0, InvalidValueError,
             "time stepper '" << type() << "': step size must be positive and finite, got " << dt);
  const double t0 = state.time();
  const std::int64_t s0 = state.stepIndex();
  StepResult r = doStep(state, dt);
  state.setTime(t0);
  state.setStepIndex(s0);
  if (r.ok()) {
    LATS_CHECK(std::isfinite(r.dtTaken) && r.dtTaken > 0.0 && r.dtTaken <= dt * (1.0 + 1e-12), Error,
               "time stepper '" << type() << "' reported dtTaken = " << r.dtTaken << " for a requested step of " << dt);
    state.setTime(t0 + r.dtTaken);
    state.setStepIndex(s0 + 1);
    if (!(r.dtNext > 0.0)) r.dtNext = r.dtTaken;
  } else {
    r.dtTaken = 0.0;
    if (r.reason.empty()) r.reason = toString(r.status);
  }
  for (const auto& observe : observers_) observe(*this, state, r);
  return r;
}

StepResult TimeStepper::advance(State& state, double toTime, double dt) {
  LATS_CHECK(std::isfinite(toTime), InvalidValueError, "advance(): target time must be finite, got " << toTime);
  StepResult last;
  last.dtNext = dt;
  // Tolerance relative to the time scale so that round-off does not leave a tiny last step.
  const double eps = 1e-12 * std::max(std::abs(toTime), std::abs(dt));
  while (state.time() < toTime - eps) {
    const double remaining = toTime - state.time();
    double h = last.dtNext > 0.0 ? last.dtNext : dt;
    const bool landing = h >= remaining - eps;
    if (landing) h = remaining;
    last = step(state, h);
    if (!last.ok()) return last;
    if (landing && last.dtTaken >= h * (1.0 - 1e-12)) state.setTime(toTime);  // no round-off drift at the end
  }
  return last;
}

void TimeStepper::addObserver(std::shared_ptr<StepObserver> observer) {
  LATS_CHECK(observer != nullptr, ConfigurationError, "addObserver(): observer is null");
  observers_.push_back(
      [observer](const TimeStepper& s, const State& st, const StepResult& r) { observer->afterStep(s, st, r); });
}

void TimeStepper::addObserver(ObserverFunction observer) {
  LATS_CHECK(static_cast<bool>(observer), ConfigurationError, "addObserver(): observer function is empty");
  observers_.push_back(std::move(observer));
}

Registry<TimeStepper>& timeSteppers() {
  static Registry<TimeStepper> registry("time stepper");
  return registry;
}

}  // namespace lats
