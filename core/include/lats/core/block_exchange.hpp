#pragma once
/// \file block_exchange.hpp
/// The one redistribution by global id in LaTS, on a PetscSF: values move between the items
/// a rank holds (keyed by a global id, in any order and partition) and contiguous blocks of
/// the global ids ([n r / P, n (r + 1) / P) on rank r of P), with an optional slot per item
/// (so a block can hold several values per id, e.g. one per ensemble member). The dataset
/// reader and writer (a block is the rows one rank reads or writes) and the ensemble
/// exchange (a block is the points one rank analyses, all members) use it.

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace lats {

class BlockExchange {
 public:
  /// Item k has global id ids[k] in [0, numIds) and slot slots[k] in [0, slotsPerId) (slots
  /// empty: 0); it maps to root (ids[k] - begin(owner)) * slotsPerId + slots[k] of the rank
  /// whose block holds ids[k]. InvalidValueError naming the item for an id or slot out of
  /// range, on every rank. Collective.
  BlockExchange(MPI_Comm comm, std::int64_t numIds, const std::vector<std::int64_t>& ids,
                const std::vector<std::int64_t>& slots = {}, std::int64_t slotsPerId = 1);
  ~BlockExchange();
  BlockExchange(BlockExchange&&) noexcept;
  BlockExchange& operator=(BlockExchange&&) noexcept;

  /// The first id of rank `rank`'s block among `size` ranks.
  static std::int64_t blockBegin(std::int64_t numIds, int rank, int size);
  /// This rank's block of ids: [begin(), end()).
  std::int64_t begin() const;
  std::int64_t end() const;
  std::int64_t numItems() const;
  std::int64_t slotsPerId() const;

  /// Items' values (`width` doubles each, in item order) -> this rank's block
  /// ((end() - begin()) * slotsPerId() roots of `width` doubles): a root gets the value of an
  /// item mapped to it; roots no item maps to keep theirs. Collective.
  void toBlock(const double* items, int width, double* block) const;
  /// This rank's block -> the items' values (every item gets its root's). Collective.
  void fromBlock(const double* block, int width, double* items) const;
  /// How many items map to each root of this rank's block. Collective.
  std::vector<int> counts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lats
