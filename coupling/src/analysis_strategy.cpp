// The built-in analysis strategies of the assimilating stepper.
#include "lats/coupling/analysis_strategy.hpp"

#include <cmath>

#include "detail/ensemble.hpp"
#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/solvers/assimilation/metrics.hpp"

namespace lats::coupling {

AnalysisStrategy::~AnalysisStrategy() = default;

void AnalysisStrategy::checkMembers(bool batched, const std::string& memberKind) const {
  LATS_CHECK(!needsBatch() || batched, ConfigurationError,
             "-lats_da_analysis " << type() << " runs the ensemble inside one surrogate on all ranks, but the members "
                                  << "are '" << memberKind
                                  << "' steppers; use -lats_da_member surrogate with -lats_da_member_ranks 0");
}

namespace {

namespace da = solvers::assimilation;

/// The ensemble filter (-lats_da_type) on the members' fields; batched surrogate members are
/// decoded for it and encoded afresh after it.
class FilterStrategy final : public AnalysisStrategy {
 public:
  std::string type() const override { return "filter"; }
  void setUp(detail::Ensemble& e, State& host) override {
    e.filter = da::ensembleFilters().create(e.settings.type);
    e.filter->setSettings(e.settings.filter);
    if (const auto* obs = e.series.at(host.time(), e.tolerance(host.time()))) e.analyse(*obs, host.time());
    if (e.batch) e.batch->rollout().resetMembers(e.constPointers());
  }
  void afterForecast(detail::Ensemble& e, const da::Observations* obs, double now, State& host) override {
    if (e.batch) e.refreshBatchMembers();
    if (obs != nullptr) {
      e.analyse(*obs, now);
      if (e.batch) {  // the analysed members become the surrogate's members (encoded afresh)
        const double encode = MPI_Wtime();
        e.batch->rollout().resetMembers(e.constPointers());
        e.analysisSeconds += MPI_Wtime() - encode;
      }
    }
    e.writeMean(host);
  }
};

/// The ensemble filter on the latent windows of the batched surrogate: the decoder at the
/// sensors is the observation operator; no localisation (latent values have no position).
/// The host gets the decoded mean latent state; members are decoded only when asked for.
class LatentFilterStrategy final : public AnalysisStrategy {
 public:
  std::string type() const override { return "latent_filter"; }
  bool needsBatch() const override { return true; }
  bool needsTargets() const override { return true; }
  void checkMembers(bool batched, const std::string&) const override {
    LATS_CHECK(batched, ConfigurationError,
               "-lats_da_space latent needs surrogate members on all ranks (-lats_da_member surrogate, "
               "-lats_da_member_ranks 0)");
  }
  void setUp(detail::Ensemble& e, State&) override {
    auto latent = e.settings.filter;
    latent.localisation = 0.0;
    filter_ = da::ensembleFilters().create(e.settings.type);
    filter_->setSettings(latent);
  }
  void afterForecast(detail::Ensemble& e, const da::Observations* obs, double now, State& host) override {
    if (obs != nullptr) analyse(e, *obs, now);
    e.batch->rollout().decodeMeanLatent(host);  // the host reads one decoded state
    e.membersStale = true;
  }

