// Core benchmarks: throughput of the Kokkos field kernels behind the explicit steppers, and
// the cost of handing a field to torch through the zero-copy bridge versus copying it.
//   build/release/bench/bench_core [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <ATen/ATen.h>

#include "lats/lats.hpp"
#include "lats/solvers/neural/tensor_bridge.hpp"

namespace {

class LinearRhs : public lats::RhsOperator {
 public:
  std::vector<std::string> fieldNames() const override { return {"u"}; }
  void apply(double, const lats::State& in, lats::State& out) override {
    const auto u = in.field("u").view();
    const auto du = out.field("u").view();
    Kokkos::parallel_for(
        "bench::LinearRhs", u.extent(0), KOKKOS_LAMBDA(const std::size_t i) { du(i, 0) = -u(i, 0); });
  }
};

void BM_RungeKuttaStep(benchmark::State& st) {
  const std::int64_t n = st.range(0);
  std::vector<double> x(n);
  for (std::int64_t i = 0; i < n; ++i) x[i] = static_cast<double>(i) / n;
  auto mesh = lats::MeshBuilder(MPI_COMM_SELF, 1).coordinates(x).build();
  lats::State s;
  s.add(lats::Field("u", n, 1));
  s.field("u").fill(1.0);
  lats::coupling::RungeKuttaStepper rk(std::make_shared<LinearRhs>(), "rk4");
  rk.setUp(mesh, s);
  for (auto _ : st) benchmark::DoNotOptimize(rk.step(s, 1e-3));
  st.counters["cells_x_steps_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_RungeKuttaStep)->Arg(4096)->Arg(65536)->Unit(benchmark::kMicrosecond);

void BM_BridgeZeroCopy(benchmark::State& st) {
  lats::Field f("u", st.range(0), 4);
  for (auto _ : st) benchmark::DoNotOptimize(lats::solvers::neural::toTensor(f).data_ptr());
}
BENCHMARK(BM_BridgeZeroCopy)->Arg(65536)->Arg(1 << 20);

void BM_BridgeCopy(benchmark::State& st) {
  lats::Field f("u", st.range(0), 4);
  for (auto _ : st) benchmark::DoNotOptimize(lats::solvers::neural::toTensor(f).clone().data_ptr());
}
BENCHMARK(BM_BridgeCopy)->Arg(65536)->Arg(1 << 20);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  lats::Runtime runtime(&argc, &argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
