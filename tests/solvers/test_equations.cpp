// Every registered equation: distributed runs equal single-rank runs, exact conservation on
// periodic domains; and per-equation convergence orders against exact or manufactured
// solutions on irregular meshes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <numeric>

#include "classical_support.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/solvers/classical/equations.hpp"
#include "lats/solvers/classical/initial_conditions.hpp"
#include "test_support.hpp"

namespace {

using lats::meshio::PlexMesh;
using lats::solvers::FvOperator;
using lats::solvers::FvSolver;
using lats::solvers::Limiter;
constexpr double kPi = 3.14159265358979323846;
using Exact = std::function<void(const double* x, double t, double* u)>;

std::shared_ptr<const PlexMesh> naturalMesh(MPI_Comm comm, int dim, int n,
                                            lats::meshio::BoundaryKind boundary = lats::meshio::BoundaryKind::Periodic,
                                            int refinements = 0) {
  if (dim == 2) {
    lats::meshio::UnitSquareSpec spec;
    spec.cellsPerSide = n;
    spec.boundary = boundary;
    spec.refinements = refinements;
    return PlexMesh::unitSquare(comm, spec);
  }
  lats::meshio::IntervalSpec spec;
  spec.cells = n;
  spec.irregularity = 0.3;
  return PlexMesh::interval(comm, spec);
}

void smoothState(const double* x, int nc, double* u) {
  for (int c = 0; c < nc; ++c)
    u[c] = 1.0 + 0.1 * std::sin(2 * kPi * (x[0] + 0.3 * c)) * std::cos(2 * kPi * (x[1] - 0.2 * c));
}

class EveryEquation : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryEquation, DistributedRunEqualsSingleRankRun) {
  auto run = [&](MPI_Comm comm) {
    auto op = lats::solvers::fvOperators().create(GetParam());
    const int dim = op->dimensions().back();
    FvSolver s(naturalMesh(comm, dim, dim == 2 ? 12 : 64), std::move(op));
    const int nc = s.op().numComponents();
    s.setSolution([&](const double* x, double* u) { smoothState(x, nc, u); });
    s.setTimeStep(0.5 * s.stableTimeStep());
    EXPECT_TRUE(s.advance(20 * s.timeStep()).ok());
    return lats::test::valuesById(s);
  };
  const auto distributed = run(MPI_COMM_WORLD);
  const auto serial = run(MPI_COMM_SELF);
  const double diff = lats::test::maxDifference(distributed, serial);
  if (lats::Comm().rank() == 0) std::printf("%s: max |distributed - serial| = %.2e\n", GetParam().c_str(), diff);
  EXPECT_LE(diff, 1e-10);
}

