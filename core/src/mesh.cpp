#include "lats/core/mesh.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"

namespace lats {

MeshBuilder::MeshBuilder(MPI_Comm comm, int dimension) : comm_(comm), dim_(dimension) {}

MeshBuilder& MeshBuilder::name(std::string name) {
  name_ = std::move(name);
  return *this;
}
MeshBuilder& MeshBuilder::coordinates(const double* xyz, std::int64_t n) {
  n_ = n;
  nullCoordinates_ = (xyz == nullptr && n > 0);
  if (nullCoordinates_ || n < 0 || dim_ < 1)
    coords_.clear();
  else
    coords_.assign(xyz, xyz + n * dim_);
  return *this;
}
MeshBuilder& MeshBuilder::coordinates(const std::vector<double>& xyz) {
  coords_ = xyz;
  n_ = dim_ > 0 ? static_cast<std::int64_t>(xyz.size()) / dim_ : 0;
  return *this;
}
MeshBuilder& MeshBuilder::ownedCount(std::int64_t owned) {
  owned_ = owned;
  return *this;
}
MeshBuilder& MeshBuilder::globalIds(std::vector<std::int64_t> ids) {
  ids_ = std::move(ids);
  hasIds_ = true;
  return *this;
}
MeshBuilder& MeshBuilder::volumes(std::vector<double> volumes) {
  volumes_ = std::move(volumes);
  hasVolumes_ = true;
  return *this;
}
MeshBuilder& MeshBuilder::neighbours(std::vector<std::int64_t> offsets, std::vector<std::int64_t> indices) {
  offsets_ = std::move(offsets);
  indices_ = std::move(indices);
  hasNeighbours_ = true;
  return *this;
}

namespace {
template <class V, class T>
V toView(const std::string& label, const std::vector<T>& data) {
  V view(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), data.size());
  auto host = Kokkos::create_mirror_view(view);
  for (std::size_t i = 0; i < data.size(); ++i) host(i) = data[i];
  Kokkos::deep_copy(view, host);
  return view;
}
}  // namespace

