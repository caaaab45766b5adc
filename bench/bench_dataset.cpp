// Dataset I/O bandwidth: writing snapshots of a 64k-point field into an in-progress dataset,
// finishing it (deflate level 4), and reading it back, on one rank and on all ranks of the
// run, beside plain write()/read() of the same number of bytes (dd-style, 1 MiB blocks) in
// the same run. No fsync anywhere: all numbers include the page cache alike.
//   mpiexec -n 2 build/release/bench/bench_dataset [-bench_dir /tmp] [-bench_snapshots 64]
#include <fcntl.h>
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "lats/lats.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/meshio/plex_mesh.hpp"

namespace {

const lats::StringOption kDir{"bench_dir", "/tmp", "bench_dataset: directory for the files"};
const lats::IntOption kSnapshots{"bench_snapshots", 64, "bench_dataset: snapshots written (4 trajectories)"};
const lats::IntOption kCells{"bench_cells2d", 180, "bench_dataset: cells per side (2 n^2 points)"};

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Rates {
  double create = 0, write = 0, finish = 0, read = 0, mb = 0;
};

Rates measure(MPI_Comm comm, const std::string& path) {
  const lats::Comm c(comm);
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = static_cast<int>(kCells.get());
  const auto mesh = lats::meshio::PlexMesh::unitSquare(comm, spec);
  const auto& points = *mesh->mesh();
  const std::int64_t trajectories = 4, perTrajectory = kSnapshots.get() / trajectories;
  lats::meshio::DatasetHeader h;
  h.equation = "bench";
  h.components = {"u"};
  h.numTrajectories = trajectories;
  for (std::int64_t t = 0; t < perTrajectory; ++t) h.times.push_back(static_cast<double>(t));
  if (c.rank() == 0) std::remove(path.c_str());
  lats::Field f("u", points.ownedSize(), 1);
  auto xy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), points.coordinates());
  std::vector<double> base(points.ownedSize());
  for (std::int64_t k = 0; k < points.ownedSize(); ++k)
    base[k] = std::sin(6.283 * xy(k, 0)) * std::cos(6.283 * xy(k, 1));
  Rates r;
  r.mb = static_cast<double>(trajectories * perTrajectory * points.globalSize() * 8) / 1e6;
  c.barrier();
  auto t0 = std::chrono::steady_clock::now();
  {
    lats::meshio::DatasetWriter w(path, h, points);
    c.barrier();
    r.create = seconds(t0);
    t0 = std::chrono::steady_clock::now();
    for (std::int64_t m = 0; m < trajectories; ++m) {
      for (std::int64_t t = 0; t < perTrajectory; ++t) {
        auto v = f.view();  // a cheap change per snapshot: the timing is the I/O
        for (std::int64_t k = 0; k < points.ownedSize(); ++k) v(k, 0) = base[k] + static_cast<double>(t + m);
        w.writeSnapshot(m, t, points, f);
      }
      c.barrier();
      if (c.rank() == 0) w.markComplete(m);
    }
    c.barrier();
    r.write = r.mb / seconds(t0);
    t0 = std::chrono::steady_clock::now();
    w.finish(4);
    r.finish = r.mb / seconds(t0);
  }
  c.barrier();
  t0 = std::chrono::steady_clock::now();
  {
    lats::meshio::DatasetReader reader(comm, path);
    const auto fields = reader.read(points, {});
    c.barrier();
    r.read = r.mb / seconds(t0);
  }
  if (c.rank() == 0) std::remove(path.c_str());
  return r;
}

/// dd-style: the same number of bytes written and read back in 1 MiB blocks (rank 0).
std::pair<double, double> raw(const std::string& path, double mb) {
  std::vector<char> block(1 << 20, 'x');
  const auto bytes = static_cast<std::size_t>(mb * 1e6);
  auto t0 = std::chrono::steady_clock::now();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  for (std::size_t done = 0; done < bytes; done += block.size())
    if (::write(fd, block.data(), std::min(block.size(), bytes - done)) < 0) break;
  ::close(fd);
  const double w = mb / seconds(t0);
  t0 = std::chrono::steady_clock::now();
  fd = ::open(path.c_str(), O_RDONLY);
  while (::read(fd, block.data(), block.size()) > 0) {
  }
  ::close(fd);
  const double r = mb / seconds(t0);
  std::remove(path.c_str());
  return {w, r};
}

}  // namespace

int main(int argc, char** argv) {
  lats::Runtime runtime(&argc, &argv);
  const lats::Comm world(MPI_COMM_WORLD);
  const std::string dir = kDir.get();
  Rates one;
  if (world.rank() == 0) one = measure(MPI_COMM_SELF, dir + "/bench_dataset_1.h5");
  world.barrier();
  const Rates all = measure(MPI_COMM_WORLD, dir + "/bench_dataset_n.h5");
  if (world.rank() == 0) {
    const auto [rw, rr] = raw(dir + "/bench_dataset_raw.bin", one.mb);
    std::printf("%.1f MB of fields (%lld snapshots of %lld points), directory %s\n\n", one.mb,
                static_cast<long long>(kSnapshots.get()), static_cast<long long>(2 * kCells.get() * kCells.get()),
                dir.c_str());
    std::printf("| operation | 1 rank (MB/s) | %d ranks (MB/s) | raw write()/read() (MB/s) |\n|---|---|---|---|\n",
                world.size());
    std::printf("| write snapshots (in progress, uncompressed) | %.0f | %.0f | %.0f |\n", one.write, all.write, rw);
    std::printf("| create the in-progress file (s) | %.3f | %.3f | |\n", one.create, all.create);
    std::printf("| finish (deflate 4 + shuffle, rank 0) | %.0f | %.0f | |\n", one.finish, all.finish);
    std::printf("| read every snapshot (compressed) | %.0f | %.0f | %.0f |\n", one.read, all.read, rr);
  }
  return 0;
}
