// The classical, surrogate and hybrid steppers; the surrogate uses a model trained by lats train on data from the
// Burgers solver: its steps equal a direct computation with the checkpoint (also with the mesh partitioned over ranks),
// lazy decoding, re-encoding after a host change, step-size contract, ensembles and bad input.
#include <gtest/gtest.h>
#include <petscsys.h>
#include <torch/torch.h>

#include <cmath>
#include <map>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/coupling/classical_stepper.hpp"
#include "lats/coupling/hybrid_stepper.hpp"
#include "lats/coupling/surrogate_stepper.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/classical/fv_operator.hpp"
#include "lats/solvers/classical/fv_solver.hpp"
#include "lats/solvers/classical/generator.hpp"
#include "lats/solvers/neural/checkpoint.hpp"
#include "lats/solvers/neural/trainer.hpp"
#include "test_support.hpp"

namespace nn = lats::solvers::neural;
using lats::coupling::SurrogateSettings;
using lats::coupling::SurrogateStepper;

namespace {

constexpr double kDt = 0.05;  // snapshot interval of the training data
constexpr double kNu = 0.02;

/// Burgers data (32-cell periodic interval, nu sampled) and a small model trained on it
/// with a history of 2 and the PDE parameter nu; made once per process.
const std::string& checkpoint() {
  static std::string dir;
  if (!dir.empty()) return dir;
  lats::solvers::registerFvOperators();
  const std::string tmp = lats::test::sharedTempDir(MPI_COMM_WORLD, "surrogate");
  lats::solvers::GeneratorSettings g;
  g.equation = "burgers";
  g.output = tmp + "/burgers.h5";
  g.trajectories = 12;
  g.snapshots = 8;
  g.finalTime = 8 * kDt;
  g.progress = false;
  lats::solvers::generateDataset(MPI_COMM_WORLD, g);
  nn::TrainerSettings s;
  s.dataset = g.output;
  s.output = tmp + "/model";
  s.autoencoderSteps = 120;
  s.dynamicsSteps = 60;
  s.batchSize = 8;
  s.learningRate = 3e-3;
  s.validateEvery = 1000;
  s.progress = false;
  s.model.set("history", std::int64_t{2})
      .set("encoder.num_tokens", std::int64_t{8})
      .set("encoder.token_dim", std::int64_t{32})
      .set("dynamics.dim", std::int64_t{32})
      .set("dynamics.depth", std::int64_t{2});
  nn::trainModel(MPI_COMM_WORLD, s);
  dir = s.output;
  return dir;
}

std::shared_ptr<const lats::meshio::PlexMesh> intervalMesh(MPI_Comm comm) {
  lats::meshio::IntervalSpec spec;
  spec.cells = 32;  // coarser than the training data (256 cells): the model is mesh-independent
  return lats::meshio::PlexMesh::interval(comm, spec);
}

/// A state with field "burgers" (component u) holding sin(2 pi x) + 0.5 on the mesh.
lats::State initialState(const lats::Mesh& mesh, double shift = 0.0) {
  lats::Field u("burgers", mesh.size(), {"u"});
  auto x = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh.coordinates());
  for (std::int64_t i = 0; i < mesh.size(); ++i) u.view()(i, 0) = std::sin(2 * M_PI * (x(i, 0) + shift)) + 0.5;
  lats::State s;
  s.add(u);
  return s;
}

SurrogateSettings settings() {
  SurrogateSettings s;
  s.model = checkpoint();
  s.parameters = {{"nu", kNu}};
  return s;
}

