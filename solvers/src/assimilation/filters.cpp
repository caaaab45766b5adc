// Stochastic EnKF and LETKF analyses on point blocks, Gaspari-Cohn localisation,
// multiplicative inflation, and the whole analysis for members spread over ranks.
#include "lats/solvers/assimilation/filters.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <sstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/core/random.hpp"

namespace lats::solvers::assimilation {

namespace {
const RealOption kInflation{"da_inflation", 1.0,
                            "assimilation: multiplicative inflation of the forecast perturbations (>= 1; 1: none)"};
const RealOption kLocalisation{
    "da_localisation", 0.0,
    "assimilation: Gaspari-Cohn half-width c in mesh units; sensors beyond 2c do not act (0: no localisation)"};
const IntOption kSeed{"da_seed", 1, "assimilation: seed of the EnKF's perturbed observations"};
const RealOption kRtps{"da_rtps", 0.0,
                       "assimilation: relaxation to prior spread in [0, 1] after each analysis (0: off)"};

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

double distance(const double* a, const double* b, int dim) {
  double s = 0.0;
  for (int d = 0; d < dim; ++d) s += (a[d] - b[d]) * (a[d] - b[d]);
  return std::sqrt(s);
}

// Shared preparation: mean and (inflated) perturbations of H(x), the innovation.
struct ObsSpace {
  std::int64_t m = 0, N = 0;
  Matrix Yp;   // m x N inflated perturbations of H(x)
  Vector d;    // y - mean H(x)
  Vector sig;  // noise std
};

ObsSpace prepare(const std::vector<double>& hx, const Observations& obs, std::int64_t N, double inflation) {
  ObsSpace o;
  o.m = obs.size();
  o.N = N;
  LATS_CHECK(hx.size() == static_cast<std::size_t>(o.m * N), DimensionMismatchError,
             "H(x) has " << hx.size() << " values; expected " << o.m << " sensors x " << N << " members");
  o.Yp.resize(o.m, N);
  o.d.resize(o.m);
  o.sig.resize(o.m);
  for (std::int64_t s = 0; s < o.m; ++s) {
    double mean = 0.0;
    for (std::int64_t i = 0; i < N; ++i) mean += hx[static_cast<std::size_t>(s * N + i)];
    mean /= static_cast<double>(N);
    for (std::int64_t i = 0; i < N; ++i) o.Yp(s, i) = inflation * (hx[static_cast<std::size_t>(s * N + i)] - mean);
    o.d(s) = obs.values[static_cast<std::size_t>(s)] - mean;
    o.sig(s) = obs.sensors.noiseStd[static_cast<std::size_t>(s)];
  }
  return o;
}

// Mean and inflated perturbations of one point and component of the block.
void pointMoments(const PointBlock& b, std::int64_t p, int c, double inflation, double& mean, Vector& xp) {
  const std::int64_t N = b.members;
  mean = 0.0;
  for (std::int64_t i = 0; i < N; ++i) mean += b(p, i, c);
  mean /= static_cast<double>(N);
  xp.resize(N);
  for (std::int64_t i = 0; i < N; ++i) xp(i) = inflation * (b(p, i, c) - mean);
}

// Relaxation to prior spread for one value: scales the analysis perturbations of (p, c) so
// that their spread is (1 - a) sigma_analysis + a sigma_forecast (sigma_forecast of the
// forecast values `prior`, before inflation).
void relaxToPriorSpread(PointBlock& b, std::int64_t p, int c, const Vector& prior, double a) {
  if (a <= 0.0) return;
  const std::int64_t N = b.members;
  double meanA = 0.0;
  for (std::int64_t i = 0; i < N; ++i) meanA += b(p, i, c);
  meanA /= static_cast<double>(N);
  double varA = 0.0;
  for (std::int64_t i = 0; i < N; ++i) varA += (b(p, i, c) - meanA) * (b(p, i, c) - meanA);
  const double sa = std::sqrt(varA / static_cast<double>(N - 1));
  const double sb = std::sqrt((prior.array() - prior.mean()).square().sum() / static_cast<double>(N - 1));
  if (sa <= 0.0) return;
  const double factor = a * (sb - sa) / sa + 1.0;
  for (std::int64_t i = 0; i < N; ++i) b(p, i, c) = meanA + factor * (b(p, i, c) - meanA);
}

Vector forecastValues(const PointBlock& b, std::int64_t p, int c) {
  Vector v(b.members);
  for (std::int64_t i = 0; i < b.members; ++i) v(i) = b(p, i, c);
  return v;
}

class Letkf : public EnsembleFilter {
 public:
  std::string type() const override { return "letkf"; }

