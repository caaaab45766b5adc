// Trajectory datasets: round trips on any rank count and subset, resume of an in-progress
// file, and one test per kind of bad file (each message names the file, the dataset and what
// was expected).
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "test_support.hpp"

namespace {

using lats::meshio::DatasetHeader;
using lats::meshio::DatasetReader;
using lats::meshio::DatasetWriter;
using lats::meshio::PlexMesh;

std::shared_ptr<const PlexMesh> square(MPI_Comm comm, int n = 8) {
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = n;
  return PlexMesh::unitSquare(comm, spec);
}

DatasetHeader header(std::int64_t trajectories = 3) {
  DatasetHeader h;
  h.equation = "test_equation";
  h.components = {"a", "b"};
  h.parameterNames = {"p", "q"};
  h.numTrajectories = trajectories;
  h.times = {0.0, 0.5, 1.0, 1.5};
  h.seed = 42;
  h.commandLine = "test_dataset";
  h.source = "unit square";
  return h;
}

/// The value every test writes: a function of (trajectory, time, cell id, component).
double value(std::int64_t m, std::int64_t t, std::int64_t id, int c) {
  return std::sin(0.1 * static_cast<double>(id) + m) + 10.0 * t + 100.0 * c;
}

/// Writes trajectories [0, upTo) of `h` on `mesh`; finishes when `finish`.
void writeDataset(const std::string& path, const DatasetHeader& h, const PlexMesh& mesh, std::int64_t upTo,
                  bool finish) {
  DatasetWriter w(path, h, *mesh.mesh());
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh.mesh()->globalIds());
  const auto n = mesh.mesh()->ownedSize();
  for (std::int64_t m = 0; m < upTo; ++m) {
    for (std::int64_t t = 0; t < static_cast<std::int64_t>(h.times.size()); ++t) {
      lats::Field f("u", n, h.components);
      auto host = Kokkos::create_mirror_view(f.view());
      for (std::int64_t k = 0; k < n; ++k)
        for (int c = 0; c < 2; ++c) host(k, c) = value(m, t, ids(k), c);
      Kokkos::deep_copy(f.view(), host);
      w.writeSnapshot(m, t, *mesh.mesh(), f);
    }
    lats::Comm().barrier();
    if (lats::Comm().rank() == 0) {
      w.writeParameters(m, {1.0 + m, 2.0 * m});
      w.markComplete(m);
    }
  }
  if (finish) w.finish();
}

/// Largest |read - expected| over the owned entities of `points`.
double maxError(const DatasetReader& r, const lats::Mesh& points, std::int64_t m, std::int64_t t) {
  const lats::Field f = r.read(points, m, t);
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), f.view());
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), points.globalIds());
  double e = 0.0;
  for (std::int64_t k = 0; k < points.ownedSize(); ++k)
    for (int c = 0; c < 2; ++c) e = std::max(e, std::abs(host(k, c) - value(m, t, ids(k), c)));
  return lats::Comm(points.comm()).max(e);
}

