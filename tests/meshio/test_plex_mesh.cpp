// PlexMesh: generated and gmsh meshes on DMPlex, their finite-volume geometry, ghost
// exchange through cellDM, rank-independent ids, and bad input.
#include <gtest/gtest.h>
#include <petscdmplex.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/core/petsc.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "test_support.hpp"

namespace {

using lats::meshio::BoundaryKind;
using lats::meshio::FvGeometry;
using lats::meshio::PlexMesh;

struct GeometrySums {
  double ownedVolume = 0.0;
  double boundaryMeasure = 0.0;
  double worstClosure = 0.0;     // |sum of outward normals| per complete cell
  double worstDivergence = 0.0;  // |sum (x_f - x_c) n_f^T - V I| / V per complete cell
  double worstSymmetry = 0.0;    // |delta_kj + delta_jk| and |n_kj + n_jk| over local pairs
  std::int64_t incompleteOwned = 0;
};

GeometrySums checkGeometry(const PlexMesh& mesh) {
  const FvGeometry& g = mesh.geometry();
  const int d = g.dimension;
  auto off = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.faceOffsets);
  auto nbr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.faceNeighbour);
  auto nrm = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.faceNormal);
  auto ctr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.faceCenter);
  auto dlt = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.neighbourDelta);
  auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.volumes);
  auto complete = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.complete);
  GeometrySums s;
  for (std::int64_t k = 0; k < g.numLocal; ++k) {
    if (k < g.numOwned) {
      s.ownedVolume += vol(k);
      if (!complete(k)) ++s.incompleteOwned;
    }
    if (!complete(k)) continue;
    double closure[3] = {0, 0, 0}, div[3][3] = {};
    for (std::int64_t f = off(k); f < off(k + 1); ++f) {
      for (int a = 0; a < d; ++a) {
        closure[a] += nrm(f, a);
        for (int b = 0; b < d; ++b) div[a][b] += ctr(f, a) * nrm(f, b);
      }
      if (nbr(f) == FvGeometry::kBoundary && k < g.numOwned) {
        double m = 0;
        for (int a = 0; a < d; ++a) m += nrm(f, a) * nrm(f, a);
        s.boundaryMeasure += std::sqrt(m);
      }
      const std::int64_t j = nbr(f);
      if (j < 0) continue;
      for (std::int64_t e = off(j); e < off(j + 1); ++e)
        if (nbr(e) == k)
          for (int a = 0; a < d; ++a) {
            s.worstSymmetry = std::max(s.worstSymmetry, std::abs(dlt(f, a) + dlt(e, a)));
            s.worstSymmetry = std::max(s.worstSymmetry, std::abs(nrm(f, a) + nrm(e, a)));
          }
    }
    for (int a = 0; a < d; ++a) {
      s.worstClosure = std::max(s.worstClosure, std::abs(closure[a]));
      for (int b = 0; b < d; ++b)
        s.worstDivergence = std::max(s.worstDivergence, std::abs(div[a][b] - (a == b ? vol(k) : 0.0)) / vol(k));
    }
  }
  const lats::Comm comm(mesh.comm());
  s.ownedVolume = comm.sum(s.ownedVolume);
  s.boundaryMeasure = comm.sum(s.boundaryMeasure);
  s.worstClosure = comm.max(s.worstClosure);
  s.worstDivergence = comm.max(s.worstDivergence);
  s.worstSymmetry = comm.max(s.worstSymmetry);
  s.incompleteOwned = comm.sum(s.incompleteOwned);
  return s;
}

/// Every global id 0..n-1 is owned by exactly one rank.
void expectIdsPartitionCells(const PlexMesh& mesh) {
  const auto& m = *mesh.mesh();
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), m.globalIds());
  std::vector<int> count(mesh.globalCells(), 0);
  for (std::int64_t k = 0; k < m.ownedSize(); ++k) {
    ASSERT_GE(ids(k), 0);
    ASSERT_LT(ids(k), mesh.globalCells());
    count[ids(k)] += 1;
  }
  MPI_Allreduce(MPI_IN_PLACE, count.data(), static_cast<int>(count.size()), MPI_INT, MPI_SUM, mesh.comm());
  EXPECT_EQ(std::count(count.begin(), count.end(), 1), mesh.globalCells());
}

