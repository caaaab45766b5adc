#include "lats/meshio/plex_mesh.hpp"

#include <petscdmplex.h>
#include <petscsf.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/core/petsc.hpp"
#include "lats/core/random.hpp"
#include "lats/core/strings.hpp"

namespace lats::meshio {

namespace {

const StringOption kMeshOption{"mesh", "unit_square",
                               "mesh: unit_square, interval (1D periodic), or the path of a gmsh .msh file (unset: "
                               "unit_square, or interval where the equation is 1D only)"};
const IntOption kMeshCells{"mesh_cells", 32, "cells per side of a generated unit square, or cells of an interval"};
const EnumOption kMeshBoundary{
    "mesh_boundary", "periodic", {"periodic", "walls"}, "boundary of a generated unit square"};
const RealOption kMeshJitter{"mesh_jitter", 0.25,
                             "vertex displacement of generated meshes as a fraction of the spacing (0: regular)"};
const RealOption kMeshLength{"mesh_length", 1.0, "length of a generated interval"};
const IntOption kMeshSeed{"mesh_seed", 1, "seed of generated meshes"};
const IntOption kMeshRefinements{"mesh_refinements", 0,
                                 "a generated unit square is jittered on a grid this many times coarser (by 2) "
                                 "and refined uniformly, each triangle split into four (nested meshes)"};

constexpr const char* kBoundaryLabel = "lats_boundary";

/// A serial cell list, as DMPlexCreateFromCellListPetsc takes it (only rank 0's is used).
struct CellList {
  int dim = 0;
  PetscInt numCells = 0, numVertices = 0, numCorners = 0;
  std::vector<PetscInt> cells;
  std::vector<PetscReal> coords;
};

double wrap(double x, double period) { return period > 0 ? x - period * std::floor(x / period) : x; }
double minimumImage(double d, double period) { return period > 0 ? d - period * std::round(d / period) : d; }

CellList unitSquareCells(const UnitSquareSpec& spec) {
  const std::int64_t n = spec.cellsPerSide;
  const std::int64_t n0 = n >> spec.refinements;  // the grid the jitter and diagonals are drawn on
  const bool periodic = spec.boundary == BoundaryKind::Periodic;
  SplitMix64 rng(spec.seed, 0x5155u);
  // The base grid's vertices, unwrapped, (n0 + 1)^2 (periodic: the last row and column are
  // the first ones shifted by 1), then its diagonals (0: a-c, 1: b-d), in the order of draws
  // of the unrefined generator (refinements 0 gives the same mesh as before they existed).
  std::int64_t m = n0;
  std::vector<std::array<double, 2>> x(static_cast<std::size_t>((m + 1) * (m + 1)));
  auto at = [&](std::int64_t i, std::int64_t j) -> std::array<double, 2>& { return x[j * (m + 1) + i]; };
  {
    const std::int64_t nv1 = periodic ? n0 : n0 + 1;
    const double h = 1.0 / static_cast<double>(n0);
    for (std::int64_t j = 0; j < nv1; ++j)
      for (std::int64_t i = 0; i < nv1; ++i) {
        double dx = rng.uniform(-1.0, 1.0) * spec.jitter * h;
        double dy = rng.uniform(-1.0, 1.0) * spec.jitter * h;
        if (!periodic && (i == 0 || i == n0)) dx = 0.0;
        if (!periodic && (j == 0 || j == n0)) dy = 0.0;
        at(i, j) = {i * h + dx, j * h + dy};
      }
    if (periodic)
      for (std::int64_t j = 0; j <= n0; ++j)
        for (std::int64_t i = 0; i <= n0; ++i)
          if (i == n0 || j == n0) {
            const auto& p = at(i % n0, j % n0);
            at(i, j) = {p[0] + (i == n0 ? 1.0 : 0.0), p[1] + (j == n0 ? 1.0 : 0.0)};
          }
  }
  std::vector<int> diagonal(static_cast<std::size_t>(n0 * n0));
  for (auto& d : diagonal) d = static_cast<int>(rng.below(2));
  // Each refinement splits every triangle into four at its edge midpoints: the grid doubles,
  // new vertices sit at the midpoints of grid edges and of the square's diagonal, and the
  // four sub-squares keep the diagonal's direction.
  for (int r = 0; r < spec.refinements; ++r) {
    const std::int64_t m2 = 2 * m;
    std::vector<std::array<double, 2>> y(static_cast<std::size_t>((m2 + 1) * (m2 + 1)));
    auto mid = [](const std::array<double, 2>& a, const std::array<double, 2>& b) {
      return std::array<double, 2>{0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1])};
    };
    for (std::int64_t J = 0; J <= m2; ++J)
      for (std::int64_t I = 0; I <= m2; ++I) {
        const std::int64_t i = I / 2, j = J / 2;
        std::array<double, 2> p;
        if (I % 2 == 0 && J % 2 == 0) {
          p = at(i, j);
        } else if (I % 2 == 1 && J % 2 == 0) {
          p = mid(at(i, j), at(i + 1, j));
        } else if (I % 2 == 0) {
          p = mid(at(i, j), at(i, j + 1));
        } else {
          const int d = diagonal[(j >> r) * n0 + (i >> r)];  // square (i, j) lies in base square (i, j) / 2^r
          p = d == 0 ? mid(at(i, j), at(i + 1, j + 1)) : mid(at(i + 1, j), at(i, j + 1));
        }
        y[J * (m2 + 1) + I] = p;
      }
    x = std::move(y);
    m = m2;
  }
  const std::int64_t nv1 = periodic ? n : n + 1;  // vertices per side
  CellList list;
  list.dim = 2;
  list.numVertices = static_cast<PetscInt>(nv1 * nv1);
  list.numCells = static_cast<PetscInt>(2 * n * n);
  list.numCorners = 3;
  list.coords.resize(2 * list.numVertices);
  for (std::int64_t j = 0; j < nv1; ++j)
    for (std::int64_t i = 0; i < nv1; ++i) {
      const std::int64_t v = j * nv1 + i;
      list.coords[2 * v] = periodic ? wrap(at(i, j)[0], 1.0) : at(i, j)[0];
      list.coords[2 * v + 1] = periodic ? wrap(at(i, j)[1], 1.0) : at(i, j)[1];
    }
  auto vid = [&](std::int64_t i, std::int64_t j) { return static_cast<PetscInt>((j % nv1) * nv1 + (i % nv1)); };
  list.cells.reserve(3 * list.numCells);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t i = 0; i < n; ++i) {
      const PetscInt a = vid(i, j), b = vid(i + 1, j), c = vid(i + 1, j + 1), d = vid(i, j + 1);
      if (diagonal[(j >> spec.refinements) * n0 + (i >> spec.refinements)] == 0)
        list.cells.insert(list.cells.end(), {a, b, c, a, c, d});
      else
        list.cells.insert(list.cells.end(), {a, b, d, b, c, d});
    }
  return list;
}