std::shared_ptr<const Mesh> MeshBuilder::build() const {
  const Comm comm(comm_);
  // Collective checks: every rank learns about a failure on any rank.
  LATS_CHECK_COLLECTIVE(comm_, dim_ >= 1 && dim_ <= 3, ErrorKind::DimensionMismatch,
                        "mesh '" << name_ << "': spatial dimension must be 1, 2 or 3, got " << dim_);
  LATS_CHECK_COLLECTIVE(comm_, n_ >= 0 && !nullCoordinates_, ErrorKind::DimensionMismatch,
                        "mesh '" << name_ << "': no coordinates given (" << (nullCoordinates_ ? "null pointer" : "none")
                                 << "); call MeshBuilder::coordinates() with n >= 0 entities first");
  LATS_CHECK_COLLECTIVE(comm_, static_cast<std::int64_t>(coords_.size()) == n_ * dim_, ErrorKind::DimensionMismatch,
                        "mesh '" << name_ << "': coordinate array has " << coords_.size() << " values, expected " << n_
                                 << " entities x " << dim_ << " dimensions = " << n_ * dim_
                                 << "; pass entity-major coordinates (x0,y0,x1,y1,...)");
  const std::int64_t owned = owned_ < 0 ? n_ : owned_;
  LATS_CHECK_COLLECTIVE(comm_, owned <= n_, ErrorKind::DimensionMismatch,
                        "mesh '" << name_ << "': owned count " << owned << " exceeds the " << n_
                                 << " local entities; owned entities come first, then ghosts");
  std::int64_t bad = -1;
  for (std::int64_t i = 0; i < n_ * dim_ && bad < 0; ++i)
    if (!std::isfinite(coords_[i])) bad = i / dim_;
  LATS_CHECK_COLLECTIVE(comm_, bad < 0, ErrorKind::InvalidValue,
                        "mesh '" << name_ << "': coordinate of local entity " << bad << " is not finite (NaN or Inf)");

  auto mesh = std::shared_ptr<Mesh>(new Mesh());
  mesh->comm_ = comm_;
  mesh->name_ = name_;
  mesh->dim_ = dim_;
  mesh->size_ = n_;
  mesh->owned_ = owned;

  // Global numbering: contiguous by rank, unless ids were given.
  std::int64_t offset = 0;
  MPI_Exscan(&owned, &offset, 1, MPI_INT64_T, MPI_SUM, comm_);
  if (comm.rank() == 0) offset = 0;
  mesh->globalOffset_ = offset;
  mesh->globalSize_ = comm.sum(owned);

  std::vector<std::int64_t> ids = ids_;
  if (hasIds_) {
    LATS_CHECK_COLLECTIVE(comm_, static_cast<std::int64_t>(ids.size()) == n_, ErrorKind::DimensionMismatch,
                          "mesh '" << name_ << "': " << ids.size() << " global ids for " << n_ << " local entities");
    std::int64_t badId = -1;
    for (std::int64_t i = 0; i < n_ && badId < 0; ++i)
      if (ids[i] < 0) badId = i;
    LATS_CHECK_COLLECTIVE(comm_, badId < 0, ErrorKind::InvalidValue,
                          "mesh '" << name_ << "': global id of local entity " << badId << " is negative");
  } else {
    LATS_CHECK_COLLECTIVE(comm_, owned == n_, ErrorKind::DimensionMismatch,
                          "mesh '" << name_ << "': ghost entities need explicit global ids (MeshBuilder::globalIds)");
    ids.resize(n_);
    for (std::int64_t i = 0; i < n_; ++i) ids[i] = offset + i;
  }

  if (hasVolumes_) {
    LATS_CHECK_COLLECTIVE(comm_, static_cast<std::int64_t>(volumes_.size()) == n_, ErrorKind::DimensionMismatch,
                          "mesh '" << name_ << "': " << volumes_.size() << " volumes for " << n_ << " local entities");
    std::int64_t badVol = -1;
    for (std::int64_t i = 0; i < n_ && badVol < 0; ++i)
      if (!(volumes_[i] > 0.0) || !std::isfinite(volumes_[i])) badVol = i;
    LATS_CHECK_COLLECTIVE(comm_, badVol < 0, ErrorKind::InvalidValue,
                          "mesh '" << name_ << "': volume of local entity " << badVol << " is "
                                   << (badVol >= 0 ? volumes_[badVol] : 0.0)
                                   << "; volumes must be positive and finite");
    mesh->volumes_ = toView<RealView>("lats::Mesh::volumes", volumes_);
    mesh->hasVolumes_ = true;
  }

  if (hasNeighbours_) {
    const bool offsetsOk = static_cast<std::int64_t>(offsets_.size()) == n_ + 1 && offsets_.front() == 0 &&
                           offsets_.back() == static_cast<std::int64_t>(indices_.size()) &&
                           std::is_sorted(offsets_.begin(), offsets_.end());
    LATS_CHECK_COLLECTIVE(comm_, offsetsOk, ErrorKind::DimensionMismatch,
                          "mesh '" << name_ << "': neighbour offsets must have n+1 = " << n_ + 1
                                   << " non-decreasing entries from 0 to the number of indices (" << indices_.size()
                                   << "), got " << offsets_.size() << " entries");
    std::int64_t badNbr = -1;
    for (std::size_t k = 0; k < indices_.size() && badNbr < 0; ++k)
      if (indices_[k] < 0 || indices_[k] >= n_) badNbr = static_cast<std::int64_t>(k);
    LATS_CHECK_COLLECTIVE(comm_, badNbr < 0, ErrorKind::InvalidValue,
                          "mesh '" << name_ << "': neighbour index " << (badNbr >= 0 ? indices_[badNbr] : 0)
                                   << " is outside the local entities [0, " << n_ << ")");
    mesh->nbrOffsets_ = toView<IndexView>("lats::Mesh::neighbourOffsets", offsets_);
    mesh->nbrs_ = toView<IndexView>("lats::Mesh::neighbours", indices_);
    mesh->hasNeighbours_ = true;
  }

  mesh->coords_ = CoordView(Kokkos::view_alloc(Kokkos::WithoutInitializing, "lats::Mesh::coordinates"), n_, dim_);
  auto hostCoords = Kokkos::create_mirror_view(mesh->coords_);
  for (std::int64_t i = 0; i < n_; ++i)
    for (int d = 0; d < dim_; ++d) hostCoords(i, d) = coords_[i * dim_ + d];
  Kokkos::deep_copy(mesh->coords_, hostCoords);
  mesh->globalIds_ = toView<IdView>("lats::Mesh::globalIds", ids);

  // Bounds: local from this rank's entities, global by reduction. Empty partitions do not count.
  BoundingBox local;
  for (int d = 0; d < dim_; ++d) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::int64_t i = 0; i < n_; ++i) {
      lo = std::min(lo, coords_[i * dim_ + d]);
      hi = std::max(hi, coords_[i * dim_ + d]);
    }
    const double glo = comm.min(lo), ghi = comm.max(hi);
    local.lower[d] = n_ > 0 ? lo : 0.0;
    local.upper[d] = n_ > 0 ? hi : 0.0;
    mesh->globalBounds_.lower[d] = std::isfinite(glo) ? glo : 0.0;
    mesh->globalBounds_.upper[d] = std::isfinite(ghi) ? ghi : 0.0;
  }
  mesh->localBounds_ = local;
  return mesh;
}

}  // namespace lats