/// Values after `steps` steps computed directly from the checkpoint on the whole mesh
/// (one rank), by global id.
std::map<std::int64_t, double> reference(int steps, double shift = 0.0) {
  auto plex = intervalMesh(MPI_COMM_SELF);
  const auto& mesh = *plex->mesh();
  const auto state = initialState(mesh, shift);
  auto cp = nn::loadCheckpoint(checkpoint());
  cp.model->eval();
  torch::NoGradGuard g;
  const auto& md = cp.metadata;
  const std::int64_t n = mesh.ownedSize();
  auto xyz = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh.coordinates());
  auto coords = torch::empty({1, n, 1}, torch::kFloat64), values = torch::empty({1, n, 1}, torch::kFloat64);
  for (std::int64_t i = 0; i < n; ++i) {
    coords[0][i][0] = (xyz(i, 0) - md.coordOffset[0]) / md.coordScale[0];
    values[0][i][0] = (state.field("burgers").view()(i, 0) - md.mean[0]) / md.std[0];
  }
  coords = coords.to(torch::kFloat32);
  const auto z = cp.model->encode(coords, values.to(torch::kFloat32));
  auto window = torch::stack({z, z}, 1);  // cold start: the history holds the state twice
  EXPECT_EQ(md.provenance.at("parameter_names"), "nu");
  const auto p = torch::tensor({(kNu - md.parameterMean[0]) / md.parameterStd[0]}, torch::kFloat32).view({1, 1});
  for (int s = 0; s < steps; ++s) {
    const auto next = cp.model->advance(window, p);
    window = torch::cat({window.slice(1, 1), next.unsqueeze(1)}, 1);
  }
  const auto u = cp.model->decode(window.select(1, 1), coords).to(torch::kFloat64) * md.std[0] + md.mean[0];
  std::map<std::int64_t, double> out;
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh.globalIds());
  for (std::int64_t i = 0; i < n; ++i) out[ids(i)] = u[0][i][0].item<double>();
  return out;
}

double maxRelativeDifference(const lats::Mesh& mesh, const lats::State& state,
                             const std::map<std::int64_t, double>& ref) {
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh.globalIds());
  double worst = 0.0, scale = 0.0;
  for (const auto& [id, v] : ref) scale = std::max(scale, std::abs(v));
  for (std::int64_t i = 0; i < mesh.ownedSize(); ++i)
    worst = std::max(worst, std::abs(state.field("burgers").view()(i, 0) - ref.at(ids(i))) / scale);
  MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_DOUBLE, MPI_MAX, mesh.comm());
  return worst;
}

TEST(Surrogate, StepsEqualTheCheckpointsOwnComputationOnAnyRankCount) {
  auto plex = intervalMesh(MPI_COMM_WORLD);
  auto state = initialState(*plex->mesh());
  SurrogateStepper stepper(settings());
  stepper.setUp(plex->mesh(), state);
  EXPECT_DOUBLE_EQ(stepper.modelTimeStep(), kDt);  // recorded by lats train from the snapshot times
  EXPECT_EQ(stepper.rollout().info().history, 2);
  for (int s = 0; s < 3; ++s) {
    const auto r = stepper.step(state, kDt);
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_DOUBLE_EQ(r.dtTaken, kDt);
  }
  EXPECT_NEAR(state.time(), 3 * kDt, 1e-15);
  EXPECT_EQ(state.stepIndex(), 3);
  const double diff = maxRelativeDifference(*plex->mesh(), state, reference(3));
  std::printf("[surrogate] %d rank(s): max relative difference to the direct computation %.2e\n", lats::Comm().size(),
              diff);
  EXPECT_LT(diff, 1e-5);  // float32; partitioned encoding sums in another order
  // The registry creates the same stepper from the options database.
  auto byName = lats::timeSteppers().create("surrogate");
  EXPECT_EQ(byName->type(), "surrogate");
  // Chunk sizes are a run-time setting: small chunks give the same states.
  auto chunked = settings();
  chunked.encoderChunk = 7;
  chunked.decoderChunk = 5;
  SurrogateStepper small(chunked);
  auto other = initialState(*plex->mesh());
  small.setUp(plex->mesh(), other);
  ASSERT_TRUE(small.advance(other, 3 * kDt, kDt).ok());
  EXPECT_LT(maxRelativeDifference(*plex->mesh(), other, reference(3)), 1e-5);
  auto bad = settings();
  bad.decoderChunk = -2;
  SurrogateStepper refused(bad);
  auto third = initialState(*plex->mesh());
  EXPECT_NE(lats::test::messageOf<lats::InvalidValueError>([&] {
              refused.setUp(plex->mesh(), third);
            }).find("expected -1 (the checkpoint's), 0 (all) or a count"),
            std::string::npos);
}

