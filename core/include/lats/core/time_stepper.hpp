#pragma once
/// \file time_stepper.hpp
/// The TimeStepper interface, step results, observers and the stepper registry.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lats/core/mesh.hpp"
#include "lats/core/registry.hpp"
#include "lats/core/state.hpp"

namespace lats {

/// Outcome of one step, in the spirit of PETSc's TSConvergedReason.
enum class StepStatus {
  Success,       ///< the step was taken
  Diverged,      ///< the new state has non-finite values or blew up; the state is unchanged
  SolverFailed,  ///< an inner solver (nonlinear, linear, sampler) failed; the state is unchanged
  Rejected       ///< a policy refused the step (e.g. trust indicator); the state is unchanged
};
const char* toString(StepStatus status);

struct StepResult {
  double dtTaken = 0.0;  ///< time the state advanced by (0 unless status is Success)
  double dtNext = 0.0;   ///< suggested next step
  StepStatus status = StepStatus::Success;
  std::string reason;  ///< human-readable detail, always set when status != Success
  bool ok() const { return status == StepStatus::Success; }
};

/// Collective agreement on a step's outcome: when the step failed on any rank of `comm`,
/// every rank gets the status and reason of the lowest failing rank (reason prefixed by
/// "[rank r] " when more than one rank runs), dtTaken 0; otherwise `local` unchanged.
/// Collective over `comm`.
StepResult agreeOnStep(MPI_Comm comm, const StepResult& local);

class TimeStepper;

/// What a stepper does beyond step(): hosts and composite steppers ask instead of testing
/// for a concrete class.
struct StepperCapabilities {
  /// The fields may lag behind the state's time until synchronize() (a surrogate that
  /// decodes only when its state is read).
  bool lazyState = false;
  /// pushHistory() feeds host-computed states into a window of past states.
  bool history = false;
  /// saveState()/restoreState() remember internal state beyond the fields (latent windows,
  /// random streams); without it the fields are the whole state.
  bool internalState = false;
  /// The stepper advances an ensemble whose mean is the state; spread() says how far apart
  /// the members are.
  bool ensemble = false;
};

/// Makes a stepper by registry name. Composite steppers (hybrid, assimilating) make their
/// parts through one, so that a host can stand in for a name: the PETSc TS type and the C
/// API answer "classical" with the host's own step.
using StepperFactory = std::function<std::unique_ptr<TimeStepper>(const std::string& type)>;

/// Called after every step attempt (successful or not); used for recording, logging and metrics.
class StepObserver {
 public:
  virtual ~StepObserver() = default;
  virtual void afterStep(const TimeStepper& stepper, const State& state, const StepResult& result) = 0;
};

/// Base of every stepper. The public methods implement the contract once:
///   - step() requires setUp(), a positive finite dt, calls doStep(), and on success
///     advances state.time() by dtTaken and state.stepIndex() by one;
///   - on failure the state's time and step index are unchanged and doStep() must leave
///     the field values unchanged too;
///   - observers run after every attempt.
/// A numerical failure is a status, never an exception; exceptions mean misuse or bad input.
class TimeStepper {
 public:
  virtual ~TimeStepper();
  /// Registry name of the stepper ("rk", "classical", ...).
  virtual std::string type() const = 0;
  /// Reads the stepper's -lats_ options. Default: nothing.
  virtual void setFromOptions() {}

  /// Prepares the stepper for `state` on `mesh`. Collective over the mesh communicator.
  void setUp(std::shared_ptr<const Mesh> mesh, State& state);
  bool isSetUp() const { return setUp_; }
  /// Advances `state` by one step of at most `dt` (see class comment). Collective.
  StepResult step(State& state, double dt);
  /// Steps until state.time() reaches `toTime` (the last step is shortened to land on it),
  /// starting with `dt` and then using each result's dtNext. Returns the last result: a
  /// failure stops the loop. Collective.
  StepResult advance(State& state, double toTime, double dt);

  /// What this stepper does beyond step(). Default: nothing more.
  virtual StepperCapabilities capabilities() const { return {}; }
  /// Brings the fields of `state` up to its time (a stepper that decodes only when read).
  /// Default: nothing, the fields are always current. Collective.
  virtual void synchronize(State& /*state*/) {}
  /// The host computed `state` itself (e.g. a classical step of a hybrid run): the next
  /// step continues from it with it as the latest history entry. Default: nothing (the
  /// fields are the state). Collective.
  virtual void pushHistory(const State& /*state*/) {}
  /// Remember / go back to the internal state (rollback of a rejected step); the caller
  /// restores the fields itself. Default: nothing to remember.
  virtual void saveState() {}
  virtual void restoreState() {}
  /// The fields this stepper evolves (the others are left alone); empty: every field of the
  /// state. Composite steppers check that their parts agree.
  virtual std::vector<std::string> evolvedFields() const { return {}; }
  /// With `reports` the host promises to call fieldsChangedByHost() whenever it changed the
  /// fields itself between steps (a PETSc host knows it from PetscObjectStateGet), so the
  /// stepper need not detect it (a surrogate then skips its checksum passes and their
  /// allreduces). Default: nothing to detect.
  virtual void setHostReportsChanges(bool /*reports*/) {}
  /// The host changed the fields since the last step (see setHostReportsChanges()).
  virtual void fieldsChangedByHost() {}
  /// The step this stepper takes whatever dt asks for (a surrogate's model time step; after
  /// setUp()); 0: it follows the requested dt. Hosts that own the clock ask for at least it.
  virtual double preferredTimeStep() const { return 0.0; }
  /// The largest ensemble standard deviation over this rank's owned values after the last
  /// step (capabilities().ensemble); 0 for a single run. Local: reduce it yourself.
  virtual double spread() const { return 0.0; }
  /// Composite steppers make their parts through `factory` from now on (default: the
  /// registry). Steppers without parts ignore it.
  virtual void setStepperFactory(StepperFactory /*factory*/) {}
  /// Counts of the run for reports, e.g. {"surrogate_steps", 12}. Default: none.
  virtual std::vector<std::pair<std::string, std::int64_t>> counters() const { return {}; }

  using ObserverFunction = std::function<void(const TimeStepper&, const State&, const StepResult&)>;
  void addObserver(std::shared_ptr<StepObserver> observer);
  void addObserver(ObserverFunction observer);
  std::shared_ptr<const Mesh> mesh() const { return mesh_; }

 protected:
  virtual void doSetUp(const Mesh& mesh, State& state) = 0;
  /// Advances the fields of `state` by at most `dt` without touching its time or step
  /// index; returns dtTaken and status. On failure the fields must be left unchanged.
  virtual StepResult doStep(State& state, double dt) = 0;

 private:
  std::shared_ptr<const Mesh> mesh_;
  bool setUp_ = false;
  std::vector<ObserverFunction> observers_;
};

/// The global registry of steppers, keyed by type name.
Registry<TimeStepper>& timeSteppers();

}  // namespace lats