TEST(Dataset, RoundTripOnAnyRankCountAndSubset) {
  const std::string dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "dataset_roundtrip");
  const std::string path = dir + "/d.h5";
  auto mesh = square(MPI_COMM_WORLD);
  writeDataset(path, header(), *mesh, 3, true);
  // Read on all ranks, on one rank, onto the generating mesh, and a subset of points.
  DatasetReader all(MPI_COMM_WORLD, path);
  EXPECT_FALSE(all.inProgress());
  EXPECT_EQ(all.numPoints(), mesh->globalCells());
  EXPECT_EQ(all.dimension(), 2);
  EXPECT_EQ(all.header().components, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(all.header().times, header().times);
  EXPECT_EQ(all.parameters(2), (std::vector<double>{3.0, 4.0}));
  const auto points = all.mesh();
  EXPECT_EQ(points->globalSize(), mesh->globalCells());
  for (std::int64_t m = 0; m < 3; ++m)
    for (std::int64_t t = 0; t < 4; ++t) EXPECT_EQ(maxError(all, *points, m, t), 0.0) << m << " " << t;
  EXPECT_EQ(maxError(all, *mesh->mesh(), 1, 3), 0.0);
  // Coordinates of the dataset's points are the mesh's centroids (same ids).
  DatasetReader one(MPI_COMM_SELF, path);
  const auto subset = lats::meshio::subsamplePoints(one.numPoints(), 20, 7);
  ASSERT_EQ(subset.size(), 20u);
  const auto sub = one.mesh(subset);
  EXPECT_EQ(sub->ownedSize(), 20);
  EXPECT_EQ(maxError(one, *sub, 2, 1), 0.0);
  const auto fields = one.read(*sub, {0, 2}, 1, 3);
  ASSERT_EQ(fields.size(), 4u);  // trajectories 0 and 2, times 1 and 2
  auto last = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), fields[3].view());
  EXPECT_EQ(last(5, 1), value(2, 2, subset[5], 1));
  // The points are stored in id order: a rank's centroids match the file's coordinates.
  auto xy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), points->coordinates());
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), points->globalIds());
  auto mxy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh->mesh()->coordinates());
  auto mids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh->mesh()->globalIds());
  std::map<std::int64_t, std::pair<double, double>> byId;
  for (std::int64_t k = 0; k < mesh->mesh()->ownedSize(); ++k) byId[mids(k)] = {mxy(k, 0), mxy(k, 1)};
  for (std::int64_t k = 0; k < points->ownedSize(); ++k)
    if (byId.count(ids(k))) {
      EXPECT_EQ(byId[ids(k)].first, xy(k, 0));
      EXPECT_EQ(byId[ids(k)].second, xy(k, 1));
    }
  // The XDMF sidecar names the file and every snapshot.
  if (lats::Comm().rank() == 0) {
    std::ifstream x(dir + "/d.xmf");
    std::string text((std::istreambuf_iterator<char>(x)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("d.h5:/fields"), std::string::npos);
    EXPECT_NE(text.find("<Time Value=\"1.5\"/>"), std::string::npos);
    EXPECT_NE(text.find("Name=\"b_2\""), std::string::npos);
  }
}