  void analyseBlock(PointBlock& block, const std::vector<double>& hx, const Observations& obs,
                    std::uint64_t) const override {
    const std::int64_t N = block.members;
    LATS_CHECK(N >= 2, InvalidValueError, "the LETKF needs at least 2 members; got " << N);
    const auto o = prepare(hx, obs, N, settings_.inflation);
    const double c = settings_.localisation;
    const int dim = block.dimension;
    // Weights (mean and transform) for a set of local observations with weights rho.
    auto weights = [&](const std::vector<std::int64_t>& local, const std::vector<double>& rho, Vector& wmean,
                       Matrix& W) {
      const auto l = static_cast<Eigen::Index>(local.size());
      if (l == 0) {
        wmean = Vector::Zero(N);
        W = Matrix::Identity(N, N);
        return;
      }
      Matrix Yb(l, N);
      Vector dl(l), rinv(l);
      for (Eigen::Index j = 0; j < l; ++j) {
        Yb.row(j) = o.Yp.row(local[static_cast<std::size_t>(j)]);
        dl(j) = o.d(local[static_cast<std::size_t>(j)]);
        const double s = o.sig(local[static_cast<std::size_t>(j)]);
        rinv(j) = rho[static_cast<std::size_t>(j)] / (s * s);
      }
      const Matrix Ct = Yb.transpose() * rinv.asDiagonal();  // N x l
      Matrix A = Ct * Yb;
      A.diagonal().array() += static_cast<double>(N - 1);
      Eigen::SelfAdjointEigenSolver<Matrix> eig(A);
      const Vector lam = eig.eigenvalues();
      const Matrix& Q = eig.eigenvectors();
      wmean = Q * (lam.cwiseInverse().asDiagonal() * (Q.transpose() * (Ct * dl)));
      W = Q * (static_cast<double>(N - 1) * lam.cwiseInverse()).cwiseSqrt().asDiagonal() * Q.transpose();
    };
    Vector wmean;
    Matrix W;
    std::vector<std::int64_t> local;
    std::vector<double> rho;
    if (c <= 0.0) {
      for (std::int64_t s = 0; s < o.m; ++s) local.push_back(s), rho.push_back(1.0);
      weights(local, rho, wmean, W);
    }
    Vector xp;
    for (std::int64_t p = 0; p < block.size(); ++p) {
      if (c > 0.0) {
        local.clear();
        rho.clear();
        for (std::int64_t s = 0; s < o.m; ++s) {
          const double r = distance(&block.coordinates[static_cast<std::size_t>(p * dim)],
                                    &obs.sensors.coordinates[static_cast<std::size_t>(s * dim)], dim) /
                           c;
          if (r < 2.0) local.push_back(s), rho.push_back(gaspariCohn(r));
        }
        weights(local, rho, wmean, W);
      }
      for (int comp = 0; comp < block.components; ++comp) {
        const Vector prior = settings_.rtps > 0.0 ? forecastValues(block, p, comp) : Vector();
        double mean = 0.0;
        pointMoments(block, p, comp, settings_.inflation, mean, xp);
        const double shift = xp.dot(wmean);
        const Vector xa = W.transpose() * xp;
        // x_a = mean + xp (w + W): written as an increment of x, so that a point without
        // observations and without inflation keeps its values bit for bit.
        for (std::int64_t i = 0; i < N; ++i) {
          const double x = block(p, i, comp);
          block(p, i, comp) = x + ((xp(i) - (x - mean)) + shift + (xa(i) - xp(i)));
        }
        relaxToPriorSpread(block, p, comp, prior, settings_.rtps);
      }
    }
  }
};

class StochasticEnkf : public EnsembleFilter {
 public:
  std::string type() const override { return "enkf"; }

