#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/mesh.hpp"
#include "lats/core/options.hpp"
#include "lats/coupling/runge_kutta.hpp"
#include "test_support.hpp"

using lats::test::messageOf;

namespace {

// du/dt = -k(x) u + s(t) with k(x) = 1 + x and s(t) = cos(t): every entity is an ODE with a
// known solution. The source makes the problem non-autonomous so the stage times matter.
class DecayRhs : public lats::RhsOperator {
 public:
  std::vector<std::string> fieldNames() const override { return {"u"}; }
  void setUp(const lats::Mesh& mesh, const lats::State&) override { x_ = mesh.coordinates(); }
  void apply(double t, const lats::State& u, lats::State& dudt) override {
    const auto in = u.field("u").view();
    const auto out = dudt.field("u").view();
    const auto x = x_;
    const double s = std::cos(t);
    Kokkos::parallel_for(
        "test::DecayRhs", in.extent(0),
        KOKKOS_LAMBDA(const std::size_t i) { out(i, 0) = -(1.0 + x(i, 0)) * in(i, 0) + s; });
    ++calls;
    if (poisonAt >= 0 && t > poisonTime) out(poisonAt, 0) = std::numeric_limits<double>::quiet_NaN();
  }
  int calls = 0;
  std::int64_t poisonAt = -1;
  double poisonTime = 0.0;

 private:
  lats::CoordView x_;
};

// Exact solution of u' = -k u + cos t, u(0) = u0.
double exact(double k, double u0, double t) {
  const double a = k / (1 + k * k), b = 1 / (1 + k * k);
  return (u0 - a) * std::exp(-k * t) + a * std::cos(t) + b * std::sin(t);
}

struct Problem {
  std::shared_ptr<const lats::Mesh> mesh;
  lats::State state;
  explicit Problem(int localN = 8) {
    const lats::Comm comm;
    std::vector<double> x;
    for (int i = 0; i < localN; ++i) x.push_back(0.1 * (comm.rank() * localN + i));
    mesh = lats::MeshBuilder(MPI_COMM_WORLD, 1).coordinates(x).build();
    lats::Field u("u", localN, 1);
    for (int i = 0; i < localN; ++i) u.view()(i, 0) = 1.0 + x[i];
    state.add(u);
  }
  // Max error over all ranks against the exact solution.
  double error() const {
    const auto u = state.field("u").view();
    const auto x = mesh->coordinates();
    double e = 0.0;
    for (std::size_t i = 0; i < u.extent(0); ++i)
      e = std::max(e, std::abs(u(i, 0) - exact(1.0 + x(i, 0), 1.0 + x(i, 0), state.time())));
    return lats::Comm().max(e);
  }
};

double solve(const std::string& scheme, int steps, double T = 1.0) {
  Problem p;
  lats::coupling::RungeKuttaStepper rk(std::make_shared<DecayRhs>(), scheme);
  rk.setUp(p.mesh, p.state);
  const auto r = rk.advance(p.state, T, T / steps);
  EXPECT_TRUE(r.ok()) << r.reason;
  EXPECT_NEAR(p.state.time(), T, 1e-14);
  EXPECT_EQ(p.state.stepIndex(), steps);
  return p.error();
}

}  // namespace

class RungeKuttaOrder : public ::testing::TestWithParam<std::string> {};

TEST_P(RungeKuttaOrder, ObservedOrderMatchesTheScheme) {
  const auto tableau = lats::coupling::ButcherTableau::byName(GetParam());
  const int base = tableau.order >= 3 ? 8 : 32;
  const double e1 = solve(GetParam(), base), e2 = solve(GetParam(), 2 * base), e3 = solve(GetParam(), 4 * base);
  const double p1 = std::log2(e1 / e2), p2 = std::log2(e2 / e3);
  std::printf("[rk order] %s: errors %.3e %.3e %.3e, observed orders %.3f %.3f (expected %d)\n", GetParam().c_str(), e1,
              e2, e3, p1, p2, tableau.order);
  EXPECT_GT(p2, tableau.order - 0.15);
  EXPECT_LT(p2, tableau.order + 0.5);
}

INSTANTIATE_TEST_SUITE_P(Schemes, RungeKuttaOrder, ::testing::Values("euler", "ssprk2", "ssprk3", "rk4"));

TEST(RungeKutta, ContractTimeStepObserversAndLanding) {
  Problem p;
  auto rhs = std::make_shared<DecayRhs>();
  lats::coupling::RungeKuttaStepper rk(rhs, "ssprk3");
  rk.setUp(p.mesh, p.state);
  std::vector<double> seenTimes;
  rk.addObserver([&](const lats::TimeStepper& s, const lats::State& st, const lats::StepResult& r) {
    EXPECT_EQ(s.type(), "rk");
    EXPECT_TRUE(r.ok());
    seenTimes.push_back(st.time());
  });
  auto r = rk.step(p.state, 0.1);
  EXPECT_DOUBLE_EQ(r.dtTaken, 0.1);
  EXPECT_DOUBLE_EQ(p.state.time(), 0.1);
  EXPECT_EQ(p.state.stepIndex(), 1);
  EXPECT_EQ(rhs->calls, 3);  // one evaluation per stage
  // advance() shortens the last step to land exactly on the target time.
  r = rk.advance(p.state, 0.35, 0.1);
  EXPECT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(p.state.time(), 0.35);
  EXPECT_EQ(p.state.stepIndex(), 4);
  ASSERT_EQ(seenTimes.size(), 4u);
  EXPECT_NEAR(seenTimes[3] - seenTimes[2], 0.05, 1e-15);
}

