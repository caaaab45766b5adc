#pragma once
/// \file surrogate_stepper.hpp
/// The surrogate stepper: a trained latent model (checkpoint) advances the state. The state
/// is encoded once, steps happen in latent space, and values are decoded into the state's
/// fields after every step, every k-th step, or only when synchronize() is called.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "lats/core/time_stepper.hpp"
#include "lats/solvers/neural/latent_rollout.hpp"

namespace lats::coupling {

struct SurrogateSettings {
  std::string model;                         ///< checkpoint directory (-lats_model)
  std::map<std::string, double> parameters;  ///< PDE parameters the model is conditioned on
  /// Decode into the state after every k-th step (1: every step; 0: only in synchronize()).
  /// Between decodes the fields hold the last decoded values while the time advances:
  /// isSynchronized() says so, and hosts that read the fields call synchronize() first.
  std::int64_t decodeEvery = 1;
  std::int64_t ensemble = 1;  ///< seeded members (diffusion dynamics); the fields get their mean
  std::uint64_t seed = 1;
  double dt = 0.0;  ///< the model's time step when its checkpoint does not record one
  /// Points per chunk of the encoder and decoder (-1: the checkpoint's; 0: all at once):
  /// bound the memory of large meshes without changing the result.
  std::int64_t encoderChunk = -1, decoderChunk = -1;
  /// A step fails (Diverged) when a decoded value is more than `bound` training standard
  /// deviations from the training mean, or the latent state grows beyond `bound` times the
  /// largest value of the last encoded state (0: only non-finite values fail it).
  double bound = 1e3;
  /// Testing hook, "where:kind:step" (LatentRollout::injectFault): corrupts the latent state
  /// ("latent") or the decoded values ("decoded") with nan, inf or huge in the step-th step
  /// this stepper takes (1-based). Empty: none.
  std::string fault;

  /// From -lats_model, -lats_surrogate_parameters (name=value,...), -lats_surrogate_decode_every,
  /// -lats_surrogate_ensemble, -lats_surrogate_seed, -lats_surrogate_dt,
  /// -lats_surrogate_encoder_chunk, -lats_surrogate_decoder_chunk, -lats_surrogate_bound,
  /// -lats_surrogate_fault.
  static SurrogateSettings fromOptions();
};

/// "name=value,name=value" -> map; InvalidValueError naming the malformed item.
std::map<std::string, double> parseParameterList(const std::string& text, const std::string& option);

/// Registry type "surrogate". A step advances by the model's time step exactly: a requested
/// dt larger than it takes the model's step (dtTaken, dtNext say so); a smaller one is
/// Rejected with the reason. If the host changed the model's fields since the last step
/// (detected by a checksum, collectively, unless the host reports its changes), the state
/// is encoded afresh (a cold start of the history window). A non-finite or out-of-bound latent state or decoded state
/// (SurrogateSettings::bound) gives Diverged with the reason, on every rank, and leaves the state and the latent window
/// as they were.
class SurrogateStepper : public TimeStepper {
 public:
  SurrogateStepper() = default;
  explicit SurrogateStepper(SurrogateSettings settings);
  ~SurrogateStepper() override;
  std::string type() const override { return "surrogate"; }
  void setFromOptions() override;
  const SurrogateSettings& settings() const { return settings_; }

  /// The model's time step (after setUp()).
  double modelTimeStep() const { return modelDt_; }
  double preferredTimeStep() const override { return modelDt_; }
  StepperCapabilities capabilities() const override { return {true, true, true, settings_.ensemble > 1}; }
  /// The model's fields (after setUp()).
  std::vector<std::string> evolvedFields() const override;
  /// The largest member standard deviation over the owned values (0 for one member).
  double spread() const override;
  /// Decodes the current latent state into `state` if the fields are behind. Collective.
  void synchronize(State& state) override;
  bool isSynchronized() const { return synchronized_; }
  /// The host computed `state` itself (e.g. a classical step of a hybrid run): append it to
  /// the latent history window so the next surrogate step continues from it. Collective.
  void pushHistory(const State& state) override;
  /// steps (taken), host_changes (times the host changed the fields and the state was
  /// encoded afresh).
  std::vector<std::pair<std::string, std::int64_t>> counters() const override {
    return {{"steps", stepsTaken_}, {"host_changes", hostChanges_}};
  }
  /// Host-reported changes instead of checksums (TimeStepper::setHostReportsChanges).
  void setHostReportsChanges(bool reports) override { hostReports_ = reports; }
  void fieldsChangedByHost() override { hostChanged_ = true; }
  /// The latent window, counters and random streams (LatentRollout::save/restore).
  void saveState() override;
  void restoreState() override;
  /// Decode into the stepped state every k-th step (0: only in synchronize()); overrides the
  /// settings.
  void setDecodeEvery(std::int64_t k);
  /// Ensemble size and seed (before setUp(); overrides the settings).
  void setEnsemble(std::int64_t members, std::uint64_t seed);
  /// The next step samples the latent state with reconstruction guidance toward `target`
  /// (diffusion models; see LatentRollout::advanceGuided). Applies to one step only.
  void guideNextStep(solvers::neural::GuidanceTarget target);
  /// The loaded model (after setUp()).
  solvers::neural::LatentRollout& rollout();

 protected:
  void doSetUp(const Mesh& mesh, State& state) override;
  StepResult doStep(State& state, double dt) override;

 private:
  double checksum(const State& state) const;
  SurrogateSettings settings_;
  std::unique_ptr<solvers::neural::LatentRollout> rollout_;
  double modelDt_ = 0.0;
  double lastChecksum_ = 0.0;
  bool synchronized_ = true;
  bool hostReports_ = false, hostChanged_ = false;
  std::int64_t stepsTaken_ = 0, hostChanges_ = 0;
  std::pair<double, bool> saved_{0.0, true};  // lastChecksum_, synchronized_ at saveState()
  std::unique_ptr<solvers::neural::GuidanceTarget> guide_;
  std::string faultWhere_, faultKind_;  // the parsed testing hook
  std::int64_t faultStep_ = 0;
};

/// Registers "surrogate" in lats::timeSteppers() (done by registerSteppers() and when the
/// library is loaded).
void registerSurrogateStepper();

}  // namespace lats::coupling
