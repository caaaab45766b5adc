#pragma once
/// \file host_session.hpp
/// The one adapter between a host code and LaTS, shared by the PETSc TS type, the C API and
/// the CLI's stepping verbs: the host's arrays wrapped (no copy) as the fields of a State on
/// its points; any registered stepper, made by name, with the host's own step standing in
/// for "classical" in composite steppers (the hybrid's reference part); steps taken by the
/// host itself (history, time); recording of the trajectory as a dataset (-lats_record);
/// observations for an assimilating stepper; reading on demand (synchronize()).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/mesh.hpp"
#include "lats/core/state.hpp"
#include "lats/core/time_stepper.hpp"

namespace lats::solvers::assimilation {
struct Observations;
}

namespace lats::coupling {

class HostSession {
 public:
  /// `points`: the host's owned entities, in the order of its arrays.
  explicit HostSession(std::shared_ptr<const Mesh> points);
  ~HostSession();
  HostSession(const HostSession&) = delete;
  HostSession& operator=(const HostSession&) = delete;

  /// Wraps the host's `values` (points->size() x components, entity-major: the owned
  /// entities, then any ghosts of a finite-volume mesh) as field `name`; for a
  /// name bound before, points the field at `values` (the host's array may move between
  /// steps, e.g. VecGetArray), with the same number of components. Components are named
  /// `componentNames` (default: the field's name, or name0, name1, ... for several).
  void bindField(const std::string& name, int components, double* values,
                 const std::vector<std::string>& componentNames = {});
  /// The host's own step: "classical" made by this session (alone or as a part of a
  /// composite stepper) is a stepper from `make`.
  void setHostStepper(std::function<std::unique_ptr<TimeStepper>()> make);
  /// Makes the stepper `type` (registry name; "assimilating" also takes the observations
  /// given by addObservations()), reads its options and sets it up. Collective.
  void setUp(const std::string& type);
  /// Sets up a stepper made by the host. Collective.
  void setUp(std::unique_ptr<TimeStepper> stepper);
  bool isSetUp() const;
  /// The host reports its own changes of the arrays (fieldsChangedByHost()) instead of
  /// the stepper detecting them (TimeStepper::setHostReportsChanges). Before setUp().
  void setHostReportsChanges(bool reports);
  /// The host changed its arrays since the last step.
  void fieldsChangedByHost();
  /// The host owns the clock (a PETSc TS): the state's time and step index.
  void setTime(double time, std::int64_t stepIndex);

  /// One step of at most dt by the stepper (at least its preferredTimeStep() is asked for
  /// when `atLeastPreferred`). Collective.
  StepResult step(double dt, bool atLeastPreferred = false);
  /// Steps to `toTime`, starting with dt. Collective.
  StepResult advance(double toTime, double dt);
  /// The host advanced its arrays by dt itself: they join the stepper's history, the time
  /// moves on, a snapshot is recorded when due. Works without a stepper too. Collective.
  void hostStep(double dt);
  /// Makes the arrays hold the current state (a surrogate decodes only when read).
  /// Collective.
  void synchronize();

  /// Observations for an "assimilating" stepper, before or after setUp(). Collective.
  void addObservations(const solvers::assimilation::Observations& batch);

  /// Records the fields as a dataset (`equation`, `source` and `commandLine` are its
  /// metadata): a snapshot now and after every `every`-th successful step (the stepper's or
  /// the host's), each on disk before the step returns (TrajectoryRecorder: a killed host
  /// leaves an in-progress dataset of every snapshot taken; the same recording started again
  /// continues it from the host's restart time). `expectedSnapshots` sizes the first
  /// allocation of the file. Collective.
  void record(const std::string& path, std::int64_t every, const std::string& equation, const std::string& source,
              const std::string& commandLine, std::int64_t expectedSnapshots = 64);
  /// Whether a recording was started and not written yet.
  bool recording() const;
  const std::string& recordPath() const;
  /// Snapshots of the current recording so far.
  std::size_t recordedSnapshots() const;
  /// Finishes the recording's dataset (at least two snapshots); later calls do nothing.
  /// Collective.
  void finishRecording();

  State& state();
  const std::shared_ptr<const Mesh>& points() const;
  /// The stepper (after setUp()).
  TimeStepper& stepper();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lats::coupling