TEST(Surrogate, LazyDecodingAndHostChanges) {
  auto plex = intervalMesh(MPI_COMM_WORLD);
  const auto& mesh = *plex->mesh();
  auto s0 = initialState(mesh);
  auto lazy = settings();
  lazy.decodeEvery = 0;
  SurrogateStepper stepper(lazy);
  auto state = s0.clone();
  stepper.setUp(plex->mesh(), state);
  ASSERT_TRUE(stepper.advance(state, 3 * kDt, kDt).ok());
  EXPECT_FALSE(stepper.isSynchronized());
  // The fields still hold the initial values until the host asks.
  double unchanged = 0.0;
  for (std::int64_t i = 0; i < mesh.ownedSize(); ++i)
    unchanged = std::max(unchanged, std::abs(state.field("burgers").view()(i, 0) - s0.field("burgers").view()(i, 0)));
  EXPECT_EQ(unchanged, 0.0);
  // Read through the TimeStepper interface (what hosts and composite steppers call).
  EXPECT_TRUE(stepper.capabilities().lazyState);
  static_cast<lats::TimeStepper&>(stepper).synchronize(state);
  EXPECT_TRUE(stepper.isSynchronized());
  EXPECT_LT(maxRelativeDifference(mesh, state, reference(3)), 1e-5);

  // The host replaces the state (another initial condition): the next step starts from it.
  auto other = initialState(mesh, 0.25);
  state.copyFrom(other);
  ASSERT_TRUE(stepper.step(state, kDt).ok());
  stepper.synchronize(state);
  EXPECT_LT(maxRelativeDifference(mesh, state, reference(1, 0.25)), 1e-5);
}

TEST(Surrogate, StepSizeContract) {
  auto plex = intervalMesh(MPI_COMM_WORLD);
  auto state = initialState(*plex->mesh());
  SurrogateStepper stepper(settings());
  stepper.setUp(plex->mesh(), state);
  const auto small = stepper.step(state, 0.5 * kDt);
  EXPECT_EQ(small.status, lats::StepStatus::Rejected);
  EXPECT_NE(small.reason.find("model's time step"), std::string::npos) << small.reason;
  EXPECT_EQ(state.time(), 0.0);
  const auto big = stepper.step(state, 3 * kDt);  // takes one model step
  ASSERT_TRUE(big.ok());
  EXPECT_DOUBLE_EQ(big.dtTaken, kDt);
  EXPECT_DOUBLE_EQ(big.dtNext, kDt);
  // advance() lands on a multiple of the model's step exactly.
  ASSERT_TRUE(stepper.advance(state, 1.0, kDt).ok());
  EXPECT_EQ(state.time(), 1.0);
  EXPECT_EQ(state.stepIndex(), 20);
}

TEST(Surrogate, EnsembleOfADeterministicModelHasNoSpread) {
  auto plex = intervalMesh(MPI_COMM_WORLD);
  auto state = initialState(*plex->mesh());
  auto s = settings();
  s.ensemble = 3;
  SurrogateStepper stepper(s);
  stepper.setUp(plex->mesh(), state);
  ASSERT_TRUE(stepper.step(state, kDt).ok());
  EXPECT_EQ(stepper.rollout().members(), 3);
  for (double v : stepper.rollout().spread()) EXPECT_LT(v, 1e-6);  // identical up to float32 batching
  EXPECT_LT(maxRelativeDifference(*plex->mesh(), state, reference(1)), 1e-5);
}

std::unique_ptr<lats::coupling::ClassicalStepper> classical(std::shared_ptr<const lats::meshio::PlexMesh> plex);