TEST(Dataset, CellsOfAPeriodicMeshStayWholeAndMatchTheirPoints) {
  const std::string dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "dataset_cells");
  const std::string path = dir + "/c.h5";
  auto mesh = square(MPI_COMM_WORLD, 6);
  {
    DatasetWriter w(path, header(1), *mesh->mesh(), &mesh->cellShapes());
    lats::Field f("u", mesh->mesh()->ownedSize(), header().components);
    for (std::int64_t t = 0; t < 4; ++t) w.writeSnapshot(0, t, *mesh->mesh(), f);
    lats::Comm().barrier();
    if (lats::Comm().rank() == 0) {
      w.writeParameters(0, {0.0, 0.0});
      w.markComplete(0);
    }
    w.finish();
  }
  DatasetReader r(MPI_COMM_WORLD, path);
  ASSERT_TRUE(r.hasCells());
  const auto cells = r.cells();
  const auto N = r.numPoints();
  ASSERT_EQ(cells.size(), N);
  // Every cell: a triangle whose shoelace centroid and area are the stored point and volume
  // (also for the cells cut by the periodic boundary: unwrapped, not stretched).
  const auto pts = r.mesh();
  auto xy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pts->coordinates());
  auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pts->volumes());
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), pts->globalIds());
  double worst = 0.0, total = 0.0;
  for (std::int64_t k = 0; k < pts->ownedSize(); ++k) {
    const auto i = ids(k);
    EXPECT_EQ(cells.types[i], 5);
    ASSERT_EQ(cells.offsets[i + 1] - cells.offsets[i], 3);
    const double* v = &cells.vertices[3 * cells.offsets[i]];
    const double area = 0.5 * ((v[3] - v[0]) * (v[7] - v[1]) - (v[6] - v[0]) * (v[4] - v[1]));
    const double cx = (v[0] + v[3] + v[6]) / 3.0, cy = (v[1] + v[4] + v[7]) / 3.0;
    worst = std::max({worst, std::abs(cx - xy(k, 0)), std::abs(cy - xy(k, 1)), std::abs(std::abs(area) - vol(k))});
    EXPECT_GT(area, 0.0) << "cell " << i << " is not counter-clockwise";
    total += std::abs(area);
  }
  EXPECT_LT(lats::Comm().max(worst), 1e-14);
  EXPECT_NEAR(lats::Comm().sum(total), 1.0, 1e-13);
  // The XDMF sidecar shows the cells with cell-centred values.
  if (lats::Comm().rank() == 0) {
    std::ifstream x(dir + "/c.xmf");
    std::string text((std::istreambuf_iterator<char>(x)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("TopologyType=\"Mixed\" NumberOfElements=\"" + std::to_string(N) + "\""), std::string::npos);
    EXPECT_NE(text.find("c.h5:/cells/vertices"), std::string::npos);
    EXPECT_NE(text.find("Center=\"Cell\""), std::string::npos);
  }
  // Bad cells: one clear error on every rank.
  lats::meshio::CellShapes wrong = mesh->cellShapes();
  wrong.types[0] = 9;  // a quadrangle with 3 vertices
  const auto m = lats::test::messageOf<lats::InvalidValueError>(
      [&] { DatasetWriter(dir + "/bad.h5", header(1), *mesh->mesh(), &wrong); });
  EXPECT_NE(m.find("invalid cells (cell 0 has type 9 and 3 vertices)"), std::string::npos) << m;
}

TEST(Dataset, InterruptedFileResumesAndKeepsCompleteTrajectories) {
  const std::string dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "dataset_resume");
  const std::string path = dir + "/d.h5";
  auto mesh = square(MPI_COMM_WORLD);
  writeDataset(path, header(), *mesh, 2, false);  // "interrupted" after 2 of 3
  {
    DatasetReader r(MPI_COMM_WORLD, path);
    EXPECT_TRUE(r.inProgress());
    EXPECT_EQ(r.complete(), (std::vector<bool>{true, true, false}));
    EXPECT_EQ(maxError(r, *r.mesh(), 1, 2), 0.0);
    auto m = lats::test::messageOf<lats::InvalidValueError>([&] { r.read(*r.mesh(), 2, 0); });
    EXPECT_NE(m.find("trajectory 2 is not complete"), std::string::npos) << m;
  }
  // Reopened on another rank count: the flags survive.
  {
    auto serial = square(MPI_COMM_SELF);
    if (lats::Comm().rank() == 0) {
      DatasetWriter w(path, header(), *serial->mesh());
      EXPECT_EQ(w.complete(), (std::vector<bool>{true, true, false}));
    }
    lats::Comm().barrier();
  }
  // A different header is refused, saying what differs.
  auto other = header();
  other.seed = 43;
  auto m = lats::test::messageOf<lats::FileFormatError>([&] { DatasetWriter w(path, other, *mesh->mesh()); });
  EXPECT_NE(m.find("exists with a different seed (file: 42, requested: 43)"), std::string::npos) << m;
  other = header(4);
  m = lats::test::messageOf<lats::FileFormatError>([&] { DatasetWriter w(path, other, *mesh->mesh()); });
  EXPECT_NE(m.find("different number of trajectories (file: 3, requested: 4)"), std::string::npos) << m;
  auto finer = square(MPI_COMM_WORLD, 9);
  m = lats::test::messageOf<lats::FileFormatError>([&] { DatasetWriter w(path, header(), *finer->mesh()); });
  EXPECT_NE(m.find("different number of points (file: 128, requested: 162)"), std::string::npos) << m;
  // finish() needs every trajectory.
  DatasetWriter w(path, header(), *mesh->mesh());
  m = lats::test::messageOf<lats::InvalidValueError>([&] { w.finish(); });
  EXPECT_NE(m.find("1 of 3 trajectories are not complete (the first is 2)"), std::string::npos) << m;
}

