#pragma once
/// \file filters.hpp
/// Ensemble Kalman filters: the stochastic EnKF (perturbed observations) and the LETKF
/// (local ensemble transform, a deterministic square root), with Gaspari-Cohn localisation
/// by the distance between mesh points and sensors and multiplicative inflation. The
/// analysis runs on point blocks (see ensemble.hpp), so it is the same for any distribution
/// of the members over ranks.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/registry.hpp"
#include "lats/solvers/assimilation/ensemble.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"
#include "lats/solvers/assimilation/observations.hpp"

namespace lats::solvers::assimilation {

struct FilterSettings {
  /// Multiplicative inflation of the forecast perturbations (>= 1; 1: none).
  double inflation = 1.0;
  /// Gaspari-Cohn half-width c: a sensor at distance d weighs GC(d / c), zero beyond 2c
  /// (0: no localisation).
  double localisation = 0.0;
  /// Seed of the observation perturbations (EnKF).
  std::uint64_t seed = 1;
  /// Relaxation to prior spread (Whitaker and Hamill 2012) in [0, 1]: after the analysis,
  /// each value's perturbations are scaled so that its spread moves this fraction of the way
  /// back to the forecast's spread (0: off; 1: the forecast's spread is kept).
  double rtps = 0.0;
  /// From -lats_da_inflation, -lats_da_localisation, -lats_da_seed, -lats_da_rtps.
  static FilterSettings fromOptions();
  /// InvalidValueError for inflation < 1, a negative localisation, rtps outside [0, 1] or
  /// non-finite values.
  void validate() const;
};

/// The Gaspari-Cohn (1999) fifth-order piecewise rational function of r = distance / c:
/// 1 at 0, 0 from r = 2 on.
double gaspariCohn(double r);

/// What an analysis did, for logs and reports.
struct AnalysisReport {
  std::int64_t observations = 0;
  double priorMisfit = 0.0;      ///< RMS of (y - mean H(x)) / noise before the analysis
  double posteriorMisfit = 0.0;  ///< the same after
  double priorSpread = 0.0;      ///< RMS ensemble spread in observation space before
  double posteriorSpread = 0.0;  ///< and after
};

class EnsembleFilter {
 public:
  virtual ~EnsembleFilter() = default;
  virtual std::string type() const = 0;
  void setSettings(FilterSettings settings);
  const FilterSettings& settings() const { return settings_; }

  /// Analyses the point block in place. `hx` holds H(member i) for every member, sensor-major
  /// (hx[o * members + i]), the same on every rank; `cycle` numbers the analysis (seeds).
  /// Needs at least two members. Not collective (each rank its block).
  virtual void analyseBlock(PointBlock& block, const std::vector<double>& hx, const Observations& obs,
                            std::uint64_t cycle) const = 0;

  /// The whole analysis for members spread over ranks: H of every member (on its own ranks),
  /// the point blocks, analyseBlock() and back into `states` (members() order of the
  /// exchange). Validates the observations, and that there are at least two members.
  /// Collective over the exchange's communicator.
  AnalysisReport analyse(const EnsembleExchange& exchange, const ObservationOperator& h,
                         const std::vector<State*>& states, const Observations& obs, std::uint64_t cycle) const;

 protected:
  FilterSettings settings_;
};

/// RMS over the sensors of the normalised innovation (y - mean H(x)) / noise, and the RMS
/// ensemble spread in observation space, from hx as in analyseBlock().
void observationMisfit(const std::vector<double>& hx, const Observations& obs, std::int64_t members, double& misfit,
                       double& spread);

/// Registry of filters: "enkf", "letkf".
Registry<EnsembleFilter>& ensembleFilters();

/// H of every member, sensor-major (hx[o * members + i]), on every rank of the exchange's
/// communicator. Collective.
std::vector<double> observeEnsemble(const EnsembleExchange& exchange, const ObservationOperator& h,
                                    const std::vector<State*>& states);

}  // namespace lats::solvers::assimilation
