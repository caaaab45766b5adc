// Classical-solver throughput: cells x steps per second of every registered equation on a
// mesh of about 64k cells (2D) or 4k cells (1D), on one rank and on all ranks of the run,
// and the parallel speedup, measured in the same run.
//   mpiexec -n 2 build/release/bench/bench_classical [-bench_steps 20] [-bench_cells2d 180]
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "lats/lats.hpp"
#include "lats/solvers/classical/equations.hpp"
#include "lats/solvers/classical/fv_solver.hpp"

namespace {

const lats::IntOption kSteps{"bench_steps", 20, "bench_classical: time steps per measurement"};
const lats::IntOption kCells2d{"bench_cells2d", 180, "bench_classical: cells per side of the 2D mesh (2 n^2 cells)"};
const lats::IntOption kCells1d{"bench_cells1d", 4096, "bench_classical: cells of the 1D mesh"};

struct Measurement {
  std::int64_t cells = 0;
  double rate = 0.0;  // cells x steps per second
};

/// `poisson`: navier_stokes' streamfunction solve (-lats_navier_stokes_poisson), else empty.
Measurement measure(MPI_Comm comm, const std::string& equation, const std::string& poisson = "") {
  auto op = lats::solvers::fvOperators().create(equation);
  if (!poisson.empty()) {
    lats::Options::set("navier_stokes_poisson", poisson);
    op->setFromOptions();
    lats::Options::clear("navier_stokes_poisson");
  }
  const int dim = op->dimensions().back();
  std::shared_ptr<const lats::meshio::PlexMesh> mesh;
  if (dim == 2) {
    lats::meshio::UnitSquareSpec spec;
    spec.cellsPerSide = kCells2d.get();
    mesh = lats::meshio::PlexMesh::unitSquare(comm, spec);
  } else {
    lats::meshio::IntervalSpec spec;
    spec.cells = kCells1d.get();
    spec.irregularity = 0.2;
    mesh = lats::meshio::PlexMesh::interval(comm, spec);
  }
  lats::solvers::FvSolver solver(mesh, std::move(op));
  solver.setSolution([&](const double* x, double* u) {
    for (int c = 0; c < solver.op().numComponents(); ++c) u[c] = 1.0 + 0.1 * std::sin(6.283 * (x[0] + c * x[1]));
  });
  const double dt = 0.5 * solver.stableTimeStep();
  solver.setTimeStep(dt);
  solver.advance(2 * dt);  // warm-up
  const auto steps = kSteps.get();
  MPI_Barrier(comm);
  const auto t0 = std::chrono::steady_clock::now();
  solver.advance(solver.time() + steps * dt);
  MPI_Barrier(comm);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {mesh->globalCells(), static_cast<double>(mesh->globalCells()) * steps / seconds};
}

}  // namespace

int main(int argc, char** argv) {
  lats::Runtime runtime(&argc, &argv);
  const lats::Comm world(MPI_COMM_WORLD);
  if (world.rank() == 0)
    std::printf(
        "| equation | cells | 1 rank (cells x steps / s) | %d ranks (cells x steps / s) | speedup |\n"
        "|---|---|---|---|---|\n",
        world.size());
  auto row = [&](const std::string& equation, const std::string& poisson) {
    Measurement one;
    if (world.rank() == 0) one = measure(MPI_COMM_SELF, equation, poisson);
    MPI_Barrier(MPI_COMM_WORLD);
    const Measurement all = measure(MPI_COMM_WORLD, equation, poisson);
    const std::string label = poisson.empty() ? equation : equation + " (" + poisson + " Poisson)";
    if (world.rank() == 0)
      std::printf("| %s | %lld | %.3g | %.3g | %.2f |\n", label.c_str(), static_cast<long long>(all.cells), one.rate,
                  all.rate, all.rate / one.rate);
  };
  for (const std::string& equation : lats::solvers::fvOperators().names()) {
    if (equation == "navier_stokes") {
      row(equation, "gathered");
      row(equation, "distributed");
    } else {
      row(equation, "");
    }
  }
  return 0;
}