TEST_P(EveryEquation, ConservesOnPeriodicDomains) {
  auto op = lats::solvers::fvOperators().create(GetParam());
  const int dim = op->dimensions().back();
  const std::vector<bool> conserved = op->conservedComponents();
  FvSolver s(naturalMesh(MPI_COMM_WORLD, dim, dim == 2 ? 16 : 128), std::move(op));
  const int nc = s.op().numComponents();
  s.setSolution([&](const double* x, double* u) { smoothState(x, nc, u); });
  s.setTimeStep(0.5 * s.stableTimeStep());
  const std::vector<double> before = s.integrals();
  ASSERT_TRUE(s.advance(50 * s.timeStep()).ok());
  const std::vector<double> after = s.integrals();
  const double domain = dim == 2 ? 1.0 : 1.0;
  for (int c = 0; c < nc; ++c) {
    if (!conserved[c]) continue;
    const double drift = std::abs(after[c] - before[c]) / domain;  // the states are O(1)
    if (lats::Comm().rank() == 0)
      std::printf("%s: component %d relative drift %.2e over 50 steps\n", GetParam().c_str(), c, drift);
    EXPECT_LE(drift, 1e-12) << "component " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryEquation,
                         ::testing::Values("advection_diffusion", "burgers", "combined", "gray_scott", "wave",
                                           "shallow_water", "kuramoto_sivashinsky", "navier_stokes"));

/// How the 2D meshes of a convergence study relate.
enum class Meshes {
  /// The first mesh refined uniformly (triangles split in four): a systematic refinement of
  /// one irregular mesh, where observed orders are the scheme's.
  Nested,
  /// A new random jitter at every size: the truncation errors are O(h) and independent from
  /// mesh to mesh, which measures the scheme and the meshes' randomness together (hyperbolic
  /// problems then converge at about 1.65; see doc/equations/shallow_water.md).
  Independent
};

/// Observed orders of the L1 error (summed over components) over meshes of `sizes`.
std::vector<double> observedOrders(const std::string& name, const std::function<std::unique_ptr<FvOperator>()>& make,
                                   int dim, std::vector<int> sizes, double T, const Exact& exact,
                                   const Exact& source = nullptr, double dtFactor = 0.5,
                                   Meshes meshes = Meshes::Nested) {
  std::vector<double> errors, orders;
  for (int n : sizes) {
    auto op = make();
    const int nc = op->numComponents();
    int refinements = 0;
    if (dim == 2 && meshes == Meshes::Nested) {
      while ((sizes.front() << refinements) < n) ++refinements;
      EXPECT_EQ(sizes.front() << refinements, n) << "nested meshes need sizes in powers of 2 of the first";
    }
    FvSolver s(naturalMesh(MPI_COMM_WORLD, dim, n, lats::meshio::BoundaryKind::Periodic, refinements), std::move(op));
    s.setSolution([&](const double* x, double* u) { exact(x, 0.0, u); });
    if (source) s.setSourceTerm(source);
    s.setTimeStep(dtFactor * s.stableTimeStep());
    const auto result = s.advance(T);
    EXPECT_TRUE(result.ok()) << result.reason;
    double e = 0.0;
    for (int c = 0; c < nc; ++c)
      e += lats::test::l1Error(s, c, [&](const double* x, double t) {
        std::vector<double> u(nc);
        exact(x, t, u.data());
        return u[c];
      });
    errors.push_back(e);
  }
  for (std::size_t i = 1; i < errors.size(); ++i) {
    const double ratio = static_cast<double>(sizes[i]) / sizes[i - 1];
    orders.push_back(std::log(errors[i - 1] / errors[i]) / std::log(ratio));
    if (lats::Comm().rank() == 0)
      std::printf("%s: cells/side %d -> %d%s, L1 error %.3e -> %.3e, observed order %.2f\n", name.c_str(), sizes[i - 1],
                  sizes[i],
                  dim == 1                   ? ""
                  : meshes == Meshes::Nested ? " (nested)"
                                             : " (independent)",
                  errors[i - 1], errors[i], orders.back());
  }
  return orders;
}

/// Manufactured source s = u_t + div F(u) - D lap u - R(u), by central differences of the
/// exact solution (error ~1e-10, far below the discretisation errors measured).
Exact manufactured(int nc, const Exact& exact, const std::function<void(const double* u, int axis, double* F)>& flux,
                   std::vector<double> diffusivity, const std::function<void(const double* u, double* r)>& reaction) {
  return [=](const double* x, double t, double* s) {
    const double d = 1e-5;
    std::vector<double> up(nc), um(nc), u0(nc), Fp(nc), Fm(nc), r(nc, 0.0);
    exact(x, t + d, up.data());
    exact(x, t - d, um.data());
    exact(x, t, u0.data());
    for (int c = 0; c < nc; ++c) s[c] = (up[c] - um[c]) / (2 * d);
    for (int axis = 0; axis < 2; ++axis) {
      double xp[3] = {x[0], x[1], x[2]}, xm[3] = {x[0], x[1], x[2]};
      xp[axis] += d;
      xm[axis] -= d;
      exact(xp, t, up.data());
      exact(xm, t, um.data());
      if (flux) {
        flux(up.data(), axis, Fp.data());
        flux(um.data(), axis, Fm.data());
        for (int c = 0; c < nc; ++c) s[c] += (Fp[c] - Fm[c]) / (2 * d);
      }
      const double dl = 1e-4;
      xp[axis] = x[axis] + dl;
      xm[axis] = x[axis] - dl;
      exact(xp, t, up.data());
      exact(xm, t, um.data());
      for (int c = 0; c < nc; ++c) s[c] -= diffusivity[c] * (up[c] - 2 * u0[c] + um[c]) / (dl * dl);
    }
    if (reaction) {
      reaction(u0.data(), r.data());
      for (int c = 0; c < nc; ++c) s[c] -= r[c];
    }
  };
}

TEST(Convergence, Burgers) {
  const double nu = 0.01;
  auto exact = [](const double* x, double t, double* u) { u[0] = 1.0 + 0.5 * std::sin(2 * kPi * (x[0] - t)); };
  auto flux = [](const double* u, int axis, double* F) { F[0] = axis == 0 ? 0.5 * u[0] * u[0] : 0.0; };
  auto source = manufactured(1, exact, flux, {nu}, nullptr);
  for (Limiter limiter : {Limiter::None, Limiter::Venkatakrishnan}) {
    auto make = [&] {
      auto op = lats::solvers::makeBurgers();
      op->setParameter("nu", nu);
      op->setLimiter(limiter);
      return op;
    };
    // Limited, the scheme is first order on these irregular intervals (Venkatakrishnan's
    // limiter clips smooth monotone stretches where neighbouring cells differ in size) and
    // its order per pair swings as the clipping moves between meshes: measured 0.84 and 1.06
    // (then 0.90 and 1.10 on to 1024 cells). The order over the whole refinement, 64 -> 256
    // (the mean of the pairs' orders: every pair halves h), is the first-order scheme's:
    // 0.95; the 0.9 applies to it, and each pair must stay above 0.8.
    const bool limited = limiter != Limiter::None;
    const auto orders =
        observedOrders(limited ? "burgers (venkatakrishnan)" : "burgers", make, 1, {64, 128, 256}, 0.25, exact, source);
    for (double order : orders) EXPECT_GE(order, limited ? 0.8 : 1.8);
    const double overall = std::accumulate(orders.begin(), orders.end(), 0.0) / static_cast<double>(orders.size());
    if (lats::Comm().rank() == 0)
      std::printf("burgers%s: observed order over 64 -> 256: %.2f\n", limited ? " (venkatakrishnan)" : "", overall);
    EXPECT_GE(overall, limited ? 0.9 : 1.8);
  }
}

TEST(Convergence, CombinedEquationWithDispersion) {
  const double a = 1.0, b = 0.05, g = 0.002;
  auto exact = [](const double* x, double t, double* u) { u[0] = 0.5 * std::sin(2 * kPi * (x[0] - 0.5 * t)); };
  // F = a u^2 - b u_x + g u_xx; its x-derivative, with the exact derivatives of the sinusoid.
  auto source = [=](const double* x, double t, double* s) {
    const double th = 2 * kPi * (x[0] - 0.5 * t), k = 2 * kPi;
    const double u = 0.5 * std::sin(th), ux = 0.5 * k * std::cos(th), uxx = -0.5 * k * k * std::sin(th),
                 uxxx = -0.5 * k * k * k * std::cos(th), ut = -0.5 * 0.5 * k * std::cos(th);
    s[0] = ut + 2 * a * u * ux - b * uxx + g * uxxx;
  };
  auto make = [&] {
    auto op = lats::solvers::makeCombinedEquation();
    op->setParameter("alpha", a);
    op->setParameter("beta", b);
    op->setParameter("gamma", g);
    op->setLimiter(Limiter::None);
    return op;
  };
  for (double order : observedOrders("combined", make, 1, {32, 64, 128}, 0.1, exact, source)) EXPECT_GE(order, 1.8);
}

TEST(Convergence, KuramotoSivashinskyManufactured) {
  // Periodic interval of length 32 (the default mesh's length is 1: the test sets it).
  auto exact = [](const double* x, double t, double* u) { u[0] = std::sin(2 * kPi * x[0] / 16.0 - t); };
  auto source = [](const double* x, double t, double* s) {
    const double k = 2 * kPi / 16.0, th = k * x[0] - t;
    const double u = std::sin(th), ut = -std::cos(th), ux = k * std::cos(th), uxx = -k * k * std::sin(th),
                 uxxxx = k * k * k * k * std::sin(th);
    s[0] = ut + u * ux + uxx + uxxxx;
  };
  std::vector<double> errors;
  for (int n : {32, 64, 128}) {
    lats::meshio::IntervalSpec spec;
    spec.cells = n;
    spec.length = 32.0;
    spec.irregularity = 0.3;
    FvSolver s(PlexMesh::interval(MPI_COMM_WORLD, spec), lats::solvers::makeKuramotoSivashinsky());
    s.setSolution([&](const double* x, double* u) { exact(x, 0.0, u); });
    s.setSourceTerm(source);
    ASSERT_TRUE(s.advance(1.0).ok());
    errors.push_back(lats::test::l1Error(s, 0, [&](const double* x, double t) {
      double u;
      exact(x, t, &u);
      return u;
    }));
  }
  for (std::size_t i = 1; i < errors.size(); ++i) {
    const double order = std::log2(errors[i - 1] / errors[i]);
    if (lats::Comm().rank() == 0)
      std::printf("kuramoto_sivashinsky: L1 error %.3e -> %.3e, observed order %.2f\n", errors[i - 1], errors[i],
                  order);
    EXPECT_GE(order, 1.8);
  }
}

// Taylor-Green vortex: w = 2 k cos(k x) cos(k y) exp(-2 nu k^2 t) solves the equations exactly
// (the advection term vanishes); the error converges and the enstrophy decays at the analytic rate.
TEST(NavierStokes, TaylorGreenVortexDecaysAtTheAnalyticRate) {
  const double nu = 0.01, k = 2 * kPi, T = 0.1, rate = 2 * nu * k * k;
  auto exact = [&](const double* x, double t, double* w) {
    w[0] = 2 * k * std::cos(k * x[0]) * std::cos(k * x[1]) * std::exp(-rate * t);
  };
  auto make = [&] {
    auto op = lats::solvers::makeNavierStokes();
    op->setParameter("nu", nu);
    return op;
  };
  // Independently jittered meshes: 1.83 and 1.91. Nested ones (the 24 x 24 mesh refined)
  // measured 1.70 and 1.88: 24 cells per period is still pre-asymptotic there.
  const auto orders =
      observedOrders("navier_stokes taylor-green", make, 2, {24, 48, 96}, T, exact, nullptr, 0.5, Meshes::Independent);
  for (double order : orders) EXPECT_GE(order, 1.8);
  FvSolver s(naturalMesh(MPI_COMM_WORLD, 2, 48), make());
  s.setSolution([&](const double* x, double* w) { exact(x, 0.0, w); });
  auto enstrophy = [&] {
    const auto v = s.values();
    auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.mesh().geometry().volumes);
    double e = 0.0;
    for (std::size_t i = 0; i < v.size(); ++i) e += vol(i) * v[i] * v[i];
    return lats::Comm().sum(e);
  };
  const double e0 = enstrophy();
  ASSERT_TRUE(s.advance(T).ok());
  const double measured = -0.5 * std::log(enstrophy() / e0) / T;
  if (lats::Comm().rank() == 0)
    std::printf(
        "navier_stokes taylor-green (48 cells/side): decay rate %.5f, analytic %.5f (relative difference %.2e)\n",
        measured, rate, std::abs(measured - rate) / rate);
  EXPECT_NEAR(measured, rate, 0.01 * rate);
}

