// Seeded initial conditions and parameters: reproducible for any rank count, with the
// statistics they promise, and clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "classical_support.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/solvers/classical/equations.hpp"
#include "lats/solvers/classical/initial_conditions.hpp"
#include "test_support.hpp"

namespace {

using lats::meshio::PlexMesh;
using lats::solvers::FvSolver;

std::shared_ptr<const PlexMesh> meshFor(MPI_Comm comm, int dim) {
  if (dim == 2) {
    lats::meshio::UnitSquareSpec spec;
    spec.cellsPerSide = 12;
    return PlexMesh::unitSquare(comm, spec);
  }
  lats::meshio::IntervalSpec spec;
  spec.cells = 96;
  spec.irregularity = 0.3;
  return PlexMesh::interval(comm, spec);
}

class SampledTrajectory : public ::testing::TestWithParam<std::string> {};

// Same seed -> the same parameters, the same initial field and, with a fixed step, the same
// trajectory bit for bit on 1 and on all ranks.
TEST_P(SampledTrajectory, IsBitIdenticalForAnyRankCount) {
  auto run = [&](MPI_Comm comm) {
    auto op = lats::solvers::fvOperators().create(GetParam());
    const auto params = lats::solvers::sampleParameters(*op, 1234);
    const int dim = op->dimensions().back();
    auto mesh = meshFor(comm, dim);
    auto ic = lats::solvers::initialCondition(*op, *mesh, 99);
    FvSolver s(mesh, std::move(op));
    s.setSolution(ic);
    s.setTimeStep(0.5 * s.stableTimeStep());
    EXPECT_TRUE(s.advance(10 * s.timeStep()).ok());
    return std::make_pair(params, lats::test::valuesById(s));
  };
  const auto [pa, a] = run(MPI_COMM_WORLD);
  const auto [pb, b] = run(MPI_COMM_SELF);
  EXPECT_EQ(pa, pb);
  EXPECT_EQ(lats::test::maxDifference(a, b), 0.0);
  // A field that is not constant: the family does something.
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& [id, v] : a) lo = std::min(lo, v[0]), hi = std::max(hi, v[0]);
  EXPECT_GT(hi - lo, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Registered, SampledTrajectory,
                         ::testing::Values("advection_diffusion", "burgers", "combined", "gray_scott", "wave",
                                           "shallow_water", "kuramoto_sivashinsky", "navier_stokes"));

TEST(RandomField, GaussianRandomFieldHasZeroMeanAndTheRequestedVarianceOnAverage) {
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = 32;
  auto mesh = PlexMesh::unitSquare(MPI_COMM_SELF, spec);
  const auto& m = *mesh->mesh();
  auto xy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m.coordinates());
  auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m.volumes());
  lats::solvers::RandomFieldSpec grf;
  grf.amplitude = 2.0;
  double meanVariance = 0.0, worstMean = 0.0;
  const int seeds = 40;
  for (int seed = 1; seed <= seeds; ++seed) {
    lats::solvers::RandomField f(grf, seed, 2, {1.0, 1.0, 1.0});
    double mean = 0.0, square = 0.0;
    for (std::int64_t k = 0; k < m.ownedSize(); ++k) {
      const double x[3] = {xy(k, 0), xy(k, 1), 0.0};
      const double v = f(x);
      mean += vol(k) * v;
      square += vol(k) * v * v;
    }
    worstMean = std::max(worstMean, std::abs(mean));
    meanVariance += (square - mean * mean) / seeds;
  }
  if (lats::Comm().rank() == 0)
    std::printf("grf: largest domain mean %.2e, variance averaged over %d seeds %.3f (expected 4)\n", worstMean, seeds,
                meanVariance);
  EXPECT_LT(worstMean, 0.02);  // periodic modes integrate to zero (up to the midpoint rule)
  EXPECT_NEAR(meanVariance, 4.0, 0.8);
}

TEST(RandomField, SeedsGiveDifferentFieldsAndBlobsArePeriodic) {
  lats::solvers::RandomFieldSpec blobs;
  blobs.family = "blobs";
  lats::solvers::RandomField a(blobs, 1, 2, {1.0, 1.0, 1.0}), b(blobs, 2, 2, {1.0, 1.0, 1.0});
  const double x[3] = {0.3, 0.7, 0.0};
  EXPECT_NE(a(x), b(x));
  const double y0[3] = {0.0, 0.25, 0.0}, y1[3] = {1.0, 0.25, 0.0};
  EXPECT_NEAR(a(y0), a(y1), 1e-14);
  lats::solvers::RandomFieldSpec sines;
  sines.family = "sinusoids";
  lats::solvers::RandomField s(sines, 5, 1, {16.0, 1.0, 1.0});
  const double z0[3] = {0.0, 0, 0}, z1[3] = {16.0, 0, 0};
  EXPECT_NEAR(s(z0), s(z1), 1e-12);
}

TEST(SampleParameters, StayInTheirRangesAndAreReproducible) {
  auto op = lats::solvers::makeCombinedEquation();
  const auto p1 = lats::solvers::sampleParameters(*op, 7);
  const auto p2 = lats::solvers::sampleParameters(*op, 7);
  const auto p3 = lats::solvers::sampleParameters(*op, 8);
  EXPECT_EQ(p1, p2);
  EXPECT_NE(p1, p3);
  for (const auto& p : op->parameters()) {
    EXPECT_GE(p.value, p.low) << p.name;
    EXPECT_LE(p.value, p.high) << p.name;
  }
  EXPECT_EQ(p3.at("forcing_seed"), std::floor(p3.at("forcing_seed")));
  EXPECT_EQ(op->parameter("alpha"), p3.at("alpha"));
}

TEST(RandomField, BadInputGivesClearErrors) {
  lats::solvers::RandomFieldSpec spec;
  spec.family = "blob";
  auto m = lats::test::messageOf<lats::ConfigurationError>([&] {
    lats::solvers::RandomField(spec, 1, 2, {1.0, 1.0, 1.0});
  });
  EXPECT_NE(m.find("unknown random-field family 'blob'. Did you mean 'blobs'?"), std::string::npos) << m;
  spec.family = "grf";
  m = lats::test::messageOf<lats::InvalidValueError>([&] { lats::solvers::RandomField(spec, 1, 2, {1.0, 0.0, 1.0}); });
  EXPECT_NE(m.find("domain extent 0 along axis 1"), std::string::npos) << m;
}

}  // namespace

namespace {
TEST(RandomField, NonPositiveSizesAreClearErrors) {
  lats::solvers::RandomFieldSpec spec;
  spec.count = 0;
  auto m = lats::test::messageOf<lats::InvalidValueError>([&] {
    lats::solvers::RandomField(spec, 1, 2, {1.0, 1.0, 1.0});
  });
  EXPECT_NE(m.find("count 0"), std::string::npos) << m;
  m = lats::test::messageOf<lats::DimensionMismatchError>([&] {
    lats::solvers::RandomField(lats::solvers::RandomFieldSpec{}, 1, 4, {1.0, 1.0, 1.0});
  });
  EXPECT_NE(m.find("dimension 4; expected 1, 2 or 3"), std::string::npos) << m;
}
}  // namespace
