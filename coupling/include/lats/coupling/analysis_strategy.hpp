#pragma once
/// \file analysis_strategy.hpp
/// How the assimilating stepper turns a forecast ensemble and observations into an analysis:
/// a registry (-lats_da_analysis) like the steppers'. Built in: "filter" (the ensemble filter
/// -lats_da_type, EnKF or LETKF, on the members' fields), "latent_filter" (that filter on the
/// latent windows of surrogate members, the decoder at the sensors as observation operator)
/// and "guided" (guided sampling of a diffusion surrogate: the analysis happens inside the
/// forecast). A strategy works on the stepper's ensemble (`detail::Ensemble`, declared in
/// coupling/src/detail/ensemble.hpp, the way PETSc's implementations include its private
/// headers).

#include <memory>
#include <string>

#include "lats/core/registry.hpp"
#include "lats/core/state.hpp"

namespace lats::solvers::assimilation {
struct Observations;
}

namespace lats::coupling {

namespace detail {
struct Ensemble;
}

class AnalysisStrategy {
 public:
  virtual ~AnalysisStrategy();
  /// Registry name.
  virtual std::string type() const = 0;
  /// Whether the members must run as one batched latent ensemble (surrogate members on all
  /// ranks); checkMembers() says what to change when they do not.
  virtual bool needsBatch() const { return false; }
  /// ConfigurationError when the members cannot serve this strategy. `batched`: the members
  /// are surrogates on all ranks; `memberKind`: their stepper type. Not collective.
  virtual void checkMembers(bool batched, const std::string& memberKind) const;
  /// Whether every observation batch needs a guidance target (the decoder at its sensors).
  virtual bool needsTargets() const { return false; }
  /// After the members and their observation operators exist (and the batched surrogate,
  /// when needed): filters, checks of the model; the analysis of observations at the start
  /// time. Collective.
  virtual void setUp(detail::Ensemble& ensemble, State& host) = 0;
  /// Before the forecast that lands on `obs` (null: no observations there). Collective.
  virtual void beforeForecast(detail::Ensemble& /*ensemble*/, const solvers::assimilation::Observations* /*obs*/) {}
  /// After the forecast to `now`: analyse `obs` (null: none) and write the host's state
  /// (the ensemble mean). Collective.
  virtual void afterForecast(detail::Ensemble& ensemble, const solvers::assimilation::Observations* obs, double now,
                             State& host) = 0;
};

/// The global registry of analysis strategies (filter, latent_filter, guided).
Registry<AnalysisStrategy>& analysisStrategies();

}  // namespace lats::coupling
