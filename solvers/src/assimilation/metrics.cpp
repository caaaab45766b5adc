// Ensemble scores: RMSE, spread, spread-skill ratio, CRPS.
#include "lats/solvers/assimilation/metrics.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/files.hpp"

namespace lats::solvers::assimilation {

double crps(std::vector<double>& members, double truth) {
  const auto n = members.size();
  if (n == 0) return 0.0;
  std::sort(members.begin(), members.end());
  // E|X - y| - 0.5 E|X - X'| for the empirical distribution; the pair sum of sorted values
  // is sum_i (2i - n + 1) x_(i).
  double a = 0.0, b = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    a += std::abs(members[i] - truth);
    b += (2.0 * static_cast<double>(i) - static_cast<double>(n) + 1.0) * members[i];
  }
  const double dn = static_cast<double>(n);
  return a / dn - b / (dn * dn);
}

EnsembleScores scoreEnsemble(MPI_Comm comm, const PointBlock& ensemble, const PointBlock& truth, double time) {
  collective(comm, [&] {
    LATS_CHECK(truth.members == 1 && truth.begin == ensemble.begin && truth.end == ensemble.end &&
                   truth.components == ensemble.components,
               DimensionMismatchError,
               "scoring an ensemble on points [" << ensemble.begin << ", " << ensemble.end << ") x "
                                                 << ensemble.components << " components against a truth on ["
                                                 << truth.begin << ", " << truth.end << ") x " << truth.components
                                                 << " components with " << truth.members
                                                 << " members; the truth must be one member on the same points");
    LATS_CHECK(ensemble.members >= 1, InvalidValueError, "scoring an empty ensemble");
  });
  const std::int64_t N = ensemble.members;
  double sums[4] = {0, 0, 0, 0};  // squared error, variance, crps, count
  std::vector<double> xs(static_cast<std::size_t>(N));
  for (std::int64_t p = 0; p < ensemble.size(); ++p)
    for (int c = 0; c < ensemble.components; ++c) {
      double mean = 0.0;
      for (std::int64_t i = 0; i < N; ++i) mean += (xs[static_cast<std::size_t>(i)] = ensemble(p, i, c));
      mean /= static_cast<double>(N);
      double var = 0.0;
      for (double x : xs) var += (x - mean) * (x - mean);
      var = N > 1 ? var / static_cast<double>(N - 1) : 0.0;
      const double y = truth(p, 0, c);
      sums[0] += (mean - y) * (mean - y);
      sums[1] += var;
      sums[2] += crps(xs, y);
      sums[3] += 1.0;
    }
  double tot[4];
  MPI_Allreduce(sums, tot, 4, MPI_DOUBLE, MPI_SUM, comm);
  EnsembleScores s;
  s.time = time;
  s.values = static_cast<std::int64_t>(tot[3]);
  s.members = N;
  if (tot[3] > 0) {
    s.rmse = std::sqrt(tot[0] / tot[3]);
    s.spread = std::sqrt(tot[1] / tot[3]);
    s.crps = tot[2] / tot[3];
    const double n = static_cast<double>(N);
    s.spreadSkill = s.rmse > 0 ? std::sqrt((n + 1.0) / n) * s.spread / s.rmse : 0.0;
  }
  return s;
}

void ScoreHistory::add(const EnsembleScores& scores) { history_.push_back(scores); }

EnsembleScores ScoreHistory::overall() const {
  EnsembleScores o;
  if (history_.empty()) return o;
  double mse = 0.0, var = 0.0;
  for (const auto& s : history_) {
    mse += s.rmse * s.rmse;
    var += s.spread * s.spread;
    o.crps += s.crps;
    o.values += s.values;
  }
  const double n = static_cast<double>(history_.size());
  o.time = history_.back().time;
  o.rmse = std::sqrt(mse / n);
  o.spread = std::sqrt(var / n);
  o.crps /= n;
  o.members = history_.back().members;
  const double m = static_cast<double>(std::max<std::int64_t>(o.members, 1));
  o.spreadSkill = o.rmse > 0 ? std::sqrt((m + 1.0) / m) * o.spread / o.rmse : 0.0;
  return o;
}

void ScoreHistory::writeCsv(MPI_Comm comm, const std::string& path) const {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  collective(comm, [&] {
    if (rank != 0) return;
    writeFileAtomically(path, [&](const std::string& tmp) {
      std::ofstream out(tmp);
      LATS_CHECK(out.good(), Error, "could not write '" << path << "' (does the directory exist?)");
      out.precision(10);
      out << "time,rmse,spread,spread_skill,crps\n";
      for (const auto& s : history_)
        out << s.time << ',' << s.rmse << ',' << s.spread << ',' << s.spreadSkill << ',' << s.crps << '\n';
      LATS_CHECK(out.good(), Error, "could not write '" << path << "' (disk full?)");
    });
  });
}

}  // namespace lats::solvers::assimilation