CellList intervalCells(const IntervalSpec& spec) {
  const std::int64_t n = spec.cells;
  const double h = spec.length / static_cast<double>(n);
  SplitMix64 rng(spec.seed, 0x1D1Du);
  CellList list;
  list.dim = 1;
  list.numVertices = static_cast<PetscInt>(n);
  list.numCells = static_cast<PetscInt>(n);
  list.numCorners = 2;
  list.coords.resize(n);
  for (std::int64_t i = 0; i < n; ++i)
    list.coords[i] = wrap(i * h + rng.uniform(-1.0, 1.0) * spec.irregularity * h, spec.length);
  list.cells.resize(2 * n);
  for (std::int64_t i = 0; i < n; ++i) {
    list.cells[2 * i] = static_cast<PetscInt>(i);
    list.cells[2 * i + 1] = static_cast<PetscInt>((i + 1) % n);
  }
  return list;
}

/// Marks the boundary faces of a serial plex with their tag (gmsh "Face Sets" value, else 1).
void labelBoundary(DM dm) {
  LATS_PETSC_CALL(DMCreateLabel(dm, kBoundaryLabel));
  DMLabel boundary = nullptr, faceSets = nullptr;
  LATS_PETSC_CALL(DMGetLabel(dm, kBoundaryLabel, &boundary));
  LATS_PETSC_CALL(DMGetLabel(dm, "Face Sets", &faceSets));
  PetscInt fStart, fEnd;
  LATS_PETSC_CALL(DMPlexGetHeightStratum(dm, 1, &fStart, &fEnd));
  for (PetscInt f = fStart; f < fEnd; ++f) {
    PetscInt supportSize;
    LATS_PETSC_CALL(DMPlexGetSupportSize(dm, f, &supportSize));
    if (supportSize != 1) continue;
    PetscInt tag = -1;
    if (faceSets) LATS_PETSC_CALL(DMLabelGetValue(faceSets, f, &tag));
    LATS_PETSC_CALL(DMLabelSetValue(boundary, f, tag > 0 ? tag : 1));
  }
}

/// Rank-independent point numbers: a point's number in the undistributed plex, carried
/// through a distribution SF.
std::vector<PetscInt> carryIds(PetscSF sf, DM target, const std::vector<PetscInt>& rootIds) {
  PetscInt pStart, pEnd;
  LATS_PETSC_CALL(DMPlexGetChart(target, &pStart, &pEnd));
  std::vector<PetscInt> leafIds(static_cast<std::size_t>(pEnd - pStart), -1);
  LATS_PETSC_CALL(PetscSFBcastBegin(sf, MPIU_INT, rootIds.data(), leafIds.data(), MPI_REPLACE));
  LATS_PETSC_CALL(PetscSFBcastEnd(sf, MPIU_INT, rootIds.data(), leafIds.data(), MPI_REPLACE));
  return leafIds;
}

}  // namespace

const char* toString(BoundaryKind kind) { return kind == BoundaryKind::Periodic ? "periodic" : "walls"; }

struct PlexMesh::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  DM dm = nullptr;
  int dim = 0;
  std::string kind;
  bool periodic = false;
  std::array<double, 3> period{0.0, 0.0, 0.0};
  std::int64_t globalCells = 0;
  std::int64_t minOwned = 0, maxOwned = 0;  // owned cells per rank, for describe()
  double minCellSize = 0.0;
  double convectionScale = 0.0, diffusionScale = 0.0;
  std::vector<PetscInt> localCells;  // plex cell of each LaTS local index
  FvGeometry geometry;
  CellShapes cells;  // owned cells
  std::shared_ptr<const Mesh> mesh;
  mutable std::map<int, DM> cellDMs;

  ~Impl() {
    for (auto& [n, cdm] : cellDMs) DMDestroy(&cdm);
    if (dm) DMDestroy(&dm);
  }

  /// Distributes the serial plex `serial` (all cells on rank 0) with two ghost layers and
  /// computes the geometry. Takes ownership of `serial`.
  void build(DM serial);
  void computeGeometry(const std::vector<PetscInt>& ids);
};