TEST(Surrogate, BadInputIsAClearErrorOnEveryRank) {
  auto plex = intervalMesh(MPI_COMM_WORLD);
  const auto mesh = plex->mesh();
  auto state = initialState(*mesh);
  {
    SurrogateStepper stepper{SurrogateSettings{}};
    const auto m = lats::test::messageOf<lats::ConfigurationError>([&] { stepper.setUp(mesh, state); });
    EXPECT_NE(m.find("no model; give the checkpoint directory"), std::string::npos) << m;
  }
  {
    auto s = settings();
    s.parameters.clear();
    SurrogateStepper stepper(s);
    const auto m = lats::test::messageOf<lats::ConfigurationError>([&] { stepper.setUp(mesh, state); });
    EXPECT_NE(m.find("conditioned on the PDE parameters nu but no value was given for nu"), std::string::npos) << m;
  }
  {
    auto s = settings();
    s.parameters["mu"] = 1.0;
    SurrogateStepper stepper(s);
    const auto m = lats::test::messageOf<lats::ConfigurationError>([&] { stepper.setUp(mesh, state); });
    EXPECT_NE(m.find("no PDE parameter 'mu'. Did you mean 'nu'?"), std::string::npos) << m;
  }
  {
    lats::Field v("velocity", mesh->size(), {"u"});
    lats::State wrong;
    wrong.add(v);
    SurrogateStepper stepper(settings());
    const auto m = lats::test::messageOf<lats::ModelMismatchError>([&] { stepper.setUp(mesh, wrong); });
    EXPECT_NE(m.find("expects a field 'burgers' that the state does not have"), std::string::npos) << m;
  }
  {
    lats::meshio::UnitSquareSpec sq;
    sq.cellsPerSide = 4;
    auto square = lats::meshio::PlexMesh::unitSquare(MPI_COMM_WORLD, sq);
    auto s2 = initialState(*square->mesh());
    SurrogateStepper stepper(settings());
    const auto m = lats::test::messageOf<lats::ModelMismatchError>([&] { stepper.setUp(square->mesh(), s2); });
    EXPECT_NE(m.find("trained on a 1D domain but the mesh"), std::string::npos) << m;
  }
  {
    auto s = settings();
    s.dt = 0.1;
    SurrogateStepper stepper(s);
    const auto m = lats::test::messageOf<lats::ConfigurationError>([&] { stepper.setUp(mesh, state); });
    EXPECT_NE(m.find("differs from the time step 0.05 the model was trained with"), std::string::npos) << m;
  }
  {
    // A NaN on the last rank only: every rank gets the same error.
    auto bad = state.clone();
    if (lats::Comm().rank() == lats::Comm().size() - 1) bad.field("burgers").view()(0, 0) = std::nan("");
    SurrogateStepper stepper(settings());
    const auto m = lats::test::messageOf<lats::InvalidValueError>([&] { stepper.setUp(mesh, bad); });
    EXPECT_NE(
        m.find("has a non-finite value (nan) at local entity 0 of rank " + std::to_string(lats::Comm().size() - 1)),
        std::string::npos)
        << m;
  }
  {
    auto s = settings();
    s.model = "/nonexistent/model";
    SurrogateStepper stepper(s);
    const auto m = lats::test::messageOf<lats::FileFormatError>([&] { stepper.setUp(mesh, state); });
    EXPECT_NE(m.find("/nonexistent/model/model.json"), std::string::npos) << m;
  }
  {
    auto s = settings();
    s.decodeEvery = -1;
    SurrogateStepper stepper(s);
    const auto m = lats::test::messageOf<lats::InvalidValueError>([&] { stepper.setUp(mesh, state); });
    EXPECT_NE(m.find("-lats_surrogate_decode_every -1; expected >= 0"), std::string::npos) << m;
    s = settings();
    s.ensemble = 0;
    SurrogateStepper noMembers(s);
    const auto m2 = lats::test::messageOf<lats::InvalidValueError>([&] { noMembers.setUp(mesh, state); });
    EXPECT_NE(m2.find("ensemble of 0 members; expected at least 1"), std::string::npos) << m2;
  }
  {
    // Hybrid settings are checked before anything is set up.
    auto expectHybrid = [&](lats::coupling::HybridSettings h, const std::string& text) {
      lats::coupling::HybridStepper stepper(std::make_unique<SurrogateStepper>(settings()), classical(plex), h);
      const auto m = lats::test::messageOf<lats::Error>([&] { stepper.setUp(mesh, state); });
      EXPECT_NE(m.find(text), std::string::npos) << m;
    };
    lats::coupling::HybridSettings h;
    h.policy = "errors";
    expectHybrid(h, "unknown hybrid trust policy 'errors'. Did you mean 'error'?");
    h = {};
    h.surrogateSteps = h.classicalSteps = 0;
    expectHybrid(h, "expected counts >= 0, not both 0");
    h = {};
    h.residualTolerance = -1;
    expectHybrid(h, "tolerance -1; expected a finite value >= 0");
    h = {};
    h.fallbackSteps = 0;
    expectHybrid(h, "-lats_hybrid_fallback_steps 0 (expected >= 1)");
    // A classical solver of another equation than the model's.
    lats::State adv;
    adv.add(lats::Field("advection_diffusion", mesh->size(), {"u"}));
    adv.add(lats::Field("burgers", mesh->size(), {"u"}));
    lats::coupling::HybridStepper other(std::make_unique<SurrogateStepper>(settings()),
                                        std::make_unique<lats::coupling::ClassicalStepper>(plex, "advection_diffusion"),
                                        lats::coupling::HybridSettings{});
    const auto m = lats::test::messageOf<lats::ModelMismatchError>([&] { other.setUp(mesh, adv); });
    EXPECT_NE(
        m.find(
            "the surrogate part evolves the field(s) 'burgers' but the classical part evolves 'advection_diffusion'"),
        std::string::npos)
        << m;
  }
  const auto m = lats::test::messageOf<lats::InvalidValueError>(
      [] { lats::coupling::parseParameterList("nu=0.1,mu", "-lats_surrogate_parameters"); });
  EXPECT_NE(m.find("'mu' in -lats_surrogate_parameters; expected name=value"), std::string::npos) << m;
}

