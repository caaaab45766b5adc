#include "lats/coupling/surrogate_stepper.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <string>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/core/options.hpp"
#include "lats/core/strings.hpp"

namespace lats::coupling {
namespace {

const StringOption kModel{"model", "", "surrogate/hybrid: the trained model (checkpoint directory from lats train)"};
const StringOption kParameters{
    "surrogate_parameters", "",
    "surrogate: values of the PDE parameters the model is conditioned on, name=value separated by commas"};
const IntOption kDecodeEvery{"surrogate_decode_every", 1,
                             "surrogate: decode into the host's fields every k-th step (0: only when the host reads)"};
const IntOption kEnsemble{"surrogate_ensemble", 1,
                          "surrogate: ensemble members (diffusion dynamics; the fields get their mean)"};
const IntOption kSeed{"surrogate_seed", 1, "surrogate: seed of the stochastic (diffusion) latent dynamics"};
const IntOption kEncoderChunk{"surrogate_encoder_chunk", -1,
                              "surrogate: points the encoder attends to per chunk (-1: the checkpoint's; 0: all at "
                              "once); bounds memory on large meshes, same result"};
const IntOption kDecoderChunk{"surrogate_decoder_chunk", -1,
                              "surrogate: points decoded per chunk (-1: the checkpoint's; 0: all at once); bounds "
                              "memory on large meshes, same result"};
const RealOption kDt{
    "surrogate_dt", 0.0,
    "surrogate: the model's time step, for checkpoints that do not record it (0: from the checkpoint)"};
const RealOption kBound{"surrogate_bound", 1e3,
                        "surrogate: a step fails when a decoded value is more than this many training standard "
                        "deviations from the training mean, or the latent state grows beyond this factor times the "
                        "last encoded state's largest value (0: only non-finite values fail a step)"};
const StringOption kFault{"surrogate_fault", "",
                          "surrogate, testing: corrupt the model's output as a broken model would, "
                          "latent|decoded:nan|inf|huge:STEP (in the STEP-th surrogate step)"};

}  // namespace

std::map<std::string, double> parseParameterList(const std::string& text, const std::string& option) {
  std::map<std::string, double> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    item.erase(std::remove(item.begin(), item.end(), ' '), item.end());
    if (item.empty()) continue;
    const auto eq = item.find('=');
    double v = 0;
    std::size_t used = 0;
    bool ok = eq != std::string::npos && eq > 0 && eq + 1 < item.size();
    if (ok) {
      try {
        v = std::stod(item.substr(eq + 1), &used);
        ok = used == item.size() - eq - 1;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    LATS_CHECK(ok, InvalidValueError,
               "'" << item << "' in " << option << "; expected name=value separated by commas, e.g. vx=1.5,nu=0.01");
    out[item.substr(0, eq)] = v;
  }
  return out;
}

SurrogateSettings SurrogateSettings::fromOptions() {
  SurrogateSettings s;
  s.model = kModel.get();
  s.parameters = parseParameterList(kParameters.get(), "-lats_surrogate_parameters");
  s.decodeEvery = kDecodeEvery.get();
  s.ensemble = kEnsemble.get();
  s.seed = static_cast<std::uint64_t>(kSeed.get());
  s.dt = kDt.get();
  s.encoderChunk = kEncoderChunk.get();
  s.decoderChunk = kDecoderChunk.get();
  s.bound = kBound.get();
  s.fault = kFault.get();
  return s;
}

SurrogateStepper::SurrogateStepper(SurrogateSettings settings) : settings_(std::move(settings)) {}
SurrogateStepper::~SurrogateStepper() = default;

void SurrogateStepper::setFromOptions() { settings_ = SurrogateSettings::fromOptions(); }

solvers::neural::LatentRollout& SurrogateStepper::rollout() {
  LATS_CHECK(rollout_ != nullptr, ConfigurationError, "surrogate stepper: call setUp(mesh, state) first");
  return *rollout_;
}

double SurrogateStepper::checksum(const State& state) const {
  // A position-weighted sum of the model's fields over every rank: any change of the host's
  // values (almost surely) changes it; the same values always give the same sum.
  double local = 0.0;
  const auto n = mesh()->ownedSize();
  for (const auto& name : rollout_->info().fieldNames) {
    const Field& f = state.field(name);
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), f.view());
    for (std::int64_t i = 0; i < n; ++i)
      for (int c = 0; c < f.numComponents(); ++c)
        local += h(i, c) * (1.0 + 1e-3 * static_cast<double>((i * f.numComponents() + c) % 997));
  }
  double global = 0.0;
  MPI_Allreduce(&local, &global, 1, MPI_DOUBLE, MPI_SUM, mesh()->comm());
  return global;
}

