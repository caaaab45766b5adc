#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/mesh.hpp"
#include "test_support.hpp"

using lats::test::messageOf;

namespace {
// Rank r owns points (r + i/n, 2 r) for i < n: a strip per rank.
std::vector<double> strip(int rank, int n) {
  std::vector<double> xy;
  for (int i = 0; i < n; ++i) {
    xy.push_back(rank + static_cast<double>(i) / n);
    xy.push_back(2.0 * rank);
  }
  return xy;
}
}  // namespace

TEST(Mesh, BuildsFromArraysWithContiguousGlobalNumbering) {
  const lats::Comm comm;
  const int n = 5 + comm.rank();  // unequal partitions
  auto mesh = lats::MeshBuilder(MPI_COMM_WORLD, 2).name("strip").coordinates(strip(comm.rank(), n)).build();
  EXPECT_EQ(mesh->dimension(), 2);
  EXPECT_EQ(mesh->size(), n);
  EXPECT_EQ(mesh->ownedSize(), n);
  EXPECT_EQ(mesh->ghostSize(), 0);
  std::int64_t expectedGlobal = 0, expectedOffset = 0;
  for (int r = 0; r < comm.size(); ++r) {
    if (r < comm.rank()) expectedOffset += 5 + r;
    expectedGlobal += 5 + r;
  }
  EXPECT_EQ(mesh->globalSize(), expectedGlobal);
  EXPECT_EQ(mesh->globalOffset(), expectedOffset);
  auto ids = Kokkos::create_mirror_view_and_copy(lats::HostSpace(), mesh->globalIds());
  for (int i = 0; i < n; ++i) EXPECT_EQ(ids(i), expectedOffset + i);
  auto xy = Kokkos::create_mirror_view_and_copy(lats::HostSpace(), mesh->coordinates());
  EXPECT_DOUBLE_EQ(xy(1, 0), comm.rank() + 1.0 / n);
  EXPECT_DOUBLE_EQ(xy(1, 1), 2.0 * comm.rank());
  // Bounds: local strip, and the union over ranks.
  EXPECT_DOUBLE_EQ(mesh->localBounds().lower[0], comm.rank());
  EXPECT_DOUBLE_EQ(mesh->localBounds().upper[1], 2.0 * comm.rank());
  EXPECT_DOUBLE_EQ(mesh->globalBounds().lower[0], 0.0);
  EXPECT_DOUBLE_EQ(mesh->globalBounds().upper[1], 2.0 * (comm.size() - 1));
  EXPECT_FALSE(mesh->hasVolumes());
  EXPECT_FALSE(mesh->hasNeighbours());
}

TEST(Mesh, GhostsVolumesAndNeighbours) {
  // A 1D chain of 4 owned cells plus 1 ghost with explicit ids.
  const std::vector<double> x = {0.125, 0.375, 0.625, 0.875, 1.125};
  auto mesh = lats::MeshBuilder(MPI_COMM_SELF, 1)
                  .coordinates(x)
                  .ownedCount(4)
                  .globalIds({10, 11, 12, 13, 14})
                  .volumes({0.25, 0.25, 0.25, 0.25, 0.25})
                  .neighbours({0, 1, 3, 5, 7, 8}, {1, 0, 2, 1, 3, 2, 4, 3})
                  .build();
  EXPECT_EQ(mesh->ownedSize(), 4);
  EXPECT_EQ(mesh->ghostSize(), 1);
  EXPECT_EQ(mesh->globalSize(), 4);
  ASSERT_TRUE(mesh->hasVolumes());
  ASSERT_TRUE(mesh->hasNeighbours());
  auto off = Kokkos::create_mirror_view_and_copy(lats::HostSpace(), mesh->neighbourOffsets());
  auto nb = Kokkos::create_mirror_view_and_copy(lats::HostSpace(), mesh->neighbours());
  EXPECT_EQ(off(2), 3);
  EXPECT_EQ(nb(off(3) + 1), 4);  // cell 3's right neighbour is the ghost
}

TEST(Mesh, WrongCoordinateCountIsADimensionMismatch) {
  const std::vector<double> xy = {0, 0, 1, 1, 2};  // 5 values for dimension 2
  const auto msg = messageOf<lats::DimensionMismatchError>(
      [&] { lats::MeshBuilder(MPI_COMM_SELF, 2).coordinates(xy).name("m").build(); });
  EXPECT_NE(msg.find("coordinate array has 5 values, expected 2 entities x 2 dimensions = 4"), std::string::npos)
      << msg;
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([] {
              lats::MeshBuilder(MPI_COMM_SELF, 4).coordinates({}).build();
            }).find("spatial dimension must be 1, 2 or 3, got 4"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([] {
              lats::MeshBuilder(MPI_COMM_SELF, 2).build();
            }).find("no coordinates given"),
            std::string::npos);
}

TEST(Mesh, NonFiniteCoordinateOnOneRankFailsOnAllRanks) {
  const lats::Comm comm;
  auto xy = strip(comm.rank(), 4);
  if (comm.rank() == comm.size() - 1) xy[5] = std::numeric_limits<double>::quiet_NaN();  // entity 2, y
  const auto msg = messageOf<lats::InvalidValueError>(
      [&] { lats::MeshBuilder(MPI_COMM_WORLD, 2).name("cloud").coordinates(xy).build(); });
  EXPECT_NE(msg.find("mesh 'cloud': coordinate of local entity 2 is not finite"), std::string::npos) << msg;
  if (comm.size() > 1) {
    EXPECT_EQ(msg.rfind("[rank " + std::to_string(comm.size() - 1) + "]", 0), 0u) << msg;
  }
}

TEST(Mesh, BadVolumesIdsAndNeighboursAreRejected) {
  const std::vector<double> x = {0.25, 0.75};
  EXPECT_NE(messageOf<lats::InvalidValueError>([&] {
              lats::MeshBuilder(MPI_COMM_SELF, 1).coordinates(x).volumes({0.5, -0.5}).build();
            }).find("volume of local entity 1 is -0.5; volumes must be positive"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              lats::MeshBuilder(MPI_COMM_SELF, 1).coordinates(x).volumes({0.5}).build();
            }).find("1 volumes for 2 local entities"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::InvalidValueError>([&] {
              lats::MeshBuilder(MPI_COMM_SELF, 1).coordinates(x).neighbours({0, 1, 2}, {1, 5}).build();
            }).find("neighbour index 5 is outside the local entities [0, 2)"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              lats::MeshBuilder(MPI_COMM_SELF, 1).coordinates(x).ownedCount(1).build();
            }).find("ghost entities need explicit global ids"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              lats::MeshBuilder(MPI_COMM_SELF, 1).coordinates(x).ownedCount(3).build();
            }).find("owned count 3 exceeds the 2 local entities"),
            std::string::npos);
}