// Kolmogorov flow from rest: the shear flow u = A/(nu k^2) sin(k y) (1 - exp(-nu k^2 t)) is an
// exact solution (its advection term vanishes), so w = -A/(nu k) cos(k y) (1 - exp(-nu k^2 t)).
TEST(NavierStokes, KolmogorovForcingSpinsUpTheLaminarShearFlow) {
  const double nu = 0.05, A = 0.1, k = 2 * kPi, T = 1.0;
  auto exact = [&](const double* x, double t, double* w) {
    w[0] = -A / (nu * k) * std::cos(k * x[1]) * (1 - std::exp(-nu * k * k * t));
  };
  auto make = [&] {
    auto op = lats::solvers::makeNavierStokes();
    op->setParameter("nu", nu);
    op->setParameter("forcing", A);
    op->setParameter("forcing_k", 1);
    return op;
  };
  const auto orders = observedOrders("navier_stokes kolmogorov", make, 2, {12, 24}, T, exact);
  EXPECT_GE(orders[0], 1.8);
}

// The distributed Poisson solve (parallel KSP) agrees with the gathered direct solve, and with
// itself on one rank, to the solver tolerance.
TEST(NavierStokes, DistributedPoissonSolveAgreesWithTheGatheredOne) {
  auto run = [&](MPI_Comm comm, const std::string& poisson) {
    lats::Options::set("navier_stokes_poisson", poisson);
    auto op = lats::solvers::makeNavierStokes();
    op->setFromOptions();
    lats::Options::clear("navier_stokes_poisson");
    FvSolver s(naturalMesh(comm, 2, 12), std::move(op));
    s.setSolution([&](const double* x, double* u) { smoothState(x, 1, u); });
    s.setTimeStep(0.5 * s.stableTimeStep());
    EXPECT_TRUE(s.advance(20 * s.timeStep()).ok());
    return lats::test::valuesById(s);
  };
  const auto gathered = run(MPI_COMM_WORLD, "gathered");
  const auto distributed = run(MPI_COMM_WORLD, "distributed");
  const auto serial = run(MPI_COMM_SELF, "distributed");
  const double d1 = lats::test::maxDifference(distributed, gathered),
               d2 = lats::test::maxDifference(distributed, serial);
  if (lats::Comm().rank() == 0)
    std::printf("navier_stokes: max |distributed - gathered| = %.2e, |distributed - 1 rank| = %.2e\n", d1, d2);
  EXPECT_LE(d1, 1e-10);
  EXPECT_LE(d2, 1e-10);
}