/// Snapshot t of a recording: value(0, t, ...) on the owned cells of `mesh`.
lats::Field recorded(const PlexMesh& mesh, std::int64_t t, double shift = 0.0) {
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh.mesh()->globalIds());
  const auto n = mesh.mesh()->ownedSize();
  lats::Field f("u", n, {"a", "b"});
  auto host = Kokkos::create_mirror_view(f.view());
  for (std::int64_t k = 0; k < n; ++k)
    for (int c = 0; c < 2; ++c) host(k, c) = value(0, t, ids(k), c) + shift;
  Kokkos::deep_copy(f.view(), host);
  return f;
}

// A recording streams snapshots of unknown number: each append is readable at once (the
// file as a killed host leaves it), the allocation grows past its first size, the same
// recording reopened continues from a recorded time (replacing what follows), other times
// and files are refused, and finish() writes the dataset of what was appended.
TEST(Dataset, RecordingIsReadableAfterEveryAppendAndContinuesWhereTheHostRestarts) {
  const std::string dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "dataset_recording");
  const std::string path = dir + "/rec.h5";
  auto mesh = square(MPI_COMM_WORLD);
  DatasetHeader h = header(1);
  h.parameterNames.clear();
  {
    lats::meshio::RecordingWriter w(path, h, *mesh->mesh(), 2);  // room for 2: grows twice below
    EXPECT_EQ(w.reopened(), 0);
    for (std::int64_t t = 0; t < 7; ++t) {
      w.append(0.25 * t, *mesh->mesh(), recorded(*mesh, t));
      DatasetReader r(MPI_COMM_WORLD, path);  // what a kill now would leave
      EXPECT_TRUE(r.inProgress());
      EXPECT_TRUE(r.recording());
      ASSERT_EQ(r.header().times.size(), static_cast<std::size_t>(t + 1));
      EXPECT_EQ(r.header().times.back(), 0.25 * t);
      EXPECT_EQ(r.complete(), std::vector<bool>{true});
      for (std::int64_t j = 0; j <= t; ++j) EXPECT_EQ(maxError(r, *r.mesh(), 0, j), 0.0) << t << " " << j;
    }
    auto m = lats::test::messageOf<lats::InvalidValueError>([&] { w.append(1.0, *mesh->mesh(), recorded(*mesh, 7)); });
    EXPECT_NE(m.find("a snapshot at t = 1 after one at t = 1.5; snapshot times must increase"), std::string::npos) << m;
  }  // "killed": never finished
  // Reopened on another rank count by a host that restarted at t = 0.5: snapshots 0, 1 stay,
  // the rest is replaced (here by other values) as the host records again.
  {
    auto serial = square(MPI_COMM_SELF);
    if (lats::Comm().rank() == 0) {
      lats::meshio::RecordingWriter w(path, h, *serial->mesh());
      EXPECT_EQ(w.reopened(), 7);
      EXPECT_EQ(w.times().size(), 7u);
      auto m =
          lats::test::messageOf<lats::InvalidValueError>([&] { w.append(0.6, *serial->mesh(), recorded(*serial, 2)); });
      EXPECT_NE(m.find("holds an interrupted recording of 7 snapshots (t = 0 .. 1.5) and the host now starts at t = "
                       "0.6, which is not one of them"),
                std::string::npos)
          << m;
      w.append(0.5, *serial->mesh(), recorded(*serial, 2, 1000.0));
      w.append(0.75, *serial->mesh(), recorded(*serial, 3, 1000.0));
      EXPECT_EQ(w.times(), (std::vector<double>{0.0, 0.25, 0.5, 0.75}));
    }
    lats::Comm().barrier();
  }
  {
    DatasetReader r(MPI_COMM_WORLD, path);
    EXPECT_EQ(r.header().times, (std::vector<double>{0.0, 0.25, 0.5, 0.75}));
    EXPECT_EQ(maxError(r, *r.mesh(), 0, 1), 0.0);
    EXPECT_NEAR(maxError(r, *r.mesh(), 0, 2), 1000.0, 1e-9);  // replaced
    EXPECT_NEAR(maxError(r, *r.mesh(), 0, 3), 1000.0, 1e-9);
  }
  // Files that are not this recording are refused, saying why.
  auto other = h;
  other.components = {"a", "c"};
  auto m = lats::test::messageOf<lats::FileFormatError>(
      [&] { lats::meshio::RecordingWriter w(path, other, *mesh->mesh()); });
  EXPECT_NE(m.find("exists with a different component list (file: [a,b], requested: [a,c])"), std::string::npos) << m;
  m = lats::test::messageOf<lats::FileFormatError>([&] { DatasetWriter w(path, header(1), *mesh->mesh()); });
  EXPECT_NE(m.find("exists and is an interrupted recording, not a generated dataset"), std::string::npos) << m;
  const std::string generated = dir + "/generated.h5";
  writeDataset(generated, header(2), *mesh, 1, false);
  m = lats::test::messageOf<lats::FileFormatError>(
      [&] { lats::meshio::RecordingWriter w(generated, h, *mesh->mesh()); });
  EXPECT_NE(m.find("exists and is an in-progress generated dataset, not a recording"), std::string::npos) << m;
  // Continued from its start and finished: the dataset of the appended snapshots.
  {
    lats::meshio::RecordingWriter w(path, h, *mesh->mesh());
    for (std::int64_t t = 0; t < 3; ++t) w.append(0.25 * t, *mesh->mesh(), recorded(*mesh, t));
    w.finish();
    EXPECT_TRUE(w.finished());
    w.finish();  // nothing more
  }
  DatasetReader r(MPI_COMM_WORLD, path);
  EXPECT_FALSE(r.inProgress());
  EXPECT_FALSE(r.recording());
  EXPECT_EQ(r.header().times, (std::vector<double>{0.0, 0.25, 0.5}));
  EXPECT_EQ(r.complete(), std::vector<bool>{true});
  for (std::int64_t t = 0; t < 3; ++t) EXPECT_EQ(maxError(r, *r.mesh(), 0, t), 0.0);
  m = lats::test::messageOf<lats::FileFormatError>([&] { lats::meshio::RecordingWriter w(path, h, *mesh->mesh()); });
  EXPECT_NE(m.find("exists and is a finished dataset; remove it or choose another output path to record again"),
            std::string::npos)
      << m;
  // One snapshot is not a dataset: finish() refuses and the in-progress file keeps it.
  const std::string single = dir + "/single.h5";
  {
    lats::meshio::RecordingWriter w(single, h, *mesh->mesh());
    w.append(0.0, *mesh->mesh(), recorded(*mesh, 0));
    m = lats::test::messageOf<lats::InvalidValueError>([&] { w.finish(); });
    EXPECT_NE(m.find("1 snapshot(s) recorded; a dataset needs at least two"), std::string::npos) << m;
  }
  EXPECT_EQ(DatasetReader(MPI_COMM_WORLD, single).header().times.size(), 1u);
  // A count beyond the allocation is a corrupt file, not a longer recording.
  if (lats::Comm().rank() == 0) {
    hid_t f = H5Fopen(single.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "/recorded", H5P_DEFAULT);
    const std::int64_t n = 65;
    H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &n);
    H5Dclose(d);
    H5Fclose(f);
  }
  lats::Comm().barrier();
  m = lats::test::messageOf<lats::FileFormatError>([&] { DatasetReader r(MPI_COMM_WORLD, single); });
  EXPECT_NE(m.find("dataset '/recorded' says 65 snapshots of 64 allocated"), std::string::npos) << m;
}

