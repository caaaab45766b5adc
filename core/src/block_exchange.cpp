#include "lats/core/block_exchange.hpp"

#include <petscsf.h>

#include <map>
#include <string>

#include "lats/core/error.hpp"
#include "lats/core/petsc.hpp"

namespace lats {

struct BlockExchange::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  PetscSF sf = nullptr;
  std::int64_t numIds = 0, begin = 0, end = 0, items = 0, slotsPerId = 1;
  // Committed contiguous types of `width` doubles, made once per width: PetscSF keeps its
  // communication buffers per unit type, so a fresh type per call would rebuild them.
  mutable std::map<int, MPI_Datatype> units;
  MPI_Datatype unit(int width) const {
    if (width == 1) return MPI_DOUBLE;
    auto it = units.find(width);
    if (it != units.end()) return it->second;
    MPI_Datatype t;
    MPI_Type_contiguous(width, MPI_DOUBLE, &t);
    MPI_Type_commit(&t);
    units[width] = t;
    return t;
  }
  ~Impl() {
    if (sf) PetscSFDestroy(&sf);
    for (auto& [width, t] : units) MPI_Type_free(&t);
  }
};

std::int64_t BlockExchange::blockBegin(std::int64_t numIds, int rank, int size) { return numIds * rank / size; }

BlockExchange::BlockExchange(MPI_Comm comm, std::int64_t numIds, const std::vector<std::int64_t>& ids,
                             const std::vector<std::int64_t>& slots, std::int64_t slotsPerId)
    : impl_(std::make_unique<Impl>()) {
  auto& I = *impl_;
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  I.comm = comm;
  I.numIds = numIds;
  I.begin = blockBegin(numIds, rank, size);
  I.end = blockBegin(numIds, rank + 1, size);
  I.items = static_cast<std::int64_t>(ids.size());
  I.slotsPerId = slotsPerId;
  std::string problem;
  if (numIds < 0 || slotsPerId < 1)
    problem = "block exchange of " + std::to_string(numIds) + " ids with " + std::to_string(slotsPerId) +
              " slots each; expected >= 0 ids and >= 1 slot";
  else if (!slots.empty() && slots.size() != ids.size())
    problem = "block exchange: " + std::to_string(slots.size()) + " slots for " + std::to_string(ids.size()) + " items";
  std::vector<PetscSFNode> remote(ids.size());
  for (std::size_t k = 0; k < ids.size() && problem.empty(); ++k) {
    const std::int64_t id = ids[k], slot = slots.empty() ? 0 : slots[k];
    if (id < 0 || id >= numIds || slot < 0 || slot >= slotsPerId) {
      problem = "block exchange: item " + std::to_string(k) + " has id " + std::to_string(id) + " and slot " +
                std::to_string(slot) + "; expected an id in [0, " + std::to_string(numIds) + ") and a slot in [0, " +
                std::to_string(slotsPerId) + ")";
      break;
    }
    // The owner of id: the last rank whose block begins at or before it.
    int r = static_cast<int>(id * size / std::max<std::int64_t>(numIds, 1));
    while (r + 1 < size && blockBegin(numIds, r + 1, size) <= id) ++r;
    while (r > 0 && blockBegin(numIds, r, size) > id) --r;
    remote[k].rank = r;
    remote[k].index = static_cast<PetscInt>((id - blockBegin(numIds, r, size)) * slotsPerId + slot);
  }
  agreeOnFailure(comm, problem, ErrorKind::InvalidValue, LATS_HERE);
  LATS_PETSC_CALL(PetscSFCreate(comm, &I.sf));
  LATS_PETSC_CALL(PetscSFSetGraph(I.sf, static_cast<PetscInt>((I.end - I.begin) * slotsPerId),
                                  static_cast<PetscInt>(ids.size()), nullptr, PETSC_COPY_VALUES, remote.data(),
                                  PETSC_COPY_VALUES));
  LATS_PETSC_CALL(PetscSFSetUp(I.sf));
}

BlockExchange::~BlockExchange() = default;
BlockExchange::BlockExchange(BlockExchange&&) noexcept = default;
BlockExchange& BlockExchange::operator=(BlockExchange&&) noexcept = default;

std::int64_t BlockExchange::begin() const { return impl_->begin; }
std::int64_t BlockExchange::end() const { return impl_->end; }
std::int64_t BlockExchange::numItems() const { return impl_->items; }
std::int64_t BlockExchange::slotsPerId() const { return impl_->slotsPerId; }

void BlockExchange::toBlock(const double* items, int width, double* block) const {
  const MPI_Datatype unit = impl_->unit(width);
  LATS_PETSC_CALL(PetscSFReduceBegin(impl_->sf, unit, items, block, MPI_REPLACE));
  LATS_PETSC_CALL(PetscSFReduceEnd(impl_->sf, unit, items, block, MPI_REPLACE));
}

void BlockExchange::fromBlock(const double* block, int width, double* items) const {
  const MPI_Datatype unit = impl_->unit(width);
  LATS_PETSC_CALL(PetscSFBcastBegin(impl_->sf, unit, block, items, MPI_REPLACE));
  LATS_PETSC_CALL(PetscSFBcastEnd(impl_->sf, unit, block, items, MPI_REPLACE));
}

std::vector<int> BlockExchange::counts() const {
  const auto& I = *impl_;
  std::vector<int> ones(static_cast<std::size_t>(I.items), 1);
  std::vector<int> counts(static_cast<std::size_t>((I.end - I.begin) * I.slotsPerId), 0);
  LATS_PETSC_CALL(PetscSFReduceBegin(I.sf, MPI_INT, ones.data(), counts.data(), MPI_SUM));
  LATS_PETSC_CALL(PetscSFReduceEnd(I.sf, MPI_INT, ones.data(), counts.data(), MPI_SUM));
  return counts;
}

}  // namespace lats