// From the default random initial condition, unforced: with the automatic step the run stays
// stable and the enstrophy never grows (2D Navier-Stokes only dissipates it).
TEST(NavierStokes, EnstrophyDecaysFromARandomInitialCondition) {
  auto op = lats::solvers::makeNavierStokes();
  op->setParameter("nu", 1e-3);
  FvSolver s(naturalMesh(MPI_COMM_WORLD, 2, 32), std::move(op));
  s.setSolution(lats::solvers::initialCondition(s.op(), s.mesh(), 7));
  auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.mesh().geometry().volumes);
  auto enstrophy = [&] {
    const auto v = s.values();
    double e = 0.0;
    for (std::size_t i = 0; i < v.size(); ++i) e += vol(i) * v[i] * v[i];
    return lats::Comm().sum(e);
  };
  std::vector<double> history{enstrophy()};
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(s.advance(0.1 * i).ok());
    history.push_back(enstrophy());
    EXPECT_LE(history.back(), history[history.size() - 2]) << "at t = " << s.time();
  }
  PetscInt steps;
  TSGetStepNumber(s.ts(), &steps);
  if (lats::Comm().rank() == 0)
    std::printf("navier_stokes: enstrophy %.4f at t = 0, %.4f at t = 1 (%lld steps)\n", history.front(), history.back(),
                static_cast<long long>(steps));
  EXPECT_GT(history.front(), 1.0);
  EXPECT_LT(history.back(), history.front());
}

