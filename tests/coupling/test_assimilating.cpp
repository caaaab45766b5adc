// The assimilating stepper on a twin experiment: advection-diffusion on an irregular
// periodic triangulation, truth from the classical solver, the ensemble started from a
// wrong initial condition. Assimilation must beat the free run by a wide margin, members
// placed on single ranks must give the state-parallel result, and bad settings are errors.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>

#include "lats/core/error.hpp"
#include "lats/coupling/assimilating_stepper.hpp"
#include "lats/coupling/classical_stepper.hpp"
#include "lats/solvers/assimilation/metrics.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"
#include "test_support.hpp"

namespace {

namespace da = lats::solvers::assimilation;
using lats::coupling::AssimilatingStepper;
using lats::coupling::AssimilationSettings;
using lats::coupling::ClassicalStepper;
using lats::meshio::PlexMesh;

std::shared_ptr<const PlexMesh> square(MPI_Comm comm) {
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = 12;
  return PlexMesh::unitSquare(comm, spec);
}

std::unique_ptr<ClassicalStepper> advection() {
  auto c = std::make_unique<ClassicalStepper>();
  c->setEquation("advection_diffusion");
  c->setParameter("vx", 1.0);
  c->setParameter("vy", 0.5);
  c->setParameter("nu", 0.002);
  return c;
}

// A Gaussian blob centred at (cx, cy) (periodic distance).
lats::State blob(const lats::Mesh& mesh, double cx, double cy) {
  lats::State s;
  s.add(lats::Field("advection_diffusion", mesh.size(), std::vector<std::string>{"u"}));
  const auto x = mesh.coordinates();
  for (std::int64_t i = 0; i < mesh.size(); ++i) {
    double dx = std::abs(x(i, 0) - cx), dy = std::abs(x(i, 1) - cy);
    dx = std::min(dx, 1 - dx), dy = std::min(dy, 1 - dy);
    s.field("advection_diffusion").view()(i, 0) = std::exp(-(dx * dx + dy * dy) / (2 * 0.1 * 0.1));
  }
  return s;
}

constexpr double kDt = 0.05;
constexpr int kSteps = 8;

// Truth run and its observations (every step, 60 sensors, noise 0.02).
struct Twin {
  std::shared_ptr<const PlexMesh> plex;
  lats::State truth;
  da::ObservationSeries series;
};

Twin makeTwin() {
  Twin t;
  t.plex = square(MPI_COMM_WORLD);
  auto mesh = t.plex->mesh();
  t.truth = blob(*mesh, 0.3, 0.4);
  auto stepper = advection();
  stepper->setPlexMesh(t.plex);
  stepper->setUp(mesh, t.truth);
  const auto sensors = da::sensorsAtRandomPoints(*mesh, 60, {"u"}, 0.02, 11);
  da::ObservationOperator h(mesh, t.truth, sensors);
  for (int k = 0; k < kSteps; ++k) {
    EXPECT_TRUE(stepper->step(t.truth, kDt).ok());
    t.series.batches.push_back(da::observe(h, t.truth, 5, static_cast<std::uint64_t>(k)));
  }
  return t;
}

double rmse(const lats::Mesh& mesh, const lats::State& a, const lats::State& b) {
  double s = 0.0, n = 0.0;
  for (std::int64_t i = 0; i < mesh.ownedSize(); ++i) {
    s += std::pow(a.fields()[0].view()(i, 0) - b.fields()[0].view()(i, 0), 2);
    n += 1.0;
  }
  double all[2] = {0, 0}, loc[2] = {s, n};
  MPI_Allreduce(loc, all, 2, MPI_DOUBLE, MPI_SUM, mesh.comm());
  return std::sqrt(all[0] / all[1]);
}

struct DaRun {
  lats::State mean;
  da::EnsembleScores scores;
  std::size_t analyses = 0;
};

DaRun assimilate(const Twin& twin, const std::string& type, std::int64_t memberRanks) {
  AssimilationSettings settings;
  settings.type = type;
  settings.ensembleSize = 16;
  settings.memberRanks = memberRanks;
  settings.initialSpread = 0.5;
  settings.filter.inflation = 1.05;
  settings.filter.localisation = 0.2;
  auto factory = lats::coupling::plexMemberFactory(square, [] { return advection(); });
  AssimilatingStepper stepper(factory, settings, twin.series);
  auto mesh = twin.plex->mesh();
  DaRun run;
  run.mean = blob(*mesh, 0.45, 0.55);  // the wrong initial condition
  stepper.setUp(mesh, run.mean);
  for (int k = 0; k < kSteps; ++k) {
    const auto r = stepper.step(run.mean, kDt);
    EXPECT_TRUE(r.ok()) << r.reason;
  }
  run.analyses = stepper.analyses().size();
  run.scores = da::scoreEnsemble(MPI_COMM_WORLD, stepper.members(), stepper.hostBlock(twin.truth));
  EXPECT_NEAR(run.mean.time(), kSteps * kDt, 1e-12);
  return run;
}

class Assimilating : public ::testing::TestWithParam<std::string> {};

TEST_P(Assimilating, BeatsTheFreeRunAndIsIndependentOfMemberPlacement) {
  const auto twin = makeTwin();
  auto mesh = twin.plex->mesh();
  // Free run from the wrong initial condition.
  auto free = blob(*mesh, 0.45, 0.55);
  auto stepper = advection();
  stepper->setPlexMesh(twin.plex);
  stepper->setUp(mesh, free);
  for (int k = 0; k < kSteps; ++k) ASSERT_TRUE(stepper->step(free, kDt).ok());
  const double freeError = rmse(*mesh, free, twin.truth);

  const auto a = assimilate(twin, GetParam(), 0);
  const double daError = rmse(*mesh, a.mean, twin.truth);
  std::printf(
      "%s: RMSE free run %.4f, assimilated mean %.4f (%.1fx lower); ensemble RMSE %.4f, spread %.4f, CRPS %.4f\n",
      GetParam().c_str(), freeError, daError, freeError / daError, a.scores.rmse, a.scores.spread, a.scores.crps);
  EXPECT_EQ(a.analyses, static_cast<std::size_t>(kSteps));
  EXPECT_LT(daError, freeError / 3.0);
  EXPECT_NEAR(a.scores.rmse, daError, 1e-12);  // the host holds the ensemble mean
  EXPECT_GT(a.scores.spread, 0.0);

  // Members on single ranks (ensemble-parallel) give the same mean.
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1) {
    const auto b = assimilate(twin, GetParam(), 1);
    EXPECT_LT(rmse(*mesh, a.mean, b.mean), 1e-10);
  }
}

