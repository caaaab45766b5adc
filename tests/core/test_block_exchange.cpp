// BlockExchange: values keyed by global id move to contiguous blocks of ids and back, on one
// PetscSF, whatever the items' order and partition (1 and 2 ranks).
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "lats/core/block_exchange.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "test_support.hpp"

namespace {

// 23 ids, 2 slots each; rank r holds the ids i with i % size == r, in descending order, each
// in both slots; the value of (id, slot, k) is 1000 id + 10 slot + k.
TEST(BlockExchange, RoundTripsAnyPartitionIntoBlocksAndBack) {
  const lats::Comm world(MPI_COMM_WORLD);
  const std::int64_t n = 23, width = 3;
  std::vector<std::int64_t> ids, slots;
  for (std::int64_t i = n - 1; i >= 0; --i)
    if (i % world.size() == world.rank())
      for (std::int64_t s = 0; s < 2; ++s) {
        ids.push_back(i);
        slots.push_back(s);
      }
  const lats::BlockExchange x(MPI_COMM_WORLD, n, ids, slots, 2);
  EXPECT_EQ(x.begin(), n * world.rank() / world.size());
  EXPECT_EQ(x.end(), n * (world.rank() + 1) / world.size());
  std::vector<double> items;
  for (std::size_t k = 0; k < ids.size(); ++k)
    for (std::int64_t c = 0; c < width; ++c) items.push_back(1000.0 * ids[k] + 10.0 * slots[k] + c);
  std::vector<double> block(static_cast<std::size_t>((x.end() - x.begin()) * 2 * width), -1.0);
  x.toBlock(items.data(), width, block.data());
  for (std::int64_t p = x.begin(); p < x.end(); ++p)
    for (std::int64_t s = 0; s < 2; ++s)
      for (std::int64_t c = 0; c < width; ++c)
        EXPECT_EQ(block[static_cast<std::size_t>((((p - x.begin()) * 2 + s) * width) + c)], 1000.0 * p + 10.0 * s + c);
  const auto counts = x.counts();
  EXPECT_TRUE(std::all_of(counts.begin(), counts.end(), [](int v) { return v == 1; }));
  // And back, after a change in the block.
  for (auto& v : block) v = -v;
  std::vector<double> back(items.size(), 0.0);
  x.fromBlock(block.data(), width, back.data());
  for (std::size_t k = 0; k < items.size(); ++k) EXPECT_EQ(back[k], -items[k]);
}

TEST(BlockExchange, UncoveredRootsKeepTheirValuesAndCountZero) {
  const lats::Comm world(MPI_COMM_WORLD);
  // Only rank 0 holds an item: id 0.
  std::vector<std::int64_t> ids;
  if (world.rank() == 0) ids.push_back(0);
  const lats::BlockExchange x(MPI_COMM_WORLD, 4, ids);
  std::vector<double> items(ids.size(), 7.0), block(static_cast<std::size_t>(x.end() - x.begin()), 5.0);
  x.toBlock(items.data(), 1, block.data());
  const auto counts = x.counts();
  for (std::int64_t p = x.begin(); p < x.end(); ++p) {
    EXPECT_EQ(block[static_cast<std::size_t>(p - x.begin())], p == 0 ? 7.0 : 5.0);
    EXPECT_EQ(counts[static_cast<std::size_t>(p - x.begin())], p == 0 ? 1 : 0);
  }
}

TEST(BlockExchange, AnIdOutOfRangeIsAnErrorOnEveryRank) {
  const lats::Comm world(MPI_COMM_WORLD);
  std::vector<std::int64_t> ids = {0};
  if (world.rank() == world.size() - 1) ids.push_back(9);
  const auto m = lats::test::messageOf<lats::InvalidValueError>([&] { lats::BlockExchange(MPI_COMM_WORLD, 4, ids); });
  EXPECT_NE(m.find("item 1 has id 9 and slot 0; expected an id in [0, 4)"), std::string::npos) << m;
}

}  // namespace
