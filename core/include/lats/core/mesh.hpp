#pragma once
/// \file mesh.hpp
/// The local partition of an irregular mesh or point cloud, as the fields see it.

#include <mpi.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/kokkos.hpp"

namespace lats {

/// Axis-aligned bounding box; unused dimensions are 0.
struct BoundingBox {
  std::array<double, 3> lower{0.0, 0.0, 0.0};
  std::array<double, 3> upper{0.0, 0.0, 0.0};
};

/// Immutable local partition: coordinates of the entities that carry values (cell centroids
/// for finite volumes), their global ids, how many are owned (owned entities come first,
/// ghosts after), optional volumes and optional neighbour lists (CSR). Build with MeshBuilder.
class Mesh {
 public:
  int dimension() const { return dim_; }
  /// Local entities, owned plus ghosts.
  std::int64_t size() const { return size_; }
  std::int64_t ownedSize() const { return owned_; }
  std::int64_t ghostSize() const { return size_ - owned_; }
  /// Sum of owned entities over all ranks.
  std::int64_t globalSize() const { return globalSize_; }
  /// Global id of the first owned entity when ids are contiguous per rank (the default numbering).
  std::int64_t globalOffset() const { return globalOffset_; }
  MPI_Comm comm() const { return comm_; }
  const std::string& name() const { return name_; }

  CoordView coordinates() const { return coords_; }
  IdView globalIds() const { return globalIds_; }
  bool hasVolumes() const { return hasVolumes_; }
  RealView volumes() const { return volumes_; }
  bool hasNeighbours() const { return hasNeighbours_; }
  /// Neighbours of entity i are neighbours()(neighbourOffsets()(i) .. neighbourOffsets()(i+1)-1).
  IndexView neighbourOffsets() const { return nbrOffsets_; }
  IndexView neighbours() const { return nbrs_; }

  /// Bounds of this rank's entities, and of all ranks' (computed once, at build time).
  const BoundingBox& localBounds() const { return localBounds_; }
  const BoundingBox& globalBounds() const { return globalBounds_; }

 private:
  friend class MeshBuilder;
  Mesh() = default;
  MPI_Comm comm_ = MPI_COMM_NULL;
  std::string name_;
  int dim_ = 0;
  std::int64_t size_ = 0, owned_ = 0, globalSize_ = 0, globalOffset_ = 0;
  bool hasVolumes_ = false, hasNeighbours_ = false;
  CoordView coords_;
  IdView globalIds_;
  RealView volumes_;
  IndexView nbrOffsets_, nbrs_;
  BoundingBox localBounds_, globalBounds_;
};

/// Builds a Mesh from a host code's arrays (copied: the Mesh owns its data).
///
///     auto mesh = lats::MeshBuilder(comm, 2).coordinates(xy, n).ownedCount(n).build();
class MeshBuilder {
 public:
  MeshBuilder(MPI_Comm comm, int dimension);
  MeshBuilder& name(std::string name);
  /// `n` entities, `xyz` holds n*dimension values, entity-major.
  MeshBuilder& coordinates(const double* xyz, std::int64_t n);
  MeshBuilder& coordinates(const std::vector<double>& xyz);
  /// Entities [0, owned) are owned by this rank, the rest are ghosts. Default: all owned.
  MeshBuilder& ownedCount(std::int64_t owned);
  /// Global ids of all local entities (owned then ghosts). Default: contiguous per rank.
  MeshBuilder& globalIds(std::vector<std::int64_t> ids);
  /// Cell volumes (areas in 2D, lengths in 1D), one per local entity, all positive.
  MeshBuilder& volumes(std::vector<double> volumes);
  /// Neighbour lists in CSR form: offsets has n+1 entries, indices are local entity indices.
  MeshBuilder& neighbours(std::vector<std::int64_t> offsets, std::vector<std::int64_t> indices);
  /// Validates everything and builds. Collective over the communicator: an invalid input on
  /// any rank throws the same error on every rank (DimensionMismatchError for wrong sizes,
  /// InvalidValueError for non-finite coordinates, non-positive volumes or bad indices).
  std::shared_ptr<const Mesh> build() const;

 private:
  MPI_Comm comm_;
  int dim_;
  std::string name_ = "mesh";
  std::vector<double> coords_;
  std::int64_t n_ = -1;
  std::int64_t owned_ = -1;
  std::vector<std::int64_t> ids_;
  std::vector<double> volumes_;
  std::vector<std::int64_t> offsets_, indices_;
  bool hasIds_ = false, hasVolumes_ = false, hasNeighbours_ = false, nullCoordinates_ = false;
};

}  // namespace lats