TEST(NavierStokes, NonPeriodicMeshIsAClearError) {
  auto m = lats::test::messageOf<lats::ConfigurationError>([&] {
    FvSolver s(naturalMesh(MPI_COMM_WORLD, 2, 6, lats::meshio::BoundaryKind::Walls), lats::solvers::makeNavierStokes());
  });
  EXPECT_NE(m.find("is not periodic in x and y; expected a doubly periodic mesh"), std::string::npos) << m;
}

/// Gray-Scott orders against a manufactured solution on meshes of `sizes` cells per side.
std::vector<double> grayScottOrders(const std::vector<int>& sizes) {
  const double F = 0.04, k = 0.06, Du = 0.01, Dv = 0.005;
  auto exact = [](const double* x, double t, double* u) {
    u[0] = 0.5 + 0.2 * std::sin(2 * kPi * x[0]) * std::cos(2 * kPi * x[1]) * std::cos(t);
    u[1] = 0.25 + 0.1 * std::cos(2 * kPi * x[0]) * std::sin(2 * kPi * x[1]) * std::cos(t);
  };
  // u_t - Du lap u - R_u(u, v), with lap of the sin-cos modes = -8 pi^2 times the mode.
  auto source = [=](const double* x, double t, double* s) {
    const double mu = std::sin(2 * kPi * x[0]) * std::cos(2 * kPi * x[1]);
    const double mv = std::cos(2 * kPi * x[0]) * std::sin(2 * kPi * x[1]);
    const double u = 0.5 + 0.2 * mu * std::cos(t), v = 0.25 + 0.1 * mv * std::cos(t);
    const double ut = -0.2 * mu * std::sin(t), vt = -0.1 * mv * std::sin(t);
    const double lapu = -8 * kPi * kPi * 0.2 * mu * std::cos(t), lapv = -8 * kPi * kPi * 0.1 * mv * std::cos(t);
    s[0] = ut - Du * lapu - (-u * v * v + F * (1 - u));
    s[1] = vt - Dv * lapv - (u * v * v - (F + k) * v);
  };
  auto make = [&] {
    auto op = lats::solvers::makeGrayScott();
    op->setParameter("feed", F);
    op->setParameter("kill", k);
    op->setParameter("du", Du);
    op->setParameter("dv", Dv);
    return op;
  };
  return observedOrders("gray_scott", make, 2, sizes, 0.1, exact, source);
}

