// Guided posterior sampling: a diffusion surrogate (trained here on Burgers data) sampled
// with reconstruction guidance. Without information (huge noise) it reproduces the unguided
// sampler; with sensors it pulls the ensemble toward them; as the assimilating stepper's
// "guided" type it tracks a classical truth better than the free surrogate run.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <fstream>

#include "burgers_diffusion_model.hpp"
#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/coupling/assimilating_stepper.hpp"
#include "lats/coupling/classical_stepper.hpp"
#include "lats/coupling/surrogate_stepper.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"
#include "lats/solvers/classical/fv_operator.hpp"
#include "lats/solvers/classical/generator.hpp"
#include "lats/solvers/neural/latent_rollout.hpp"
#include "lats/solvers/neural/trainer.hpp"
#include "test_support.hpp"

namespace {

namespace nn = lats::solvers::neural;
namespace da = lats::solvers::assimilation;

using lats::test::checkpoint;
using lats::test::interval;
using lats::test::kDt;
using lats::test::kNu;

lats::State burgers(const lats::Mesh& mesh, double shift) {
  lats::State s;
  s.add(lats::Field("burgers", mesh.size(), std::vector<std::string>{"u"}));
  const auto x = mesh.coordinates();
  for (std::int64_t i = 0; i < mesh.size(); ++i)
    s.field("burgers").view()(i, 0) = std::sin(2 * M_PI * (x(i, 0) + shift)) + 0.5;
  return s;
}

// 8 sensors reading the shifted profile exactly (noise `noise`).
nn::GuidanceTarget target(double noise, double shift) {
  nn::GuidanceTarget t;
  for (int s = 0; s < 8; ++s) {
    const double x = (s + 0.3) / 8.0;
    t.coordinates.push_back(x);
    t.components.push_back(0);
    t.values.push_back(std::sin(2 * M_PI * (x + shift)) + 0.5);
    t.noiseStd.push_back(noise);
  }
  t.gamma = 0.1;
  return t;
}

// RMS misfit of the ensemble mean at the sensors (decoded by a second rollout's decoder is not
// needed: evaluate the members at the mesh point nearest to each sensor).
double misfit(const lats::Mesh& mesh, nn::LatentRollout& r, const nn::GuidanceTarget& t) {
  double total = 0.0;
  const auto x = mesh.coordinates();
  std::vector<double> mean(static_cast<std::size_t>(mesh.ownedSize()), 0.0);
  for (std::int64_t m = 0; m < r.members(); ++m) {
    const auto v = r.decodeMember(m);
    for (std::size_t i = 0; i < mean.size(); ++i) mean[i] += v[i] / static_cast<double>(r.members());
  }
  for (std::size_t s = 0; s < t.values.size(); ++s) {
    std::int64_t best = 0;
    for (std::int64_t i = 0; i < mesh.ownedSize(); ++i)
      if (std::abs(x(i, 0) - t.coordinates[s]) < std::abs(x(best, 0) - t.coordinates[s])) best = i;
    total += std::pow(mean[static_cast<std::size_t>(best)] - t.values[s], 2);
  }
  return std::sqrt(total / static_cast<double>(t.values.size()));
}

TEST(GuidedSampling, WithoutInformationEqualsTheUnguidedSampler) {
  auto plex = interval(MPI_COMM_SELF);
  auto mesh = plex->mesh();
  const auto state = burgers(*mesh, 0.0);
  nn::LatentRollout a(MPI_COMM_SELF, checkpoint()), b(MPI_COMM_SELF, checkpoint());
  for (auto* r : {&a, &b}) {
    r->setParameters({{"nu", kNu}});
    r->setEnsemble(4, 7);
    r->bind(mesh, state);
    r->reset(state);
  }
  a.advance(1);
  b.advanceGuided(target(1e6, 0.25));
  double worst = 0.0, scale = 0.0;
  for (int m = 0; m < 4; ++m) {
    const auto va = a.decodeMember(m), vb = b.decodeMember(m);
    for (std::size_t i = 0; i < va.size(); ++i)
      worst = std::max(worst, std::abs(va[i] - vb[i])), scale = std::max(scale, std::abs(va[i]));
  }
  EXPECT_LT(worst, 1e-5 * scale);
  // Members differ: the sampler is stochastic.
  EXPECT_GT(std::abs(a.decodeMember(0)[5] - a.decodeMember(1)[5]), 0.0);
}

// The latent-state interface of the ensemble analysis in latent space: the window round-trips,
// decoding at mesh points equals the full decode there, and a changed latent state changes
// what is decoded.
TEST(LatentEnsemble, StateRoundTripsAndDecodesAtPoints) {
  auto plex = interval(MPI_COMM_SELF);
  auto mesh = plex->mesh();
  const auto state = burgers(*mesh, 0.0);
  nn::LatentRollout r(MPI_COMM_SELF, checkpoint());
  r.setParameters({{"nu", kNu}});
  r.setEnsemble(3, 5);
  r.bind(mesh, state);
  r.reset(state);
  r.advance(1);
  const auto z = r.latentState();
  ASSERT_EQ(static_cast<std::int64_t>(z.size()), 3 * r.latentSize());
  r.setLatentState(z);
  EXPECT_EQ(r.latentState(), z);        // float32 values survive the double round trip
  const auto full = r.decodeMembers();  // (3, 64, 1)
  std::vector<double> xs = {mesh->coordinates()(5, 0), mesh->coordinates()(40, 0)};
  const auto at = r.decodeAt(xs, {0, 0});  // (3, 2)
  for (int m = 0; m < 3; ++m) {
    EXPECT_NEAR(at[static_cast<std::size_t>(2 * m)], full[static_cast<std::size_t>(64 * m + 5)], 1e-6);
    EXPECT_NEAR(at[static_cast<std::size_t>(2 * m + 1)], full[static_cast<std::size_t>(64 * m + 40)], 1e-6);
  }
  auto shifted = z;
  for (auto& v : shifted) v += 0.5;
  r.setLatentState(shifted);
  EXPECT_NE(r.decodeAt(xs, {0, 0}), at);
  shifted[3] = NAN;
  EXPECT_THROW(r.setLatentState(shifted), lats::InvalidValueError);
  EXPECT_THROW(r.setLatentState(std::vector<double>(5, 0.0)), lats::DimensionMismatchError);
  EXPECT_THROW(r.decodeAt(xs, {0, 3}), lats::InvalidValueError);
}

TEST(GuidedSampling, PullsTheEnsembleTowardTheSensors) {
  auto plex = interval(MPI_COMM_SELF);
  auto mesh = plex->mesh();
  const auto state = burgers(*mesh, 0.0);
  const auto t = target(0.02, 0.15);
  nn::LatentRollout free(MPI_COMM_SELF, checkpoint()), guided(MPI_COMM_SELF, checkpoint());
  for (auto* r : {&free, &guided}) {
    r->setParameters({{"nu", kNu}});
    r->setEnsemble(8, 3);
    r->bind(mesh, state);
    r->reset(state);
  }
  free.advance(1);
  guided.save();
  guided.advanceGuided(t);
  const double a = misfit(*mesh, free, t), b = misfit(*mesh, guided, t);
  guided.restore();
  auto withError = t;
  withError.modelError = 10.0;
  withError.corrections = 50;
  guided.advanceGuided(withError);
  const double c = misfit(*mesh, guided, t);
  std::printf("sensor misfit of the ensemble mean: unguided %.4f, guided %.4f, guided with model error %.4f\n", a, b,
              c);
  // The refiner is confident about its forecast, so guidance alone moves the members only a
  // little; the model-error analysis lets the observations win more.
  EXPECT_LT(b, a);
  EXPECT_LT(c, 0.9 * a);
  // Bad targets.
  auto bad = t;
  bad.noiseStd[2] = -1;
  auto msg = lats::test::messageOf<lats::InvalidValueError>([&] { guided.advanceGuided(bad); });
  EXPECT_NE(msg.find("sensor 2"), std::string::npos) << msg;
  bad = t;
  bad.components.pop_back();
  EXPECT_THROW(guided.advanceGuided(bad), lats::DimensionMismatchError);
}

TEST(GuidedAssimilation, TracksTheTruthBetterThanTheFreeSurrogate) {
  auto plex = interval(MPI_COMM_WORLD);
  auto mesh = plex->mesh();
  // Truth: the classical solver from a shifted profile; the surrogate starts unshifted.
  auto truth = burgers(*mesh, 0.1);
  lats::coupling::ClassicalStepper classical(plex, "burgers");
  classical.setParameter("nu", kNu);
  classical.setUp(mesh, truth);
  const auto sensors = da::sensorsAtRandomPoints(*mesh, 12, {"u"}, 0.02, 4);
  da::ObservationOperator h(mesh, truth, sensors);
  da::ObservationSeries series;
  std::vector<lats::State> truths;
  for (int k = 0; k < 4; ++k) {
    ASSERT_TRUE(classical.step(truth, kDt).ok());
    series.batches.push_back(da::observe(h, truth, 9, static_cast<std::uint64_t>(k)));
    truths.push_back(truth.clone());
  }
  auto surrogateFactory = [] {
    lats::coupling::SurrogateSettings s;
    s.model = checkpoint();
    s.parameters = {{"nu", kNu}};
    return std::make_unique<lats::coupling::SurrogateStepper>(s);
  };
  lats::coupling::MemberFactory factory;
  factory.surrogate = surrogateFactory;
  lats::coupling::AssimilationSettings settings;
  settings.type = "guided";
  settings.ensembleSize = 8;
  settings.guidanceModelError = 10.0;
  lats::coupling::AssimilatingStepper da(factory, settings, series);
  auto state = burgers(*mesh, 0.0);
  da.setUp(mesh, state);
  auto freeState = burgers(*mesh, 0.0);
  auto free = surrogateFactory();
  free->setUp(mesh, freeState);
  auto rmse = [&](const lats::State& a, const lats::State& b) {
    double s[2] = {0, 0}, all[2];
    for (std::int64_t i = 0; i < mesh->ownedSize(); ++i)
      s[0] += std::pow(a.fields()[0].view()(i, 0) - b.fields()[0].view()(i, 0), 2), s[1] += 1;
    MPI_Allreduce(s, all, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return std::sqrt(all[0] / all[1]);
  };
  double freeSum = 0.0, daSum = 0.0;
  for (int k = 0; k < 4; ++k) {
    ASSERT_TRUE(da.step(state, kDt).ok());
    ASSERT_TRUE(free->step(freeState, kDt).ok());
    const double a = rmse(freeState, truths[k]), b = rmse(state, truths[k]);
    std::printf("t = %.2f: RMSE free surrogate %.4f, guided %.4f\n", state.time(), a, b);
    freeSum += a, daSum += b;
  }
  EXPECT_EQ(da.analyses().size(), 4u);
  EXPECT_LT(daSum, 0.95 * freeSum);
  // Guided sampling needs a surrogate.
  lats::coupling::MemberFactory classicalFactory;
  classicalFactory.stepper = [](const std::shared_ptr<const lats::Mesh>&) {
    return std::make_unique<lats::coupling::ClassicalStepper>();
  };
  lats::coupling::AssimilatingStepper wrong(classicalFactory, settings, series);
  auto s2 = burgers(*mesh, 0.0);
  const auto msg = lats::test::messageOf<lats::ConfigurationError>([&] { wrong.setUp(mesh, s2); });
  EXPECT_NE(msg.find("-lats_da_member surrogate"), std::string::npos) << msg;
}

}  // namespace