/// Owned values of the "burgers" field by global id, gathered on every rank.
std::map<std::int64_t, double> byId(const lats::Mesh& mesh, const lats::State& state) {
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh.globalIds());
  std::vector<double> local;
  for (std::int64_t i = 0; i < mesh.ownedSize(); ++i) {
    local.push_back(static_cast<double>(ids(i)));
    local.push_back(state.field("burgers").view()(i, 0));
  }
  int n = static_cast<int>(local.size()), size = lats::Comm().size();
  std::vector<int> counts(size), offsets(size, 0);
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  for (int r = 1; r < size; ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
  std::vector<double> all(offsets.back() + counts.back());
  MPI_Allgatherv(local.data(), n, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, MPI_COMM_WORLD);
  std::map<std::int64_t, double> out;
  for (std::size_t k = 0; k < all.size(); k += 2) out[static_cast<std::int64_t>(all[k])] = all[k + 1];
  return out;
}

std::unique_ptr<lats::coupling::ClassicalStepper> classical(std::shared_ptr<const lats::meshio::PlexMesh> plex) {
  auto c = std::make_unique<lats::coupling::ClassicalStepper>(plex, "burgers");
  c->setParameter("nu", kNu);
  return c;
}

/// The Burgers solver itself, advanced in the same macro steps, on one rank.
std::map<std::int64_t, double> classicalReference(int steps) {
  auto plex = intervalMesh(MPI_COMM_SELF);
  auto op = lats::solvers::fvOperators().create("burgers");
  op->setParameter("nu", kNu);
  lats::solvers::FvSolver solver(plex, std::move(op));
  solver.setFromOptions();
  auto s = initialState(*plex->mesh());
  std::vector<double> v;
  for (std::int64_t i = 0; i < plex->mesh()->ownedSize(); ++i) v.push_back(s.field("burgers").view()(i, 0));
  solver.setSolution(v);
  for (int k = 1; k <= steps; ++k) {
    EXPECT_TRUE(solver.advance(k * kDt).ok());
    EXPECT_NEAR(solver.time(), k * kDt, 1e-14);  // lands on the target time (SSP RK ignores MATCHSTEP)
  }
  v = solver.values();
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), plex->mesh()->globalIds());
  std::map<std::int64_t, double> out;
  for (std::int64_t i = 0; i < plex->mesh()->ownedSize(); ++i) out[ids(i)] = v[i];
  return out;
}