TEST(PlexMesh, PeriodicUnitSquareGeometryIsClosedAndConsistent) {
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = 16;
  spec.jitter = 0.3;
  auto mesh = PlexMesh::unitSquare(MPI_COMM_WORLD, spec);
  EXPECT_EQ(mesh->globalCells(), 2 * 16 * 16);
  EXPECT_EQ(mesh->dimension(), 2);
  EXPECT_TRUE(mesh->isPeriodic());
  const GeometrySums s = checkGeometry(*mesh);
  EXPECT_NEAR(s.ownedVolume, 1.0, 1e-13);
  EXPECT_EQ(s.boundaryMeasure, 0.0);
  EXPECT_EQ(s.incompleteOwned, 0);
  EXPECT_LT(s.worstClosure, 1e-15);
  EXPECT_LT(s.worstDivergence, 1e-12);
  EXPECT_LT(s.worstSymmetry, 1e-15);
  EXPECT_GT(mesh->minCellSize(), 0.0);
  EXPECT_LT(mesh->minCellSize(), 1.0 / 16);
  expectIdsPartitionCells(*mesh);
  // Centroids lie inside the periodic domain.
  auto xy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh->mesh()->coordinates());
  for (std::int64_t k = 0; k < mesh->mesh()->size(); ++k)
    for (int a = 0; a < 2; ++a) {
      EXPECT_GE(xy(k, a), 0.0);
      EXPECT_LT(xy(k, a), 1.0);
    }
}

TEST(PlexMesh, WalledUnitSquareHasItsPerimeterAsBoundary) {
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = 12;
  spec.boundary = BoundaryKind::Walls;
  auto mesh = PlexMesh::unitSquare(MPI_COMM_WORLD, spec);
  const GeometrySums s = checkGeometry(*mesh);
  EXPECT_NEAR(s.ownedVolume, 1.0, 1e-13);
  EXPECT_NEAR(s.boundaryMeasure, 4.0, 1e-13);
  EXPECT_EQ(s.incompleteOwned, 0);
  EXPECT_LT(s.worstDivergence, 1e-12);
  EXPECT_FALSE(mesh->isPeriodic());
}

/// Every owned cell's area, from all ranks, sorted.
std::vector<double> allAreas(const PlexMesh& mesh) {
  const FvGeometry& g = mesh.geometry();
  auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.volumes);
  std::vector<double> mine(vol.data(), vol.data() + g.numOwned);
  const lats::Comm comm(mesh.comm());
  std::vector<int> counts(comm.size()), displs(comm.size(), 0);
  const int n = static_cast<int>(mine.size());
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, mesh.comm());
  for (int r = 1; r < comm.size(); ++r) displs[r] = displs[r - 1] + counts[r - 1];
  std::vector<double> all(displs.back() + counts.back());
  MPI_Allgatherv(mine.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, mesh.comm());
  std::sort(all.begin(), all.end());
  return all;
}

