#pragma once
/// \file dataset.hpp
/// Trajectory datasets: one HDF5 file holding fields (trajectory, time, point, component) on
/// a fixed set of points, per-trajectory parameters and completion flags, with an XDMF
/// sidecar so ParaView opens it. The layout is documented in doc/datasets.md.
///
///     lats::meshio::DatasetWriter w("burgers.h5", header, *mesh);   // collective
///     for (traj ...) { for (t ...) w.writeSnapshot(traj, t, field); w.markComplete(traj); }
///     w.finish();                                                     // compress + XDMF
///     lats::meshio::DatasetReader r(comm, "burgers.h5");
///     auto points = r.mesh();                       // any rank count, any subset of points
///     lats::Field u = r.read(*points, traj, t);

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/field.hpp"
#include "lats/core/mesh.hpp"

namespace lats::meshio {

/// The version of the layout this library writes and reads.
inline constexpr int kDatasetFormatVersion = 1;

/// What a dataset holds and where it came from; fixed when the file is created.
struct DatasetHeader {
  std::string equation;                     ///< PDE name (or the source of imported data)
  std::vector<std::string> components;      ///< field component names, at least one
  std::vector<std::string> parameterNames;  ///< per-trajectory parameters (may be empty)
  std::int64_t numTrajectories = 0;
  std::vector<double> times;  ///< snapshot times shared by all trajectories, increasing
  std::uint64_t seed = 0;     ///< generation seed (0 for imported data)
  std::string commandLine;    ///< provenance: how the data was made
  std::string source;         ///< provenance: mesh or case description
};

/// The cells behind the points, when known (a finite-volume mesh: point i is the centroid
/// of cell i). Each cell lists its own vertex coordinates, unshared, so cells of a periodic
/// mesh stay whole (unwrapped around their centroid). Entries follow a Mesh's owned entities.
struct CellShapes {
  /// VTK cell type per cell: 3 line, 5 triangle, 7 polygon, 9 quadrangle, 10 tetrahedron,
  /// 12 hexahedron, 13 wedge, 14 pyramid.
  std::vector<std::uint8_t> types;
  std::vector<std::int64_t> offsets;  ///< cells + 1 entries; cell i has vertices offsets[i]..offsets[i+1]-1
  std::vector<double> vertices;       ///< x, y, z of every vertex
  std::int64_t size() const { return static_cast<std::int64_t>(types.size()); }
};

/// Writes a dataset. While it is being written the file is "in progress": every dataset is
/// allocated at creation, uncompressed, so later writes change raw values only and a
/// process killed at any moment leaves a file that opens; trajectories count only once
/// their completion flag (written last) is set. finish() rewrites the file compressed
/// (under a temporary name, then renamed) and writes the XDMF sidecar.
class DatasetWriter {
 public:
  /// Creates `path` with the points of `points` (owned entities of all ranks; their global
  /// ids number the file's points 0..N-1). If `path` is an in-progress dataset with the same
  /// header (except provenance) and points, it is reopened and its completion flags are
  /// kept (resume); a finished or different file is a FileFormatError that says what
  /// differs. `cells` (optional; all ranks give them or none) are stored under /cells and
  /// make the XDMF sidecar show the mesh with cell-centred values. Collective over the
  /// mesh's communicator.
  DatasetWriter(const std::string& path, const DatasetHeader& header, const Mesh& points,
                const CellShapes* cells = nullptr);
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  const std::string& path() const;
  /// Completion flags (as opened, plus those marked since).
  const std::vector<bool>& complete() const;
  std::int64_t numPoints() const;

  /// Snapshot `timeIndex` of `trajectory` from a field on the owned entities of `points`
  /// (the mesh given to the constructor or any mesh with the same global ids). Collective.
  void writeSnapshot(std::int64_t trajectory, std::int64_t timeIndex, const Mesh& points, const Field& values);
  /// The same from one rank alone, with all N points' values in file order
  /// (numPoints x components, point-major). Not collective.
  void writeSnapshotLocal(std::int64_t trajectory, std::int64_t timeIndex, const double* values);
  /// Parameter values of a trajectory, in header order. Not collective (call it on one rank).
  void writeParameters(std::int64_t trajectory, const std::vector<double>& values);
  /// Sets the completion flag of `trajectory` (after all its snapshots and parameters are
  /// written). Not collective: call it on one rank once that rank's writes have returned
  /// (after a barrier when several ranks wrote the trajectory).
  void markComplete(std::int64_t trajectory);
  /// Rewrites the file with compressed chunks (one per snapshot, deflate `level` 1-9 with
  /// byte shuffling) and writes `<path without .h5>.xmf`. Throws InvalidValueError unless
  /// every trajectory is complete. Collective.
  void finish(int level = 4);

