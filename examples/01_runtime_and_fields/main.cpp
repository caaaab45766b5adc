// Example 01: the LaTS runtime, a mesh built from a host code's arrays, a field that wraps
// host memory, the registry-created "rk" stepper over a right-hand side, an observer, and a
// VTU/PVTU snapshot for ParaView.
//
//   mpiexec -n 2 ./example_01 [-lats_rk_scheme ssprk3] [-lats_view]
//
// Solves du/dt = -k(x, y) u with k = 1 + x + y on a point cloud and compares with
// exp(-k t) u0. Exits non-zero if the error exceeds what the scheme should achieve.
#include <cmath>
#include <cstdio>
#include <vector>

#include "lats/lats.hpp"

namespace {
class Decay : public lats::RhsOperator {
 public:
  std::vector<std::string> fieldNames() const override { return {"u"}; }
  void setUp(const lats::Mesh& mesh, const lats::State&) override { xy_ = mesh.coordinates(); }
  void apply(double, const lats::State& in, lats::State& out) override {
    const auto u = in.field("u").view();
    const auto du = out.field("u").view();
    const auto xy = xy_;
    Kokkos::parallel_for(
        "example::Decay", u.extent(0),
        KOKKOS_LAMBDA(const std::size_t i) { du(i, 0) = -(1 + xy(i, 0) + xy(i, 1)) * u(i, 0); });
  }

 private:
  lats::CoordView xy_;
};
}  // namespace

int main(int argc, char** argv) {
  try {
    lats::Runtime runtime(&argc, &argv);
    const lats::Comm comm(runtime.comm());
    int status = 0;
    {
      // The host code's own arrays: 400 points per rank on a jittered lattice, and u.
      const int n = 400;
      std::vector<double> xy(2 * n), u(n);
      for (int i = 0; i < n; ++i) {
        const int g = comm.rank() * n + i;
        xy[2 * i] = std::fmod(0.7548776662 * g, 1.0);
        xy[2 * i + 1] = std::fmod(0.5698402910 * g, 1.0);
        u[i] = 1.0;
      }
      auto mesh = lats::MeshBuilder(runtime.comm(), 2).name("cloud").coordinates(xy).build();
      lats::State state;
      state.add(lats::Field::wrap("u", u.data(), n, {"u"}));  // zero copy: LaTS writes into u

      auto stepper = lats::timeSteppers().create("rk");
      auto* rk = dynamic_cast<lats::coupling::RungeKuttaStepper*>(stepper.get());
      rk->setRhs(std::make_shared<Decay>());
      stepper->setFromOptions();
      stepper->setUp(mesh, state);
      int steps = 0;
      stepper->addObserver(
          [&](const lats::TimeStepper&, const lats::State&, const lats::StepResult& r) { steps += r.ok(); });
      const auto result = stepper->advance(state, 1.0, 0.05);

      double err = 0.0;
      for (int i = 0; i < n; ++i) err = std::max(err, std::abs(u[i] - std::exp(-(1 + xy[2 * i] + xy[2 * i + 1]))));
      err = comm.max(err);
      const auto pvtu = lats::meshio::writeVtu("example_01", *mesh, state.fields(), state.time());
      const double tolerance = rk->tableau().order >= 4 ? 1e-5 : rk->tableau().order >= 2 ? 1e-2 : 1e-1;
      if (comm.rank() == 0)
        std::printf(
            "example_01: %d ranks, %lld points, %s, %d steps to t = %.2f, max error %.3e (tolerance %.0e), wrote %s\n",
            comm.size(), static_cast<long long>(mesh->globalSize()), rk->tableau().name.c_str(), steps, state.time(),
            err, tolerance, pvtu.c_str());
      status = result.ok() && err < tolerance ? 0 : 1;
    }
    return status;
  } catch (const lats::Error& e) {
    std::fprintf(stderr, "example_01: %s\n", e.what());
    return 2;
  }
}