INSTANTIATE_TEST_SUITE_P(Filters, Assimilating, ::testing::Values("letkf", "enkf"));

TEST(Assimilating, BadSettingsAreClearErrors) {
  auto plex = square(MPI_COMM_WORLD);
  auto mesh = plex->mesh();
  auto factory = lats::coupling::plexMemberFactory(square, [] { return advection(); });
  da::ObservationSeries series;
  series.batches.push_back(da::Observations{});
  series.batches[0].time = 0.1;
  series.batches[0].sensors = da::sensorsAtRandomPoints(*mesh, 5, {"u"}, 0.1, 1);
  series.batches[0].values.assign(5, 0.0);
  auto expectError = [&](AssimilationSettings s, const std::string& text, da::ObservationSeries obs) {
    AssimilatingStepper stepper(factory, s, obs);
    auto state = blob(*mesh, 0.5, 0.5);
    const auto msg = lats::test::messageOf<lats::Error>([&] { stepper.setUp(mesh, state); });
    EXPECT_NE(msg.find(text), std::string::npos) << msg;
  };
  AssimilationSettings s;
  s.ensembleSize = 1;
  expectError(s, "at least 2 members", series);
  s = AssimilationSettings{};
  s.memberRanks = 3;
  expectError(s, "-lats_da_member_ranks 3 must divide", series);
  s = AssimilationSettings{};
  s.memberType = "clasical";
  expectError(s, "Did you mean 'classical'", series);
  s = AssimilationSettings{};
  expectError(s, "no observations; give -lats_obs", da::ObservationSeries{});
  s.space = "latent";
  expectError(s, "-lats_da_space latent needs surrogate members", series);
  s.type = "guided";
  expectError(s, "not to guided sampling", series);
  s = AssimilationSettings{};
  s.guidanceGamma = -1;
  expectError(s, "-lats_da_guidance_gamma -1 must be finite and >= 0", series);
  s = AssimilationSettings{};
  s.guidanceModelError = NAN;
  expectError(s, "-lats_da_guidance_model_error", series);
  s = AssimilationSettings{};
  s.initialSpread = -0.1;
  expectError(s, "-lats_da_init_spread", series);
  s = AssimilationSettings{};
  auto wrong = series;
  wrong.batches[0].sensors.components.assign(5, "v");
  expectError(s, "component 'v'", wrong);
}

}  // namespace

namespace {

// Observations added before and after setUp (a host that receives them while it runs).
TEST(Assimilating, ObservationsArriveWhileRunning) {
  const auto twin = makeTwin();
  auto mesh = twin.plex->mesh();
  AssimilationSettings settings;
  settings.ensembleSize = 8;
  settings.initialSpread = 0.5;
  settings.observationsLater = true;
  auto factory = lats::coupling::plexMemberFactory(square, [] { return advection(); });
  AssimilatingStepper stepper(factory, settings, da::ObservationSeries{});
  stepper.addObservations(twin.series.batches[0]);
  auto state = blob(*mesh, 0.45, 0.55);
  stepper.setUp(mesh, state);
  for (int k = 1; k < kSteps; ++k) stepper.addObservations(twin.series.batches[static_cast<std::size_t>(k)]);
  // The same time again joins the batch.
  stepper.addObservations(twin.series.batches[2]);
  for (int k = 0; k < kSteps; ++k) ASSERT_TRUE(stepper.step(state, kDt).ok());
  EXPECT_EQ(stepper.analyses().size(), static_cast<std::size_t>(kSteps));
  EXPECT_EQ(stepper.analyses()[2].second.observations, 120);
  // The past, unknown components and NaN are errors; a later batch still works.
  auto late = twin.series.batches[0];
  auto msg = lats::test::messageOf<lats::InvalidValueError>([&] { stepper.addObservations(late); });
  EXPECT_NE(msg.find("arrive after the ensemble reached"), std::string::npos) << msg;
  late.time = kSteps * kDt + kDt;
  late.sensors.components.assign(late.sensors.components.size(), "v");
  EXPECT_THROW(stepper.addObservations(late), lats::ConfigurationError);
  late = twin.series.batches[0];
  late.time = kSteps * kDt + kDt;
  late.values[0] = NAN;
  EXPECT_THROW(stepper.addObservations(late), lats::InvalidValueError);
  late.values[0] = 0.0;
  stepper.addObservations(late);
  ASSERT_TRUE(stepper.step(state, kDt).ok());
  EXPECT_EQ(stepper.analyses().size(), static_cast<std::size_t>(kSteps + 1));
}

}  // namespace