// Measured on nested meshes 1.82 (16 -> 32) and 1.96 (32 -> 64); on independently jittered
// meshes 1.60 and 1.89 (see doc/equations/gray_scott.md).
TEST(Convergence, GrayScottManufactured) {
  const auto orders = grayScottOrders({16, 32, 64});
  EXPECT_GE(orders.front(), 1.8);
  EXPECT_GE(orders.back(), 1.8);
}

// One level finer (about 30 s a rank count): measured 1.92 and 1.98.
TEST(ConvergenceLong, GrayScottManufacturedFiner) {
  const auto orders = grayScottOrders({24, 48, 96});
  EXPECT_GE(orders.front(), 1.8);
  EXPECT_GE(orders.back(), 1.9);
}

TEST(Convergence, WavePlaneWave) {
  auto exact = [](const double* x, double t, double* u) {
    const double k = 2 * kPi, kn = k * std::sqrt(2.0);
    const double p = std::sin(k * (x[0] + x[1]) - kn * t);
    u[0] = p;
    u[1] = p / std::sqrt(2.0);
    u[2] = p / std::sqrt(2.0);
  };
  for (double order : observedOrders("wave", lats::solvers::makeWave, 2, {16, 32, 64}, 0.1, exact))
    EXPECT_GE(order, 1.8);
}

// Slow (55 s): behind the `long` label. Measured with HLLC on nested meshes: 1.96 and
// 2.07 unlimited, 1.85 and 1.73 with Venkatakrishnan's limiter (it clips smooth extrema); on
// independently jittered meshes 1.87 and 1.66 unlimited (1.63 from 64 to 128): there the
// O(h) truncation errors are random from cell to cell, and transport accumulates them.
TEST(ConvergenceLong, ShallowWaterManufactured) {
  const double g = 1.0;
  auto exact = [](const double* x, double t, double* u) {
    const double h = 1.0 + 0.1 * std::sin(2 * kPi * x[0]) * std::sin(2 * kPi * x[1]) * std::cos(t);
    u[0] = h;
    u[1] = h * 0.2 * std::sin(2 * kPi * (x[0] + x[1]) - t);
    u[2] = h * 0.1 * std::cos(2 * kPi * x[0] - t);
  };
  auto flux = [=](const double* u, int axis, double* F) {
    const double vx = u[1] / u[0], vy = u[2] / u[0], vn = axis == 0 ? vx : vy;
    F[0] = u[0] * vn;
    F[1] = u[1] * vn + (axis == 0 ? 0.5 * g * u[0] * u[0] : 0.0);
    F[2] = u[2] * vn + (axis == 1 ? 0.5 * g * u[0] * u[0] : 0.0);
  };
  auto source = manufactured(3, exact, flux, {0, 0, 0}, nullptr);
  for (Limiter limiter : {Limiter::None, Limiter::Venkatakrishnan}) {
    auto make = [&] {
      auto op = lats::solvers::makeShallowWater();
      op->setLimiter(limiter);
      return op;
    };
    const bool limited = limiter != Limiter::None;
    for (double order : observedOrders(limited ? "shallow_water hllc (venkatakrishnan)" : "shallow_water hllc", make, 2,
                                       {16, 32, 64}, 0.1, exact, source))
      EXPECT_GE(order, limited ? 1.7 : 1.8);
    if (!limited) {
      for (double order :
           observedOrders("shallow_water hllc", make, 2, {16, 32, 64}, 0.1, exact, source, 0.5, Meshes::Independent))
        EXPECT_GE(order, 1.55);
    }
  }
}

