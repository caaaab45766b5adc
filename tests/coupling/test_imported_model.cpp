// A model imported as TorchScript runs in every stepper a host can select: the trained Burgers
// model of the C API tests (ctest fixture capi_model) and its export by
// solvers/python/lats_torchscript.py (fixture capi_model_ts) step a host's array through the
// host adapter (what the C API and the PETSc TS type run) with the surrogate, hybrid and
// assimilating steppers, and give the same values, at 1 and 2 ranks (2 ranks: the imported
// encoder receives every rank's points).
#include <gtest/gtest.h>
#include <mpi.h>
#include <petscsys.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "lats/core/comm.hpp"
#include "lats/core/options.hpp"
#include "lats/coupling/host_session.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/classical/fv_operator.hpp"
#include "test_support.hpp"

namespace {

const std::string kNative = LATS_TEST_BINARY_DIR "/capi/model";
const std::string kExported = LATS_TEST_BINARY_DIR "/capi/model-ts";
constexpr double kDt = 0.05;

void setOption(const std::string& name, const std::string& value) {
  ASSERT_EQ(PetscOptionsSetValue(nullptr, name.c_str(), value.c_str()), 0) << name;
}

/// The host's array after `steps` steps of `stepper` with the model in `model`, configured
/// under the options prefix `prefix`.
std::vector<double> run(const std::string& prefix, const std::string& model, const std::string& stepper, int steps,
                        const std::string& observations) {
  lats::meshio::IntervalSpec spec;
  spec.cells = 48;
  auto plex = lats::meshio::PlexMesh::interval(MPI_COMM_WORLD, spec);
  const auto mesh = plex->mesh();
  std::vector<double> u(static_cast<std::size_t>(mesh->size()));
  auto x = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh->coordinates());
  for (std::int64_t i = 0; i < mesh->size(); ++i) u[static_cast<std::size_t>(i)] = std::sin(2 * M_PI * x(i, 0)) + 0.5;
  const std::string p = "-" + prefix + "lats_";
  setOption(p + "model", model);
  setOption(p + "surrogate_parameters", "nu=0.02");
  setOption(p + "equation", "burgers");
  setOption(p + "hybrid_surrogate_steps", "2");
  setOption(p + "hybrid_classical_steps", "1");
  setOption(p + "da_member", "surrogate");
  setOption(p + "ensemble_size", "4");
  setOption(p + "da_init_spread", "0.2");
  setOption(p + "obs", observations);
  lats::OptionsPrefix scope(prefix);
  lats::coupling::HostSession session(mesh);
  session.bindField("burgers", 1, u.data(), {"u"});
  session.setUp(stepper);
  for (int s = 0; s < steps; ++s) {
    const auto r = session.step(kDt);
    EXPECT_TRUE(r.ok()) << stepper << " step " << s << ": " << r.reason;
  }
  session.synchronize();
  // Every rank's owned values ordered by the cell centre: the partition may differ between
  // two runs (DMPlex's partitioner), the values at a centre may not.
  std::vector<double> mine;
  for (std::int64_t i = 0; i < mesh->ownedSize(); ++i) {
    mine.push_back(x(i, 0));
    mine.push_back(u[static_cast<std::size_t>(i)]);
  }
  const lats::Comm comm(MPI_COMM_WORLD);
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(comm.size())), offsets(counts.size());
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) offsets[r] = total, total += counts[r];
  std::vector<double> all(static_cast<std::size_t>(total));
  MPI_Allgatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, MPI_COMM_WORLD);
  std::vector<std::pair<double, double>> byCentre;
  for (std::size_t k = 0; k < all.size(); k += 2) byCentre.emplace_back(all[k], all[k + 1]);
  std::sort(byCentre.begin(), byCentre.end());
  std::vector<double> values;
  for (const auto& [centre, value] : byCentre) values.push_back(value);
  EXPECT_EQ(values.size(), static_cast<std::size_t>(spec.cells));
  return values;
}

TEST(ImportedModel, RunsInEveryStepperWithTheNativeModelsValues) {
  lats::solvers::registerFvOperators();
  // Sensors at 8 points, observed at the second and fourth step.
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "imported");
  const std::string obs = dir + "/obs.csv";
  if (lats::Comm().rank() == 0) {
    std::ofstream out(obs);
    out << "time,x,component,value,noise_std\n";
    for (double t : {2 * kDt, 4 * kDt})
      for (int k = 0; k < 8; ++k) {
        const double xs = (k + 0.3) / 8;
        out << t << "," << xs << ",u," << std::sin(2 * M_PI * (xs + 0.05)) + 0.5 << ",0.05\n";
      }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  for (const std::string stepper : {"surrogate", "hybrid", "assimilating"}) {
    const auto native = run("native_" + stepper + "_", kNative, stepper, 4, obs);
    const auto imported = run("imported_" + stepper + "_", kExported, stepper, 4, obs);
    ASSERT_EQ(native.size(), imported.size());
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < native.size(); ++i) {
      worst = std::max(worst, std::abs(native[i] - imported[i]));
      scale = std::max(scale, std::abs(native[i]));
    }
    if (lats::Comm().rank() == 0)
      std::printf("[imported] %s, %d rank(s), 4 steps: max |torchscript - native| / max |native| = %.2e\n",
                  stepper.c_str(), lats::Comm().size(), worst / scale);
    EXPECT_LT(worst, 1e-5 * scale) << stepper;
  }
}

}  // namespace
