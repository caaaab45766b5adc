// Simulated-time throughput of the surrogate and hybrid steppers against the classical
// stepper that produced the training data, on the same mesh, in one run, with the error
// at the end of the horizon. The initial state and PDE parameters are a trajectory of a
// (test) dataset made by lats generate; the reference is the classical stepper run here.
//
//   build/release/bench/bench_steppers -lats_model DIR -lats_bench_dataset test.h5
//       [-lats_bench_trajectory 0] [mesh options of the dataset: -lats_mesh interval ...]
//       [-lats_threads 1]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "lats/lats.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/meshio/plex_mesh.hpp"

namespace {
const lats::StringOption kDataset{"bench_dataset", "", "bench_steppers: dataset holding the initial states"};
const lats::IntOption kTrajectory{"bench_trajectory", 0, "bench_steppers: trajectory of the dataset to start from"};
const lats::IntOption kRepeats{"bench_repeats", 3, "bench_steppers: runs per mode (the fastest is reported)"};

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Run {
  double wall = 1e300;
  std::vector<lats::State> states;  // after every step
  std::string note;
};
}  // namespace

int main(int argc, char** argv) {
  lats::Runtime runtime(&argc, &argv);
  lats::registerAll();
  const lats::Comm world(runtime.comm());
  const std::string path = kDataset.get();
  LATS_CHECK(!path.empty(), lats::ConfigurationError, "bench_steppers: give -lats_bench_dataset and -lats_model");
  lats::meshio::DatasetReader reader(runtime.comm(), path);
  const auto& h = reader.header();
  const std::int64_t traj = kTrajectory.get();
  const int steps = static_cast<int>(h.times.size()) - 1;
  const double dt = h.times[1] - h.times[0];
  auto probe = lats::solvers::fvOperators().create(h.equation);
  const auto dims = probe->dimensions();
  auto plex = lats::meshio::PlexMesh::fromOptions(runtime.comm(), dims.size() == 1 ? dims[0] : 2);
  LATS_CHECK(plex->mesh()->globalSize() == reader.numPoints(), lats::DimensionMismatchError,
             "bench_steppers: the mesh has " << plex->mesh()->globalSize() << " cells but " << path << " has "
                                             << reader.numPoints()
                                             << " points; give the -lats_mesh* options the dataset was made with");
  const auto values = reader.parameters(traj);
  std::map<std::string, double> params;
  for (std::size_t k = 0; k < h.parameterNames.size(); ++k) params[h.parameterNames[k]] = values[k];
  lats::State initial;
  {
    lats::Field f = reader.read(*plex->mesh(), traj, 0);
    lats::Field full(h.equation, plex->mesh()->size(), h.components);
    for (std::int64_t i = 0; i < plex->mesh()->ownedSize(); ++i)
      for (int c = 0; c < f.numComponents(); ++c) full.view()(i, c) = f.view()(i, c);
    initial.add(full);
  }

  auto classical = [&] {
    auto c = std::make_unique<lats::coupling::ClassicalStepper>(plex, h.equation);
    for (const auto& [name, v] : params) c->setParameter(name, v);
    return c;
  };
  auto surrogate = [&] {
    auto s = lats::coupling::SurrogateSettings::fromOptions();
    s.parameters = params;
    s.dt = s.dt > 0 ? s.dt : dt;
    return std::make_unique<lats::coupling::SurrogateStepper>(s);
  };
  auto measure = [&](const std::function<std::unique_ptr<lats::TimeStepper>()>& make) {
    Run best;
    for (int r = 0; r < kRepeats.get(); ++r) {
      Run run;
      auto state = initial.clone();
      auto stepper = make();
      world.barrier();
      const auto t0 = std::chrono::steady_clock::now();
      stepper->setUp(plex->mesh(), state);
      for (int k = 0; k < steps; ++k) {
        const auto res = stepper->step(state, dt);
        LATS_CHECK(res.ok(), lats::Error, "bench_steppers: " << stepper->type() << " step failed: " << res.reason);
        run.states.push_back(state.clone());
      }
      world.barrier();
      run.wall = seconds(t0);
      std::map<std::string, std::int64_t> count;
      for (const auto& [name, n] : stepper->counters()) count[name] = n;
      if (count.count("fast_steps"))
        run.note = std::to_string(count["fast_steps"]) + " surrogate + " + std::to_string(count["reference_steps"]) +
                   " classical steps, " + std::to_string(count["rollbacks"]) + " rollbacks";
      if (run.wall < best.wall) best = std::move(run);
    }
    return best;
  };
  lats::coupling::HybridSettings schedule;
  schedule.surrogateSteps = 4;
  schedule.classicalSteps = 1;
  lats::coupling::HybridSettings warm;  // one classical step first: a true history window
  warm.surrogateSteps = steps;
  warm.classicalSteps = 1;
  warm.startClassical = true;
  lats::coupling::HybridSettings error;
  error.policy = "error";
  error.residualEvery = 5;
  error.residualTolerance = 0.1;
  error.fallbackSteps = 2;

  struct Mode {
    std::string name;
    std::function<std::unique_ptr<lats::TimeStepper>()> make;
  };
  const std::vector<Mode> modes = {
      {"classical", [&] { return std::unique_ptr<lats::TimeStepper>(classical()); }},
      {"surrogate", [&] { return std::unique_ptr<lats::TimeStepper>(surrogate()); }},
      {"classical step, then surrogate",
       [&] { return std::make_unique<lats::coupling::HybridStepper>(surrogate(), classical(), warm); }},
      {"hybrid 4+1",
       [&] { return std::make_unique<lats::coupling::HybridStepper>(surrogate(), classical(), schedule); }},
      {"hybrid error (check every 5, tol 0.1)",
       [&] { return std::make_unique<lats::coupling::HybridStepper>(surrogate(), classical(), error); }}};
  std::vector<Run> runs;
  for (const auto& m : modes) runs.push_back(measure(m.make));
  if (world.rank() == 0) {
    std::printf(
        "bench_steppers: %s, %lld cells, trajectory %lld of %s, %d steps of %g (t = %g), %d rank(s), %d torch "
        "thread(s)\n\n",
        h.equation.c_str(), static_cast<long long>(plex->mesh()->globalSize()), static_cast<long long>(traj),
        path.c_str(), steps, dt, steps * dt, world.size(), runtime.threadsPerRank());
    std::printf(
        "| mode | wall [s] | simulated time / wall s | speedup | rel. L2 error at t = %g | mean over the horizon | "
        "|\n|---|---:|---:|---:|---:|---:|---|\n",
        steps * dt);
  }
  for (std::size_t m = 0; m < modes.size(); ++m) {
    double mean = 0;
    for (int k = 0; k < steps; ++k)
      mean += lats::workflows::relativeL2(*plex->mesh(), runs[m].states[k].field(h.equation),
                                          runs[0].states[k].field(h.equation));
    const double end = lats::workflows::relativeL2(*plex->mesh(), runs[m].states.back().field(h.equation),
                                                   runs[0].states.back().field(h.equation));
    if (world.rank() == 0)
      std::printf("| %s | %.4f | %.1f | %.1f | %.3e | %.3e | %s |\n", modes[m].name.c_str(), runs[m].wall,
                  steps * dt / runs[m].wall, runs[0].wall / runs[m].wall, end, mean / steps, runs[m].note.c_str());
  }
  return 0;
}