// Refinements split the triangles of the coarse irregular mesh into four at their edge
// midpoints: each coarse area reappears as 4^r cells of a 4^r-th of it, and the refined
// mesh is as closed and consistent as a generated one.
TEST(PlexMesh, RefinementsSplitEveryTriangleOfTheCoarseMeshIntoFour) {
  for (BoundaryKind boundary : {BoundaryKind::Periodic, BoundaryKind::Walls}) {
    lats::meshio::UnitSquareSpec coarse;
    coarse.cellsPerSide = 6;
    coarse.jitter = 0.3;
    coarse.boundary = boundary;
    coarse.seed = 7;
    auto fine = coarse;
    fine.cellsPerSide = 24;
    fine.refinements = 2;
    auto coarseMesh = PlexMesh::unitSquare(MPI_COMM_WORLD, coarse);
    auto fineMesh = PlexMesh::unitSquare(MPI_COMM_WORLD, fine);
    EXPECT_EQ(fineMesh->globalCells(), 2 * 24 * 24);
    EXPECT_NE(fineMesh->describe().find("refined 2x from 6x6"), std::string::npos) << fineMesh->describe();
    const auto a = allAreas(*coarseMesh), b = allAreas(*fineMesh);
    ASSERT_EQ(b.size(), 16 * a.size());
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i)
      for (std::size_t q = 0; q < 16; ++q) worst = std::max(worst, std::abs(16 * b[16 * i + q] - a[i]) / a[i]);
    EXPECT_LT(worst, 1e-12);
    const GeometrySums s = checkGeometry(*fineMesh);
    EXPECT_NEAR(s.ownedVolume, 1.0, 1e-13);
    EXPECT_NEAR(s.boundaryMeasure, boundary == BoundaryKind::Walls ? 4.0 : 0.0, 1e-13);
    EXPECT_LT(s.worstClosure, 1e-15);
    EXPECT_LT(s.worstDivergence, 1e-12);
    expectIdsPartitionCells(*fineMesh);
  }
}

TEST(PlexMesh, IrregularPeriodicInterval) {
  lats::meshio::IntervalSpec spec;
  spec.cells = 100;
  spec.length = 2.0;
  spec.irregularity = 0.3;
  auto mesh = PlexMesh::interval(MPI_COMM_WORLD, spec);
  EXPECT_EQ(mesh->dimension(), 1);
  const GeometrySums s = checkGeometry(*mesh);
  EXPECT_NEAR(s.ownedVolume, 2.0, 1e-13);
  EXPECT_LT(s.worstClosure, 1e-15);
  EXPECT_LT(s.worstDivergence, 1e-12);
  EXPECT_LT(s.worstSymmetry, 1e-14);
  // Irregular: cell lengths vary by more than 10 % of the mean.
  auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh->geometry().volumes);
  double lo = 1e9, hi = 0;
  for (std::int64_t k = 0; k < mesh->geometry().numOwned; ++k) lo = std::min(lo, vol(k)), hi = std::max(hi, vol(k));
  const lats::Comm comm(MPI_COMM_WORLD);
  EXPECT_GT(comm.max(hi) - comm.min(lo), 0.1 * 2.0 / 100);
  expectIdsPartitionCells(*mesh);
}

TEST(PlexMesh, CentroidsAndVolumesDoNotDependOnTheRankCount) {
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = 10;
  spec.seed = 7;
  auto distributed = PlexMesh::unitSquare(MPI_COMM_WORLD, spec);
  auto serial = PlexMesh::unitSquare(MPI_COMM_SELF, spec);
  const auto& d = *distributed->mesh();
  const auto& s = *serial->mesh();
  ASSERT_EQ(s.ownedSize(), 200);
  auto sIds = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.globalIds());
  auto sXy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.coordinates());
  auto sVol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.volumes());
  std::map<std::int64_t, std::int64_t> serialIndex;
  for (std::int64_t k = 0; k < s.ownedSize(); ++k) serialIndex[sIds(k)] = k;
  auto dIds = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.globalIds());
  auto dXy = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.coordinates());
  auto dVol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), d.volumes());
  for (std::int64_t k = 0; k < d.size(); ++k) {  // ghosts too
    const std::int64_t j = serialIndex.at(dIds(k));
    EXPECT_NEAR(dXy(k, 0), sXy(j, 0), 1e-15);
    EXPECT_NEAR(dXy(k, 1), sXy(j, 1), 1e-15);
    EXPECT_NEAR(dVol(k), sVol(j), 1e-17);
  }
}

