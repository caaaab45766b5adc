// Ensembles over ranks and the ensemble Kalman filters: the exchange places every value, the
// LETKF reproduces the Kalman filter on the ensemble's own moments, both filters converge to
// the Kalman filter of the true prior with a large ensemble, localisation acts only within
// its radius, member placement over ranks does not change the analysis, and the scores
// match analytic values.
#include <gtest/gtest.h>
#include <mpi.h>

#include <Eigen/Dense>
#include <cmath>

#include "lats/core/error.hpp"
#include "lats/core/random.hpp"
#include "lats/solvers/assimilation/ensemble.hpp"
#include "lats/solvers/assimilation/filters.hpp"
#include "lats/solvers/assimilation/metrics.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"
#include "test_support.hpp"

namespace {

using namespace lats::solvers::assimilation;
using lats::test::messageOf;
using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

int worldRank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int worldSize() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

constexpr int kPoints = 30;

// The 1D mesh x_j = (j + 0.5) / 30 on `comm`, split into contiguous blocks.
std::shared_ptr<const lats::Mesh> line(MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int b = kPoints * rank / size, e = kPoints * (rank + 1) / size;
  std::vector<double> x;
  for (int j = b; j < e; ++j) x.push_back((j + 0.5) / kPoints);
  return lats::MeshBuilder(comm, 1).coordinates(x).build();
}

lats::State layoutOn(const lats::Mesh& mesh) {
  lats::State s;
  s.add(lats::Field("u", mesh.size(), 1));
  return s;
}

// Gaussian prior: mean sin(2 pi x), squared-exponential covariance (std 0.5, length 0.1).
struct Prior {
  Vector mean = Vector(kPoints);
  Matrix cov = Matrix(kPoints, kPoints);
  Matrix chol;
  Prior() {
    for (int i = 0; i < kPoints; ++i) {
      const double xi = (i + 0.5) / kPoints;
      mean(i) = std::sin(2 * M_PI * xi);
      for (int j = 0; j < kPoints; ++j) {
        const double xj = (j + 0.5) / kPoints;
        cov(i, j) = 0.25 * std::exp(-(xi - xj) * (xi - xj) / (2 * 0.01));
      }
    }
    Matrix jittered = cov;
    jittered.diagonal().array() += 1e-9;
    chol = jittered.llt().matrixL();
  }
  Vector draw(std::int64_t member) const {
    lats::SplitMix64 rng(2024, static_cast<std::uint64_t>(member));
    Vector z(kPoints);
    for (int i = 0; i < kPoints; ++i) z(i) = rng.normal();
    return mean + chol * z;
  }
};

// Sensors at 6 places between the points, noise 0.1.
Sensors sensors(double upTo = 1.0) {
  Sensors s;
  s.dimension = 1;
  for (int i = 0; i < 6; ++i) {
    s.coordinates.push_back(upTo * (0.05 + 0.9 * i / 5.0) + 0.013);
    s.components.push_back("u");
    s.noiseStd.push_back(0.1);
  }
  return s;
}

// One analysis of an ensemble of `members` prior draws. Members live on meshes over `meshComm`;
// this rank holds `mine`. Returns the analysis as this rank's point block.
struct Run {
  PointBlock prior, posterior;
  Matrix H;
  AnalysisReport report;
};

Run analyseOnce(const std::string& type, std::int64_t members, MPI_Comm meshComm, std::vector<std::int64_t> mine,
                FilterSettings settings, const Sensors& where, const std::vector<double>& y) {
  const Prior prior;
  auto mesh = line(meshComm);
  auto layout = layoutOn(*mesh);
  std::vector<lats::State> states;
  std::vector<lats::State*> ptrs;
  const auto ids = mesh->globalIds();
  for (auto m : mine) {
    const Vector x = prior.draw(m);
    auto s = layoutOn(*mesh);
    for (std::int64_t i = 0; i < mesh->size(); ++i) s.field("u").view()(i, 0) = x(ids(i));
    states.push_back(s);
  }
  for (auto& s : states) ptrs.push_back(&s);
  EnsembleExchange exchange(MPI_COMM_WORLD, mesh, layout, mine, members);
  ObservationOperator h(mesh, layout, where);
  Run run;
  // H as a matrix, from unit vectors (the operator is linear).
  run.H = Matrix::Zero(where.size(), kPoints);
  for (int j = 0; j < kPoints; ++j) {
    auto e = layoutOn(*mesh);
    for (std::int64_t i = 0; i < mesh->size(); ++i) e.field("u").view()(i, 0) = ids(i) == j ? 1.0 : 0.0;
    const auto col = h.apply(e);
    for (std::int64_t s = 0; s < where.size(); ++s) run.H(s, j) = col[s];
  }
  std::vector<const lats::State*> cptrs(ptrs.begin(), ptrs.end());
  run.prior = exchange.gather(cptrs);
  Observations obs;
  obs.time = 1.0;
  obs.sensors = where;
  obs.values = y;
  auto filter = ensembleFilters().create(type);
  filter->setSettings(settings);
  run.report = filter->analyse(exchange, h, ptrs, obs, 0);
  run.posterior = exchange.gather(cptrs);
  return run;
}

// Sample mean and covariance of all members over all points (gathered to every rank).
void moments(const PointBlock& b, Vector& mean, Matrix& cov) {
  const auto N = b.members;
  Matrix X = Matrix::Zero(kPoints, N), all(kPoints, N);
  for (std::int64_t p = 0; p < b.size(); ++p)
    for (std::int64_t i = 0; i < N; ++i) X(b.begin + p, i) = b(p, i, 0);
  MPI_Allreduce(X.data(), all.data(), static_cast<int>(X.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  mean = all.rowwise().mean();
  const Matrix A = all.colwise() - mean;
  cov = A * A.transpose() / static_cast<double>(N - 1);
}

// The Kalman filter's analysis, written out independently of the library.
void kalman(const Vector& mean, const Matrix& cov, const Matrix& H, const Vector& y, double noise, Vector& meanA,
            Matrix& covA) {
  const Matrix S = H * cov * H.transpose() + noise * noise * Matrix::Identity(H.rows(), H.rows());
  const Matrix K = cov * H.transpose() * S.inverse();
  meanA = mean + K * (y - H * mean);
  covA = (Matrix::Identity(kPoints, kPoints) - K * H) * cov;
}

std::vector<std::int64_t> all(std::int64_t n) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}
std::vector<std::int64_t> mineOf(std::int64_t n) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = worldRank(); i < n; i += worldSize()) v.push_back(i);
  return v;
}