// ---- bad files: each case gets its own file (rank 0 damages a good one).

class BadDataset : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = lats::test::sharedTempDir(MPI_COMM_WORLD, "dataset_bad");
    good_ = dir_ + "/good.h5";
    writeDataset(good_, header(2), *square(MPI_COMM_WORLD), 2, true);
  }
  /// A copy of the good file changed by `edit` (HDF5 calls on rank 0).
  std::string damaged(const std::string& name, const std::function<void(hid_t)>& edit) {
    const std::string path = dir_ + "/" + name;
    if (lats::Comm().rank() == 0) {
      EXPECT_EQ(lats::test::runCommand("cp " + good_ + " " + path), 0);
      hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
      edit(f);
      H5Fclose(f);
    }
    lats::Comm().barrier();
    return path;
  }
  template <class E = lats::FileFormatError>
  std::string openError(const std::string& path) {
    return lats::test::messageOf<E>([&] {
      DatasetReader r(MPI_COMM_WORLD, path);
      r.read(*r.mesh(), 1, 3);
    });
  }
  std::string dir_, good_;
};

TEST_F(BadDataset, MissingFile) {
  const auto m = openError(dir_ + "/nothing.h5");
  EXPECT_NE(m.find("nothing.h5: no such file"), std::string::npos) << m;
}

