// What the PETSc TS type adds to a surrogate step: the time of TSStep through
// `-ts_type lats -lats_mode surrogate` on an n x n DMDA (default 128 x 128 = 16384 points,
// values decoded into the host's Vec every step) over the model's own encode/step/decode
// (LatentRollout on the same points, decoding into an array of the same size), and the
// surrogate stepper with checksum change detection (the C++ and C API path, where the host
// does not report its changes) for comparison. Each repeat starts from the initial values
// (one encode) and takes -lats_bench_steps steps; the fastest repeat of each path counts.
//
//   build/release/bench/bench_ts_overhead -lats_bench_model demo-output/model
//       -lats_surrogate_parameters vx=1,vy=0.5,nu=0.01 (a conditioned model's parameters)
//       [-lats_bench_n 128] [-lats_bench_steps 20] [-lats_bench_repeats 5] [-lats_threads 1]
#include <petscdmda.h>
#include <petscts.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "lats/core/petsc.hpp"
#include "lats/coupling/petsc_ts.hpp"
#include "lats/lats.hpp"
#include "lats/solvers/neural/latent_rollout.hpp"

namespace {
const lats::StringOption kModel{"bench_model", "", "bench_ts_overhead: the trained model (2D, one field)"};
const lats::IntOption kN{"bench_n", 128, "bench_ts_overhead: grid points per direction"};
const lats::IntOption kSteps{"bench_steps", 20, "bench_ts_overhead: surrogate steps per repeat"};
const lats::IntOption kRepeats{"bench_repeats", 5, "bench_ts_overhead: repeats per path (the fastest counts)"};

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

PetscErrorCode zeroRhs(TS, PetscReal, Vec, Vec f, void*) {
  PetscFunctionBeginUser;
  PetscCall(VecSet(f, 0.0));
  PetscFunctionReturn(0);
}

/// Fastest of `repeats` runs of `run`, all ranks agreeing (max over ranks).
double fastest(const lats::Comm& world, std::int64_t repeats, const std::function<void()>& run) {
  double best = 1e300;
  for (std::int64_t r = 0; r < repeats; ++r) {
    world.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    run();
    world.barrier();
    best = std::min(best, world.max(seconds(t0)));
  }
  return best;
}
}  // namespace

int run(lats::Runtime& runtime);

int main(int argc, char** argv) {
  lats::Runtime runtime(&argc, &argv);
  try {
    return run(runtime);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ts_overhead: %s\n", e.what());
    return 1;
  }
}

