// The assimilating stepper: an ensemble of member steppers, analysed at observation times.
#include "lats/coupling/assimilating_stepper.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "detail/ensemble.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/core/options.hpp"
#include "lats/coupling/classical_stepper.hpp"
#include "lats/coupling/hybrid_stepper.hpp"
#include "lats/coupling/surrogate_stepper.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/assimilation/ensemble.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"

namespace lats::coupling {

namespace da = solvers::assimilation;

namespace {
const EnumOption kType{"da_type",
                       "letkf",
                       {"enkf", "letkf", "guided"},
                       "assimilation: stochastic EnKF, LETKF, or guided sampling of a diffusion surrogate"};
const StringOption kAnalysis{"da_analysis", "",
                             "assimilation: the analysis strategy (filter, latent_filter, guided; empty: from "
                             "-lats_da_type and -lats_da_space)"};
const EnumOption kSpace{"da_space",
                        "physical",
                        {"physical", "latent"},
                        "assimilation: analyse surrogate members as decoded fields or in latent space"};
const RealOption kModelError{
    "da_guidance_model_error", 0.0,
    "assimilation (guided): model error per latent value; > 0 adds a latent variational analysis after sampling"};
const IntOption kCorrections{"da_guidance_corrections", 20,
                             "assimilation (guided): L-BFGS iterations of the model-error analysis"};
const RealOption kGamma{"da_guidance_gamma", 0.1,
                        "assimilation (guided): weight of the denoiser's uncertainty in the guidance likelihood"};
const StringOption kObs{"obs", "", "assimilation: observation file (.h5 or .csv; layout in doc/assimilation.md)"};
const IntOption kEnsembleSize{"ensemble_size", 16, "assimilation: ensemble members (at least 2)"};
const IntOption kMemberRanks{"da_member_ranks", 0,
                             "assimilation: ranks per member group; 0: every member on all ranks (state-parallel)"};
const RealOption kInitSpread{
    "da_init_spread", 0.2,
    "assimilation: initial perturbation amplitude, relative to each component's standard deviation"};
const StringOption kMember{"da_member", "classical",
                           "assimilation: stepper that forecasts each member (classical, surrogate, hybrid, ...)"};
}  // namespace

AssimilationSettings AssimilationSettings::fromOptions() {
  AssimilationSettings s;
  s.type = kType.get();
  s.observations = kObs.get();
  s.ensembleSize = kEnsembleSize.get();
  s.memberRanks = kMemberRanks.get();
  s.initialSpread = kInitSpread.get();
  s.memberType = kMember.get();
  s.guidanceGamma = kGamma.get();
  s.space = kSpace.get();
  s.guidanceModelError = kModelError.get();
  s.guidanceCorrections = kCorrections.get();
  s.analysis = kAnalysis.get();
  s.filter = da::FilterSettings::fromOptions();
  return s;
}

std::string AssimilationSettings::analysisName() const {
  if (!analysis.empty()) return analysis;
  if (type == "guided") return "guided";
  return space == "latent" ? "latent_filter" : "filter";
}

void AssimilationSettings::validate(int worldSize) const {
  if (!analysisStrategies().contains(analysisName())) analysisStrategies().create(analysisName());
  LATS_CHECK(
      ensembleSize >= 2, InvalidValueError,
      "-lats_ensemble_size " << ensembleSize << ": an ensemble filter needs at least 2 members (20 to 100 is typical)");
  LATS_CHECK(memberRanks >= 0 && (memberRanks == 0 || worldSize % memberRanks == 0), InvalidValueError,
             "-lats_da_member_ranks " << memberRanks << " must divide the " << worldSize
                                      << " ranks (or be 0: all ranks forecast every member)");
  LATS_CHECK(std::isfinite(initialSpread) && initialSpread >= 0.0, InvalidValueError,
             "-lats_da_init_spread " << initialSpread << " must be finite and >= 0");
  LATS_CHECK(memberType != "assimilating", ConfigurationError,
             "-lats_da_member assimilating: members cannot assimilate themselves; use classical, surrogate or hybrid");
  if (!timeSteppers().contains(memberType)) timeSteppers().create(memberType);  // the registry's error
  LATS_CHECK(std::isfinite(guidanceGamma) && guidanceGamma >= 0.0, InvalidValueError,
             "-lats_da_guidance_gamma " << guidanceGamma << " must be finite and >= 0");
  LATS_CHECK(std::isfinite(guidanceModelError) && guidanceModelError >= 0.0, InvalidValueError,
             "-lats_da_guidance_model_error " << guidanceModelError << " must be finite and >= 0");
  LATS_CHECK(guidanceCorrections >= 1, InvalidValueError,
             "-lats_da_guidance_corrections " << guidanceCorrections << " must be at least 1");
  LATS_CHECK(space == "physical" || space == "latent", ConfigurationError,
             "-lats_da_space " << space << "; expected physical or latent");
  LATS_CHECK(space == "physical" || type != "guided", ConfigurationError,
             "-lats_da_space latent applies to the ensemble filters (enkf, letkf), not to guided sampling");
  if (type == "guided") {
    LATS_CHECK(memberRanks == 0 || memberRanks == worldSize, ConfigurationError,
               "guided assimilation runs its ensemble inside one surrogate on all ranks; "
               "leave -lats_da_member_ranks at 0");
    return filter.validate();
  }
  da::ensembleFilters().create(type);
  filter.validate();
}

MemberFactory plexMemberFactory(std::function<std::shared_ptr<const meshio::PlexMesh>(MPI_Comm group)> plex,
                                std::function<std::unique_ptr<TimeStepper>()> stepper) {
  MemberFactory f;
  auto plexes = std::make_shared<std::map<const Mesh*, std::shared_ptr<const meshio::PlexMesh>>>();
  f.mesh = [plexes, plex](MPI_Comm group) {
    auto p = plex(group);
    auto mesh = p->mesh();
    (*plexes)[mesh.get()] = p;
    return mesh;
  };
  // The plexes live as long as the factory; a classical part of a member finds its plex
  // from the member mesh (PlexMesh::of).
  f.stepper = [plexes, stepper](const std::shared_ptr<const Mesh>& /*mesh*/) { return stepper(); };
  return f;
}

MemberFactory memberFactoryFromOptions(const std::string& memberType) {
  auto make = [memberType] {
    auto s = timeSteppers().create(memberType);
    s->setFromOptions();
    return s;
  };
  if (memberType == "classical" || memberType == "hybrid")
    return plexMemberFactory([](MPI_Comm group) { return meshio::PlexMesh::fromOptions(group, 2); }, make);
  MemberFactory f;  // mesh-free members (surrogates) live on the host's mesh
  if (memberType == "surrogate") {
    f.surrogate = [] {
      auto s = std::make_unique<SurrogateStepper>();
      s->setFromOptions();
      return s;
    };
    return f;
  }
  f.stepper = [make](const std::shared_ptr<const Mesh>&) { return make(); };
  return f;
}

AssimilatingStepper::AssimilatingStepper() : impl_(std::make_unique<detail::Ensemble>()) {}
AssimilatingStepper::AssimilatingStepper(MemberFactory factory, AssimilationSettings settings,
                                         da::ObservationSeries observations)
    : impl_(std::make_unique<detail::Ensemble>()) {
  impl_->factory = std::move(factory);
  impl_->settings = std::move(settings);
  impl_->series = std::move(observations);
}
AssimilatingStepper::~AssimilatingStepper() = default;

void AssimilatingStepper::setFromOptions() {
  impl_->settings = AssimilationSettings::fromOptions();
  impl_->factory = memberFactoryFromOptions(impl_->settings.memberType);
}

const AssimilationSettings& AssimilatingStepper::settings() const { return impl_->settings; }
void AssimilatingStepper::setSettings(AssimilationSettings settings) {
  LATS_CHECK(!impl_->isSetUp, ConfigurationError, "assimilating stepper: setSettings() after setUp()");
  impl_->settings = std::move(settings);
}
const std::vector<std::pair<double, da::AnalysisReport>>& AssimilatingStepper::analyses() const {
  return impl_->analyses;
}
double AssimilatingStepper::forecastSeconds() const { return impl_->forecastSeconds; }
double AssimilatingStepper::analysisSeconds() const { return impl_->analysisSeconds; }

da::PointBlock AssimilatingStepper::members() const {
  LATS_CHECK(impl_->memberExchange != nullptr, ConfigurationError, "assimilating stepper: call setUp() first");
  if (impl_->membersStale) impl_->refreshBatchMembers();  // decoded only when asked for
  return impl_->memberExchange->gather(impl_->constPointers());
}

da::PointBlock AssimilatingStepper::hostBlock(const State& state) const {
  LATS_CHECK(impl_->hostExchange != nullptr, ConfigurationError, "assimilating stepper: call setUp() first");
  return impl_->hostExchange->gather({&state});
}

void AssimilatingStepper::doSetUp(const Mesh& mesh, State& state) {
  auto& I = *impl_;
  I.world = mesh.comm();
  int size = 1, rank = 0;
  MPI_Comm_size(I.world, &size);
  MPI_Comm_rank(I.world, &rank);
  // Surrogate members without a stepper factory of their own: each member is one surrogate.
  if (!I.factory.stepper && I.factory.surrogate)
    I.factory.stepper = [make = I.factory.surrogate](const std::shared_ptr<const Mesh>&) {
      return std::unique_ptr<TimeStepper>(make());
    };
  collective(I.world, [&] {
    I.settings.validate(size);
    LATS_CHECK(I.factory.stepper != nullptr, ConfigurationError,
               "assimilating stepper: no member factory (construct it with one or call setFromOptions())");
    LATS_CHECK(
        I.settings.memberRanks == 0 || I.settings.memberRanks == size || I.factory.mesh != nullptr, ConfigurationError,
        "assimilating stepper: member groups of " << I.settings.memberRanks << " ranks need a member mesh factory");
  });
  if (I.series.batches.empty() && !(I.settings.observationsLater && I.settings.observations.empty())) {
    collective(I.world, [&] {
      LATS_CHECK(!I.settings.observations.empty(), ConfigurationError,
                 "assimilating stepper: no observations; give -lats_obs <file.h5|file.csv>");
    });
    I.series = da::readObservations(I.world, I.settings.observations);
  }
  collective(I.world, [&] { I.series.validate(); });
  const std::int64_t N = I.settings.ensembleSize;
  const int groupRanks = I.settings.memberRanks == 0 ? size : static_cast<int>(I.settings.memberRanks);
  const int groups = size / groupRanks, color = rank / groupRanks;
  if (groups > 1) {
    MPI_Comm_split(I.world, color, rank, &I.group);
    I.ownGroup = true;
  } else {
    I.group = I.world;
  }
  for (std::int64_t i = color; i < N; i += groups) I.mine.push_back(i);
  I.strategy = analysisStrategies().create(I.settings.analysisName());
  // Surrogate members on all ranks run as one batched surrogate (which some strategies need).
  I.memberMesh = I.factory.mesh ? I.factory.mesh(I.group) : this->mesh();
  const bool surrogateMembers = groups == 1 && I.factory.surrogate != nullptr;
  // What the members are, for the log and messages.
  std::unique_ptr<TimeStepper> probe;
  if (groups == 1 && !surrogateMembers && I.factory.stepper) probe = I.factory.stepper(I.memberMesh);
  I.memberKind = surrogateMembers ? "surrogate" : probe ? probe->type() : I.settings.memberType;
  const std::string& memberKind = I.memberKind;
  if (surrogateMembers) I.batchOwner = I.factory.surrogate();
  collective(I.world, [&] { I.strategy->checkMembers(surrogateMembers, memberKind); });
  const bool batched = surrogateMembers;
  // Member states shaped like the host's, on the member mesh.
  for (std::size_t k = 0; k < I.mine.size(); ++k) {
    State s;
    for (const auto& f : state.fields()) s.add(Field(f.name(), I.memberMesh->size(), f.componentNames(), f.location()));
    s.setTime(state.time());
    s.setStepIndex(state.stepIndex());
    I.states.push_back(std::move(s));
  }
  State& layout = I.layout;
  layout = State();
  for (const auto& f : state.fields())
    layout.add(Field(f.name(), I.memberMesh->size(), f.componentNames(), f.location()));
  I.memberExchange = std::make_unique<da::EnsembleExchange>(I.world, I.memberMesh, layout, I.mine, N);
  I.hostExchange =
      std::make_unique<da::EnsembleExchange>(I.world, this->mesh(), state, std::vector<std::int64_t>{0}, 1);
  collective(I.world, [&] {
    LATS_CHECK(I.memberExchange->numPoints() == I.hostExchange->numPoints(), DimensionMismatchError,
               "assimilating stepper: the member mesh has "
                   << I.memberExchange->numPoints() << " points, the host's mesh " << I.hostExchange->numPoints());
  });
  {
    // Every member starts from its own draw (the factory's initial values) or from the host's
    // state plus its own smooth perturbation.
    const auto host = I.hostExchange->gather({&state});
    da::PointBlock start = host;
    start.members = N;
    start.values.assign(static_cast<std::size_t>(host.size() * N * host.components), 0.0);
    for (std::int64_t p = 0; p < host.size(); ++p)
      for (std::int64_t i = 0; i < N; ++i)
        for (int c = 0; c < host.components; ++c) start(p, i, c) = host(p, 0, c);
    I.memberExchange->scatter(start, I.pointers());
    for (std::size_t k = 0; k < I.mine.size(); ++k) {
      if (I.factory.initial)
        I.factory.initial(I.mine[k], *I.memberMesh, I.states[k]);
      else
        da::perturb(I.states[k], *I.memberMesh, I.settings.initialSpread, I.settings.filter.seed,
                    static_cast<std::uint64_t>(I.mine[k]));
    }
  }
  if (batched) {
    setUpBatch(state);
  } else {
    for (std::size_t k = 0; k < I.mine.size(); ++k) {
      I.steppers.push_back(I.factory.stepper(I.memberMesh));
      I.steppers.back()->setUp(I.memberMesh, I.states[k]);
    }
  }
  // Observation operators for every sensor set now, so a bad sensor is an error before any step.
  for (std::size_t b = 0; b < I.series.batches.size(); ++b) {
    const auto& sensors = I.series.batches[b].sensors;
    if (b > 0 && sensors.coordinates == I.series.batches[b - 1].sensors.coordinates &&
        sensors.components == I.series.batches[b - 1].sensors.components &&
        sensors.noiseStd == I.series.batches[b - 1].sensors.noiseStd) {
      I.operatorOf.push_back(I.operatorOf.back());
      continue;
    }
    I.operators.emplace_back(I.memberMesh, layout, sensors);
    I.operatorOf.push_back(I.operators.size() - 1);
  }
  I.targets.clear();
  if (I.strategy->needsTargets())
    for (const auto& b : I.series.batches) I.targets.push_back(I.guidanceTarget(state, b));
  logInfo() << "assimilation: " << I.strategy->type() << " (" << I.settings.type << ") with " << N << " " << memberKind
            << " members (" << groups << " group(s) of " << groupRanks << " rank(s)), " << I.series.batches.size()
            << " observation times, " << I.series.totalSize() << " observations";
  I.strategy->setUp(I, state);
  I.writeMean(state);
  I.time = state.time();
  I.isSetUp = true;
}

double AssimilatingStepper::preferredTimeStep() const {
  // Surrogate members run as one batch on every rank; classical members follow dt.
  return impl_->batch ? impl_->batch->preferredTimeStep() : 0.0;
}

void AssimilatingStepper::addObservations(const da::Observations& batch) {
  auto& I = *impl_;
  const MPI_Comm comm = I.isSetUp ? I.world : (mesh() ? mesh()->comm() : MPI_COMM_SELF);
  collective(comm, [&] {
    batch.validate();
    if (I.isSetUp)
      LATS_CHECK(batch.time > I.time + I.tolerance(I.time), InvalidValueError,
                 "observations at t = " << batch.time << " arrive after the ensemble reached t = " << I.time
                                        << "; add observations before their time is reached");
  });
  auto& b = I.series.batches;
  auto it = std::find_if(b.begin(), b.end(), [&](const da::Observations& o) {
    return std::abs(o.time - batch.time) <= I.tolerance(batch.time);
  });
  // The new or merged batch, checked (operator, guidance target) before anything changes.
  da::Observations merged = batch;
  if (it != b.end()) {
    collective(comm, [&] {
      LATS_CHECK(it->sensors.dimension == batch.sensors.dimension, DimensionMismatchError,
                 "observations at t = " << batch.time << " are " << batch.sensors.dimension
                                        << "D; earlier ones at that "
                                        << "time are " << it->sensors.dimension << "D");
    });
    merged = *it;
    auto& s = merged.sensors;
    s.coordinates.insert(s.coordinates.end(), batch.sensors.coordinates.begin(), batch.sensors.coordinates.end());
    s.components.insert(s.components.end(), batch.sensors.components.begin(), batch.sensors.components.end());
    s.noiseStd.insert(s.noiseStd.end(), batch.sensors.noiseStd.begin(), batch.sensors.noiseStd.end());
    merged.values.insert(merged.values.end(), batch.values.begin(), batch.values.end());
  }
  std::unique_ptr<da::ObservationOperator> h;
  solvers::neural::GuidanceTarget target;
  if (I.isSetUp) {
    h = std::make_unique<da::ObservationOperator>(I.memberMesh, I.layout, merged.sensors);
    if (I.strategy->needsTargets()) target = I.guidanceTarget(I.layout, merged);
  }
  std::size_t index;
  if (it != b.end()) {
    *it = std::move(merged);
    index = static_cast<std::size_t>(it - b.begin());
  } else {
    it = std::upper_bound(b.begin(), b.end(), batch.time,
                          [](double t, const da::Observations& o) { return t < o.time; });
    const auto inserted = b.insert(it, std::move(merged));  // may reallocate: take begin() after it
    index = static_cast<std::size_t>(inserted - b.begin());
    if (I.isSetUp) {
      I.operatorOf.insert(I.operatorOf.begin() + static_cast<std::ptrdiff_t>(index), 0);
      if (I.strategy->needsTargets())
        I.targets.insert(I.targets.begin() + static_cast<std::ptrdiff_t>(index), solvers::neural::GuidanceTarget{});
    }
  }
  if (!I.isSetUp) return;
  I.operators.push_back(std::move(*h));
  I.operatorOf[index] = I.operators.size() - 1;
  if (I.strategy->needsTargets()) I.targets[index] = std::move(target);
}

void AssimilatingStepper::setUpBatch(const State& state) {
  auto& I = *impl_;
  I.batch = I.batchOwner.get();
  I.batch->setEnsemble(I.settings.ensembleSize, I.settings.filter.seed);
  I.batch->setDecodeEvery(0);  // the members are decoded here, when needed
  I.batchState = state.clone();
  I.batch->setUp(I.memberMesh, I.batchState);
  // Every member from its own initial state.
  I.batch->rollout().resetMembers(I.constPointers());
  I.refreshBatchMembers();
}

solvers::neural::GuidanceTarget detail::Ensemble::guidanceTarget(const State& state,
                                                                 const da::Observations& obs) const {
  const auto& info = batch->rollout().info();
  solvers::neural::GuidanceTarget t;
  t.coordinates = obs.sensors.coordinates;
  t.values = obs.values;
  t.noiseStd = obs.sensors.noiseStd;
  t.gamma = settings.guidanceGamma;
  t.modelError = settings.guidanceModelError;
  t.corrections = static_cast<int>(settings.guidanceCorrections);
  collective(world, [&] {
    for (const auto& name : obs.sensors.components) {
      const auto ref = da::resolveComponent(state, name);
      const std::string& field = state.fields()[static_cast<std::size_t>(ref.field)].name();
      int offset = 0;
      bool found = false;
      for (std::size_t f = 0; f < info.fieldNames.size() && !found; ++f) {
        if (info.fieldNames[f] == field) {
          found = true;
          t.components.push_back(offset + ref.component);
        }
        offset += info.fieldComponents[f];
      }
      LATS_CHECK(found, ModelMismatchError,
                 "sensors observe '" << name << "' of field '" << field << "', which the model '" << info.checkpoint
                                     << "' does not predict (it predicts " << join(info.fieldNames, ", ") << ")");
    }
  });
  return t;
}

StepResult AssimilatingStepper::doStep(State& state, double dt) {
  auto& I = *impl_;
  const double t = state.time();
  const double next = I.series.nextTime(t, I.tolerance(t));
  const double dtEff = std::min(dt, next - t);
  if (I.batch != nullptr) return batchStep(state, dt, dtEff);
  std::vector<State> backup;
  for (const auto& s : I.states) backup.push_back(s.clone());
  const double start = MPI_Wtime();
  std::string failure;
  double taken[2] = {INFINITY, INFINITY};  // min and -max of the steps taken
  StepStatus status = StepStatus::Success;
  for (std::size_t k = 0; k < I.states.size(); ++k) {
    const auto r = I.steppers[k]->step(I.states[k], dtEff);
    if (!r.ok() && failure.empty()) {
      failure = "ensemble member " + std::to_string(I.mine[k]) + " (" + I.steppers[k]->type() + "): " + r.reason;
      status = r.status;
    }
    taken[0] = std::min(taken[0], r.dtTaken);
    taken[1] = std::min(taken[1], -r.dtTaken);
  }
  I.forecastSeconds += MPI_Wtime() - start;
  // Agree on failure (the lowest failing rank's reason) and on the step taken.
  StepResult local;
  local.status = status;
  local.reason = failure;
  local.dtNext = dt;
  StepResult result = agreeOnStep(I.world, local);
  if (!result.ok()) {
    for (std::size_t k = 0; k < I.states.size(); ++k) I.states[k].copyFrom(backup[k]);
    return result;
  }
  double allTaken[2];
  MPI_Allreduce(taken, allTaken, 2, MPI_DOUBLE, MPI_MIN, I.world);
  const double lo = allTaken[0], hi = -allTaken[1];
  if (hi - lo > I.tolerance(hi)) {
    for (std::size_t k = 0; k < I.states.size(); ++k) I.states[k].copyFrom(backup[k]);
    result.status = StepStatus::Rejected;
    std::ostringstream why;
    why << "ensemble members took different steps (" << lo << " and " << hi << " for " << dtEff
        << "); members must share one time step (surrogate members: observation times on multiples of the model's "
           "step)";
    result.reason = why.str();
    result.dtNext = dt;
    return result;
  }
  I.strategy->afterForecast(I, I.series.at(t + hi, I.tolerance(t + hi)), t + hi, state);
  I.time = t + hi;
  result.dtTaken = hi;
  result.dtNext = dt;
  return result;
}

StepResult AssimilatingStepper::batchStep(State& state, double dt, double dtEff) {
  auto& I = *impl_;
  const double t = state.time();
  const double landing = t + I.batch->modelTimeStep();
  const auto* obs = I.series.at(landing, I.tolerance(landing));
  I.strategy->beforeForecast(I, obs);
  const double start = MPI_Wtime();
  auto r = I.batch->step(I.batchState, dtEff);
  I.forecastSeconds += MPI_Wtime() - start;
  r.dtNext = dt;
  if (!r.ok()) return r;
  const double now = t + r.dtTaken;
  I.strategy->afterForecast(I, obs, now, state);
  I.time = now;
  return r;
}

void registerAssimilatingStepper() {
  timeSteppers().addIfAbsent("assimilating",
                             "ensemble of member steppers analysed by an EnKF or LETKF at observation times",
                             [] { return std::make_unique<AssimilatingStepper>(); });
}

}  // namespace lats::coupling