const std::vector<double> kY = {0.3, 0.9, -0.2, -1.1, -0.4, 0.5};

TEST(Letkf, EqualsTheKalmanFilterOnTheEnsembleMoments) {
  const auto run = analyseOnce("letkf", 20, MPI_COMM_WORLD, all(20), FilterSettings{}, sensors(), kY);
  Vector m0, m1, ma;
  Matrix c0, c1, ca;
  moments(run.prior, m0, c0);
  moments(run.posterior, m1, c1);
  kalman(m0, c0, run.H, Eigen::Map<const Vector>(kY.data(), 6), 0.1, ma, ca);
  EXPECT_LT((m1 - ma).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_LT((c1 - ca).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_LT(run.report.posteriorMisfit, run.report.priorMisfit);
  EXPECT_LT(run.report.posteriorSpread, run.report.priorSpread);
}

class LargeEnsemble : public ::testing::TestWithParam<std::string> {};

TEST_P(LargeEnsemble, ConvergesToTheKalmanFilter) {
  const std::int64_t N = 1000;
  const auto run = analyseOnce(GetParam(), N, MPI_COMM_WORLD, all(N), FilterSettings{}, sensors(), kY);
  const Prior prior;
  Vector m1, ma;
  Matrix c1, ca;
  moments(run.posterior, m1, c1);
  kalman(prior.mean, prior.cov, run.H, Eigen::Map<const Vector>(kY.data(), 6), 0.1, ma, ca);
  const double meanErr = (m1 - ma).cwiseAbs().maxCoeff(), covErr = (c1 - ca).cwiseAbs().maxCoeff();
  std::printf("%s, N = %ld: max |mean - KF mean| %.3e, max |cov - KF cov| %.3e (prior variance 0.25)\n",
              GetParam().c_str(), static_cast<long>(N), meanErr, covErr);
  // Sampling error of N = 1000 draws: about 0.5 / sqrt(1000) = 0.016 for the mean.
  EXPECT_LT(meanErr, 0.06);
  EXPECT_LT(covErr, 0.04);
  // The prior's own distance from the analysis is far larger: the filter did something.
  EXPECT_GT((prior.mean - ma).cwiseAbs().maxCoeff(), 0.3);
}

// Members on single ranks (ensemble-parallel) analyse exactly like members spread over all
// ranks (state-parallel).
TEST_P(LargeEnsemble, IsIndependentOfWhereMembersLive) {
  FilterSettings settings;
  settings.inflation = 1.1;
  settings.localisation = 0.15;
  const auto a = analyseOnce(GetParam(), 24, MPI_COMM_WORLD, all(24), settings, sensors(), kY);
  const auto b = analyseOnce(GetParam(), 24, MPI_COMM_SELF, mineOf(24), settings, sensors(), kY);
  ASSERT_EQ(a.posterior.values.size(), b.posterior.values.size());
  double worst = 0.0;
  for (std::size_t k = 0; k < a.posterior.values.size(); ++k)
    worst = std::max(worst, std::abs(a.posterior.values[k] - b.posterior.values[k]));
  EXPECT_LT(worst, 1e-12);
  EXPECT_EQ(a.prior.values, b.prior.values);
}

INSTANTIATE_TEST_SUITE_P(Filters, LargeEnsemble, ::testing::Values("enkf", "letkf"));

TEST(Localisation, ActsOnlyWithinTwiceTheHalfWidth) {
  for (const std::string type : {"enkf", "letkf"}) {
    FilterSettings settings;
    settings.localisation = 0.05;
    const auto where = sensors(0.3);  // sensors in [0.06, 0.34]
    const auto run = analyseOnce(type, 16, MPI_COMM_WORLD, all(16), settings, where, kY);
    double farChange = 0.0, nearChange = 0.0;
    for (std::int64_t p = 0; p < run.prior.size(); ++p) {
      const double x = run.prior.coordinates[p];
      for (std::int64_t i = 0; i < 16; ++i) {
        const double change = std::abs(run.posterior(p, i, 0) - run.prior(p, i, 0));
        if (x > 0.34 + 0.1) farChange = std::max(farChange, change);
        if (x > 0.1 && x < 0.3) nearChange = std::max(nearChange, change);
      }
    }
    double farAll = 0.0, nearAll = 0.0;
    MPI_Allreduce(&farChange, &farAll, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&nearChange, &nearAll, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    EXPECT_EQ(farAll, 0.0) << type;
    EXPECT_GT(nearAll, 0.05) << type;
  }
  EXPECT_DOUBLE_EQ(gaspariCohn(0.0), 1.0);
  EXPECT_NEAR(gaspariCohn(1.0), 5.0 / 24.0, 1e-15);  // both branches meet at 5/24
  EXPECT_NEAR(gaspariCohn(1.0 + 1e-12), 5.0 / 24.0, 1e-10);
  EXPECT_EQ(gaspariCohn(2.0), 0.0);
}

TEST(EnsembleFilter, RejectsBadInput) {
  auto filter = ensembleFilters().create("letkf");
  // One member.
  auto msg = messageOf<lats::InvalidValueError>(
      [&] { analyseOnce("enkf", 1, MPI_COMM_WORLD, all(1), FilterSettings{}, sensors(), kY); });
  EXPECT_NE(msg.find("at least 2 members"), std::string::npos) << msg;
  // NaN observation.
  auto y = kY;
  y[3] = NAN;
  msg = messageOf<lats::InvalidValueError>(
      [&] { analyseOnce("letkf", 4, MPI_COMM_WORLD, all(4), FilterSettings{}, sensors(), y); });
  EXPECT_NE(msg.find("sensor 3"), std::string::npos) << msg;
  // Settings.
  FilterSettings s;
  s.inflation = 0.9;
  msg = messageOf<lats::InvalidValueError>([&] { filter->setSettings(s); });
  EXPECT_NE(msg.find("-lats_da_inflation"), std::string::npos) << msg;
  s = FilterSettings{};
  s.localisation = -1;
  EXPECT_THROW(filter->setSettings(s), lats::InvalidValueError);
  msg = messageOf<lats::ConfigurationError>([] { ensembleFilters().create("letfk"); });
  EXPECT_NE(msg.find("Did you mean 'letkf'"), std::string::npos) << msg;
}

TEST(EnsembleExchange, PlacesEveryValueAndRejectsGapsAndMismatches) {
  // Members on single ranks; values encode (member, point).
  const std::int64_t N = 5;
  auto mesh = line(MPI_COMM_SELF);
  const auto layout = layoutOn(*mesh);
  const auto mine = mineOf(N);
  std::vector<lats::State> states;
  for (auto m : mine) {
    auto s = layoutOn(*mesh);
    for (std::int64_t i = 0; i < mesh->size(); ++i) s.field("u").view()(i, 0) = 100.0 * m + i;
    states.push_back(s);
  }
  std::vector<const lats::State*> in;
  std::vector<lats::State*> out;
  for (auto& s : states) in.push_back(&s), out.push_back(&s);
  EnsembleExchange ex(MPI_COMM_WORLD, mesh, layout, mine, N);
  auto block = ex.gather(in);
  EXPECT_EQ(block.members, N);
  for (std::int64_t p = 0; p < block.size(); ++p)
    for (std::int64_t i = 0; i < N; ++i) {
      EXPECT_EQ(block(p, i, 0), 100.0 * i + block.begin + p);
      EXPECT_NEAR(block.coordinates[p], (block.begin + p + 0.5) / kPoints, 1e-15);
      block(p, i, 0) = -block(p, i, 0);
    }
  ex.scatter(block, out);
  for (std::size_t k = 0; k < mine.size(); ++k)
    for (std::int64_t i = 0; i < mesh->size(); ++i)
      EXPECT_EQ(states[k].field("u").view()(i, 0), -(100.0 * mine[k] + i));
  // A member no rank holds.
  std::vector<std::int64_t> gap;
  for (auto m : mine)
    if (m != 2) gap.push_back(m);
  auto msg = messageOf<lats::ConfigurationError>([&] { EnsembleExchange(MPI_COMM_WORLD, mesh, layout, gap, N); });
  EXPECT_NE(msg.find("of ensemble member 2 is owned by no rank"), std::string::npos) << msg;
  // States with other fields.
  lats::State other;
  other.add(lats::Field("v", mesh->size(), 1));
  std::vector<const lats::State*> wrong(in.size(), &other);
  msg = messageOf<lats::DimensionMismatchError>([&] { ex.gather(wrong); });
  EXPECT_NE(msg.find("has fields v(1); expected u(1)"), std::string::npos) << msg;
}

TEST(Perturb, IsSmoothSeededAndRankIndependent) {
  auto run = [](MPI_Comm comm) {
    auto mesh = line(comm);
    auto s = layoutOn(*mesh);
    for (std::int64_t i = 0; i < mesh->size(); ++i) s.field("u").view()(i, 0) = mesh->coordinates()(i, 0);
    perturb(s, *mesh, 0.5, 9, 3);
    std::vector<double> v(kPoints, 0.0), all(kPoints);
    for (std::int64_t i = 0; i < mesh->ownedSize(); ++i)
      v[mesh->globalIds()(i)] = s.field("u").view()(i, 0) - mesh->coordinates()(i, 0);
    MPI_Allreduce(v.data(), all.data(), kPoints, MPI_DOUBLE, MPI_SUM, comm);
    return all;
  };
  const auto a = run(MPI_COMM_WORLD), b = run(MPI_COMM_SELF);
  double worst = 0.0, rms = 0.0;
  for (int i = 0; i < kPoints; ++i) worst = std::max(worst, std::abs(a[i] - b[i])), rms += a[i] * a[i] / kPoints;
  EXPECT_EQ(worst, 0.0);
  // Amplitude 0.5 of the field's standard deviation (0.2887 for x on [0, 1]) in expectation.
  EXPECT_GT(std::sqrt(rms), 0.03);
  EXPECT_LT(std::sqrt(rms), 0.4);
}

TEST(Scores, MatchAnalyticValues) {
  // One member: CRPS is the absolute error.
  std::vector<double> one = {1.5};
  EXPECT_DOUBLE_EQ(crps(one, 1.0), 0.5);
  // Two members {0, 2}, truth 1: E|X-y| = 1, E|X-X'|/2 = 0.5.
  std::vector<double> two = {2.0, 0.0};
  EXPECT_DOUBLE_EQ(crps(two, 1.0), 0.5);
  // A large Gaussian ensemble: CRPS(N(0, s), y) = s [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)].
  const int N = 20000;
  lats::SplitMix64 rng(5);
  std::vector<double> g(N);
  for (auto& v : g) v = 2.0 * rng.normal();
  const double y = 1.0, z = y / 2.0;
  const double analytic = 2.0 * (z * std::erf(z / std::sqrt(2.0)) + 2.0 * std::exp(-z * z / 2) / std::sqrt(2 * M_PI) -
                                 1.0 / std::sqrt(M_PI));
  EXPECT_NEAR(crps(g, y), analytic, 0.02);

  // Block scores: ensemble {t - 1, t + 1} at every point around truth t + 0.5.
  PointBlock ens, truth;
  const int rank = worldRank(), size = worldSize();
  ens.begin = truth.begin = 10 * rank;
  ens.end = truth.end = 10 * rank + 10;
  ens.members = 2, truth.members = 1;
  ens.components = truth.components = 1;
  for (int p = 0; p < 10; ++p) {
    ens.values.push_back(p - 1.0);
    ens.values.push_back(p + 1.0);
    truth.values.push_back(p + 0.5);
  }
  const auto s = scoreEnsemble(MPI_COMM_WORLD, ens, truth, 2.0);
  EXPECT_EQ(s.values, 10 * size);
  EXPECT_DOUBLE_EQ(s.rmse, 0.5);
  EXPECT_DOUBLE_EQ(s.spread, std::sqrt(2.0));
  EXPECT_NEAR(s.spreadSkill, std::sqrt(1.5) * std::sqrt(2.0) / 0.5, 1e-12);
  EXPECT_NEAR(s.crps, 0.5 * (1.5 + 0.5) - 0.25 * 2.0, 1e-12);
  ScoreHistory h;
  h.add(s);
  auto s2 = s;
  s2.rmse = 1.0;
  h.add(s2);
  EXPECT_NEAR(h.overall().rmse, std::sqrt((0.25 + 1.0) / 2), 1e-12);
  truth.members = 2;
  EXPECT_THROW(scoreEnsemble(MPI_COMM_WORLD, ens, truth), lats::DimensionMismatchError);
}

}  // namespace

namespace {

// Relaxation to prior spread: with 1 every value keeps its forecast spread (the mean still
// moves); with 0.5 the spread lies halfway between the plain analysis and the forecast.
TEST(Rtps, RelaxesTheAnalysisSpreadTowardTheForecast) {
  for (const std::string type : {"letkf", "enkf"}) {
    auto spread = [](const PointBlock& b, std::int64_t p) {
      double m = 0.0, v = 0.0;
      for (std::int64_t i = 0; i < b.members; ++i) m += b(p, i, 0) / static_cast<double>(b.members);
      for (std::int64_t i = 0; i < b.members; ++i) v += std::pow(b(p, i, 0) - m, 2);
      return std::sqrt(v / static_cast<double>(b.members - 1));
    };
    FilterSettings plain, full, half;
    full.rtps = 1.0;
    half.rtps = 0.5;
    const auto a = analyseOnce(type, 16, MPI_COMM_WORLD, all(16), plain, sensors(), kY);
    const auto b = analyseOnce(type, 16, MPI_COMM_WORLD, all(16), full, sensors(), kY);
    const auto c = analyseOnce(type, 16, MPI_COMM_WORLD, all(16), half, sensors(), kY);
    for (std::int64_t p = 0; p < b.prior.size(); ++p) {
      const double sf = spread(b.prior, p), sa = spread(a.posterior, p);
      EXPECT_NEAR(spread(b.posterior, p), sf, 1e-12 * (1 + sf)) << type << " point " << p;
      EXPECT_NEAR(spread(c.posterior, p), 0.5 * (sa + sf), 1e-12 * (1 + sf)) << type << " point " << p;
    }
    FilterSettings bad;
    bad.rtps = 1.5;
    EXPECT_THROW(bad.validate(), lats::InvalidValueError);
  }
}

}  // namespace