TEST(Classical, MacroStepsEqualTheSolverOnAnyRankCount) {
  lats::solvers::registerFvOperators();
  auto plex = intervalMesh(MPI_COMM_WORLD);
  auto state = initialState(*plex->mesh());
  auto stepper = classical(plex);
  stepper->setUp(plex->mesh(), state);
  ASSERT_TRUE(stepper->advance(state, 4 * kDt, kDt).ok());
  EXPECT_EQ(state.stepIndex(), 4);
  EXPECT_EQ(byId(*plex->mesh(), state), classicalReference(4));  // bit for bit, 1 or 2 ranks
  // Bad input.
  auto m = lats::test::messageOf<lats::ConfigurationError>([&] { lats::coupling::ClassicalStepper(plex, "burger"); });
  EXPECT_NE(m.find("Did you mean 'burgers'?"), std::string::npos) << m;
  lats::State wrong;
  wrong.add(lats::Field("u", plex->mesh()->size(), {"u"}));
  auto other = classical(plex);
  m = lats::test::messageOf<lats::ConfigurationError>([&] { other->setUp(plex->mesh(), wrong); });
  EXPECT_NE(m.find("the state has no field 'burgers'"), std::string::npos) << m;
  // Set up on a PlexMesh's mesh, a classical stepper finds the PlexMesh by itself
  // (PlexMesh::of); on a mesh made otherwise it has no finite-volume mesh.
  auto found = std::make_unique<lats::coupling::ClassicalStepper>();
  found->setEquation("burgers");
  auto fresh = state.clone();
  EXPECT_NO_THROW(found->setUp(plex->mesh(), fresh));
  EXPECT_EQ(lats::meshio::PlexMesh::of(*plex->mesh()), plex);
  auto points = lats::MeshBuilder(MPI_COMM_WORLD, 1).coordinates({0.0, 0.5}).build();
  EXPECT_EQ(lats::meshio::PlexMesh::of(*points), nullptr);
  lats::State onPoints;
  onPoints.add(lats::Field("burgers", 2, 1));
  auto noMesh = std::make_unique<lats::coupling::ClassicalStepper>();
  m = lats::test::messageOf<lats::ConfigurationError>([&] { noMesh->setUp(points, onPoints); });
  EXPECT_NE(m.find("no finite-volume mesh"), std::string::npos) << m;
}

lats::coupling::HybridStepper hybrid(std::shared_ptr<const lats::meshio::PlexMesh> plex,
                                     const lats::coupling::HybridSettings& h) {
  return lats::coupling::HybridStepper(std::make_unique<SurrogateStepper>(settings()), classical(plex), h);
}

TEST(Hybrid, ScheduleAlternatesAndLogsEverySwitch) {
  auto plex = intervalMesh(MPI_COMM_WORLD);
  auto state = initialState(*plex->mesh());
  lats::coupling::HybridSettings h;
  h.surrogateSteps = 2;
  h.classicalSteps = 1;
  auto stepper = hybrid(plex, h);
  stepper.setUp(plex->mesh(), state);
  ASSERT_TRUE(stepper.advance(state, 6 * kDt, kDt).ok());
  EXPECT_EQ(stepper.fastStepsTaken(), 4);
  EXPECT_EQ(stepper.referenceStepsTaken(), 2);
  // The same counts through the TimeStepper interface (what reports read).
  const auto counters = static_cast<const lats::TimeStepper&>(stepper).counters();
  EXPECT_EQ(counters, (std::vector<std::pair<std::string, std::int64_t>>{
                          {"fast_steps", 4}, {"reference_steps", 2}, {"rollbacks", 0}, {"switches", 3}}));
  ASSERT_EQ(stepper.switches().size(), 3u);  // s s | c | s s | c
  EXPECT_EQ(stepper.switches()[0].step, 2);
  EXPECT_EQ(stepper.switches()[0].to, "classical");
  EXPECT_EQ(stepper.switches()[1].to, "surrogate");
  EXPECT_NE(stepper.switches()[0].reason.find("2 surrogate steps done"), std::string::npos);
  // Starting classically: the surrogate continues from a true history window.
  h.startClassical = true;
  auto warm = hybrid(plex, h);
  auto s1 = initialState(*plex->mesh());
  warm.setUp(plex->mesh(), s1);
  ASSERT_TRUE(warm.advance(s1, 3 * kDt, kDt).ok());
  EXPECT_EQ(warm.referenceStepsTaken(), 1);
  EXPECT_EQ(warm.fastStepsTaken(), 2);
  ASSERT_EQ(warm.switches().size(), 1u);
  EXPECT_EQ(warm.switches()[0].step, 1);
  EXPECT_EQ(warm.switches()[0].to, "surrogate");
  h.startClassical = false;
  // Only classical steps: the classical run exactly.
  h.surrogateSteps = 0;
  auto onlyClassical = hybrid(plex, h);
  auto s2 = initialState(*plex->mesh());
  onlyClassical.setUp(plex->mesh(), s2);
  ASSERT_TRUE(onlyClassical.advance(s2, 4 * kDt, kDt).ok());
  EXPECT_EQ(byId(*plex->mesh(), s2), classicalReference(4));
  // A fast step that fails (here: half the model's time step, which the surrogate refuses)
  // is taken by the reference part under the schedule too: the classical run bit for bit,
  // every failure counted and logged.
  h.surrogateSteps = 2;
  auto failing = hybrid(plex, h);
  auto s3 = initialState(*plex->mesh());
  failing.setUp(plex->mesh(), s3);
  for (int k = 0; k < 4; ++k) ASSERT_TRUE(failing.step(s3, kDt / 2).ok());
  EXPECT_EQ(failing.fastStepsTaken(), 0);
  EXPECT_EQ(failing.referenceStepsTaken(), 4);
  EXPECT_EQ(failing.rollbacks(), 3);  // steps 0, 1 and 3 were tried with the surrogate (2 is the schedule's)
  ASSERT_FALSE(failing.switches().empty());
  EXPECT_NE(failing.switches()[0].reason.find("the surrogate step failed: the surrogate advances in steps of"),
            std::string::npos)
      << failing.switches()[0].reason;
}