  void analyseBlock(PointBlock& block, const std::vector<double>& hx, const Observations& obs,
                    std::uint64_t cycle) const override {
    const std::int64_t N = block.members;
    LATS_CHECK(N >= 2, InvalidValueError, "the EnKF needs at least 2 members; got " << N);
    const double lam = settings_.inflation;
    const auto o = prepare(hx, obs, N, lam);
    const double c = settings_.localisation;
    const int dim = block.dimension;
    const std::int64_t m = o.m;
    // Innovations of the perturbed observations, member by member: d + eps_i - Yp_i (the
    // inflated forecast of member i in observation space is mean + Yp_i).
    Matrix D(m, N);
    for (std::int64_t i = 0; i < N; ++i) {
      SplitMix64 rng(settings_.seed, cycle * 1000003ull + static_cast<std::uint64_t>(i));
      for (std::int64_t s = 0; s < m; ++s) D(s, i) = o.d(s) + o.sig(s) * rng.normal() - o.Yp(s, i);
    }
    Matrix S = o.Yp * o.Yp.transpose() / static_cast<double>(N - 1);
    if (c > 0.0)
      for (std::int64_t a = 0; a < m; ++a)
        for (std::int64_t b = 0; b < m; ++b)
          S(a, b) *= gaspariCohn(distance(&obs.sensors.coordinates[static_cast<std::size_t>(a * dim)],
                                          &obs.sensors.coordinates[static_cast<std::size_t>(b * dim)], dim) /
                                 c);
    S.diagonal() += o.sig.cwiseAbs2();
    Eigen::LDLT<Matrix> ldlt(S);
    LATS_CHECK(ldlt.info() == Eigen::Success, InvalidValueError,
               "EnKF: the innovation covariance is singular; check the observation noise");
    const Matrix Z = ldlt.solve(D);  // m x N
    Vector xp, g(m);
    for (std::int64_t p = 0; p < block.size(); ++p) {
      Vector rho = Vector::Ones(m);
      if (c > 0.0)
        for (std::int64_t s = 0; s < m; ++s)
          rho(s) = gaspariCohn(distance(&block.coordinates[static_cast<std::size_t>(p * dim)],
                                        &obs.sensors.coordinates[static_cast<std::size_t>(s * dim)], dim) /
                               c);
      for (int comp = 0; comp < block.components; ++comp) {
        const Vector prior = settings_.rtps > 0.0 ? forecastValues(block, p, comp) : Vector();
        double mean = 0.0;
        pointMoments(block, p, comp, lam, mean, xp);
        // Gain row: rho o (x'(p) . Y'^T) / (N - 1).
        g = rho.cwiseProduct(o.Yp * xp) / static_cast<double>(N - 1);
        const Vector inc = Z.transpose() * g;
        for (std::int64_t i = 0; i < N; ++i) {
          const double x = block(p, i, comp);
          block(p, i, comp) = x + ((xp(i) - (x - mean)) + inc(i));
        }
        relaxToPriorSpread(block, p, comp, prior, settings_.rtps);
      }
    }
  }
};

}  // namespace

FilterSettings FilterSettings::fromOptions() {
  FilterSettings s;
  s.inflation = kInflation.get();
  s.localisation = kLocalisation.get();
  s.seed = static_cast<std::uint64_t>(kSeed.get());
  s.rtps = kRtps.get();
  s.validate();
  return s;
}

void FilterSettings::validate() const {
  LATS_CHECK(std::isfinite(inflation) && inflation >= 1.0, InvalidValueError,
             "inflation " << inflation << " (-lats_da_inflation); it must be at least 1 (1: no inflation, 1.05: "
                          << "5% wider perturbations)");
  LATS_CHECK(
      std::isfinite(localisation) && localisation >= 0.0, InvalidValueError,
      "localisation half-width " << localisation << " (-lats_da_localisation); it must be finite and >= 0 (0: off)");
  LATS_CHECK(std::isfinite(rtps) && rtps >= 0.0 && rtps <= 1.0, InvalidValueError,
             "relaxation to prior spread " << rtps << " (-lats_da_rtps); it must lie in [0, 1] (0: off)");
}

double gaspariCohn(double r) {
  r = std::abs(r);
  if (r >= 2.0) return 0.0;
  const double r2 = r * r, r3 = r2 * r, r4 = r3 * r, r5 = r4 * r;
  if (r <= 1.0) return -0.25 * r5 + 0.5 * r4 + 0.625 * r3 - 5.0 / 3.0 * r2 + 1.0;
  return r5 / 12.0 - 0.5 * r4 + 0.625 * r3 + 5.0 / 3.0 * r2 - 5.0 * r + 4.0 - 2.0 / (3.0 * r);
}

void EnsembleFilter::setSettings(FilterSettings settings) {
  settings.validate();
  settings_ = settings;
}

std::vector<double> observeEnsemble(const EnsembleExchange& exchange, const ObservationOperator& h,
                                    const std::vector<State*>& states) {
  const std::int64_t N = exchange.ensembleSize();
  const auto m = static_cast<std::size_t>(h.size());
  collective(exchange.comm(), [&] {
    LATS_CHECK(states.size() == exchange.members().size(), DimensionMismatchError,
               "this rank holds " << exchange.members().size() << " members; got " << states.size() << " states");
  });
  std::vector<double> local(m * static_cast<std::size_t>(N), 0.0), all(local.size());
  int meshRank = 0;
  MPI_Comm_rank(h.mesh().comm(), &meshRank);
  for (std::size_t k = 0; k < states.size(); ++k) {
    const auto y = h.apply(*states[k]);
    const auto i = exchange.members()[k];
    if (meshRank == 0)
      for (std::size_t s = 0; s < m; ++s) local[s * static_cast<std::size_t>(N) + static_cast<std::size_t>(i)] = y[s];
  }
  MPI_Allreduce(local.data(), all.data(), static_cast<int>(all.size()), MPI_DOUBLE, MPI_SUM, exchange.comm());
  return all;
}

void observationMisfit(const std::vector<double>& hx, const Observations& obs, std::int64_t N, double& rmsMisfit,
                       double& rmsSpread) {
  const std::int64_t m = obs.size();
  double a = 0.0, b = 0.0;
  for (std::int64_t s = 0; s < m; ++s) {
    double mean = 0.0, var = 0.0;
    for (std::int64_t i = 0; i < N; ++i) mean += hx[static_cast<std::size_t>(s * N + i)];
    mean /= static_cast<double>(N);
    for (std::int64_t i = 0; i < N; ++i) var += std::pow(hx[static_cast<std::size_t>(s * N + i)] - mean, 2);
    var /= static_cast<double>(std::max<std::int64_t>(N - 1, 1));
    const double sig = obs.sensors.noiseStd[static_cast<std::size_t>(s)];
    a += std::pow((obs.values[static_cast<std::size_t>(s)] - mean) / sig, 2);
    b += var;
  }
  rmsMisfit = m > 0 ? std::sqrt(a / static_cast<double>(m)) : 0.0;
  rmsSpread = m > 0 ? std::sqrt(b / static_cast<double>(m)) : 0.0;
}

AnalysisReport EnsembleFilter::analyse(const EnsembleExchange& exchange, const ObservationOperator& h,
                                       const std::vector<State*>& states, const Observations& obs,
                                       std::uint64_t cycle) const {
  const std::int64_t N = exchange.ensembleSize();
  collective(exchange.comm(), [&] {
    LATS_CHECK(N >= 2, InvalidValueError,
               "ensemble size " << N << ": an ensemble Kalman filter needs at least 2 members (-lats_ensemble_size; "
                                << "20 to 100 is typical)");
    obs.validate();
    const auto& hs = h.sensors();
    LATS_CHECK(
        hs.size() == obs.size() && hs.coordinates == obs.sensors.coordinates && hs.components == obs.sensors.components,
        DimensionMismatchError,
        "the observations at t = " << obs.time << " (" << obs.size()
                                   << " sensors) are not those the observation operator was built for (" << hs.size()
                                   << " sensors); build one per sensor set");
    settings_.validate();
  });
  AnalysisReport report;
  report.observations = obs.size();
  const auto hx = observeEnsemble(exchange, h, states);
  std::string bad;
  for (std::size_t k = 0; k < hx.size() && bad.empty(); ++k)
    if (!std::isfinite(hx[k]))
      bad = "ensemble member " + std::to_string(k % static_cast<std::size_t>(N)) + " reads " + std::to_string(hx[k]) +
            " at sensor " + std::to_string(k / static_cast<std::size_t>(N)) + " at t = " + std::to_string(obs.time) +
            ": its forecast diverged; the analysis cannot use it";
  agreeOnFailure(exchange.comm(), bad, ErrorKind::InvalidValue, LATS_HERE);
  observationMisfit(hx, obs, N, report.priorMisfit, report.priorSpread);
  std::vector<const State*> in(states.begin(), states.end());
  PointBlock block = exchange.gather(in);
  collective(exchange.comm(), [&] { analyseBlock(block, hx, obs, cycle); });
  exchange.scatter(block, states);
  const auto hxa = observeEnsemble(exchange, h, states);
  observationMisfit(hxa, obs, N, report.posteriorMisfit, report.posteriorSpread);
  return report;
}

Registry<EnsembleFilter>& ensembleFilters() {
  static Registry<EnsembleFilter> registry = [] {
    Registry<EnsembleFilter> r("ensemble filter");
    r.add("enkf", "stochastic ensemble Kalman filter (perturbed observations)",
          [] { return std::make_unique<StochasticEnkf>(); });
    r.add("letkf", "local ensemble transform Kalman filter (deterministic square root)",
          [] { return std::make_unique<Letkf>(); });
    return r;
  }();
  return registry;
}

}  // namespace lats::solvers::assimilation
