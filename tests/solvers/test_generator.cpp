// The dataset generator: the same file for any rank count and parallel mode, a finished
// file is left alone, and bad settings are clear errors.
#include <gtest/gtest.h>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/solvers/classical/fv_operator.hpp"
#include "lats/solvers/classical/generator.hpp"
#include "test_support.hpp"

namespace {

using lats::solvers::GeneratorSettings;

GeneratorSettings small(const std::string& path) {
  GeneratorSettings s;
  s.equation = "advection_diffusion";  // 2D: the default mesh is a 32 x 32 periodic square
  s.output = path;
  s.trajectories = 3;
  s.snapshots = 4;
  s.finalTime = 0.05;
  s.progress = false;
  return s;
}

/// Every snapshot of every trajectory, read on all ranks and gathered by point id.
std::vector<double> everything(const std::string& path) {
  lats::meshio::DatasetReader r(MPI_COMM_SELF, path);
  const auto points = r.mesh();
  std::vector<double> out;
  for (const auto& f : r.read(*points, {})) {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), f.view());
    for (std::size_t k = 0; k < h.extent(0); ++k) out.push_back(h(k, 0));
  }
  for (std::int64_t m = 0; m < r.header().numTrajectories; ++m)
    for (double p : r.parameters(m)) out.push_back(p);
  return out;
}

TEST(Generator, SameFileForAnyRankCountAndParallelMode) {
  lats::solvers::registerFvOperators();
  const std::string dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "generator_modes");
  auto mesh = small(dir + "/mesh.h5");
  mesh.parallel = "mesh";
  auto traj = small(dir + "/traj.h5");
  traj.parallel = "trajectories";
  const auto a = lats::solvers::generateDataset(MPI_COMM_WORLD, mesh);
  const auto b = lats::solvers::generateDataset(MPI_COMM_WORLD, traj);
  EXPECT_EQ(a.generated, 3);
  EXPECT_EQ(b.generated, 3);
  if (lats::Comm().rank() == 0) {
    const auto serial = lats::solvers::generateDataset(MPI_COMM_SELF, small(dir + "/serial.h5"));
    EXPECT_EQ(serial.generated, 3);
    const auto ref = everything(dir + "/serial.h5");
    EXPECT_EQ(ref.size(), 3u * 5u * 2048u + 3u * 3u);  // fields + (velocity x, y, diffusivity) per trajectory
    EXPECT_EQ(everything(dir + "/mesh.h5"), ref);
    EXPECT_EQ(everything(dir + "/traj.h5"), ref);
  }
  // A second run finds the finished file and does nothing.
  const auto again = lats::solvers::generateDataset(MPI_COMM_WORLD, mesh);
  EXPECT_EQ(again.generated, 0);
  EXPECT_EQ(again.resumed, 3);
  // ...unless the settings differ.
  auto other = mesh;
  other.seed = 5;
  const auto m =
      lats::test::messageOf<lats::FileFormatError>([&] { lats::solvers::generateDataset(MPI_COMM_WORLD, other); });
  EXPECT_NE(m.find("exists and is a finished dataset made with other settings"), std::string::npos) << m;
}

TEST(Generator, BadSettingsAreClearErrors) {
  lats::solvers::registerFvOperators();
  const std::string dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "generator_bad");
  auto s = small(dir + "/x.h5");
  s.equation = "burger";
  auto m = lats::test::messageOf<lats::ConfigurationError>([&] { lats::solvers::generateDataset(MPI_COMM_WORLD, s); });
  EXPECT_NE(m.find("Did you mean 'burgers'?"), std::string::npos) << m;
  s = small(dir + "/x.h5");
  s.trajectories = 0;
  m = lats::test::messageOf<lats::InvalidValueError>([&] { lats::solvers::generateDataset(MPI_COMM_WORLD, s); });
  EXPECT_NE(m.find("0 trajectories; expected at least 1"), std::string::npos) << m;
  s = small(dir + "/x.h5");
  s.every = 10;
  m = lats::test::messageOf<lats::InvalidValueError>([&] { lats::solvers::generateDataset(MPI_COMM_WORLD, s); });
  EXPECT_NE(m.find("needs a fixed step"), std::string::npos) << m;
  s = small(dir + "/missing-dir/x.h5");
  m = lats::test::messageOf<lats::Error>([&] { lats::solvers::generateDataset(MPI_COMM_WORLD, s); });
  EXPECT_NE(m.find("does not exist; create it first"), std::string::npos) << m;
}

}  // namespace