 private:
  friend class RecordingWriter;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Streams one trajectory whose length and times are not known in advance into a dataset,
/// snapshot by snapshot (a host's recording: -lats_record, lats_session_record). Every
/// append is on disk when it returns, so a process killed at any moment leaves an in-progress
/// dataset of every snapshot appended before: DatasetReader lists exactly those snapshots'
/// times, reads its trajectory like a complete one and says recording() (not finished).
/// Space is allocated for `capacityHint` snapshots and grows by doubling (a copy under a
/// temporary name, renamed over the file). finish() writes the dataset of the snapshots
/// appended, compressed, with its XDMF sidecar.
///
///     lats::meshio::RecordingWriter rec("run.h5", header, *mesh);   // collective
///     rec.append(t, *mesh, u);  ...  rec.finish();
class RecordingWriter {
 public:
  /// Creates `path` (header.numTrajectories and header.times are ignored: one trajectory,
  /// times as appended), or reopens the interrupted recording there when its equation,
  /// components, parameters and points are the same; its snapshots stay until an append
  /// replaces them (see append). A finished dataset, a generated (not recorded) in-progress
  /// file or a different recording is a FileFormatError that says what differs and what to
  /// do. Collective over the mesh's communicator.
  RecordingWriter(const std::string& path, DatasetHeader header, const Mesh& points, std::int64_t capacityHint = 64);
  ~RecordingWriter();
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;

  const std::string& path() const;
  /// Times of the snapshots in the file (after reopening: those of the interrupted recording).
  const std::vector<double>& times() const;
  /// Snapshots kept from an interrupted recording when the writer was made (0 for a new file).
  std::int64_t reopened() const;
  /// Appends the owned values of `values` on `points` as the snapshot at `time`, and makes
  /// the file say so only once every rank's values are written. Times must increase. The
  /// first append after reopening an interrupted recording must be at one of its snapshot
  /// times (the host restarted from there, from its start or a checkpoint): the snapshots
  /// from that one on are replaced; any other time is an InvalidValueError naming them.
  /// Collective.
  void append(double time, const Mesh& points, const Field& values);
  /// Writes the finished dataset (compressed, XDMF sidecar); needs at least two snapshots
  /// (InvalidValueError otherwise; the in-progress file stays). Later calls do nothing.
  /// Collective.
  void finish(int level = 4);
  bool finished() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Reads a dataset (in progress or finished) on any number of ranks, independently of the
/// rank count that wrote it. Every check is made on every rank: a missing, truncated or
/// corrupt file, a wrong format or version, a missing dataset or a shape mismatch is a
/// FileFormatError naming the file, the dataset and what was expected.
class DatasetReader {
 public:
  /// Opens and validates. Collective over `comm`.
  DatasetReader(MPI_Comm comm, const std::string& path);
  ~DatasetReader();
  DatasetReader(const DatasetReader&) = delete;
  DatasetReader& operator=(const DatasetReader&) = delete;

  const std::string& path() const;
  const DatasetHeader& header() const;
  int formatVersion() const;
  int dimension() const;
  std::int64_t numPoints() const;
  /// True until DatasetWriter::finish() or RecordingWriter::finish() has produced this file.
  bool inProgress() const;
  /// True for an in-progress recording (RecordingWriter; an interrupted host run): the header
  /// lists the snapshots written so far and its one trajectory reads as complete.
  bool recording() const;
  std::vector<bool> complete() const;
  /// True when the file stores the cells behind its points (/cells).
  bool hasCells() const;
  /// Every cell, in file order, on every rank (empty without /cells). Collective.
  CellShapes cells() const;
  /// Parameter values of a trajectory (header order). Collective.
  std::vector<double> parameters(std::int64_t trajectory) const;

  /// The points `points` (file indices; empty: all), spread over the ranks in contiguous
  /// blocks, as a Mesh whose global ids are the file indices (with cell volumes when the
  /// file has them). Collective.
  std::shared_ptr<const Mesh> mesh(const std::vector<std::int64_t>& points = {}) const;
  /// Snapshot `timeIndex` of `trajectory` on the owned entities of `points` (any mesh whose
  /// global ids are file point indices, e.g. from mesh() or the PlexMesh that generated the
  /// data, on any rank count). Throws InvalidValueError for an out-of-range index or an
  /// incomplete trajectory. Collective.
  Field read(const Mesh& points, std::int64_t trajectory, std::int64_t timeIndex) const;
  /// Snapshots [timeBegin, timeEnd) of each of `trajectories` (empty: every complete one),
  /// trajectory-major. Collective.
  std::vector<Field> read(const Mesh& points, std::vector<std::int64_t> trajectories, std::int64_t timeBegin = 0,
                          std::int64_t timeEnd = -1) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// `count` distinct point indices out of `numPoints`, drawn by `seed`, sorted.
std::vector<std::int64_t> subsamplePoints(std::int64_t numPoints, std::int64_t count, std::uint64_t seed);

}  // namespace lats::meshio