TEST_F(BadDataset, TruncatedFile) {
  const std::string path = dir_ + "/truncated.h5";
  if (lats::Comm().rank() == 0) {
    EXPECT_EQ(lats::test::runCommand("head -c 3000 " + good_ + " > " + path), 0);
  }
  lats::Comm().barrier();
  const auto m = openError(path);
  EXPECT_NE(m.find("truncated.h5:"), std::string::npos) << m;
  EXPECT_NE(m.find("truncated or corrupt"), std::string::npos) << m;
}

TEST_F(BadDataset, NotHdf5) {
  const std::string path = dir_ + "/text.h5";
  if (lats::Comm().rank() == 0) std::ofstream(path) << "hello\n";
  lats::Comm().barrier();
  const auto m = openError(path);
  EXPECT_NE(m.find("text.h5: not an HDF5 file, or truncated or corrupt; expected a LaTS trajectory dataset"),
            std::string::npos)
      << m;
}

TEST_F(BadDataset, WrongFormatVersion) {
  const auto path = damaged("version.h5", [](hid_t f) {
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    const int v = 7;
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
  });
  const auto m = openError(path);
  EXPECT_NE(m.find("version.h5: format_version 7; this LaTS"), std::string::npos) << m;
  EXPECT_NE(m.find("reads version 1 (the file is from a newer LaTS)"), std::string::npos) << m;
}

TEST_F(BadDataset, NotALatsFile) {
  const auto path = damaged("foreign.h5", [](hid_t f) { H5Adelete(f, "lats_format"); });
  const auto m = openError(path);
  EXPECT_NE(m.find("foreign.h5: attribute 'lats_format' at '/' is missing"), std::string::npos) << m;
}

TEST_F(BadDataset, MissingDataset) {
  const auto path = damaged("missing.h5", [](hid_t f) { H5Ldelete(f, "/times", H5P_DEFAULT); });
  const auto m = openError(path);
  EXPECT_NE(m.find("missing.h5: dataset '/times' is missing"), std::string::npos) << m;
}