void SurrogateStepper::doSetUp(const Mesh& /*mesh*/, State& state) {
  LATS_CHECK(!settings_.model.empty(), ConfigurationError,
             "surrogate stepper: no model; give the checkpoint directory written by lats train (-lats_model DIR)");
  LATS_CHECK(settings_.decodeEvery >= 0, InvalidValueError,
             "surrogate stepper: -lats_surrogate_decode_every " << settings_.decodeEvery << "; expected >= 0");
  LATS_CHECK(settings_.dt >= 0 && std::isfinite(settings_.dt), InvalidValueError,
             "surrogate stepper: -lats_surrogate_dt " << settings_.dt << "; expected a finite value >= 0");
  LATS_CHECK(
      settings_.bound >= 0 && std::isfinite(settings_.bound), InvalidValueError,
      "surrogate stepper: -lats_surrogate_bound " << settings_.bound << "; expected a finite value >= 0 (0: no bound)");
  faultStep_ = 0;
  if (!settings_.fault.empty()) {
    const auto parts = splitList(settings_.fault, ':');
    bool ok = parts.size() == 3 && (parts[0] == "latent" || parts[0] == "decoded") &&
              (parts[1] == "nan" || parts[1] == "inf" || parts[1] == "huge");
    if (ok) {
      try {
        std::size_t used = 0;
        faultStep_ = std::stoll(parts[2], &used);
        ok = used == parts[2].size() && faultStep_ >= 1;
      } catch (const std::exception&) {
        ok = false;
      }
    }
    LATS_CHECK(ok, InvalidValueError,
               "surrogate stepper: -lats_surrogate_fault '" << settings_.fault
                                                            << "'; expected latent|decoded:nan|inf|huge:STEP with "
                                                               "STEP >= 1, e.g. decoded:nan:3");
    faultWhere_ = parts[0];
    faultKind_ = parts[1];
  }
  LATS_CHECK(settings_.encoderChunk >= -1 && settings_.decoderChunk >= -1, InvalidValueError,
             "surrogate stepper: chunk sizes " << settings_.encoderChunk << " (encoder) and " << settings_.decoderChunk
                                               << " (decoder); expected -1 (the checkpoint's), 0 (all) or a count");
  rollout_ = std::make_unique<solvers::neural::LatentRollout>(mesh()->comm(), settings_.model);
  rollout_->setChunkSizes(settings_.encoderChunk, settings_.decoderChunk);
  const auto& info = rollout_->info();
  modelDt_ = settings_.dt > 0 ? settings_.dt : info.timeStep;
  LATS_CHECK(modelDt_ > 0, ConfigurationError,
             "surrogate stepper: the checkpoint '"
                 << settings_.model << "' does not record its time step; give it with -lats_surrogate_dt");
  if (settings_.dt > 0 && info.timeStep > 0)
    LATS_CHECK(std::abs(settings_.dt - info.timeStep) <= 1e-9 * info.timeStep, ConfigurationError,
               "surrogate stepper: -lats_surrogate_dt " << settings_.dt << " differs from the time step "
                                                        << info.timeStep << " the model was trained with");
  rollout_->setEnsemble(settings_.ensemble, settings_.seed);
  if (!info.parameterNames.empty() || !settings_.parameters.empty()) rollout_->setParameters(settings_.parameters);
  rollout_->bind(mesh(), state);
  rollout_->reset(state);
  if (!hostReports_) lastChecksum_ = checksum(state);
  hostChanged_ = false;
  synchronized_ = true;
  if (Comm(mesh()->comm()).rank() == 0) {
    // Once per model and ensemble size at info level (rollouts and ensembles set up many
    // steppers on one model); again only at debug level.
    static std::set<std::string> announced;
    std::ostringstream line;
    line << "surrogate: model " << settings_.model << " (" << info.dynamics << " dynamics, history " << info.history
         << ", dt " << modelDt_ << ", " << settings_.ensemble << " member(s))";
    (announced.insert(line.str()).second ? logInfo() : logDebug()) << line.str();
  }
}