TEST(RungeKutta, NonFiniteResultIsDivergedStatusAndStateIsUnchanged) {
  Problem p;
  auto rhs = std::make_shared<DecayRhs>();
  lats::coupling::RungeKuttaStepper rk(rhs, "rk4");
  rk.setUp(p.mesh, p.state);
  ASSERT_TRUE(rk.step(p.state, 0.1).ok());
  const auto before = p.state.clone();
  rhs->poisonAt = 3;
  rhs->poisonTime = 0.12;
  int failures = 0;
  rk.addObserver([&](const lats::TimeStepper&, const lats::State&, const lats::StepResult& r) { failures += !r.ok(); });
  const auto r = rk.step(p.state, 0.1);
  EXPECT_EQ(r.status, lats::StepStatus::Diverged);
  EXPECT_EQ(r.dtTaken, 0.0);
  EXPECT_NE(r.reason.find("non-finite value in field 'u' at local entity 3"), std::string::npos) << r.reason;
  EXPECT_EQ(failures, 1);
  EXPECT_DOUBLE_EQ(p.state.time(), before.time());
  EXPECT_EQ(p.state.stepIndex(), before.stepIndex());
  for (int i = 0; i < 8; ++i) EXPECT_EQ(p.state.field("u").view()(i, 0), before.field("u").view()(i, 0));
  // advance() stops at the first failure and reports it.
  EXPECT_EQ(rk.advance(p.state, 1.0, 0.1).status, lats::StepStatus::Diverged);
}

TEST(RungeKutta, MultiRankEqualsSingleRank) {
  // Each rank integrates its own entities; the max error must equal a serial run over the
  // same global set of entities, computed here rank by rank on MPI_COMM_SELF.
  const double parallel = solve("rk4", 10);
  const lats::Comm comm;
  double serial = 0.0;
  for (int r = 0; r < comm.size(); ++r) {
    std::vector<double> x;
    for (int i = 0; i < 8; ++i) x.push_back(0.1 * (r * 8 + i));
    auto mesh = lats::MeshBuilder(MPI_COMM_SELF, 1).coordinates(x).build();
    lats::State s;
    lats::Field u("u", 8, 1);
    for (int i = 0; i < 8; ++i) u.view()(i, 0) = 1.0 + x[i];
    s.add(u);
    lats::coupling::RungeKuttaStepper rk(std::make_shared<DecayRhs>(), "rk4");
    rk.setUp(mesh, s);
    rk.advance(s, 1.0, 0.1);
    for (int i = 0; i < 8; ++i)
      serial = std::max(serial, std::abs(u.view()(i, 0) - exact(1.0 + x[i], 1.0 + x[i], 1.0)));
  }
  EXPECT_EQ(parallel, serial);
}

TEST(RungeKutta, RegistryAndOptions) {
  auto stepper = lats::timeSteppers().create("rk");
  EXPECT_EQ(stepper->type(), "rk");
  EXPECT_EQ(
      messageOf<lats::ConfigurationError>([] { lats::timeSteppers().create("rk5"); }),
      "unknown time stepper 'rk5'. Did you mean 'rk'? Registered: assimilating, classical, hybrid, rk, surrogate");
  auto* rk = dynamic_cast<lats::coupling::RungeKuttaStepper*>(stepper.get());
  ASSERT_NE(rk, nullptr);
  lats::Options::set("rk_scheme", "ssprk2");
  rk->setFromOptions();
  EXPECT_EQ(rk->tableau().name, "ssprk2");
  lats::Options::set("rk_scheme", "rk44");
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] { rk->setFromOptions(); }).find("Did you mean 'rk4'?"),
            std::string::npos);
  lats::Options::clear("rk_scheme");
}

TEST(RungeKutta, MisuseGetsClearErrors) {
  Problem p;
  lats::coupling::RungeKuttaStepper rk;
  EXPECT_EQ(messageOf<lats::ConfigurationError>([&] { rk.step(p.state, 0.1); }),
            "time stepper 'rk': call setUp(mesh, state) before step()");
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] { rk.setUp(p.mesh, p.state); }).find("has no right-hand side"),
            std::string::npos);
  rk.setRhs(std::make_shared<DecayRhs>());
  lats::State wrong;
  wrong.add(lats::Field("v", 8, 1));
  EXPECT_EQ(messageOf<lats::ConfigurationError>([&] { rk.setUp(p.mesh, wrong); }), "state has no field 'u'. Fields: v");
  rk.setUp(p.mesh, p.state);
  EXPECT_EQ(messageOf<lats::InvalidValueError>([&] { rk.step(p.state, -0.1); }),
            "time stepper 'rk': step size must be positive and finite, got -0.1");
  EXPECT_NE(messageOf<lats::ConfigurationError>([] {
              lats::coupling::ButcherTableau::byName("ssprk4");
            }).find("unknown Runge-Kutta scheme 'ssprk4'. Did you mean"),
            std::string::npos);
}