TEST(Hybrid, ErrorControlRollsBackToClassicalWhenATrustIndicatorTrips) {
  auto plex = intervalMesh(MPI_COMM_WORLD);
  lats::coupling::HybridSettings h;
  h.policy = "error";
  h.residualEvery = 1;
  h.residualTolerance = 1e-6;  // the small test model is far less accurate: every check trips
  h.fallbackSteps = 2;
  auto strict = hybrid(plex, h);
  auto state = initialState(*plex->mesh());
  strict.setUp(plex->mesh(), state);
  ASSERT_TRUE(strict.advance(state, 6 * kDt, kDt).ok());
  // Steps 1, 3 and 5 are tried with the surrogate, rejected and redone classically; the
  // result is the classical run bit for bit.
  EXPECT_EQ(strict.rollbacks(), 3);
  EXPECT_EQ(strict.fastStepsTaken(), 0);
  EXPECT_EQ(strict.referenceStepsTaken(), 6);
  EXPECT_EQ(byId(*plex->mesh(), state), classicalReference(6));
  ASSERT_FALSE(strict.switches().empty());
  EXPECT_NE(strict.switches()[0].reason.find("a classical step from the same state differs by"), std::string::npos)
      << strict.switches()[0].reason;
  EXPECT_EQ(strict.switches()[0].step, 0);

  // Loose tolerances: nothing trips and the run is the surrogate's.
  h.residualTolerance = 1e9;
  h.boundTolerance = 0;
  auto loose = hybrid(plex, h);
  auto s2 = initialState(*plex->mesh());
  loose.setUp(plex->mesh(), s2);
  ASSERT_TRUE(loose.advance(s2, 3 * kDt, kDt).ok());
  EXPECT_EQ(loose.rollbacks(), 0);
  EXPECT_EQ(loose.fastStepsTaken(), 3);
  EXPECT_LT(maxRelativeDifference(*plex->mesh(), s2, reference(3)), 1e-5);

  // The conserved-quantity indicator: Burgers conserves the integral of u; a tolerance of
  // zero change trips on the first surrogate step (the model conserves it only roughly).
  h.residualEvery = 0;
  h.conservedTolerance = 1e-12;
  auto conserved = hybrid(plex, h);
  auto s3 = initialState(*plex->mesh());
  conserved.setUp(plex->mesh(), s3);
  ASSERT_TRUE(conserved.step(s3, kDt).ok());
  EXPECT_EQ(conserved.rollbacks(), 1);
  EXPECT_NE(conserved.switches()[0].reason.find("the integral of component 0 changed by"), std::string::npos)
      << conserved.switches()[0].reason;
}