TEST_F(BadDataset, ShapeMismatch) {
  const auto path = damaged("shape.h5", [](hid_t f) {
    H5Ldelete(f, "/parameters", H5P_DEFAULT);
    const hsize_t dims[2] = {2, 3};
    hid_t s = H5Screate_simple(2, dims, nullptr);
    hid_t d = H5Dcreate2(f, "/parameters", H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(s);
  });
  const auto m = openError(path);
  EXPECT_NE(m.find("shape.h5: dataset '/parameters' has shape (2, 3); expected (2, 2)"), std::string::npos) << m;
}

TEST_F(BadDataset, CorruptChunk) {
  // Overwrite the middle of the file (compressed field chunks) with garbage.
  const std::string path = dir_ + "/corrupt.h5";
  if (lats::Comm().rank() == 0) {
    EXPECT_EQ(lats::test::runCommand("cp " + good_ + " " + path), 0);
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const auto size = static_cast<long>(f.tellg());
    for (long pos = size / 3; pos < 2 * size / 3; pos += 7) {
      f.seekp(pos);
      f.put(static_cast<char>(pos * 31));
    }
  }
  lats::Comm().barrier();
  const auto m = lats::test::messageOf<lats::FileFormatError>([&] {
    DatasetReader r(MPI_COMM_WORLD, path);
    const auto points = r.mesh();
    for (std::int64_t mm = 0; mm < 2; ++mm)
      for (std::int64_t t = 0; t < 4; ++t) r.read(*points, mm, t);
  });
  EXPECT_NE(m.find("corrupt.h5:"), std::string::npos) << m;
  EXPECT_NE(m.find("corrupt"), std::string::npos) << m;
}

TEST_F(BadDataset, OneFlippedByteInAnyArrayIsRefused) {
  // Every array of a finished dataset carries a Fletcher-32 checksum: one changed byte in the
  // points, volumes, times, parameters or fields is a read error naming the file, never a
  // wrong value (the uncompressed arrays used to be read as they were).
  for (const char* name : {"/points", "/cell_volumes", "/times", "/parameters", "/fields"}) {
    const std::string path = dir_ + "/flipped" + std::to_string(std::string(name).size()) + ".h5";
    if (lats::Comm().rank() == 0) {
      EXPECT_EQ(lats::test::runCommand("cp " + good_ + " " + path), 0);
      haddr_t address = 0;
      hsize_t bytes = 0;
      {
        const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        const hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
        const hid_t space = H5Dget_space(d);
        hsize_t offset[4];
        unsigned mask = 0;
        EXPECT_GE(H5Dget_chunk_info(d, space, 0, offset, &mask, &address, &bytes), 0) << name << " is not chunked";
        H5Sclose(space);
        H5Dclose(d);
        H5Fclose(file);
      }
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      const auto at = static_cast<std::streamoff>(address + bytes / 3);
      f.seekg(at);
      const char byte = static_cast<char>(f.get());
      f.seekp(at);
      f.put(static_cast<char>(byte ^ 0x04));
    }
    lats::Comm().barrier();
    const auto m = lats::test::messageOf<lats::FileFormatError>([&] {
      DatasetReader r(MPI_COMM_WORLD, path);
      const auto points = r.mesh();
      for (std::int64_t mm = 0; mm < 2; ++mm) {
        r.parameters(mm);
        for (std::int64_t t = 0; t < 4; ++t) r.read(*points, mm, t);
      }
    });
    EXPECT_NE(m.find(path + ":"), std::string::npos) << name << ": " << m;
  }
}

TEST_F(BadDataset, OutOfRangeSelections) {
  DatasetReader r(MPI_COMM_WORLD, good_);
  auto m = lats::test::messageOf<lats::InvalidValueError>([&] { r.read(*r.mesh(), 2, 0); });
  EXPECT_NE(m.find("trajectory 2 is out of range; the dataset has 2 (0..1)"), std::string::npos) << m;
  m = lats::test::messageOf<lats::InvalidValueError>([&] { r.mesh({3, 2}); });
  EXPECT_NE(m.find("point indices must be sorted and distinct"), std::string::npos) << m;
  m = lats::test::messageOf<lats::InvalidValueError>([&] { r.read(*r.mesh(), {}, 2, 9); });
  EXPECT_NE(m.find("time range [2, 9); expected 0 <= begin <= end <= 4"), std::string::npos) << m;
}

}  // namespace