StepResult SurrogateStepper::doStep(State& state, double dt) {
  const auto guide = std::move(guide_);  // guidance applies to this step only, taken or not
  StepResult r;
  if (dt < modelDt_ * (1.0 - 1e-9)) {
    r.status = StepStatus::Rejected;
    r.reason = "the surrogate advances in steps of the model's time step " + std::to_string(modelDt_) + "; a step of " +
               std::to_string(dt) + " is smaller (use a step and final time that are multiples of it)";
    r.dtNext = modelDt_;
    return r;
  }
  // A host that changed the fields since our last step (or since setUp) restarts the latent
  // state from its values. Only meaningful while the fields are in sync with the latent.
  const bool changed = hostReports_ ? hostChanged_ : synchronized_ && checksum(state) != lastChecksum_;
  hostChanged_ = false;
  if (changed) {
    ++hostChanges_;
    rollout_->reset(state);
    if (Comm(mesh()->comm()).rank() == 0)
      logDebug() << "surrogate: the host changed the fields at t = " << state.time() << "; encoded afresh";
  }
  rollout_->save();
  if (guide) {
    rollout_->advanceGuided(*guide);
  } else {
    rollout_->advance(1);
  }
  if (faultStep_ == stepsTaken_ + 1) {  // testing hook, once
    rollout_->injectFault(faultWhere_, faultKind_);
    faultStep_ = 0;
  }
  if (auto problem = rollout_->latentProblem(settings_.bound); !problem.empty()) {
    rollout_->restore();
    r.status = StepStatus::Diverged;
    r.reason = problem + " in the surrogate step from t = " + std::to_string(state.time());
    r.dtNext = modelDt_;
    return r;
  }
  synchronized_ = false;
  if (settings_.decodeEvery > 0 && rollout_->stepsSinceEncode() % settings_.decodeEvery == 0) {
    // The decoded state is checked before it reaches the fields: a decoder that turns a
    // finite latent state into non-finite values fails the step (fields untouched).
    if (auto problem = rollout_->decodeChecked(state, settings_.bound); !problem.empty()) {
      rollout_->restore();
      synchronized_ = true;
      r.status = StepStatus::Diverged;
      r.reason = problem + " after the step from t = " + std::to_string(state.time());
      r.dtNext = modelDt_;
      return r;
    }
    if (!hostReports_) lastChecksum_ = checksum(state);
    synchronized_ = true;
  }
  ++stepsTaken_;
  r.dtTaken = modelDt_;
  r.dtNext = modelDt_;
  return r;
}

void SurrogateStepper::setDecodeEvery(std::int64_t k) {
  LATS_CHECK(k >= 0, InvalidValueError, "surrogate: decode every " << k << " steps; expected >= 0");
  settings_.decodeEvery = k;
}

void SurrogateStepper::setEnsemble(std::int64_t members, std::uint64_t seed) {
  LATS_CHECK(members >= 1, InvalidValueError, "surrogate: ensemble of " << members << " members; expected at least 1");
  LATS_CHECK(rollout_ == nullptr, ConfigurationError, "surrogate: setEnsemble() after setUp()");
  settings_.ensemble = members;
  settings_.seed = seed;
}

void SurrogateStepper::guideNextStep(solvers::neural::GuidanceTarget target) {
  guide_ = std::make_unique<solvers::neural::GuidanceTarget>(std::move(target));
}

void SurrogateStepper::synchronize(State& state) {
  if (synchronized_ || rollout_ == nullptr) return;
  rollout_->decode(state);
  if (!hostReports_) lastChecksum_ = checksum(state);
  synchronized_ = true;
}

void SurrogateStepper::pushHistory(const State& state) {
  rollout().push(state);
  if (!hostReports_) lastChecksum_ = checksum(state);
  hostChanged_ = false;  // the pushed state is the one the host changed
  synchronized_ = true;
}

void SurrogateStepper::saveState() {
  rollout().save();
  saved_ = {lastChecksum_, synchronized_};
}

void SurrogateStepper::restoreState() {
  rollout().restore();
  lastChecksum_ = saved_.first;
  synchronized_ = saved_.second;
}

void registerSurrogateStepper() {
  timeSteppers().addIfAbsent("surrogate", "a trained latent model (-lats_model) advances the state in latent space",
                             [] { return std::make_unique<SurrogateStepper>(); });
}

}  // namespace lats::coupling

namespace lats::coupling {

std::vector<std::string> SurrogateStepper::evolvedFields() const {
  return rollout_ ? rollout_->info().fieldNames : std::vector<std::string>{};
}

double SurrogateStepper::spread() const {
  double worst = 0.0;
  if (rollout_ && rollout_->members() > 1)
    for (double v : rollout_->spread()) worst = std::max(worst, v);
  return worst;
}

}  // namespace lats::coupling
