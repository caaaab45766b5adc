#pragma once
/// \file assimilating_stepper.hpp
/// The assimilating stepper: a decorator that runs an ensemble of members, each forecast by
/// its own stepper (classical, surrogate, hybrid, any registered type), and analyses them
/// with an ensemble Kalman filter (EnKF or LETKF) whenever the time reaches an observation
/// time. The host's state holds the ensemble mean. Members are spread over MPI ranks: all
/// ranks together forecast every member (state-parallel, the default), or groups of
/// -lats_da_member_ranks ranks forecast a share of the members each (ensemble-parallel).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/time_stepper.hpp"
#include "lats/coupling/analysis_strategy.hpp"
#include "lats/coupling/surrogate_stepper.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/assimilation/filters.hpp"
#include "lats/solvers/assimilation/metrics.hpp"
#include "lats/solvers/assimilation/observations.hpp"
#include "lats/solvers/neural/latent_rollout.hpp"

namespace lats::coupling {

struct AssimilationSettings {
  std::string type = "letkf";             ///< ensemble filter: enkf or letkf (-lats_da_type)
  std::string observations;               ///< observation file, HDF5 or CSV (-lats_obs)
  std::int64_t ensembleSize = 16;         ///< members (-lats_ensemble_size), at least 2
  std::int64_t memberRanks = 0;           ///< ranks per member group (-lats_da_member_ranks; 0: all ranks)
  double initialSpread = 0.2;             ///< amplitude of the initial perturbations (-lats_da_init_spread)
  std::string memberType = "classical";   ///< stepper of every member, by registry name (-lats_da_member)
  double guidanceGamma = 0.1;             ///< guided: weight of the denoiser's uncertainty (-lats_da_guidance_gamma)
  double guidanceModelError = 0.0;        ///< guided: latent model error (-lats_da_guidance_model_error; 0: off)
  std::int64_t guidanceCorrections = 20;  ///< guided: L-BFGS iterations of that analysis
  solvers::assimilation::FilterSettings filter;
  /// Where the ensemble filter analyses surrogate members (-lats_da_space): "physical" (the
  /// decoded fields, re-encoded afterwards) or "latent" (the members' latent windows, with
  /// the decoder at the sensors as observation operator; no localisation; the host gets the
  /// decoded mean latent state, members are decoded only when asked for).
  std::string space = "physical";
  /// The analysis strategy (registry name, -lats_da_analysis); empty: from type and space.
  std::string analysis;
  /// The strategy used: `analysis`, or "guided" for type guided, "latent_filter" for space
  /// latent, "filter" otherwise.
  std::string analysisName() const;
  /// Set up without observations (they are added while the simulation runs); otherwise
  /// setUp() without observations and without -lats_obs is an error. Not an option.
  bool observationsLater = false;

  /// From -lats_da_type, -lats_obs, -lats_ensemble_size, -lats_da_member_ranks,
  /// -lats_da_init_spread, -lats_da_member and the filter's options.
  static AssimilationSettings fromOptions();
  /// ConfigurationError / InvalidValueError naming the option.
  void validate(int worldSize) const;
};

/// Makes the members: a mesh on a group's communicator (numbering the same points with the
/// same global ids as the host's mesh) and a fresh stepper on it. `mesh` may be empty when
/// members run on all ranks: they then use the host's mesh.
struct MemberFactory {
  std::function<std::shared_ptr<const Mesh>(MPI_Comm group)> mesh;
  std::function<std::unique_ptr<TimeStepper>(const std::shared_ptr<const Mesh>& mesh)> stepper;
  /// Set when the members are surrogates: makes one. Members on all ranks then run as one
  /// batched latent ensemble in one such stepper (guided sampling and latent analyses need
  /// it); `stepper` may be left empty (it defaults to this).
  std::function<std::unique_ptr<SurrogateStepper>()> surrogate;
  /// Optional: sets the initial values of member `member` (a state on the member mesh), e.g. a
  /// draw from the initial-condition family (a climatological ensemble). Without it every
  /// member is the host's initial state plus a smooth perturbation (-lats_da_init_spread).
  std::function<void(std::int64_t member, const Mesh& mesh, State& state)> initial;
};

/// A MemberFactory for finite-volume meshes: `plex` makes the mesh on a group's communicator,
/// `stepper` a fresh stepper; classical and hybrid members are given that PlexMesh.
MemberFactory plexMemberFactory(std::function<std::shared_ptr<const meshio::PlexMesh>(MPI_Comm group)> plex,
                                std::function<std::unique_ptr<TimeStepper>()> stepper);

/// A MemberFactory from the options: the mesh from -lats_mesh* (PlexMesh::fromOptions), the
/// stepper by -lats_da_member (classical and hybrid members get that PlexMesh).
MemberFactory memberFactoryFromOptions(const std::string& memberType);

/// Registry type "assimilating" (members and settings from the options).
class AssimilatingStepper : public TimeStepper {
 public:
  AssimilatingStepper();
  AssimilatingStepper(MemberFactory factory, AssimilationSettings settings,
                      solvers::assimilation::ObservationSeries observations);
  ~AssimilatingStepper() override;
  std::string type() const override { return "assimilating"; }
  /// The members' step (surrogate members: the model's time step; classical ones: 0).
  double preferredTimeStep() const override;
  void setFromOptions() override;
  const AssimilationSettings& settings() const;
  /// Replaces the settings (before setUp()).
  void setSettings(AssimilationSettings settings);

  /// Adds an observation batch (before or after setUp(); observations may arrive while the
  /// simulation runs). A batch at the time of an existing one joins it; after setUp() its
  /// time must lie ahead of the current time and its sensors are checked against the mesh
  /// at once. Collective (the same batch on every rank).
  void addObservations(const solvers::assimilation::Observations& batch);
  /// Analyses made so far, with their times.
  const std::vector<std::pair<double, solvers::assimilation::AnalysisReport>>& analyses() const;
  /// The members' values as this rank's point block (for scores). Collective.
  solvers::assimilation::PointBlock members() const;
  /// `state` (shaped like the host's, on the host's mesh) as a one-member point block on the
  /// same points (e.g. the truth of a twin experiment). Collective.
  solvers::assimilation::PointBlock hostBlock(const State& state) const;
  /// Seconds spent in member forecasts and in analyses on this rank.
  double forecastSeconds() const;
  double analysisSeconds() const;

 protected:
  void doSetUp(const Mesh& mesh, State& state) override;
  StepResult doStep(State& state, double dt) override;

 private:
  void setUpBatch(const State& state);
  StepResult batchStep(State& state, double dt, double dtEff);
  std::unique_ptr<detail::Ensemble> impl_;
};

/// Registers "assimilating" in lats::timeSteppers() (done by registerSteppers()).
void registerAssimilatingStepper();

}  // namespace lats::coupling
