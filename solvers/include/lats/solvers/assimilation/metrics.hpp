#pragma once
/// \file metrics.hpp
/// Scores of an ensemble against the truth: RMSE of the ensemble mean, ensemble spread,
/// spread-skill ratio and the continuous ranked probability score (CRPS), per time and
/// accumulated over a run.

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lats/solvers/assimilation/ensemble.hpp"

namespace lats::solvers::assimilation {

/// Averages over all points and components (unweighted).
struct EnsembleScores {
  double time = 0.0;
  double rmse = 0.0;         ///< sqrt(mean (ensemble mean - truth)^2)
  double spread = 0.0;       ///< sqrt(mean ensemble variance), variance with 1/(N-1)
  double spreadSkill = 0.0;  ///< sqrt((N+1)/N) * spread / rmse: 1 for a reliable ensemble
  double crps = 0.0;         ///< mean CRPS of the ensemble's empirical distribution
  std::int64_t values = 0;   ///< number of (point, component) pairs scored
  std::int64_t members = 0;  ///< ensemble size
};

/// Scores `ensemble` against `truth` (a one-member block over the same points). With one
/// member the spread is 0 and the CRPS is the mean absolute error. Collective over `comm`.
EnsembleScores scoreEnsemble(MPI_Comm comm, const PointBlock& ensemble, const PointBlock& truth, double time = 0.0);

/// CRPS of the empirical distribution of `members` against `truth` (sorts `members`).
double crps(std::vector<double>& members, double truth);

/// Scores per time and their run average (RMSE and spread as root-mean-squares over time,
/// CRPS as a mean).
class ScoreHistory {
 public:
  void add(const EnsembleScores& scores);
  const std::vector<EnsembleScores>& history() const { return history_; }
  EnsembleScores overall() const;
  /// time,rmse,spread,spread_skill,crps per line (written on rank 0 under a temporary name).
  void writeCsv(MPI_Comm comm, const std::string& path) const;

 private:
  std::vector<EnsembleScores> history_;
};

}  // namespace lats::solvers::assimilation