void PlexMesh::Impl::build(DM serial) {
  dm = serial;
  LATS_PETSC_CALL(DMGetDimension(dm, &dim));
  labelBoundary(dm);
  LATS_PETSC_CALL(DMSetBasicAdjacency(dm, PETSC_TRUE, PETSC_FALSE));  // finite-volume adjacency
  PetscInt pStart, pEnd;
  LATS_PETSC_CALL(DMPlexGetChart(dm, &pStart, &pEnd));
  std::vector<PetscInt> ids(static_cast<std::size_t>(pEnd - pStart));
  for (PetscInt p = pStart; p < pEnd; ++p) ids[p - pStart] = p;

  PetscPartitioner partitioner;
  LATS_PETSC_CALL(DMPlexGetPartitioner(dm, &partitioner));
  LATS_PETSC_CALL(PetscPartitionerSetFromOptions(partitioner));
  DM distributed = nullptr;
  PetscSF sf = nullptr;
  LATS_PETSC_CALL(DMPlexDistribute(dm, 0, &sf, &distributed));
  if (distributed) {
    ids = carryIds(sf, distributed, ids);
    LATS_PETSC_CALL(PetscSFDestroy(&sf));
    LATS_PETSC_CALL(DMDestroy(&dm));
    dm = distributed;
  }
  DM overlapped = nullptr;
  LATS_PETSC_CALL(DMPlexDistributeOverlap(dm, 2, &sf, &overlapped));
  if (overlapped) {
    ids = carryIds(sf, overlapped, ids);
    LATS_PETSC_CALL(PetscSFDestroy(&sf));
    LATS_PETSC_CALL(DMDestroy(&dm));
    dm = overlapped;
  }
  computeGeometry(ids);
}

