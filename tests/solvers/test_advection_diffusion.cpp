// Advection-diffusion: convergence on irregular meshes against the exact solution,
// conservation, and distributed runs equal to single-rank runs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "classical_support.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/random.hpp"
#include "lats/solvers/classical/equations.hpp"
#include "test_support.hpp"

namespace {

using lats::meshio::PlexMesh;
using lats::solvers::FvSolver;
constexpr double kPi = 3.14159265358979323846;

std::unique_ptr<FvSolver> solver2d(MPI_Comm comm, int n, lats::solvers::Limiter limiter, double nu = 0.01) {
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = n;
  spec.jitter = 0.25;
  auto op = lats::solvers::makeAdvectionDiffusion();
  op->setParameter("vx", 1.0);
  op->setParameter("vy", 0.5);
  op->setParameter("nu", nu);
  op->setLimiter(limiter);
  return std::make_unique<FvSolver>(PlexMesh::unitSquare(comm, spec), std::move(op));
}

double exact2d(const double* x, double t, double nu) {
  return std::sin(2 * kPi * (x[0] - t)) * std::sin(2 * kPi * (x[1] - 0.5 * t)) * std::exp(-8 * kPi * kPi * nu * t);
}

void convergence2d(lats::solvers::Limiter limiter, double minOrder, const char* name) {
  const double nu = 0.01, T = 0.2;
  std::vector<double> errors;
  for (int n : {16, 32, 64}) {
    auto s = solver2d(MPI_COMM_WORLD, n, limiter, nu);
    s->setSolution([&](const double* x, double* u) { u[0] = exact2d(x, 0.0, nu); });
    s->setTimeStep(0.5 * s->stableTimeStep());
    ASSERT_TRUE(s->advance(T).ok());
    EXPECT_DOUBLE_EQ(s->time(), T);
    errors.push_back(lats::test::l1Error(*s, 0, [&](const double* x, double t) { return exact2d(x, t, nu); }));
  }
  for (std::size_t i = 1; i < errors.size(); ++i) {
    const double order = std::log2(errors[i - 1] / errors[i]);
    if (lats::Comm().rank() == 0)
      std::printf("advection_diffusion 2D (%s): L1 error %.3e -> %.3e, observed order %.2f\n", name, errors[i - 1],
                  errors[i], order);
    EXPECT_GE(order, minOrder) << name;
  }
}

TEST(AdvectionDiffusion, SecondOrderOnIrregularTrianglesUnlimited) {
  convergence2d(lats::solvers::Limiter::None, 1.8, "no limiter");
}

// Limiters clip smooth extrema, so a limited scheme is first order there by design; the
// limiter is the default only for hyperbolic equations.
TEST(AdvectionDiffusion, LimitedSchemeConvergesAtLeastFirstOrder) {
  convergence2d(lats::solvers::Limiter::Venkatakrishnan, 0.9, "venkatakrishnan");
}

TEST(AdvectionDiffusion, SecondOrderOnIrregular1DMesh) {
  const double nu = 0.02, T = 0.25;
  std::vector<double> errors;
  for (int n : {64, 128, 256}) {
    lats::meshio::IntervalSpec spec;
    spec.cells = n;
    spec.irregularity = 0.3;
    auto op = lats::solvers::makeAdvectionDiffusion();
    op->setParameter("nu", nu);
    op->setLimiter(lats::solvers::Limiter::None);
    FvSolver s(PlexMesh::interval(MPI_COMM_WORLD, spec), std::move(op));
    auto exact = [&](const double* x, double t) {
      return std::sin(2 * kPi * (x[0] - t)) * std::exp(-4 * kPi * kPi * nu * t);
    };
    s.setSolution([&](const double* x, double* u) { u[0] = exact(x, 0.0); });
    s.setTimeStep(0.5 * s.stableTimeStep());
    ASSERT_TRUE(s.advance(T).ok());
    errors.push_back(lats::test::l1Error(s, 0, exact));
  }
  for (std::size_t i = 1; i < errors.size(); ++i) {
    const double order = std::log2(errors[i - 1] / errors[i]);
    if (lats::Comm().rank() == 0) std::printf("advection_diffusion 1D: observed order %.2f\n", order);
    EXPECT_GE(order, 1.8);
  }
}

TEST(AdvectionDiffusion, ConservesMassToRoundOff) {
  auto s = solver2d(MPI_COMM_WORLD, 24, lats::solvers::Limiter::Venkatakrishnan);
  s->setSolution([](const double* x, double* u) {
    u[0] = 1.0 + std::exp(-50 * ((x[0] - 0.4) * (x[0] - 0.4) + (x[1] - 0.6) * (x[1] - 0.6)));
  });
  const double before = s->integrals()[0];
  ASSERT_TRUE(s->advance(0.5).ok());
  const double after = s->integrals()[0];
  const double drift = std::abs(after - before) / std::abs(before);
  if (lats::Comm().rank() == 0) std::printf("advection_diffusion: relative mass drift %.2e\n", drift);
  EXPECT_LE(drift, 1e-12);
}

TEST(AdvectionDiffusion, DistributedRunEqualsSingleRankRun) {
  auto run = [](MPI_Comm comm) {
    auto s = solver2d(comm, 20, lats::solvers::Limiter::Venkatakrishnan);
    s->setSolution([](const double* x, double* u) { u[0] = std::sin(2 * kPi * x[0]) + std::cos(4 * kPi * x[1]); });
    s->setTimeStep(0.004);
    EXPECT_TRUE(s->advance(0.2).ok());
    return lats::test::valuesById(*s);
  };
  const auto distributed = run(MPI_COMM_WORLD);
  const auto serial = run(MPI_COMM_SELF);
  const double diff = lats::test::maxDifference(distributed, serial);
  if (lats::Comm().rank() == 0) std::printf("advection_diffusion: max |distributed - serial| = %.2e\n", diff);
  EXPECT_LE(diff, 1e-10);
}

TEST(AdvectionDiffusion, WrongMeshDimensionIsAClearError) {
  auto op = lats::solvers::makeCombinedEquation();
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = 4;
  auto mesh = PlexMesh::unitSquare(MPI_COMM_WORLD, spec);
  try {
    FvSolver s(mesh, std::move(op));
    ADD_FAILURE() << "no error";
  } catch (const lats::DimensionMismatchError& e) {
    EXPECT_NE(std::string(e.what()).find("combined is discretised in 1D; the mesh is 2D"), std::string::npos)
        << e.what();
  }
}

}  // namespace

namespace {

TEST(FvSolver, AutomaticStepFollowsTheCflAndAFixedStepStaysFixed) {
  auto s = solver2d(MPI_COMM_WORLD, 8, lats::solvers::Limiter::None);
  s->setSolution([](const double* x, double* u) { u[0] = std::sin(2 * kPi * x[0]); });
  ASSERT_TRUE(s->advance(0.05).ok());
  EXPECT_NEAR(s->timeStep(), 0.5 * s->stableTimeStep(), 1e-12 * s->timeStep());  // -lats_fv_cfl 0.5
  s->setTimeStep(1e-3);
  PetscInt before, after;
  TSGetStepNumber(s->ts(), &before);
  ASSERT_TRUE(s->advance(s->time() + 0.01).ok());
  TSGetStepNumber(s->ts(), &after);
  EXPECT_EQ(after - before, 10);
  EXPECT_NEAR(s->timeStep(), 1e-3, 1e-12);  // the last step lands on the end time
  const std::string m = lats::test::messageOf<lats::InvalidValueError>([&] { s->setTimeStep(-1.0); });
  EXPECT_NE(m.find("time step -1; expected a positive finite number"), std::string::npos) << m;
}

}  // namespace