 private:
  void analyse(detail::Ensemble& e, const da::Observations& obs, double now) {
    const double start = MPI_Wtime();
    auto& rollout = e.batch->rollout();
    const auto& target = e.targets[e.indexOf(obs)];
    const std::int64_t N = e.settings.ensembleSize, m = obs.size(), D = rollout.latentSize();
    auto observed = [&] {
      const auto decoded = rollout.decodeAt(obs.sensors.coordinates, target.components);  // (N, m)
      std::vector<double> hx(static_cast<std::size_t>(m * N));
      for (std::int64_t i = 0; i < N; ++i)
        for (std::int64_t o = 0; o < m; ++o)
          hx[static_cast<std::size_t>(o * N + i)] = decoded[static_cast<std::size_t>(i * m + o)];
      return hx;
    };
    const auto hx = observed();
    da::AnalysisReport report;
    report.observations = m;
    da::observationMisfit(hx, obs, N, report.priorMisfit, report.priorSpread);
    const auto z = rollout.latentState();  // (N, D)
    da::PointBlock block;
    block.begin = 0;
    block.end = D;
    block.members = N;
    block.components = 1;
    block.dimension = 1;
    block.coordinates.assign(static_cast<std::size_t>(D), 0.0);
    block.values.resize(static_cast<std::size_t>(D * N));
    for (std::int64_t p = 0; p < D; ++p)
      for (std::int64_t i = 0; i < N; ++i) block(p, i, 0) = z[static_cast<std::size_t>(i * D + p)];
    // Every rank holds the whole latent ensemble and computes the same analysis.
    collective(e.world, [&] { filter_->analyseBlock(block, hx, obs, e.cycle++); });
    std::vector<double> za(z.size());
    for (std::int64_t p = 0; p < D; ++p)
      for (std::int64_t i = 0; i < N; ++i) za[static_cast<std::size_t>(i * D + p)] = block(p, i, 0);
    rollout.setLatentState(za);
    da::observationMisfit(observed(), obs, N, report.posteriorMisfit, report.posteriorSpread);
    e.analyses.emplace_back(now, report);
    e.analysisSeconds += MPI_Wtime() - start;
    logInfo() << "assimilation: latent " << e.settings.type << " analysis " << e.analyses.size() << " at t = " << now
              << ", " << m << " observations, normalised misfit " << report.priorMisfit << " -> "
              << report.posteriorMisfit << ", spread " << report.priorSpread << " -> " << report.posteriorSpread;
  }
  std::unique_ptr<da::EnsembleFilter> filter_;
};

/// Guided sampling of a diffusion surrogate: the step that lands on observations samples
/// every member with reconstruction guidance toward them; no separate analysis.
class GuidedStrategy final : public AnalysisStrategy {
 public:
  std::string type() const override { return "guided"; }
  bool needsBatch() const override { return true; }
  bool needsTargets() const override { return true; }
  void checkMembers(bool batched, const std::string& memberKind) const override {
    LATS_CHECK(batched, ConfigurationError,
               "guided assimilation samples with a diffusion surrogate, but the members are '"
                   << memberKind << "' steppers; use -lats_da_member surrogate (on all ranks) with a diffusion model");
  }
  void setUp(detail::Ensemble& e, State&) override {
    collective(e.world, [&] {
      const auto& info = e.batch->rollout().info();
      LATS_CHECK(info.guidance, ModelMismatchError,
                 "guided assimilation needs a model with diffusion dynamics; '"
                     << info.checkpoint << "' has " << info.dynamics
                     << " dynamics (train one with -lats_model_dynamics diffusion, or use -lats_da_type letkf)");
    });
  }
  void beforeForecast(detail::Ensemble& e, const da::Observations* obs) override {
    if (obs != nullptr) e.batch->guideNextStep(e.targets[e.indexOf(*obs)]);
  }
  void afterForecast(detail::Ensemble& e, const da::Observations* obs, double now, State& host) override {
    e.refreshBatchMembers();
    if (obs != nullptr) {
      const auto hx = da::observeEnsemble(*e.memberExchange, e.operatorFor(*obs), e.pointers());
      da::AnalysisReport report;
      report.observations = obs->size();
      report.priorMisfit = report.priorSpread = std::nan("");  // guided sampling has no separate forecast
      da::observationMisfit(hx, *obs, e.settings.ensembleSize, report.posteriorMisfit, report.posteriorSpread);
      e.analyses.emplace_back(now, report);
      logInfo() << "assimilation: guided step " << e.analyses.size() << " to t = " << now << ", " << report.observations
                << " observations, normalised misfit " << report.posteriorMisfit << ", spread "
                << report.posteriorSpread;
    }
    e.writeMean(host);
  }
};

}  // namespace

Registry<AnalysisStrategy>& analysisStrategies() {
  static Registry<AnalysisStrategy> registry = [] {
    Registry<AnalysisStrategy> r("analysis strategy");
    r.add("filter", "the ensemble filter -lats_da_type (enkf, letkf) on the members' fields",
          [] { return std::make_unique<FilterStrategy>(); });
    r.add("latent_filter", "the ensemble filter on the latent windows of surrogate members (-lats_da_space latent)",
          [] { return std::make_unique<LatentFilterStrategy>(); });
    r.add("guided", "guided sampling of a diffusion surrogate toward the observations (-lats_da_type guided)",
          [] { return std::make_unique<GuidedStrategy>(); });
    return r;
  }();
  return registry;
}

}  // namespace lats::coupling