TEST(ShallowWater, WallsKeepTheMassAndTheLakeAtRest) {
  auto op = lats::solvers::makeShallowWater();
  FvSolver s(naturalMesh(MPI_COMM_WORLD, 2, 16, lats::meshio::BoundaryKind::Walls), std::move(op));
  s.setSolution([](const double* x, double* u) {
    u[0] = 1.0 + 0.3 * std::exp(-40 * ((x[0] - 0.3) * (x[0] - 0.3) + (x[1] - 0.4) * (x[1] - 0.4)));
    u[1] = u[2] = 0.0;
  });
  const double before = s.integrals()[0];
  ASSERT_TRUE(s.advance(0.5).ok());
  const double drift = std::abs(s.integrals()[0] - before) / before;
  if (lats::Comm().rank() == 0) std::printf("shallow_water walls: relative mass drift %.2e\n", drift);
  EXPECT_LE(drift, 1e-12);
  // Still water stays still (well-balanced on a flat bottom).
  s.setSolution([](const double*, double* u) { u[0] = 2.0, u[1] = u[2] = 0.0; });
  ASSERT_TRUE(s.advance(0.2).ok());
  double worst = 0.0;
  const auto v = s.values();
  for (std::size_t i = 0; i < v.size(); i += 3)
    worst = std::max({worst, std::abs(v[i] - 2.0), std::abs(v[i + 1]), std::abs(v[i + 2])});
  EXPECT_LE(lats::Comm().max(worst), 1e-13);
}

TEST(Equations, RegistryAndParameterErrors) {
  auto m = lats::test::messageOf<lats::ConfigurationError>([] { lats::solvers::fvOperators().create("burger"); });
  EXPECT_NE(m.find("Did you mean 'burgers'"), std::string::npos) << m;
  auto op = lats::solvers::makeGrayScott();
  m = lats::test::messageOf<lats::ConfigurationError>([&] { op->setParameter("fed", 0.1); });
  EXPECT_NE(m.find("gray_scott: no parameter 'fed'. Did you mean 'feed'?"), std::string::npos) << m;
  m = lats::test::messageOf<lats::InvalidValueError>([&] { op->setParameter("kill", NAN); });
  EXPECT_NE(m.find("expected a finite number"), std::string::npos) << m;
}

}  // namespace