TEST(PlexMesh, CellDMFillsGhostsWithTheOwnersValues) {
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = 8;
  auto mesh = PlexMesh::unitSquare(MPI_COMM_WORLD, spec);
  DM dm = mesh->cellDM(2);
  EXPECT_EQ(dm, mesh->cellDM(2));  // cached
  Vec global, local;
  LATS_PETSC_CALL(DMGetGlobalVector(dm, &global));
  LATS_PETSC_CALL(DMGetLocalVector(dm, &local));
  PetscInt n;
  LATS_PETSC_CALL(VecGetSize(global, &n));
  EXPECT_EQ(n, 2 * mesh->globalCells());
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh->mesh()->globalIds());
  PetscScalar* a;
  LATS_PETSC_CALL(VecGetArray(global, &a));
  for (std::int64_t k = 0; k < mesh->geometry().numOwned; ++k) a[2 * k] = ids(k), a[2 * k + 1] = -1.0 * ids(k);
  LATS_PETSC_CALL(VecRestoreArray(global, &a));
  LATS_PETSC_CALL(DMGlobalToLocal(dm, global, INSERT_VALUES, local));
  const PetscScalar* b;
  LATS_PETSC_CALL(VecGetArrayRead(local, &b));
  std::int64_t wrong = 0;
  for (std::int64_t k = 0; k < mesh->geometry().numLocal; ++k)
    if (b[2 * k] != ids(k) || b[2 * k + 1] != -1.0 * ids(k)) ++wrong;
  LATS_PETSC_CALL(VecRestoreArrayRead(local, &b));
  EXPECT_EQ(wrong, 0);
  LATS_PETSC_CALL(DMRestoreLocalVector(dm, &local));
  LATS_PETSC_CALL(DMRestoreGlobalVector(dm, &global));
  if (lats::Comm(MPI_COMM_WORLD).size() > 1) {
    EXPECT_GT(mesh->geometry().numLocal, mesh->geometry().numOwned);
  }
}

std::string gmshMesh(const std::string& geo, const std::string& name) {
  const std::string dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "gmsh");
  const std::string out = dir + "/" + name + ".msh";
  int status = 0;
  if (lats::Comm(MPI_COMM_WORLD).rank() == 0)
    status = lats::test::runCommand("gmsh -2 -format msh22 -v 0 '" + std::string(LATS_MESH_DIR) + "/" + geo + "' -o '" +
                                    out + "'");
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  EXPECT_EQ(status, 0);
  return out;
}

TEST(PlexMesh, GmshLShape) {
  auto mesh = PlexMesh::fromGmsh(MPI_COMM_WORLD, gmshMesh("l_shape.geo", "l_shape"));
  const GeometrySums s = checkGeometry(*mesh);
  EXPECT_NEAR(s.ownedVolume, 0.75, 1e-13);
  EXPECT_NEAR(s.boundaryMeasure, 4.0, 1e-13);
  EXPECT_LT(s.worstDivergence, 1e-12);
  EXPECT_EQ(s.incompleteOwned, 0);
  EXPECT_GT(mesh->globalCells(), 300);
  expectIdsPartitionCells(*mesh);
}

TEST(PlexMesh, GmshChannelWithCylinderKeepsPhysicalTags) {
  auto mesh = PlexMesh::fromGmsh(MPI_COMM_WORLD, gmshMesh("channel_cylinder.geo", "channel"));
  const GeometrySums s = checkGeometry(*mesh);
  const double pi = 3.14159265358979323846;
  // The cylinder is a polygon: the area is above the exact value by O(h^2).
  EXPECT_NEAR(s.ownedVolume, 2.2 * 0.41 - pi * 0.05 * 0.05, 2e-4);
  EXPECT_NEAR(s.boundaryMeasure, 2 * (2.2 + 0.41) + 2 * pi * 0.05, 1e-3);
  const auto& g = mesh->geometry();
  auto tag = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.faceTag);
  auto off = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.faceOffsets);
  auto nrm = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.faceNormal);
  double perTag[5] = {0, 0, 0, 0, 0};
  for (std::int64_t f = 0; f < off(g.numOwned); ++f)
    if (tag(f) > 0 && tag(f) < 5) perTag[tag(f)] += std::hypot(nrm(f, 0), nrm(f, 1));
  MPI_Allreduce(MPI_IN_PLACE, perTag, 5, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_NEAR(perTag[1], 0.41, 1e-12);          // inflow
  EXPECT_NEAR(perTag[2], 0.41, 1e-12);          // outflow
  EXPECT_NEAR(perTag[3], 4.4, 1e-12);           // walls
  EXPECT_NEAR(perTag[4], 2 * pi * 0.05, 1e-3);  // cylinder
}

