#pragma once
/// \file plex_mesh.hpp
/// Finite-volume meshes on PETSc DMPlex: generated irregular triangulations of the unit
/// square (periodic or walled), 1D periodic intervals, and gmsh files; partitioned by
/// PETSc's partitioner, with two layers of ghost cells, cell/face geometry for finite-volume
/// kernels, and the cell centroids as a lats::Mesh.

#include <petscdm.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "lats/core/kokkos.hpp"
#include "lats/core/mesh.hpp"
#include "lats/meshio/dataset.hpp"

namespace lats::meshio {

enum class BoundaryKind { Periodic, Walls };
const char* toString(BoundaryKind kind);

/// An irregular triangulation of [0,1]^2: an n x n grid of vertices jittered by up to
/// `jitter` times the spacing, each square split along a randomly chosen diagonal.
/// With refinements r > 0 the jitter and the diagonals are drawn on the n / 2^r grid, whose
/// triangles are then split into four at their edge midpoints r times: meshes of one seed
/// and one n / 2^r are then nested, a systematic refinement of the same irregular mesh
/// (what observed orders of convergence are measured on).
struct UnitSquareSpec {
  std::int64_t cellsPerSide = 32;  ///< n; the mesh has 2 n^2 triangles. At least 4.
  BoundaryKind boundary = BoundaryKind::Periodic;
  double jitter = 0.25;  ///< in [0, 0.4]; 0 gives a regular (still triangular) mesh
  std::uint64_t seed = 1;
  int refinements = 0;  ///< r >= 0; n must be divisible by 2^r, and n / 2^r at least 4
};

/// A periodic 1D interval [0, length) with `cells` cells; with irregularity > 0 every
/// vertex is moved by up to irregularity times the spacing.
struct IntervalSpec {
  std::int64_t cells = 256;  ///< at least 3
  double length = 1.0;
  double irregularity = 0.0;  ///< in [0, 0.4]
  std::uint64_t seed = 1;
};

/// Face-based finite-volume geometry of the local cells, in LaTS local order (owned cells
/// first, then ghosts; two ghost layers). Faces of cell i are faceOffsets(i) ..
/// faceOffsets(i+1)-1, ordered by global (rank-independent) face number, so per-cell sums
/// over faces are bit-identical for any number of ranks.
struct FvGeometry {
  static constexpr std::int64_t kBoundary = -1;  ///< faceNeighbour of a domain-boundary face
  static constexpr std::int64_t kMissing = -2;   ///< neighbour beyond the ghost layers
  int dimension = 0;
  std::int64_t numOwned = 0, numLocal = 0;
  CoordView centroids;                    ///< (numLocal x dim), inside the domain (wrapped when periodic)
  RealView volumes;                       ///< areas in 2D, lengths in 1D
  IndexView faceOffsets;                  ///< numLocal + 1
  IndexView faceNeighbour;                ///< local cell across the face, or kBoundary / kMissing
  CoordView faceNormal;                   ///< outward unit normal times the face measure (edge length; 1 in 1D)
  CoordView faceCenter;                   ///< face centroid minus cell centroid
  CoordView neighbourDelta;               ///< neighbour centroid minus cell centroid (minimum image); at a
                                          ///< boundary face, the cell's mirror image across the face
  IndexView faceTag;                      ///< 0 inside; at a boundary face its tag (gmsh physical id, else 1)
  Kokkos::View<int*, MemSpace> complete;  ///< 1 where every face neighbour is present locally
};

/// A distributed DMPlex with finite-volume geometry. Immutable after construction; shared
/// by solvers, fields and output. All factories are collective.
class PlexMesh {
 public:
  /// Generated on rank 0, then distributed. Throws InvalidValueError for n < 3 or jitter
  /// outside [0, 0.4].
  static std::shared_ptr<const PlexMesh> unitSquare(MPI_Comm comm, const UnitSquareSpec& spec);
  static std::shared_ptr<const PlexMesh> interval(MPI_Comm comm, const IntervalSpec& spec);
  /// Reads a gmsh .msh file (2D triangles or quadrilaterals) through DMPlex. Boundary faces
  /// carry their gmsh physical tag. Throws FileFormatError for a missing or unreadable file.
  static std::shared_ptr<const PlexMesh> fromGmsh(MPI_Comm comm, const std::string& path);
  /// From -lats_mesh (unit_square | interval | path to a .msh file), -lats_mesh_cells,
  /// -lats_mesh_boundary, -lats_mesh_jitter, -lats_mesh_length, -lats_mesh_seed. Without
  /// -lats_mesh: a unit square, or an interval when `defaultDimension` is 1.
  static std::shared_ptr<const PlexMesh> fromOptions(MPI_Comm comm, int defaultDimension = 2);

  ~PlexMesh();
  PlexMesh(const PlexMesh&) = delete;
  PlexMesh& operator=(const PlexMesh&) = delete;

  MPI_Comm comm() const;
  int dimension() const;
  /// The distributed plex (with its ghost layers). Owned by this object.
  DM dm() const;
  /// Cell centroids (owned then ghosts) with volumes, rank-independent global ids (the cell
  /// number of the undistributed mesh) and face neighbours.
  std::shared_ptr<const Mesh> mesh() const;
  /// The PlexMesh whose mesh() is `mesh`, while it lives (null for a mesh made otherwise):
  /// how a finite-volume stepper handed only the Mesh finds its DMPlex, as PETSc objects
  /// find their DM. Not collective.
  static std::shared_ptr<const PlexMesh> of(const Mesh& mesh);
  const FvGeometry& geometry() const;
  /// The owned cells' shapes (mesh() order), each with its own vertices, unwrapped around
  /// its centroid on periodic meshes: what a dataset stores under /cells.
  const CellShapes& cellShapes() const;
  bool isPeriodic() const;
  /// Domain period per axis (0 where not periodic).
  const std::array<double, 3>& period() const;
  /// Global number of cells.
  std::int64_t globalCells() const;
  /// Smallest cell size over all ranks (2 area / perimeter in 2D, length in 1D), for CFL limits.
  double minCellSize() const;
  /// Spectral-radius scales of the finite-volume operators, maxima over all cells:
  /// convection max_k (1/V_k) sum_f |n_f| (times a speed), diffusion max_k (1/V_k) sum_f
  /// |n_f|^2 / |d_f . n_f| (times a diffusivity). Explicit steps scale with their inverses.
  double convectionScale() const;
  double diffusionScale() const;
  /// A clone of dm() with `numComponents` values per cell laid out in LaTS local order; its
  /// global vectors hold the owned cells in that order. Cached; owned by this object.
  DM cellDM(int numComponents) const;
  /// One line: kind, size, boundary, ranks. Not collective (the per-rank sizes are
  /// gathered when the mesh is built), so it may be called on one rank alone.
  std::string describe() const;

 private:
  struct Impl;
  explicit PlexMesh(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lats::meshio