// A latent state the decoder turns into non-finite values (finite, but far outside anything
// the model saw): the checked decode writes nothing and says so on every rank, and a step
// from it fails (Diverged) with the fields and the latent window as they were.
TEST(Surrogate, NonFiniteDecodedValuesNeverReachTheFields) {
  auto plex = intervalMesh(MPI_COMM_WORLD);
  auto state = initialState(*plex->mesh());
  SurrogateStepper stepper(settings());
  stepper.setUp(plex->mesh(), state);
  auto z = stepper.rollout().latentState();
  for (auto& v : z) v = (v >= 0 ? 1.0 : -1.0) * 1e30;
  stepper.rollout().setLatentState(z);
  const auto window = stepper.rollout().latentState();  // z in the model's float32
  const auto before = byId(*plex->mesh(), state);
  EXPECT_NE(stepper.rollout().decodeChecked(state, 0.0).find("non-finite"), std::string::npos);
  EXPECT_EQ(byId(*plex->mesh(), state), before);
  const auto r = stepper.step(state, kDt);
  EXPECT_EQ(r.status, lats::StepStatus::Diverged) << r.reason;
  EXPECT_EQ(byId(*plex->mesh(), state), before);
  EXPECT_EQ(stepper.rollout().latentState(), window);
}

}  // namespace

// A broken model's output, injected through the testing hook (-lats_surrogate_fault): NaN,
// Inf and a finite blow-up (1e30), in the latent state and in the decoded state. The
// surrogate alone fails that step (Diverged, with the reason) on every rank and leaves the
// fields as they were; a hybrid under every trust policy, the default schedule included,
// takes that step classically: its run equals the surrogate's before the fault and then
// continues, every value finite.
TEST(Surrogate, BrokenModelOutputIsCaughtWithinOneStepByEveryPolicy) {
  auto plex = intervalMesh(MPI_COMM_WORLD);
  for (const std::string where : {"latent", "decoded"})
    for (const std::string kind : {"nan", "inf", "huge"}) {
      const std::string fault = where + ":" + kind + ":3";
      auto s = settings();
      s.fault = fault;
      SurrogateStepper alone(s);
      auto state = initialState(*plex->mesh());
      alone.setUp(plex->mesh(), state);
      ASSERT_TRUE(alone.step(state, kDt).ok());
      ASSERT_TRUE(alone.step(state, kDt).ok());
      const auto before = byId(*plex->mesh(), state);
      const auto r = alone.step(state, kDt);
      EXPECT_EQ(r.status, lats::StepStatus::Diverged) << fault;
      const std::string expected =
          where == "latent"
              ? (kind == "huge" ? "the latent state grew to" : "the latent state became non-finite")
              : (kind == "huge" ? "training standard deviations from the training mean, beyond the bound 1000"
                                : "decoded state has non-finite values");
      EXPECT_NE(r.reason.find(expected), std::string::npos) << fault << ": " << r.reason;
      EXPECT_EQ(lats::Comm().all(r.status == lats::StepStatus::Diverged), true);
      EXPECT_EQ(byId(*plex->mesh(), state), before) << fault;
      for (const std::string policy : {"schedule", "error"}) {
        lats::coupling::HybridSettings h;
        h.policy = policy;
        h.surrogateSteps = 100;  // the schedule would keep to the surrogate
        h.residualEvery = 0;
        h.boundTolerance = 0;
        h.fallbackSteps = 1;
        lats::coupling::HybridStepper hyb(std::make_unique<SurrogateStepper>(s), classical(plex), h);
        auto hs = initialState(*plex->mesh());
        hyb.setUp(plex->mesh(), hs);
        for (int k = 0; k < 5; ++k) ASSERT_TRUE(hyb.step(hs, kDt).ok()) << fault << " " << policy << " step " << k;
        EXPECT_EQ(hyb.rollbacks(), 1) << fault << " " << policy;
        EXPECT_EQ(hyb.referenceStepsTaken(), 1) << fault << " " << policy;
        bool finite = true;
        for (const auto& [id, v] : byId(*plex->mesh(), hs)) finite = finite && std::isfinite(v);
        EXPECT_TRUE(finite) << fault << " " << policy;
        ASSERT_FALSE(hyb.switches().empty());
        EXPECT_NE(hyb.switches()[0].reason.find(expected), std::string::npos) << hyb.switches()[0].reason;
      }
    }
  auto bad = settings();
  bad.fault = "decoded:nan:0";
  SurrogateStepper refused(bad);
  auto state = initialState(*plex->mesh());
  const auto m = lats::test::messageOf<lats::InvalidValueError>([&] { refused.setUp(plex->mesh(), state); });
  EXPECT_NE(m.find("expected latent|decoded:nan|inf|huge:STEP with STEP >= 1"), std::string::npos) << m;
}