int run(lats::Runtime& runtime) {
  lats::registerAll();
  lats::coupling::registerPetscTs();
  const lats::Comm world(runtime.comm());
  const std::string model = kModel.get();
  LATS_CHECK(!model.empty(), lats::ConfigurationError, "bench_ts_overhead: give -lats_bench_model DIR");
  const PetscInt n = static_cast<PetscInt>(kN.get());
  const std::int64_t steps = kSteps.get(), repeats = kRepeats.get();
  lats::solvers::neural::LatentRollout probe(runtime.comm(), model);
  const auto& info = probe.info();
  LATS_CHECK(info.spatialDim == 2 && info.fieldNames.size() == 1 && info.fieldComponents[0] == 1,
             lats::ModelMismatchError, "bench_ts_overhead: needs a 2D model of one scalar field");
  const double dt = info.timeStep;

  // The host: an n x n periodic DMDA on the unit square and a smooth initial field.
  DM da;
  LATS_PETSC_CALL(DMDACreate2d(runtime.comm(), DM_BOUNDARY_PERIODIC, DM_BOUNDARY_PERIODIC, DMDA_STENCIL_STAR, n, n,
                               PETSC_DECIDE, PETSC_DECIDE, 1, 1, nullptr, nullptr, &da));
  LATS_PETSC_CALL(DMSetUp(da));
  // Periodic: PETSc spaces the points (max - min) / n apart, so point i sits at i / n.
  LATS_PETSC_CALL(DMDASetUniformCoordinates(da, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0));
  Vec u, u0;
  LATS_PETSC_CALL(DMCreateGlobalVector(da, &u));
  LATS_PETSC_CALL(VecDuplicate(u, &u0));
  PetscInt xs, ys, xm, ym;
  LATS_PETSC_CALL(DMDAGetCorners(da, &xs, &ys, nullptr, &xm, &ym, nullptr));
  std::vector<double> xyz;
  {
    PetscScalar* a;
    LATS_PETSC_CALL(VecGetArray(u0, &a));
    for (PetscInt y = ys, k = 0; y < ys + ym; ++y)
      for (PetscInt x = xs; x < xs + xm; ++x, ++k) {
        const double px = double(x) / n, py = double(y) / n;
        xyz.push_back(px);
        xyz.push_back(py);
        a[k] = std::sin(2 * M_PI * px) * std::cos(2 * M_PI * py) + 0.5;
      }
    LATS_PETSC_CALL(VecRestoreArray(u0, &a));
  }
  const std::int64_t owned = static_cast<std::int64_t>(xyz.size() / 2);

  // 1. Through the TS type, as a PETSc program runs it.
  lats::Options::set("mode", "surrogate");
  lats::Options::set("model", model);
  TS ts;
  LATS_PETSC_CALL(TSCreate(runtime.comm(), &ts));
  LATS_PETSC_CALL(TSSetDM(ts, da));
  LATS_PETSC_CALL(TSSetRHSFunction(ts, nullptr, zeroRhs, nullptr));
  LATS_PETSC_CALL(TSSetType(ts, "lats"));
  LATS_PETSC_CALL(TSSetTimeStep(ts, dt));
  LATS_PETSC_CALL(TSSetMaxSteps(ts, 1000000));
  LATS_PETSC_CALL(TSSetMaxTime(ts, 1e9));
  LATS_PETSC_CALL(TSSetExactFinalTime(ts, TS_EXACTFINALTIME_STEPOVER));
  LATS_PETSC_CALL(TSSetFromOptions(ts));  // the TS type reads -lats_mode, -lats_model
  LATS_PETSC_CALL(VecCopy(u0, u));
  LATS_PETSC_CALL(TSSetSolution(ts, u));
  LATS_PETSC_CALL(TSSetUp(ts));
  const double tsTime = fastest(world, repeats, [&] {
    LATS_PETSC_CALL(VecCopy(u0, u));  // the host's new values: the TS type sees it (object state) and encodes
    for (std::int64_t k = 0; k < steps; ++k) LATS_PETSC_CALL(TSStep(ts));
  });
  Vec tsResult;
  LATS_PETSC_CALL(VecDuplicate(u, &tsResult));
  LATS_PETSC_CALL(VecCopy(u, tsResult));

  // 2. The model's own work on the same points: encode, then step + decode.
  auto points = lats::MeshBuilder(runtime.comm(), 2).name("bench").coordinates(xyz.data(), owned).build();
  std::vector<double> values(static_cast<std::size_t>(owned)), initial(values.size());
  {
    const PetscScalar* a;
    LATS_PETSC_CALL(VecGetArrayRead(u0, &a));
    for (std::int64_t i = 0; i < owned; ++i) initial[i] = a[i];
    LATS_PETSC_CALL(VecRestoreArrayRead(u0, &a));
  }
  lats::State state;
  state.add(lats::Field::wrap(info.fieldNames[0], values.data(), owned, {"u"}));
  lats::solvers::neural::LatentRollout rollout(runtime.comm(), model);
  const auto parameters = lats::coupling::SurrogateSettings::fromOptions().parameters;
  if (!info.parameterNames.empty()) rollout.setParameters(parameters);
  rollout.bind(points, state);
  const double modelTime = fastest(world, repeats, [&] {
    values = initial;
    rollout.reset(state);
    for (std::int64_t k = 0; k < steps; ++k) {
      rollout.advance(1);
      rollout.decode(state);
    }
  });
  // Both paths computed the same values.
  double diff = 0.0, scale = 0.0;
  {
    const PetscScalar* a;
    LATS_PETSC_CALL(VecGetArrayRead(tsResult, &a));
    for (std::int64_t i = 0; i < owned; ++i) {
      diff = std::max(diff, std::abs(a[i] - values[i]));
      scale = std::max(scale, std::abs(values[i]));
    }
    LATS_PETSC_CALL(VecRestoreArrayRead(tsResult, &a));
  }
  diff = world.max(diff);
  scale = world.max(scale);

  // 3. The surrogate stepper detecting host changes by checksum (hosts that do not report).
  lats::coupling::SurrogateStepper stepper;
  stepper.setFromOptions();
  values = initial;
  stepper.setUp(points, state);
  const double checksumTime = fastest(world, repeats, [&] {
    values = initial;  // detected by the checksum
    for (std::int64_t k = 0; k < steps; ++k) stepper.step(state, dt);
  });

  if (world.rank() == 0) {
    std::printf(
        "bench_ts_overhead: %s on a %lld x %lld DMDA (%lld points), %d rank(s), %lld steps per repeat, "
        "fastest of %lld\n",
        model.c_str(), static_cast<long long>(n), static_cast<long long>(n), static_cast<long long>(n * n),
        world.size(), static_cast<long long>(steps), static_cast<long long>(repeats));
    std::printf("  model's own encode + (step + decode) x %lld: %.4f s (%.2f ms per step)\n",
                static_cast<long long>(steps), modelTime, 1e3 * modelTime / steps);
    std::printf("  TS type (TSStep, -lats_mode surrogate):      %.4f s  overhead %+.1f %%\n", tsTime,
                100.0 * (tsTime / modelTime - 1.0));
    std::printf("  surrogate stepper, checksum detection:        %.4f s  overhead %+.1f %%\n", checksumTime,
                100.0 * (checksumTime / modelTime - 1.0));
    std::printf("  max |TS type - model| / max |u| = %.1e\n", diff / std::max(scale, 1e-300));
  }
  LATS_PETSC_CALL(VecDestroy(&tsResult));
  LATS_PETSC_CALL(TSDestroy(&ts));
  LATS_PETSC_CALL(VecDestroy(&u));
  LATS_PETSC_CALL(VecDestroy(&u0));
  LATS_PETSC_CALL(DMDestroy(&da));
  return 0;
}