namespace {

// IMEX: with -ts_type arkimex the stiff part (u_xx + u_xxxx) is implicit, so a step five
// times the explicit limit is stable and agrees with a fine explicit run.
TEST(Imex, KuramotoSivashinskyArkimexMatchesExplicitReference) {
  lats::meshio::IntervalSpec spec;
  spec.cells = 64;
  spec.length = 32.0;
  spec.irregularity = 0.2;
  auto mesh = PlexMesh::interval(MPI_COMM_WORLD, spec);
  auto ic = [](const double* x, double* u) {
    u[0] = std::cos(2 * kPi * x[0] / 32.0) + 0.3 * std::sin(4 * kPi * x[0] / 32.0);
  };
  FvSolver reference(mesh, lats::solvers::makeKuramotoSivashinsky());
  reference.setSolution(ic);
  ASSERT_TRUE(reference.advance(2.0).ok());

  PetscOptionsSetValue(nullptr, "-ts_type", "arkimex");
  FvSolver imex(mesh, lats::solvers::makeKuramotoSivashinsky());
  imex.setFromOptions();
  PetscOptionsClearValue(nullptr, "-ts_type");
  TSType type;
  TSGetType(imex.ts(), &type);
  EXPECT_STREQ(type, TSARKIMEX);
  imex.setSolution(ic);
  const double explicitLimit = imex.stableTimeStep();
  imex.setTimeStep(5 * explicitLimit);
  const auto result = imex.advance(2.0);
  ASSERT_TRUE(result.ok()) << result.reason;
  const auto a = lats::test::valuesById(reference), b = lats::test::valuesById(imex);
  const double diff = lats::test::maxDifference(a, b);
  if (lats::Comm().rank() == 0)
    std::printf("kuramoto_sivashinsky arkimex, step 5x the explicit limit (%.3g): max difference to explicit %.2e\n",
                5 * explicitLimit, diff);
  EXPECT_LT(diff, 1e-2);  // arkimex adapts its step to PETSc's default tolerances (1e-4)

  // The explicit scheme blows up at a step 20x its limit estimate (which is conservative on
  // irregular meshes); IMEX is stable there too (checked above at 5x, with adaptivity).
  FvSolver explicitRun(mesh, lats::solvers::makeKuramotoSivashinsky());
  explicitRun.setSolution(ic);
  explicitRun.setTimeStep(20 * explicitLimit);
  const auto blown = explicitRun.advance(2.0);
  double worst = 0.0;
  for (double v : explicitRun.values()) worst = std::max(worst, std::isfinite(v) ? std::abs(v) : INFINITY);
  if (lats::Comm().rank() == 0) std::printf("explicit at 20x: %s\n", blown.ok() ? "finite" : blown.reason.c_str());
  EXPECT_TRUE(!blown.ok() || lats::Comm().max(worst) > 1e3);
  if (!blown.ok()) {
    EXPECT_EQ(blown.status, lats::StepStatus::Diverged);
    EXPECT_NE(blown.reason.find("non-finite values"), std::string::npos) << blown.reason;
  }
}

}  // namespace

namespace {

TEST(Equations, SolverBadInputGivesClearErrors) {
  FvSolver s(naturalMesh(MPI_COMM_WORLD, 2, 6), lats::solvers::makeWave());
  auto m = lats::test::messageOf<lats::DimensionMismatchError>([&] { s.setSolution(std::vector<double>(5, 0.0)); });
  EXPECT_NE(m.find("wave: 5 values for"), std::string::npos) << m;
  EXPECT_NE(m.find("x 3 components; expected"), std::string::npos) << m;
  m = lats::test::messageOf<lats::InvalidValueError>([&] { s.op().setVenkatakrishnanK(0.0); });
  EXPECT_NE(m.find("Venkatakrishnan K = 0; expected a positive number"), std::string::npos) << m;
  m = lats::test::messageOf<lats::InvalidValueError>([&] { s.mesh().cellDM(0); });
  EXPECT_NE(m.find("0 components per cell; expected at least 1"), std::string::npos) << m;
  m = lats::test::messageOf<lats::InvalidValueError>([&] { s.advance(-1.0); });
  EXPECT_NE(m.find("expected a finite time >= the current one"), std::string::npos) << m;
  lats::Options::set("fv_cfl", "-2");
  m = lats::test::messageOf<lats::InvalidValueError>([&] { s.setFromOptions(); });
  EXPECT_NE(m.find("-lats_fv_cfl -2; expected a positive number"), std::string::npos) << m;
  lats::Options::clear("fv_cfl");
  auto op = lats::solvers::makeWave();
  m = lats::test::messageOf<lats::InvalidValueError>([&] { op->setUp(nullptr); });
  EXPECT_NE(m.find("wave: setUp() without a mesh"), std::string::npos) << m;
  m = lats::test::messageOf<lats::ConfigurationError>([&] { op->mesh(); });
  EXPECT_NE(m.find("wave: call setUp(mesh) first"), std::string::npos) << m;
}

}  // namespace