void PlexMesh::Impl::computeGeometry(const std::vector<PetscInt>& ids) {
  const Comm c(comm);
  PetscInt cStart, cEnd, vStart, vEnd;
  LATS_PETSC_CALL(DMPlexGetHeightStratum(dm, 0, &cStart, &cEnd));
  LATS_PETSC_CALL(DMPlexGetDepthStratum(dm, 0, &vStart, &vEnd));
  const PetscInt numCells = cEnd - cStart;

  // Ownership from the point SF: its leaves are points owned by another rank.
  std::vector<char> ghost(static_cast<std::size_t>(numCells), 0);
  PetscSF pointSF;
  LATS_PETSC_CALL(DMGetPointSF(dm, &pointSF));
  PetscInt nRoots, nLeaves;
  const PetscInt* leaves;
  const PetscSFNode* remote;
  LATS_PETSC_CALL(PetscSFGetGraph(pointSF, &nRoots, &nLeaves, &leaves, &remote));
  if (nRoots >= 0)
    for (PetscInt l = 0; l < nLeaves; ++l) {
      const PetscInt p = leaves ? leaves[l] : l;
      if (p >= cStart && p < cEnd) ghost[p - cStart] = 1;
    }
  localCells.clear();
  for (PetscInt cell = cStart; cell < cEnd; ++cell)
    if (!ghost[cell - cStart]) localCells.push_back(cell);
  const auto numOwned = static_cast<std::int64_t>(localCells.size());
  for (PetscInt cell = cStart; cell < cEnd; ++cell)
    if (ghost[cell - cStart]) localCells.push_back(cell);
  std::vector<std::int64_t> localIndex(static_cast<std::size_t>(numCells));
  for (std::size_t k = 0; k < localCells.size(); ++k) localIndex[localCells[k] - cStart] = static_cast<std::int64_t>(k);

  // Vertex coordinates.
  Vec coordVec;
  PetscSection coordSection;
  PetscInt coordDim;
  LATS_PETSC_CALL(DMGetCoordinatesLocal(dm, &coordVec));
  LATS_PETSC_CALL(DMGetCoordinateSection(dm, &coordSection));
  LATS_PETSC_CALL(DMGetCoordinateDim(dm, &coordDim));
  const PetscScalar* coordArray;
  LATS_PETSC_CALL(VecGetArrayRead(coordVec, &coordArray));
  auto vertex = [&](PetscInt v, int axis) {
    PetscInt off;
    LATS_PETSC_CALL(PetscSectionGetOffset(coordSection, v, &off));
    return static_cast<double>(coordArray[off + axis]);
  };
  DMLabel boundary;
  LATS_PETSC_CALL(DMGetLabel(dm, kBoundaryLabel, &boundary));

  // Cell vertices in cyclic order, unwrapped relative to the first.
  auto cellVertices = [&](PetscInt cell, std::vector<std::array<double, 3>>& xs, std::vector<PetscInt>& vs) {
    PetscInt closureSize;
    PetscInt* closure = nullptr;
    LATS_PETSC_CALL(DMPlexGetTransitiveClosure(dm, cell, PETSC_TRUE, &closureSize, &closure));
    vs.clear();
    for (PetscInt i = 0; i < closureSize; ++i)
      if (closure[2 * i] >= vStart && closure[2 * i] < vEnd) vs.push_back(closure[2 * i]);
    LATS_PETSC_CALL(DMPlexRestoreTransitiveClosure(dm, cell, PETSC_TRUE, &closureSize, &closure));
    xs.assign(vs.size(), {0.0, 0.0, 0.0});
    for (std::size_t i = 0; i < vs.size(); ++i)
      for (int a = 0; a < dim; ++a) {
        const double x = vertex(vs[i], a);
        xs[i][a] = i == 0 ? x : xs[0][a] + minimumImage(x - xs[0][a], period[a]);
      }
  };

  // Pass 1: centroids (in the frame of the cell's first vertex) and volumes.
  const auto nLocal = static_cast<std::int64_t>(numCells);
  std::vector<std::array<double, 3>> centroid(nLocal), origin(nLocal);
  std::vector<double> volume(nLocal);
  std::vector<std::array<double, 3>> xs;
  std::vector<PetscInt> vs;
  for (std::int64_t k = 0; k < nLocal; ++k) {
    cellVertices(localCells[k], xs, vs);
    origin[k] = xs[0];
    std::array<double, 3> ctr{0.0, 0.0, 0.0};
    double vol = 0.0;
    if (dim == 1) {
      vol = std::abs(xs[1][0] - xs[0][0]);
      ctr[0] = 0.5 * (xs[0][0] + xs[1][0]);
    } else {
      double area2 = 0.0;
      for (std::size_t i = 0; i < xs.size(); ++i) {
        const auto& p = xs[i];
        const auto& q = xs[(i + 1) % xs.size()];
        const double cross = p[0] * q[1] - q[0] * p[1];
        area2 += cross;
        ctr[0] += (p[0] + q[0]) * cross;
        ctr[1] += (p[1] + q[1]) * cross;
      }
      ctr[0] /= 3.0 * area2;
      ctr[1] /= 3.0 * area2;
      vol = 0.5 * std::abs(area2);
    }
    centroid[k] = ctr;
    volume[k] = vol;
    if (k < numOwned) {  // the shape, moved with the centroid into the domain
      cells.types.push_back(dim == 1 ? 3 : xs.size() == 3 ? 5 : xs.size() == 4 ? 9 : 7);
      if (cells.offsets.empty()) cells.offsets.push_back(0);
      cells.offsets.push_back(cells.offsets.back() + static_cast<std::int64_t>(xs.size()));
      for (const auto& x : xs)
        for (int a = 0; a < 3; ++a) cells.vertices.push_back(a < dim ? x[a] + wrap(ctr[a], period[a]) - ctr[a] : 0.0);
    }
  }
  if (cells.offsets.empty()) cells.offsets.push_back(0);

  // Pass 2: faces, sorted per cell by rank-independent face number.
  struct Face {
    PetscInt id;
    std::int64_t neighbour, tag;
    std::array<double, 3> normal, center, delta;
  };
  std::vector<std::int64_t> offsets(nLocal + 1, 0);
  std::vector<Face> faces;
  std::vector<Face> cellFaces;
  std::vector<int> complete(nLocal, 1);
  double localMinSize = std::numeric_limits<double>::infinity();
  double localConvection = 0.0, localDiffusion = 0.0;
  for (std::int64_t k = 0; k < nLocal; ++k) {
    const PetscInt cell = localCells[k];
    const PetscInt* cone;
    PetscInt coneSize;
    LATS_PETSC_CALL(DMPlexGetConeSize(dm, cell, &coneSize));
    LATS_PETSC_CALL(DMPlexGetCone(dm, cell, &cone));
    cellFaces.clear();
    double perimeter = 0.0;
    for (PetscInt i = 0; i < coneSize; ++i) {
      const PetscInt f = cone[i];
      Face face{ids[f], FvGeometry::kMissing, 0, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
      std::array<double, 3> fc{0.0, 0.0, 0.0};
      if (dim == 1) {
        fc[0] = origin[k][0] + minimumImage(vertex(f, 0) - origin[k][0], period[0]);
        face.normal[0] = fc[0] > centroid[k][0] ? 1.0 : -1.0;
      } else {
        const PetscInt* fv;
        LATS_PETSC_CALL(DMPlexGetCone(dm, f, &fv));
        std::array<double, 3> a{}, b{};
        for (int ax = 0; ax < 2; ++ax) {
          a[ax] = origin[k][ax] + minimumImage(vertex(fv[0], ax) - origin[k][ax], period[ax]);
          b[ax] = origin[k][ax] + minimumImage(vertex(fv[1], ax) - origin[k][ax], period[ax]);
          fc[ax] = 0.5 * (a[ax] + b[ax]);
        }
        face.normal = {b[1] - a[1], a[0] - b[0], 0.0};
        const double dot = (fc[0] - centroid[k][0]) * face.normal[0] + (fc[1] - centroid[k][1]) * face.normal[1];
        if (dot < 0) face.normal = {-face.normal[0], -face.normal[1], 0.0};
        perimeter += std::hypot(face.normal[0], face.normal[1]);
      }
      for (int ax = 0; ax < dim; ++ax) face.center[ax] = fc[ax] - centroid[k][ax];

      PetscInt supportSize;
      const PetscInt* support;
      LATS_PETSC_CALL(DMPlexGetSupportSize(dm, f, &supportSize));
      LATS_PETSC_CALL(DMPlexGetSupport(dm, f, &support));
      if (supportSize == 2) {
        const PetscInt other = support[0] == cell ? support[1] : support[0];
        const std::int64_t j = localIndex[other - cStart];
        face.neighbour = j;
        // Both centroids are in absolute coordinates near their cells; the minimum image
        // gives the displacement across a periodic boundary.
        for (int ax = 0; ax < dim; ++ax) face.delta[ax] = minimumImage(centroid[j][ax] - centroid[k][ax], period[ax]);
      } else {
        PetscInt tag = -1;
        LATS_PETSC_CALL(DMLabelGetValue(boundary, f, &tag));
        if (tag > 0) {
          face.neighbour = FvGeometry::kBoundary;
          face.tag = tag;
          double nn = 0.0, cn = 0.0;
          for (int ax = 0; ax < dim; ++ax) {
            nn += face.normal[ax] * face.normal[ax];
            cn += face.center[ax] * face.normal[ax];
          }
          for (int ax = 0; ax < dim; ++ax) face.delta[ax] = 2.0 * cn / nn * face.normal[ax];
        } else {
          complete[k] = 0;
        }
      }
      cellFaces.push_back(face);
    }
    std::sort(cellFaces.begin(), cellFaces.end(), [](const Face& x, const Face& y) { return x.id < y.id; });
    faces.insert(faces.end(), cellFaces.begin(), cellFaces.end());
    offsets[k + 1] = static_cast<std::int64_t>(faces.size());
    if (k < numOwned) {
      localMinSize = std::min(localMinSize, dim == 1 ? volume[k] : 2.0 * volume[k] / perimeter);
      double conv = 0.0, diff = 0.0;
      for (const Face& face : cellFaces) {
        double nn = 0.0, dn = 0.0;
        for (int ax = 0; ax < dim; ++ax) {
          nn += face.normal[ax] * face.normal[ax];
          dn += face.delta[ax] * face.normal[ax];
        }
        conv += std::sqrt(nn);
        if (dn != 0.0) diff += nn / std::abs(dn);
      }
      localConvection = std::max(localConvection, conv / volume[k]);
      localDiffusion = std::max(localDiffusion, diff / volume[k]);
    }
  }
  LATS_PETSC_CALL(VecRestoreArrayRead(coordVec, &coordArray));

  // Views.
  FvGeometry& g = geometry;
  g.dimension = dim;
  g.numOwned = numOwned;
  g.numLocal = nLocal;
  const auto nFaces = static_cast<std::int64_t>(faces.size());
  g.centroids = CoordView("lats::PlexMesh::centroids", nLocal, dim);
  g.volumes = RealView("lats::PlexMesh::volumes", nLocal);
  g.faceOffsets = IndexView("lats::PlexMesh::faceOffsets", nLocal + 1);
  g.faceNeighbour = IndexView("lats::PlexMesh::faceNeighbour", nFaces);
  g.faceNormal = CoordView("lats::PlexMesh::faceNormal", nFaces, dim);
  g.faceCenter = CoordView("lats::PlexMesh::faceCenter", nFaces, dim);
  g.neighbourDelta = CoordView("lats::PlexMesh::neighbourDelta", nFaces, dim);
  g.faceTag = IndexView("lats::PlexMesh::faceTag", nFaces);
  g.complete = Kokkos::View<int*, MemSpace>("lats::PlexMesh::complete", nLocal);
  auto hCentroids = Kokkos::create_mirror_view(g.centroids);
  auto hVolumes = Kokkos::create_mirror_view(g.volumes);
  auto hOffsets = Kokkos::create_mirror_view(g.faceOffsets);
  auto hNeighbour = Kokkos::create_mirror_view(g.faceNeighbour);
  auto hNormal = Kokkos::create_mirror_view(g.faceNormal);
  auto hCenter = Kokkos::create_mirror_view(g.faceCenter);
  auto hDelta = Kokkos::create_mirror_view(g.neighbourDelta);
  auto hTag = Kokkos::create_mirror_view(g.faceTag);
  auto hComplete = Kokkos::create_mirror_view(g.complete);
  std::vector<double> meshCoords(nLocal * dim);
  std::vector<std::int64_t> globalIds(nLocal), nbrOffsets(nLocal + 1, 0), nbrs;
  for (std::int64_t k = 0; k < nLocal; ++k) {
    for (int ax = 0; ax < dim; ++ax) {
      hCentroids(k, ax) = wrap(centroid[k][ax], period[ax]);
      meshCoords[k * dim + ax] = hCentroids(k, ax);
    }
    hVolumes(k) = volume[k];
    hComplete(k) = complete[k];
    hOffsets(k + 1) = offsets[k + 1];
    globalIds[k] = ids[localCells[k]];
    for (std::int64_t f = offsets[k]; f < offsets[k + 1]; ++f)
      if (faces[f].neighbour >= 0) nbrs.push_back(faces[f].neighbour);
    nbrOffsets[k + 1] = static_cast<std::int64_t>(nbrs.size());
  }
  for (std::int64_t f = 0; f < nFaces; ++f) {
    hNeighbour(f) = faces[f].neighbour;
    hTag(f) = faces[f].tag;
    for (int ax = 0; ax < dim; ++ax) {
      hNormal(f, ax) = faces[f].normal[ax];
      hCenter(f, ax) = faces[f].center[ax];
      hDelta(f, ax) = faces[f].delta[ax];
    }
  }
  Kokkos::deep_copy(g.centroids, hCentroids);
  Kokkos::deep_copy(g.volumes, hVolumes);
  Kokkos::deep_copy(g.faceOffsets, hOffsets);
  Kokkos::deep_copy(g.faceNeighbour, hNeighbour);
  Kokkos::deep_copy(g.faceNormal, hNormal);
  Kokkos::deep_copy(g.faceCenter, hCenter);
  Kokkos::deep_copy(g.neighbourDelta, hDelta);
  Kokkos::deep_copy(g.faceTag, hTag);
  Kokkos::deep_copy(g.complete, hComplete);

  globalCells = c.sum(numOwned);
  minOwned = -c.max(-numOwned);
  maxOwned = c.max(numOwned);
  minCellSize = c.min(localMinSize);
  convectionScale = c.max(localConvection);
  diffusionScale = c.max(localDiffusion);
  mesh = MeshBuilder(comm, dim)
             .name(kind)
             .coordinates(meshCoords)
             .ownedCount(numOwned)
             .globalIds(globalIds)
             .volumes(volume)
             .neighbours(nbrOffsets, nbrs)
             .build();
}

PlexMesh::PlexMesh(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {
// Mesh -> the PlexMesh that made it (weak: the map does not keep meshes alive).
std::mutex& ownersMutex() {
  static std::mutex m;
  return m;
}
std::map<const Mesh*, std::weak_ptr<const PlexMesh>>& owners() {
  static std::map<const Mesh*, std::weak_ptr<const PlexMesh>> m;
  return m;
}
std::shared_ptr<const PlexMesh> adopt(std::shared_ptr<const PlexMesh> plex) {
  std::lock_guard<std::mutex> lock(ownersMutex());
  auto& m = owners();
  for (auto it = m.begin(); it != m.end();) it = it->second.expired() ? m.erase(it) : std::next(it);
  m[plex->mesh().get()] = plex;
  return plex;
}
}  // namespace

std::shared_ptr<const PlexMesh> PlexMesh::of(const Mesh& mesh) {
  std::lock_guard<std::mutex> lock(ownersMutex());
  const auto it = owners().find(&mesh);
  if (it == owners().end()) return nullptr;
  auto plex = it->second.lock();
  return plex && plex->mesh().get() == &mesh ? plex : nullptr;
}
PlexMesh::~PlexMesh() = default;

std::shared_ptr<const PlexMesh> PlexMesh::unitSquare(MPI_Comm comm, const UnitSquareSpec& spec) {
  LATS_CHECK_COLLECTIVE(
      comm, spec.cellsPerSide >= 4, ErrorKind::InvalidValue,
      "unit square mesh: " << spec.cellsPerSide << " cells per side; expected at least 4 (set -lats_mesh_cells)");
  LATS_CHECK_COLLECTIVE(comm, spec.jitter >= 0.0 && spec.jitter <= 0.4, ErrorKind::InvalidValue,
                        "unit square mesh: jitter "
                            << spec.jitter << " is outside [0, 0.4] (fraction of the spacing; -lats_mesh_jitter)");
  LATS_CHECK_COLLECTIVE(
      comm, spec.refinements >= 0 && spec.refinements < 30, ErrorKind::InvalidValue,
      "unit square mesh: " << spec.refinements << " refinements; expected 0 to 29 (-lats_mesh_refinements)");
  const std::int64_t base = spec.cellsPerSide >> spec.refinements;
  LATS_CHECK_COLLECTIVE(
      comm, base << spec.refinements == spec.cellsPerSide && base >= 4, ErrorKind::InvalidValue,
      "unit square mesh: " << spec.cellsPerSide << " cells per side cannot come from " << spec.refinements
                           << " refinements (-lats_mesh_refinements); expected "
                           << "a multiple of 2^" << spec.refinements << " = " << (std::int64_t{1} << spec.refinements)
                           << " with at least 4 cells per side before refining, e.g. "
                           << std::max<std::int64_t>(4, base) * (std::int64_t{1} << spec.refinements));
  auto impl = std::make_unique<Impl>();
  impl->comm = comm;
  impl->periodic = spec.boundary == BoundaryKind::Periodic;
  if (impl->periodic) impl->period = {1.0, 1.0, 0.0};
  std::ostringstream kind;
  kind << "unit_square " << spec.cellsPerSide << "x" << spec.cellsPerSide << " " << toString(spec.boundary)
       << " (jitter " << spec.jitter << ", seed " << spec.seed;
  if (spec.refinements > 0) kind << ", refined " << spec.refinements << "x from " << base << "x" << base;
  kind << ")";
  impl->kind = kind.str();
  const CellList list = Comm(comm).rank() == 0 ? unitSquareCells(spec) : CellList{2, 0, 0, 3, {}, {}};
  DM dm;
  LATS_PETSC_CALL(DMPlexCreateFromCellListPetsc(comm, 2, list.numCells, list.numVertices, list.numCorners, PETSC_TRUE,
                                                list.cells.data(), 2, list.coords.data(), &dm));
  impl->build(dm);
  return adopt(std::shared_ptr<const PlexMesh>(new PlexMesh(std::move(impl))));
}

std::shared_ptr<const PlexMesh> PlexMesh::interval(MPI_Comm comm, const IntervalSpec& spec) {
  LATS_CHECK_COLLECTIVE(comm, spec.cells >= 4, ErrorKind::InvalidValue,
                        "interval mesh: " << spec.cells << " cells; expected at least 4 (set -lats_mesh_cells)");
  LATS_CHECK_COLLECTIVE(comm, spec.length > 0 && std::isfinite(spec.length), ErrorKind::InvalidValue,
                        "interval mesh: length " << spec.length << "; expected a positive number (-lats_mesh_length)");
  LATS_CHECK_COLLECTIVE(comm, spec.irregularity >= 0.0 && spec.irregularity <= 0.4, ErrorKind::InvalidValue,
                        "interval mesh: irregularity "
                            << spec.irregularity
                            << " is outside [0, 0.4] (fraction of the spacing; -lats_mesh_jitter)");
  auto impl = std::make_unique<Impl>();
  impl->comm = comm;
  impl->periodic = true;
  impl->period = {spec.length, 0.0, 0.0};
  std::ostringstream kind;
  kind << "interval " << spec.cells << " cells, length " << spec.length << " periodic (irregularity "
       << spec.irregularity << ", seed " << spec.seed << ")";
  impl->kind = kind.str();
  const CellList list = Comm(comm).rank() == 0 ? intervalCells(spec) : CellList{1, 0, 0, 2, {}, {}};
  DM dm;
  LATS_PETSC_CALL(DMPlexCreateFromCellListPetsc(comm, 1, list.numCells, list.numVertices, list.numCorners, PETSC_TRUE,
                                                list.cells.data(), 1, list.coords.data(), &dm));
  impl->build(dm);
  return adopt(std::shared_ptr<const PlexMesh>(new PlexMesh(std::move(impl))));
}

std::shared_ptr<const PlexMesh> PlexMesh::fromGmsh(MPI_Comm comm, const std::string& path) {
  const Comm c(comm);
  std::string problem;
  if (c.rank() == 0) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      problem = "gmsh mesh '" + path + "': no such file (expected a .msh file written by gmsh, e.g. gmsh -2 file.geo)";
  }
  agreeOnFailure(comm, problem, ErrorKind::FileFormat, LATS_HERE);
  // PETSc reads the file on rank 0 inside collective calls, so a bad file would leave the
  // other ranks waiting: rank 0 first reads it alone, and every rank learns the outcome.
  auto tryRead = [&](MPI_Comm readComm, DM* out) {
    PetscPushErrorHandler(PetscReturnErrorHandler, nullptr);
    const PetscErrorCode ierr = DMPlexCreateGmshFromFile(readComm, path.c_str(), PETSC_TRUE, out);
    PetscPopErrorHandler();
    return ierr;
  };
  if (c.rank() == 0) {
    DM probe = nullptr;
    if (tryRead(PETSC_COMM_SELF, &probe) != 0)
      problem = "gmsh mesh '" + path +
                "': PETSc could not read it (expected a gmsh 2.2 or 4.x .msh file; regenerate it with "
                "gmsh -2 -format msh22 file.geo)";
    if (probe) DMDestroy(&probe);
  }
  agreeOnFailure(comm, problem, ErrorKind::FileFormat, LATS_HERE);
  DM dm = nullptr;
  LATS_PETSC_CALL(DMPlexCreateGmshFromFile(comm, path.c_str(), PETSC_TRUE, &dm));
  PetscInt dim;
  LATS_PETSC_CALL(DMGetDimension(dm, &dim));
  const PetscReal *maxCell, *lStart, *lengths;
  LATS_PETSC_CALL(DMGetPeriodicity(dm, &maxCell, &lStart, &lengths));
  const bool periodic = maxCell != nullptr;
  if (dim != 2 || periodic) {
    DMDestroy(&dm);
    LATS_THROW(FileFormatError, "gmsh mesh '" << path << "': " << (periodic ? "periodic " : "") << dim
                                              << "D mesh; LaTS reads non-periodic 2D gmsh meshes (triangles or quads)");
  }
  auto impl = std::make_unique<Impl>();
  impl->comm = comm;
  impl->kind = "gmsh " + std::filesystem::path(path).filename().string();
  impl->build(dm);
  return adopt(std::shared_ptr<const PlexMesh>(new PlexMesh(std::move(impl))));
}

std::shared_ptr<const PlexMesh> PlexMesh::fromOptions(MPI_Comm comm, int defaultDimension) {
  const std::string kind = kMeshOption.isSet() || defaultDimension != 1 ? kMeshOption.get() : "interval";
  const auto seed = static_cast<std::uint64_t>(kMeshSeed.get());
  if (kind == "unit_square") {
    UnitSquareSpec spec;
    spec.cellsPerSide = kMeshCells.get();
    spec.boundary = kMeshBoundary.get() == "walls" ? BoundaryKind::Walls : BoundaryKind::Periodic;
    spec.jitter = kMeshJitter.get();
    spec.seed = seed;
    spec.refinements = static_cast<int>(kMeshRefinements.get());
    return unitSquare(comm, spec);
  }
  if (kind == "interval") {
    IntervalSpec spec;
    spec.cells = kMeshCells.isSet() ? kMeshCells.get() : 256;
    spec.length = kMeshLength.get();
    spec.irregularity = kMeshJitter.isSet() ? kMeshJitter.get() : 0.0;
    spec.seed = seed;
    return interval(comm, spec);
  }
  if (std::filesystem::path(kind).extension() == ".msh") return fromGmsh(comm, kind);
  LATS_THROW(ConfigurationError, "-lats_mesh " << kind << ": not a mesh kind or a .msh file; expected unit_square, "
                                               << "interval or the path of a gmsh .msh file."
                                               << didYouMean(kind, {"unit_square", "interval"}));
}

MPI_Comm PlexMesh::comm() const { return impl_->comm; }
int PlexMesh::dimension() const { return impl_->dim; }
DM PlexMesh::dm() const { return impl_->dm; }
std::shared_ptr<const Mesh> PlexMesh::mesh() const { return impl_->mesh; }
const FvGeometry& PlexMesh::geometry() const { return impl_->geometry; }
bool PlexMesh::isPeriodic() const { return impl_->periodic; }
const CellShapes& PlexMesh::cellShapes() const { return impl_->cells; }
const std::array<double, 3>& PlexMesh::period() const { return impl_->period; }
std::int64_t PlexMesh::globalCells() const { return impl_->globalCells; }
double PlexMesh::minCellSize() const { return impl_->minCellSize; }
double PlexMesh::convectionScale() const { return impl_->convectionScale; }
double PlexMesh::diffusionScale() const { return impl_->diffusionScale; }

DM PlexMesh::cellDM(int numComponents) const {
  LATS_CHECK(numComponents >= 1, InvalidValueError,
             "cellDM: " << numComponents << " components per cell; expected at least 1");
  auto found = impl_->cellDMs.find(numComponents);
  if (found != impl_->cellDMs.end()) return found->second;
  DM dm = impl_->dm;
  DM cdm;
  LATS_PETSC_CALL(DMClone(dm, &cdm));
  PetscInt pStart, pEnd;
  LATS_PETSC_CALL(DMPlexGetChart(dm, &pStart, &pEnd));
  PetscSection section;
  LATS_PETSC_CALL(PetscSectionCreate(impl_->comm, &section));
  LATS_PETSC_CALL(PetscSectionSetChart(section, pStart, pEnd));
  std::vector<PetscInt> order(impl_->localCells);
  std::vector<char> isCell(static_cast<std::size_t>(pEnd - pStart), 0);
  for (PetscInt cell : impl_->localCells) {
    LATS_PETSC_CALL(PetscSectionSetDof(section, cell, numComponents));
    isCell[cell - pStart] = 1;
  }
  for (PetscInt p = pStart; p < pEnd; ++p)
    if (!isCell[p - pStart]) order.push_back(p);
  IS perm;
  LATS_PETSC_CALL(
      ISCreateGeneral(PETSC_COMM_SELF, static_cast<PetscInt>(order.size()), order.data(), PETSC_COPY_VALUES, &perm));
  LATS_PETSC_CALL(PetscSectionSetPermutation(section, perm));
  LATS_PETSC_CALL(PetscSectionSetUp(section));
  LATS_PETSC_CALL(DMSetLocalSection(cdm, section));
  LATS_PETSC_CALL(PetscSectionDestroy(&section));
  LATS_PETSC_CALL(ISDestroy(&perm));

  // The kernels index vectors by LaTS local order; check that PETSc laid them out so.
  PetscSection local, global;
  LATS_PETSC_CALL(DMGetLocalSection(cdm, &local));
  LATS_PETSC_CALL(DMGetGlobalSection(cdm, &global));
  const auto numOwned = impl_->geometry.numOwned;
  PetscInt firstGlobal = -1;
  bool ok = true;
  for (std::size_t k = 0; k < impl_->localCells.size(); ++k) {
    PetscInt off, goff;
    LATS_PETSC_CALL(PetscSectionGetOffset(local, impl_->localCells[k], &off));
    LATS_PETSC_CALL(PetscSectionGetOffset(global, impl_->localCells[k], &goff));
    if (off != static_cast<PetscInt>(k) * numComponents) ok = false;
    if (static_cast<std::int64_t>(k) < numOwned) {
      if (k == 0) firstGlobal = goff;
      if (goff - firstGlobal != static_cast<PetscInt>(k) * numComponents) ok = false;
    } else if (goff >= 0) {
      ok = false;
    }
  }
  LATS_CHECK_COLLECTIVE(impl_->comm, ok, ErrorKind::Generic,
                        "internal: PETSc did not lay out the cell vector in LaTS local order (please report)");
  impl_->cellDMs[numComponents] = cdm;
  return cdm;
}

std::string PlexMesh::describe() const {
  const Comm c(impl_->comm);
  std::ostringstream os;
  os << impl_->kind << ": " << impl_->globalCells << " cells";
  if (c.size() > 1)
    os << " on " << c.size() << " ranks (" << impl_->minOwned << ".." << impl_->maxOwned << " owned per rank)";
  return os.str();
}

}  // namespace lats::meshio