TEST(PlexMesh, BadInputGivesClearErrors) {
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = 2;
  std::string m = lats::test::messageOf<lats::InvalidValueError>([&] { PlexMesh::unitSquare(MPI_COMM_WORLD, spec); });
  EXPECT_NE(m.find("2 cells per side; expected at least 4"), std::string::npos) << m;
  spec.cellsPerSide = 8;
  spec.jitter = 0.7;
  m = lats::test::messageOf<lats::InvalidValueError>([&] { PlexMesh::unitSquare(MPI_COMM_WORLD, spec); });
  EXPECT_NE(m.find("jitter 0.7 is outside [0, 0.4]"), std::string::npos) << m;
  spec.jitter = 0.25;
  spec.cellsPerSide = 20;
  spec.refinements = 3;  // 20 / 8 is not whole, and 2 < 4 cells before refining
  m = lats::test::messageOf<lats::InvalidValueError>([&] { PlexMesh::unitSquare(MPI_COMM_WORLD, spec); });
  EXPECT_NE(m.find("20 cells per side cannot come from 3 refinements (-lats_mesh_refinements); expected a "
                   "multiple of 2^3 = 8 with at least 4 cells per side before refining, e.g. 32"),
            std::string::npos)
      << m;
  spec.refinements = -1;
  m = lats::test::messageOf<lats::InvalidValueError>([&] { PlexMesh::unitSquare(MPI_COMM_WORLD, spec); });
  EXPECT_NE(m.find("-1 refinements; expected 0 to 29"), std::string::npos) << m;
  m = lats::test::messageOf<lats::FileFormatError>([&] { PlexMesh::fromGmsh(MPI_COMM_WORLD, "/nonexistent/x.msh"); });
  EXPECT_NE(m.find("'/nonexistent/x.msh': no such file"), std::string::npos) << m;

  const std::string dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "badmsh");
  if (lats::Comm(MPI_COMM_WORLD).rank() == 0) lats::test::runCommand("echo 'not a mesh' > '" + dir + "/bad.msh'");
  MPI_Barrier(MPI_COMM_WORLD);
  m = lats::test::messageOf<lats::FileFormatError>([&] { PlexMesh::fromGmsh(MPI_COMM_WORLD, dir + "/bad.msh"); });
  EXPECT_NE(m.find("PETSc could not read it"), std::string::npos) << m;

  lats::Options::set("mesh", "unit_sqare");
  m = lats::test::messageOf<lats::ConfigurationError>([&] { PlexMesh::fromOptions(MPI_COMM_WORLD); });
  EXPECT_NE(m.find("Did you mean 'unit_square'"), std::string::npos) << m;
  lats::Options::clear("mesh");
}

TEST(PlexMesh, FromOptions) {
  lats::Options::set("mesh", "interval");
  lats::Options::set("mesh_cells", "40");
  lats::Options::set("mesh_length", "3");
  auto mesh = PlexMesh::fromOptions(MPI_COMM_WORLD);
  EXPECT_EQ(mesh->globalCells(), 40);
  EXPECT_NEAR(checkGeometry(*mesh).ownedVolume, 3.0, 1e-13);
  EXPECT_NE(mesh->describe().find("interval 40 cells"), std::string::npos) << mesh->describe();
  for (const char* name : {"mesh", "mesh_cells", "mesh_length"}) lats::Options::clear(name);
}

}  // namespace
