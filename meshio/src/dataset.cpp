// Trajectory datasets in HDF5 (layout: doc/datasets.md).
//
// Crash safety: the in-progress file is created complete (every dataset allocated, under a
// temporary name, then renamed) and afterwards only raw values change: no chunk index,
// attribute or object header is touched until finish(), so a SIGKILL mid-write can only
// leave garbage in a trajectory whose completion flag is still 0. finish() writes the
// compressed file under another temporary name and renames it over the in-progress one.
#include "lats/meshio/dataset.hpp"

#include <hdf5.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "atomic_file.hpp"
#include "lats/core/block_exchange.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/random.hpp"
#include "lats/core/version.hpp"

namespace lats::meshio {
namespace {

constexpr const char* kFormatName = "lats-trajectories";
constexpr int kXdmfTrajectories = 16;

// ---------------------------------------------------------------------------------------
// HDF5 plumbing: RAII handles, error text, attributes.

/// The innermost message on HDF5's error stack (HDF5's automatic printing is off).
std::string hdf5Message() {
  std::string out;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
        if (n == 0 && e->desc) *static_cast<std::string*>(data) = e->desc;
        return 0;
      },
      &out);
  H5Eclear2(H5E_DEFAULT);
  return out.empty() ? "no detail from HDF5" : out;
}

void quietHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = -1;
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  operator hid_t() const { return id_; }  // NOLINT(google-explicit-constructor)

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

/// Throws FileFormatError "<path>: <what> (HDF5: ...)" when `status` < 0.
void check(herr_t status, const std::string& path, const std::string& what) {
  if (status < 0) LATS_THROW(FileFormatError, path << ": " << what << " (HDF5: " << hdf5Message() << ")");
}
Handle checked(hid_t id, herr_t (*close)(hid_t), const std::string& path, const std::string& what) {
  if (id < 0) LATS_THROW(FileFormatError, path << ": " << what << " (HDF5: " << hdf5Message() << ")");
  return Handle(id, close);
}

Handle fileAccess(MPI_Comm comm) {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (comm != MPI_COMM_NULL) H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  return fapl;
}

Handle transfer(bool collective) {
  Handle dxpl(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
  H5Pset_dxpl_mpio(dxpl, collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT);
  return dxpl;
}

Handle stringType() {
  Handle t(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

void writeStringAttribute(hid_t obj, const std::string& name, const std::string& value, const std::string& path) {
  Handle type = stringType();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr = checked(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, path,
                        "cannot create attribute '" + name + "'");
  const char* p = value.c_str();
  check(H5Awrite(attr, type, &p), path, "cannot write attribute '" + name + "'");
}

void writeStringsAttribute(hid_t obj, const std::string& name, const std::vector<std::string>& values,
                           const std::string& path) {
  Handle type = stringType();
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle attr = checked(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, path,
                        "cannot create attribute '" + name + "'");
  std::vector<const char*> p;
  for (const auto& v : values) p.push_back(v.c_str());
  if (n > 0) check(H5Awrite(attr, type, p.data()), path, "cannot write attribute '" + name + "'");
}

template <class T>
void writeNumberAttribute(hid_t obj, const std::string& name, T value, hid_t type, const std::string& path) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr = checked(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, path,
                        "cannot create attribute '" + name + "'");
  check(H5Awrite(attr, type, &value), path, "cannot write attribute '" + name + "'");
}

/// Reading attributes of a file that may be anything: every failure names the attribute.
class AttributeReader {
 public:
  AttributeReader(hid_t obj, std::string path) : obj_(obj), path_(std::move(path)) {}
  bool has(const std::string& name) const { return H5Aexists(obj_, name.c_str()) > 0; }
  Handle open(const std::string& name, const std::string& expected) const {
    if (!has(name))
      LATS_THROW(FileFormatError, path_ << ": attribute '" << name << "' at '/' is missing; expected " << expected
                                        << ". Is this a LaTS trajectory dataset?");
    return checked(H5Aopen(obj_, name.c_str(), H5P_DEFAULT), H5Aclose, path_, "cannot open attribute '" + name + "'");
  }
  std::vector<std::string> strings(const std::string& name) const {
    Handle attr = open(name, "a string or an array of strings");
    Handle ftype(H5Aget_type(attr), H5Tclose);
    Handle space(H5Aget_space(attr), H5Sclose);
    if (H5Tget_class(ftype) != H5T_STRING || !H5Tis_variable_str(ftype))
      LATS_THROW(FileFormatError, path_ << ": attribute '" << name << "' is not a variable-length string; expected "
                                        << "UTF-8 text");
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    std::vector<char*> raw(std::max<hssize_t>(n, 1), nullptr);
    Handle type = stringType();
    if (n > 0) check(H5Aread(attr, type, raw.data()), path_, "cannot read attribute '" + name + "'");
    std::vector<std::string> out;
    for (hssize_t i = 0; i < n; ++i) out.emplace_back(raw[i] ? raw[i] : "");
    if (n > 0) H5Dvlen_reclaim(type, space, H5P_DEFAULT, raw.data());
    return out;
  }
  std::string string(const std::string& name) const {
    auto v = strings(name);
    return v.empty() ? std::string() : v.front();
  }
  template <class T>
  T number(const std::string& name, hid_t type) const {
    Handle attr = open(name, "a number");
    Handle space(H5Aget_space(attr), H5Sclose);
    if (H5Sget_simple_extent_npoints(space) != 1)
      LATS_THROW(FileFormatError, path_ << ": attribute '" << name << "' is not a single number");
    T value{};
    check(H5Aread(attr, type, &value), path_, "cannot read attribute '" + name + "' as a number");
    return value;
  }

 private:
  hid_t obj_;
  std::string path_;
};

std::string shapeText(const std::vector<hsize_t>& dims) {
  std::ostringstream os;
  os << "(";
  for (std::size_t i = 0; i < dims.size(); ++i) os << (i ? ", " : "") << dims[i];
  os << ")";
  return os.str();
}

/// Opens dataset `name` and checks its shape against `expected` (what each extent means in
/// `meaning`).
Handle openDataset(hid_t file, const std::string& path, const std::string& name, const std::vector<hsize_t>& expected,
                   const std::string& meaning) {
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0)
    LATS_THROW(FileFormatError, path << ": dataset '" << name << "' is missing; expected a dataset of shape "
                                     << shapeText(expected) << " " << meaning);
  Handle d = checked(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, path, "cannot open dataset '" + name + "'");
  Handle space(H5Dget_space(d), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(std::max(rank, 0));
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  if (dims != expected)
    LATS_THROW(FileFormatError, path << ": dataset '" << name << "' has shape " << shapeText(dims) << "; expected "
                                     << shapeText(expected) << " " << meaning);
  return d;
}

std::string utcNow() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

std::string baseName(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string xdmfPath(const std::string& path) {
  const auto dot = path.rfind(".h5");
  return (dot != std::string::npos && dot + 3 == path.size() ? path.substr(0, dot) : path) + ".xmf";
}

/// The header and sizes as stored in a file.
struct Stored {
  DatasetHeader header;
  int version = 0, dimension = 0;
  std::string state;
  std::int64_t numPoints = 0;
  bool hasVolumes = false;
  bool hasCells = false;
  hsize_t cellVertices = 0, topologyLength = 0;  // rows of /cells/vertices, /cells/xdmf_topology
  hsize_t timeSlots = 0;                         // rows of /times (a recording allocates more than it has written)
  std::int64_t recorded = -1;                    // a recording: the snapshots written so far (-1: not a recording)
};

/// Reads and validates the root attributes and every dataset's shape.
Stored readStored(hid_t file, const std::string& path) {
  Stored s;
  AttributeReader a(file, path);
  const std::string format = a.string("lats_format");
  if (format != kFormatName)
    LATS_THROW(FileFormatError,
               path << ": attribute 'lats_format' is '" << format << "'; expected '" << kFormatName << "'");
  s.version = a.number<int>("format_version", H5T_NATIVE_INT);
  if (s.version != kDatasetFormatVersion)
    LATS_THROW(FileFormatError, path << ": format_version " << s.version << "; this LaTS (" << lats::version()
                                     << ") reads version " << kDatasetFormatVersion
                                     << (s.version > kDatasetFormatVersion ? " (the file is from a newer LaTS)" : ""));
  s.state = a.string("state");
  if (s.state != "in_progress" && s.state != "final")
    LATS_THROW(FileFormatError,
               path << ": attribute 'state' is '" << s.state << "'; expected 'in_progress' or 'final'");
  s.header.equation = a.string("equation");
  s.header.components = a.strings("components");
  s.header.parameterNames = a.strings("parameter_names");
  s.header.seed = a.number<std::uint64_t>("seed", H5T_NATIVE_UINT64);
  s.header.commandLine = a.string("command_line");
  s.header.source = a.string("source");
  s.dimension = a.number<int>("dimension", H5T_NATIVE_INT);
  if (s.header.components.empty())
    LATS_THROW(FileFormatError, path << ": attribute 'components' is empty; expected at least one component name");
  if (s.dimension < 1 || s.dimension > 3)
    LATS_THROW(FileFormatError, path << ": attribute 'dimension' is " << s.dimension << "; expected 1, 2 or 3");
  // Sizes come from /points, /times and /complete; /fields and /parameters must agree.
  auto extent = [&](const std::string& name, int rank) {
    if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0)
      LATS_THROW(FileFormatError, path << ": dataset '" << name << "' is missing");
    Handle d = checked(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, path, "cannot open dataset '" + name + "'");
    Handle space(H5Dget_space(d), H5Sclose);
    std::vector<hsize_t> dims(std::max(H5Sget_simple_extent_ndims(space), 0));
    if (!dims.empty()) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    if (static_cast<int>(dims.size()) != rank)
      LATS_THROW(FileFormatError,
                 path << ": dataset '" << name << "' has " << dims.size() << " dimensions; expected " << rank);
    return dims;
  };
  const auto points = extent("/points", 2);
  const auto times = extent("/times", 1);
  const auto complete = extent("/complete", 1);
  if (points[1] != 3)
    LATS_THROW(FileFormatError, path << ": dataset '/points' has shape " << shapeText(points)
                                     << "; expected (N, 3) (x, y, z per point)");
  s.numPoints = static_cast<std::int64_t>(points[0]);
  s.header.numTrajectories = static_cast<std::int64_t>(complete[0]);
  const hsize_t M = complete[0], T = times[0], N = points[0], C = s.header.components.size(),
                P = s.header.parameterNames.size();
  openDataset(file, path, "/fields", {M, T, N, C},
              "(trajectories from '/complete', times from '/times', points from '/points', components from the "
              "attribute 'components')");
  openDataset(file, path, "/parameters", {M, P},
              "(trajectories from '/complete', one column per name in the attribute 'parameter_names')");
  s.hasVolumes = H5Lexists(file, "/cell_volumes", H5P_DEFAULT) > 0;
  if (s.hasVolumes) openDataset(file, path, "/cell_volumes", {N}, "(one volume per point of '/points')");
  s.hasCells = H5Lexists(file, "/cells", H5P_DEFAULT) > 0;
  if (s.hasCells) {
    openDataset(file, path, "/cells/types", {N}, "(one VTK cell type per point of '/points')");
    openDataset(file, path, "/cells/offsets", {N + 1}, "(cells + 1 offsets into '/cells/vertices')");
    const auto v = extent("/cells/vertices", 2);
    if (v[1] != 3)
      LATS_THROW(FileFormatError, path << ": dataset '/cells/vertices' has shape " << shapeText(v)
                                       << "; expected (V, 3) (x, y, z per cell vertex)");
    s.cellVertices = v[0];
    s.topologyLength = extent("/cells/xdmf_topology", 1)[0];
  }
  s.timeSlots = T;
  s.header.times.resize(T);
  Handle td = checked(H5Dopen2(file, "/times", H5P_DEFAULT), H5Dclose, path, "cannot open dataset '/times'");
  if (T > 0)
    check(H5Dread(td, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, s.header.times.data()), path,
          "cannot read dataset '/times': the file is corrupt");
  if (H5Lexists(file, "/recorded", H5P_DEFAULT) > 0) {
    // A recording (RecordingWriter): only its first `recorded` time slots are written.
    Handle rd = openDataset(file, path, "/recorded", {1}, "(the number of snapshots a recording has written)");
    std::int64_t r = -1;
    check(H5Dread(rd, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &r), path,
          "cannot read dataset '/recorded': the file is corrupt");
    if (s.state != "in_progress")
      LATS_THROW(FileFormatError, path << ": a finished dataset holds '/recorded', which only an in-progress "
                                          "recording has: the file is corrupt");
    if (M != 1 || r < 0 || static_cast<hsize_t>(r) > T)
      LATS_THROW(FileFormatError, path << ": dataset '/recorded' says " << r << " snapshots of " << T
                                       << " allocated, in " << M
                                       << " trajectories; a recording has one trajectory and 0 to " << T
                                       << " snapshots: the file is corrupt");
    s.recorded = r;
    s.header.times.resize(static_cast<std::size_t>(r));
  }
  return s;
}

/// Runs `work` on rank 0 only and makes its failure (or success) known on every rank.
void onRoot(MPI_Comm comm, const std::function<void()>& work) {
  collective(comm, [&] {
    if (Comm(comm).rank() == 0) work();
  });
}

/// Reads a whole 1D/2D dataset of doubles (small ones: times, parameters, points).

std::vector<std::uint8_t> readFlags(hid_t d, const std::string& path) {
  Handle space(H5Dget_space(d), H5Sclose);
  std::vector<std::uint8_t> out(H5Sget_simple_extent_npoints(space));
  if (!out.empty())
    check(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), path,
          "cannot read dataset '/complete': the file is corrupt");
  return out;
}

void writeRootAttributes(hid_t file, const DatasetHeader& h, int dimension, const std::string& state,
                         const std::string& path) {
  writeStringAttribute(file, "lats_format", kFormatName, path);
  writeNumberAttribute(file, "format_version", kDatasetFormatVersion, H5T_NATIVE_INT, path);
  writeStringAttribute(file, "state", state, path);
  writeStringAttribute(file, "equation", h.equation, path);
  writeStringsAttribute(file, "components", h.components, path);
  writeStringsAttribute(file, "parameter_names", h.parameterNames, path);
  writeNumberAttribute(file, "dimension", dimension, H5T_NATIVE_INT, path);
  writeNumberAttribute<std::uint64_t>(file, "seed", h.seed, H5T_NATIVE_UINT64, path);
  writeStringAttribute(file, "command_line", h.commandLine, path);
  writeStringAttribute(file, "source", h.source, path);
  writeStringAttribute(file, "lats_version", lats::version(), path);
  writeStringAttribute(file, "created", utcNow(), path);
}

Handle createDataset(hid_t file, const std::string& name, hid_t type, const std::vector<hsize_t>& dims, hid_t dcpl,
                     const std::string& path) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  return checked(H5Dcreate2(file, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose, path,
                 "cannot create dataset '" + name + "'");
}

/// Dataset creation properties: allocated at creation, never filled (in progress), or
/// compressed (final). Fields are chunked one snapshot per chunk.
Handle creationProperties(const std::vector<hsize_t>& chunk, int level) {
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  bool empty = false;
  for (auto c : chunk) empty = empty || c == 0;
  if (!chunk.empty() && !empty) {
    H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
    if (level > 0) {
      H5Pset_shuffle(dcpl);
      H5Pset_deflate(dcpl, static_cast<unsigned>(level));
      H5Pset_fletcher32(dcpl);  // last: checksums the stored bytes, verified on every read
    }
  }
  if (level == 0) {
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  }
  return dcpl;
}

/// Moves per-entity values between the ranks' own entities (any global ids) and contiguous
/// blocks of the file's point rows ([N r / P, N (r + 1) / P) on rank r), so that every rank
/// reads or writes one hyperslab: core's BlockExchange (one PetscSF). Collective to build.
class Exchange {
 public:
  Exchange(MPI_Comm comm, std::int64_t numPoints, const std::vector<std::int64_t>& ids) : x_(comm, numPoints, ids) {}
  /// This rank's rows of the file: [lo, lo + rows).
  std::int64_t lo() const { return x_.begin(); }
  std::int64_t rows() const { return x_.end() - x_.begin(); }

  /// Owned values (entity-major, `width` each) -> this rank's rows.
  std::vector<double> toRows(const double* owned, int width) const {
    std::vector<double> out(static_cast<std::size_t>(std::max<std::int64_t>(rows(), 1) * width), 0.0);
    x_.toBlock(owned, width, out.data());
    return out;
  }
  /// This rank's rows -> owned values (entity-major, `width` each).
  std::vector<double> fromRows(const std::vector<double>& rows, int width, std::size_t owned) const {
    std::vector<double> out(owned * static_cast<std::size_t>(width));
    x_.fromBlock(rows.data(), width, out.data());
    return out;
  }

 private:
  BlockExchange x_;
};

std::vector<std::int64_t> ownedIds(const Mesh& points) {
  auto ids = Kokkos::create_mirror_view_and_copy(HostSpace(), points.globalIds());
  return std::vector<std::int64_t>(ids.data(), ids.data() + points.ownedSize());
}

/// The exchange of the points last seen, so that the snapshots of one mesh share one
/// (setting up a PetscSF communicates): rebuilt when the owned ids or the point count change
/// on any rank. Collective.
class ExchangeCache {
 public:
  const Exchange& get(MPI_Comm comm, std::int64_t numPoints, std::vector<std::int64_t> ids) {
    const bool same = exchange_ != nullptr && numPoints == numPoints_ && ids == ids_;
    if (!Comm(comm).all(same)) {
      exchange_ = std::make_unique<Exchange>(comm, numPoints, ids);
      numPoints_ = numPoints;
      ids_ = std::move(ids);
    }
    return *exchange_;
  }

 private:
  std::unique_ptr<Exchange> exchange_;
  std::int64_t numPoints_ = -1;
  std::vector<std::int64_t> ids_;
};

/// Selects rows [lo, lo + rows) of a dataset whose point axis is `axis`: `prefix` fixes the
/// leading indices (trajectory, time), the trailing extent is `width` (0: none).
std::pair<Handle, Handle> rowSelection(hid_t dataset, std::vector<hsize_t> prefix, std::int64_t lo, std::int64_t rows,
                                       int width) {
  Handle file(H5Dget_space(dataset), H5Sclose);
  std::vector<hsize_t> start = prefix, count(prefix.size(), 1);
  start.push_back(static_cast<hsize_t>(lo));
  count.push_back(static_cast<hsize_t>(std::max<std::int64_t>(rows, 0)));
  if (width > 0) {
    start.push_back(0);
    count.push_back(static_cast<hsize_t>(width));
  }
  const hsize_t n = static_cast<hsize_t>(std::max<std::int64_t>(rows, 0)) * std::max(width, 1);
  Handle mem(H5Screate_simple(1, std::vector<hsize_t>{std::max<hsize_t>(n, 1)}.data(), nullptr), H5Sclose);
  if (n == 0) {
    H5Sselect_none(file);
    H5Sselect_none(mem);
  } else {
    H5Sselect_hyperslab(file, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  }
  return {std::move(mem), std::move(file)};
}

void checkPointIds(const Mesh& points, std::int64_t numPoints, const std::string& path) {
  auto ids = Kokkos::create_mirror_view_and_copy(HostSpace(), points.globalIds());
  std::string bad;
  for (std::int64_t k = 0; k < points.ownedSize() && bad.empty(); ++k)
    if (ids(k) < 0 || ids(k) >= numPoints)
      bad = "global id " + std::to_string(ids(k)) + " of entity " + std::to_string(k);
  LATS_CHECK_COLLECTIVE(
      points.comm(), bad.empty(), ErrorKind::DimensionMismatch,
      path << ": " << bad << " is not a point of the dataset; expected global ids in [0, " << numPoints << ")");
}

void checkIndex(std::int64_t value, std::int64_t size, const char* what, const std::string& path) {
  LATS_CHECK(value >= 0 && value < size, InvalidValueError,
             path << ": " << what << " " << value << " is out of range; the dataset has " << size << " (0.." << size - 1
                  << ")");
}

/// XDMF "Mixed" topology of cells whose vertices are numbered consecutively.
std::vector<std::int64_t> xdmfTopology(const CellShapes& c) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < c.size(); ++i) {
    const std::int64_t nv = c.offsets[i + 1] - c.offsets[i];
    switch (c.types[i]) {
      case 3: out.insert(out.end(), {2, nv}); break;  // polyline
      case 7: out.insert(out.end(), {3, nv}); break;  // polygon
      case 5: out.push_back(4); break;
      case 9: out.push_back(5); break;
      case 10: out.push_back(6); break;
      case 14: out.push_back(7); break;
      case 13: out.push_back(8); break;
      default: out.push_back(9); break;  // 12, hexahedron
    }
    for (std::int64_t v = c.offsets[i]; v < c.offsets[i + 1]; ++v) out.push_back(v);
  }
  return out;
}

/// Vertices a cell type needs (0: any number >= 3, for polygons).
int verticesOfType(int type) {
  switch (type) {
    case 3: return 2;
    case 5: return 3;
    case 7: return 0;
    case 9: return 4;
    case 10: return 4;
    case 12: return 8;
    case 13: return 6;
    case 14: return 5;
    default: return -1;
  }
}

/// Checks this rank's cells against its owned points and gathers all cells on rank 0 in
/// file order. Collective; every rank throws the same error for bad cells.
CellShapes gatherCells(const Mesh& points, const CellShapes* cells, const std::string& path) {
  const Comm comm(points.comm());
  const bool any = comm.any(cells != nullptr), all = comm.all(cells != nullptr);
  LATS_CHECK_COLLECTIVE(comm, any == all, ErrorKind::InvalidValue,
                        path << ": cells given on some ranks only; give every rank its owned cells or none");
  CellShapes out;
  if (!any) return out;
  const std::int64_t n = points.ownedSize();
  std::string bad;
  if (cells->size() != n)
    bad = std::to_string(cells->size()) + " cell types for " + std::to_string(n) + " owned points";
  else if (static_cast<std::int64_t>(cells->offsets.size()) != n + 1 || cells->offsets[0] != 0)
    bad = "offsets must have owned points + 1 entries starting at 0";
  for (std::int64_t i = 0; i < n && bad.empty(); ++i) {
    const int want = verticesOfType(cells->types[i]);
    const std::int64_t nv = cells->offsets[i + 1] - cells->offsets[i];
    if (want < 0 || (want == 0 ? nv < 3 : nv != want))
      bad = "cell " + std::to_string(i) + " has type " + std::to_string(cells->types[i]) + " and " +
            std::to_string(nv) + " vertices";
  }
  if (bad.empty() && static_cast<std::int64_t>(cells->vertices.size()) != 3 * cells->offsets[n])
    bad = std::to_string(cells->vertices.size()) + " vertex coordinates; expected 3 per vertex";
  agreeOnFailure(comm, bad.empty() ? "" : path + ": invalid cells (" + bad + ")", ErrorKind::InvalidValue);

  // Gather ids, vertex counts and vertices on rank 0.
  auto ids = ownedIds(points);
  std::vector<std::int64_t> counts(n);
  for (std::int64_t i = 0; i < n; ++i) counts[i] = cells->offsets[i + 1] - cells->offsets[i];
  const int size = comm.size();
  auto gatherv = [&](const void* data, int count, MPI_Datatype type, void* out, std::vector<int>& recv) {
    recv.assign(size, 0);
    MPI_Gather(&count, 1, MPI_INT, recv.data(), 1, MPI_INT, 0, comm);
    std::vector<int> displ(size, 0);
    for (int r = 1; r < size; ++r) displ[r] = displ[r - 1] + recv[r - 1];
    MPI_Gatherv(data, count, type, out, recv.data(), displ.data(), type, 0, comm);
  };
  const std::int64_t N = points.globalSize();
  const std::int64_t V = comm.sum(static_cast<std::int64_t>(cells->vertices.size() / 3));
  std::vector<std::int64_t> allIds(comm.rank() == 0 ? N : 0), allCounts(comm.rank() == 0 ? N : 0);
  std::vector<std::uint8_t> allTypes(comm.rank() == 0 ? N : 0);
  std::vector<double> allVertices(comm.rank() == 0 ? 3 * V : 0);
  std::vector<int> recv;
  gatherv(ids.data(), static_cast<int>(n), MPI_INT64_T, allIds.data(), recv);
  gatherv(counts.data(), static_cast<int>(n), MPI_INT64_T, allCounts.data(), recv);
  gatherv(cells->types.data(), static_cast<int>(n), MPI_UINT8_T, allTypes.data(), recv);
  gatherv(cells->vertices.data(), static_cast<int>(cells->vertices.size()), MPI_DOUBLE, allVertices.data(), recv);
  if (comm.rank() != 0) return out;
  std::vector<std::int64_t> start(N + 1, 0), where(N, -1);
  for (std::int64_t k = 0; k < N; ++k) where[allIds[k]] = k;
  std::vector<std::int64_t> gatheredOffset(N + 1, 0);
  for (std::int64_t k = 0; k < N; ++k) gatheredOffset[k + 1] = gatheredOffset[k] + allCounts[k];
  out.types.resize(N);
  out.offsets.assign(N + 1, 0);
  out.vertices.reserve(3 * V);
  for (std::int64_t g = 0; g < N; ++g) {
    const std::int64_t k = where[g];
    out.types[g] = allTypes[k];
    out.offsets[g + 1] = out.offsets[g] + allCounts[k];
    out.vertices.insert(out.vertices.end(), allVertices.begin() + 3 * gatheredOffset[k],
                        allVertices.begin() + 3 * gatheredOffset[k + 1]);
  }
  return out;
}

}  // namespace

// =========================================================================================
// Writer

struct DatasetWriter::Impl {
  std::string path;
  DatasetHeader header;
  MPI_Comm comm = MPI_COMM_NULL;
  int dimension = 0, nc = 0;
  std::int64_t numPoints = 0;
  std::vector<bool> complete;
  Handle file, fields, parameters, flags;
  bool hasCells = false;
  CellShapes cells;  // all cells in file order, on rank 0
  std::int64_t cellVertices = 0, topologyLength = 0;
  ExchangeCache exchanges;
  // A recording (RecordingWriter): `slots` snapshots allocated, the count in /recorded.
  bool recording = false;
  std::int64_t slots = 0;
  Handle times, recorded;
  std::vector<double> recordedTimes;  // of the interrupted recording found by verifyExisting

  std::int64_t timeSlots() const { return recording ? slots : static_cast<std::int64_t>(header.times.size()); }

  void open() {
    Handle fapl = fileAccess(comm);
    file = checked(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl), H5Fclose, path, "cannot open for writing");
    fields = checked(H5Dopen2(file, "/fields", H5P_DEFAULT), H5Dclose, path, "cannot open dataset '/fields'");
    parameters =
        checked(H5Dopen2(file, "/parameters", H5P_DEFAULT), H5Dclose, path, "cannot open dataset '/parameters'");
    flags = checked(H5Dopen2(file, "/complete", H5P_DEFAULT), H5Dclose, path, "cannot open dataset '/complete'");
    if (!recording) return;
    times = checked(H5Dopen2(file, "/times", H5P_DEFAULT), H5Dclose, path, "cannot open dataset '/times'");
    recorded = checked(H5Dopen2(file, "/recorded", H5P_DEFAULT), H5Dclose, path, "cannot open dataset '/recorded'");
  }
  void close() {
    times.reset();
    recorded.reset();
    fields.reset();
    parameters.reset();
    flags.reset();
    file.reset();
  }

  /// Creates the in-progress file under `<target>.creating` and renames it to `target`
  /// (`path`, or a temporary name when a recording grows). Collective.
  void create(const Mesh& points, const std::string& target) {
    const std::string tmp = target + ".creating";
    collective(comm, [&] {
      if (Comm(comm).rank() == 0) std::remove(tmp.c_str());
    });
    const auto M = static_cast<hsize_t>(header.numTrajectories), T = static_cast<hsize_t>(timeSlots()),
               N = static_cast<hsize_t>(numPoints), C = static_cast<hsize_t>(nc),
               P = static_cast<hsize_t>(header.parameterNames.size());
    collective(comm, [&] {
      Handle fapl = fileAccess(comm);
      Handle f = checked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose, path,
                         "cannot create '" + tmp + "'");
      writeRootAttributes(f, header, dimension, "in_progress", path);
      Handle none = creationProperties({}, 0);
      Handle pts = createDataset(f, "/points", H5T_NATIVE_DOUBLE, {N, 3}, none, path);
      Handle vols = createDataset(f, "/cell_volumes", H5T_NATIVE_DOUBLE, {N}, none, path);
      Handle times = createDataset(f, "/times", H5T_NATIVE_DOUBLE, {T}, none, path);
      Handle params = createDataset(f, "/parameters", H5T_NATIVE_DOUBLE, {M, P}, none, path);
      Handle cflags = createDataset(f, "/complete", H5T_NATIVE_UINT8, {M}, none, path);
      Handle fcpl = creationProperties({1, 1, N, C}, 0);
      Handle flds = createDataset(f, "/fields", H5T_NATIVE_DOUBLE, {M, T, N, C}, fcpl, path);
      Handle count;
      if (recording) count = createDataset(f, "/recorded", H5T_NATIVE_INT64, {1}, none, path);
      if (hasCells) writeCells(f, none);
      // Points and volumes: every rank its owned entities.
      auto xyz = Kokkos::create_mirror_view_and_copy(HostSpace(), points.coordinates());
      const std::int64_t n = points.ownedSize();
      std::vector<double> buf(n * 3, 0.0), vol(n, 0.0);
      for (std::int64_t k = 0; k < n; ++k)
        for (int d = 0; d < dimension; ++d) buf[k * 3 + d] = xyz(k, d);
      if (points.hasVolumes()) {
        auto v = Kokkos::create_mirror_view_and_copy(HostSpace(), points.volumes());
        for (std::int64_t k = 0; k < n; ++k) vol[k] = v(k);
      }
      Handle dxpl = transfer(true);
      const Exchange ex(comm, numPoints, ownedIds(points));
      auto writeRows = [&](hid_t d, int width, const std::vector<double>& values, const char* name) {
        const auto rows = ex.toRows(values.data(), std::max(width, 1));
        auto [ms, fs] = rowSelection(d, {}, ex.lo(), ex.rows(), width);
        check(H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, fs, dxpl, rows.data()), path,
              std::string("cannot write dataset '") + name + "'");
      };
      writeRows(pts, 3, buf, "/points");
      writeRows(vols, 0, vol, "/cell_volumes");
      // Small datasets from rank 0: times, NaN parameters, zero flags.
      Handle ind = transfer(false);
      if (Comm(comm).rank() == 0) {
        // A recording's slots hold NaN until written (its count says how many are).
        const std::vector<double> slotTimes = recording ? std::vector<double>(T, std::nan("")) : header.times;
        if (T > 0)
          check(H5Dwrite(times, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, ind, slotTimes.data()), path,
                "cannot write dataset '/times'");
        const std::int64_t none = 0;
        if (recording)
          check(H5Dwrite(count, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, ind, &none), path,
                "cannot write dataset '/recorded'");
        std::vector<double> nan(M * P, std::nan(""));
        if (M * P > 0)
          check(H5Dwrite(params, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, ind, nan.data()), path,
                "cannot write dataset '/parameters'");
        std::vector<std::uint8_t> zero(M, 0);
        if (M > 0)
          check(H5Dwrite(cflags, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, ind, zero.data()), path,
                "cannot write dataset '/complete'");
      }
    });
    collective(comm, [&] {
      if (Comm(comm).rank() == 0) detail::commit(tmp, target);
    });
  }

  /// /cells: created by every rank, written by rank 0 (which holds them all).
  void writeCells(hid_t f, hid_t dcpl) const {
    Handle group = checked(H5Gcreate2(f, "/cells", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, path,
                           "cannot create group '/cells'");
    const auto N = static_cast<hsize_t>(numPoints), V = static_cast<hsize_t>(cellVertices),
               L = static_cast<hsize_t>(topologyLength);
    Handle types = createDataset(f, "/cells/types", H5T_NATIVE_UINT8, {N}, dcpl, path);
    Handle offsets = createDataset(f, "/cells/offsets", H5T_NATIVE_INT64, {N + 1}, dcpl, path);
    Handle vertices = createDataset(f, "/cells/vertices", H5T_NATIVE_DOUBLE, {V, 3}, dcpl, path);
    Handle topology = createDataset(f, "/cells/xdmf_topology", H5T_NATIVE_INT64, {L}, dcpl, path);
    if (Comm(comm).rank() != 0) return;
    Handle ind = transfer(false);
    const auto topo = xdmfTopology(cells);
    check(H5Dwrite(types, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, ind, cells.types.data()), path,
          "cannot write dataset '/cells/types'");
    check(H5Dwrite(offsets, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, ind, cells.offsets.data()), path,
          "cannot write dataset '/cells/offsets'");
    check(H5Dwrite(vertices, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, ind, cells.vertices.data()), path,
          "cannot write dataset '/cells/vertices'");
    check(H5Dwrite(topology, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, ind, topo.data()), path,
          "cannot write dataset '/cells/xdmf_topology'");
  }

  /// The constructor's work: checks, then creates the in-progress file or verifies the one
  /// found there (a recording: with `slots` allocated when new). Collective.
  void setUp(const std::string& target, const DatasetHeader& h, const Mesh& points, const CellShapes* shapes) {
    quietHdf5();
    auto& I = *this;
    I.path = target;
    I.header = h;
    I.comm = points.comm();
    I.dimension = points.dimension();
    I.nc = static_cast<int>(h.components.size());
    I.numPoints = points.globalSize();
    LATS_CHECK_COLLECTIVE(I.comm, I.nc > 0, ErrorKind::InvalidValue,
                          path << ": no component names; expected at least one (e.g. {\"u\"})");
    LATS_CHECK_COLLECTIVE(I.comm, h.numTrajectories > 0, ErrorKind::InvalidValue,
                          path << ": " << h.numTrajectories << " trajectories; expected at least 1");
    bool increasing = recording || !h.times.empty();
    for (std::size_t i = 1; i < h.times.size(); ++i) increasing = increasing && h.times[i] > h.times[i - 1];
    LATS_CHECK_COLLECTIVE(
        I.comm, increasing, ErrorKind::InvalidValue,
        path << ": " << h.times.size() << " snapshot times; expected at least one, strictly increasing");
    checkPointIds(points, I.numPoints, path);
    I.cells = gatherCells(points, shapes, path);
    I.hasCells = Comm(I.comm).any(shapes != nullptr);
    if (I.hasCells) {
      std::int64_t sizes[2] = {0, 0};
      if (Comm(I.comm).rank() == 0)
        sizes[0] = I.cells.offsets.back(), sizes[1] = static_cast<std::int64_t>(xdmfTopology(I.cells).size());
      MPI_Bcast(sizes, 2, MPI_INT64_T, 0, I.comm);
      I.cellVertices = sizes[0];
      I.topologyLength = sizes[1];
    }
    collective(I.comm, [&] {
      if (Comm(I.comm).rank() == 0) detail::requireWritableDirectory(path);
    });
    int exists = Comm(I.comm).rank() == 0 && fileExists(path);
    MPI_Bcast(&exists, 1, MPI_INT, 0, I.comm);
    if (exists) {
      I.complete = I.verifyExisting(points);
    } else {
      I.create(points, path);
      I.complete.assign(h.numTrajectories, false);
    }
    collective(I.comm, [&] { I.open(); });
  }

  /// Checks that an existing file is an in-progress dataset with this header and points;
  /// returns its completion flags. Collective (rank 0 reads, all agree).
  std::vector<bool> verifyExisting(const Mesh& points) {
    std::vector<std::uint8_t> stored;
    onRoot(comm, [&] {
      Handle f = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path,
                         "exists but cannot be opened as HDF5 (truncated or not a dataset); remove it or choose "
                         "another output path");
      const Stored s = readStored(f, path);
      auto differs = [&](const std::string& what, const std::string& inFile, const std::string& requested) {
        LATS_THROW(FileFormatError, path << ": exists with a different " << what << " (file: " << inFile
                                         << ", requested: " << requested
                                         << "); remove it or choose another output path to start over");
      };
      auto join = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
        return "[" + out + "]";
      };
      if (s.state != "in_progress")
        LATS_THROW(FileFormatError, path << ": exists and is a finished dataset; remove it or choose another output "
                                            "path to "
                                         << (recording ? "record" : "generate") << " again");
      if (recording && s.recorded < 0)
        LATS_THROW(FileFormatError, path << ": exists and is an in-progress generated dataset, not a recording; remove "
                                            "it or choose another output path to record");
      if (!recording && s.recorded >= 0)
        LATS_THROW(FileFormatError, path << ": exists and is an interrupted recording, not a generated dataset; "
                                            "remove it or choose another output path to generate");
      if (s.header.equation != header.equation) differs("equation", s.header.equation, header.equation);
      if (s.header.components != header.components)
        differs("component list", join(s.header.components), join(header.components));
      if (s.header.parameterNames != header.parameterNames)
        differs("parameter list", join(s.header.parameterNames), join(header.parameterNames));
      if (!recording && s.header.numTrajectories != header.numTrajectories)
        differs("number of trajectories", std::to_string(s.header.numTrajectories),
                std::to_string(header.numTrajectories));
      if (!recording && s.header.seed != header.seed)
        differs("seed", std::to_string(s.header.seed), std::to_string(header.seed));
      if (!recording && s.header.times != header.times)
        differs("list of snapshot times", std::to_string(s.header.times.size()) + " times",
                std::to_string(header.times.size()) + " times");
      if (s.numPoints != numPoints) differs("number of points", std::to_string(s.numPoints), std::to_string(numPoints));
      if (s.hasCells != hasCells) differs("cells", s.hasCells ? "stored" : "none", hasCells ? "given" : "none");
      Handle fl = checked(H5Dopen2(f, "/complete", H5P_DEFAULT), H5Dclose, path, "cannot open '/complete'");
      stored = readFlags(fl, path);
      recordedTimes = s.header.times;
      slots = static_cast<std::int64_t>(s.timeSlots);
    });
    if (recording) {  // every rank learns the recording's times and allocation
      std::uint64_t t = recordedTimes.size();
      MPI_Bcast(&t, 1, MPI_UINT64_T, 0, comm);
      recordedTimes.resize(t);
      MPI_Bcast(recordedTimes.data(), static_cast<int>(t), MPI_DOUBLE, 0, comm);
      MPI_Bcast(&slots, 1, MPI_INT64_T, 0, comm);
    }
    // Points: every rank compares its owned entities.
    {
      Handle fapl = fileAccess(comm);
      Handle f = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose, path, "cannot open");
      Handle d = checked(H5Dopen2(f, "/points", H5P_DEFAULT), H5Dclose, path, "cannot open '/points'");
      auto ids = Kokkos::create_mirror_view_and_copy(HostSpace(), points.globalIds());
      auto xyz = Kokkos::create_mirror_view_and_copy(HostSpace(), points.coordinates());
      const std::int64_t n = points.ownedSize();
      std::vector<hsize_t> coords;
      for (std::int64_t k = 0; k < n; ++k)
        for (hsize_t c = 0; c < 3; ++c) {
          coords.push_back(static_cast<hsize_t>(ids(k)));
          coords.push_back(c);
        }
      std::vector<double> stored3(std::max<std::int64_t>(n * 3, 1));
      Handle fs(H5Dget_space(d), H5Sclose);
      Handle ms(H5Screate_simple(1, std::vector<hsize_t>{stored3.size()}.data(), nullptr), H5Sclose);
      if (n == 0) {
        H5Sselect_none(fs);
        H5Sselect_none(ms);
      } else {
        H5Sselect_elements(fs, H5S_SELECT_SET, coords.size() / 2, coords.data());
      }
      Handle dxpl = transfer(true);
      const herr_t st = H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, dxpl, stored3.data());
      std::string bad;
      if (st < 0) bad = "cannot read '/points' (HDF5: " + hdf5Message() + ")";
      for (std::int64_t k = 0; k < n && bad.empty(); ++k)
        for (int dd = 0; dd < dimension; ++dd)
          if (stored3[k * 3 + dd] != xyz(k, dd))
            bad = "exists with different points (point " + std::to_string(ids(k)) +
                  " differs); remove it or choose another output path to start over";
      LATS_CHECK_COLLECTIVE(comm, bad.empty(), ErrorKind::FileFormat, path << ": " << bad);
    }
    std::uint64_t m = stored.size();
    MPI_Bcast(&m, 1, MPI_UINT64_T, 0, comm);
    stored.resize(m);
    MPI_Bcast(stored.data(), static_cast<int>(m), MPI_UINT8_T, 0, comm);
    return std::vector<bool>(stored.begin(), stored.end());
  }

  void writeXdmf() const {
    const std::string file = baseName(path);
    const auto M = header.numTrajectories, T = static_cast<std::int64_t>(header.times.size());
    std::ostringstream x;
    x.precision(17);
    x << "<?xml version=\"1.0\" ?>\n<!-- LaTS trajectory dataset " << file << ": trajectories 0.."
      << std::min<std::int64_t>(M, kXdmfTrajectories) - 1 << " as <component>_<trajectory> -->\n"
      << "<Xdmf Version=\"3.0\">\n <Domain>\n"
      << "  <Grid Name=\"" << header.equation << "\" GridType=\"Collection\" CollectionType=\"Temporal\">\n";
    for (std::int64_t t = 0; t < T; ++t) {
      x << "   <Grid Name=\"snapshot_" << t << "\" GridType=\"Uniform\">\n"
        << "    <Time Value=\"" << header.times[t] << "\"/>\n";
      if (hasCells) {
        x << "    <Topology TopologyType=\"Mixed\" NumberOfElements=\"" << numPoints << "\">\n"
          << "     <DataItem Dimensions=\"" << topologyLength << "\" NumberType=\"Int\" Precision=\"8\" Format=\"HDF\">"
          << file << ":/cells/xdmf_topology</DataItem>\n    </Topology>\n"
          << "    <Geometry GeometryType=\"XYZ\">\n"
          << "     <DataItem Dimensions=\"" << cellVertices
          << " 3\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">" << file
          << ":/cells/vertices</DataItem>\n    </Geometry>\n";
      } else {
        x << "    <Topology TopologyType=\"Polyvertex\" NumberOfElements=\"" << numPoints
          << "\" NodesPerElement=\"1\"/>\n"
          << "    <Geometry GeometryType=\"XYZ\">\n"
          << "     <DataItem Dimensions=\"" << numPoints << " 3\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">"
          << file << ":/points</DataItem>\n    </Geometry>\n";
      }
      for (std::int64_t m = 0; m < std::min<std::int64_t>(M, kXdmfTrajectories); ++m)
        for (int c = 0; c < nc; ++c) {
          x << "    <Attribute Name=\"" << header.components[c] << "_" << m << "\" AttributeType=\"Scalar\" Center=\""
            << (hasCells ? "Cell" : "Node") << "\">\n"
            << "     <DataItem ItemType=\"HyperSlab\" Dimensions=\"1 1 " << numPoints << " 1\" Type=\"HyperSlab\">\n"
            << "      <DataItem Dimensions=\"3 4\" Format=\"XML\">" << m << " " << t << " 0 " << c << " 1 1 1 1 1 1 "
            << numPoints << " 1</DataItem>\n"
            << "      <DataItem Dimensions=\"" << M << " " << T << " " << numPoints << " " << nc
            << "\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">" << file << ":/fields</DataItem>\n"
            << "     </DataItem>\n    </Attribute>\n";
        }
      x << "   </Grid>\n";
    }
    x << "  </Grid>\n </Domain>\n</Xdmf>\n";
    const std::string target = xdmfPath(path), tmp = target + ".tmp";
    {
      std::ofstream out(tmp);
      out << x.str();
      LATS_CHECK(out.good(), Error, "could not write '" << tmp << "'");
    }
    detail::commit(tmp, target);
  }

  /// DatasetWriter::writeSnapshot (a recording: any allocated time slot).
  void writeSnapshot(std::int64_t trajectory, std::int64_t timeIndex, const Mesh& points, const Field& values) {
    auto& I = *this;
    LATS_CHECK_COLLECTIVE(I.comm, I.file.valid(), ErrorKind::Generic, I.path << ": the writer is finished");
    LATS_CHECK_COLLECTIVE(
        I.comm, values.numComponents() == I.nc && values.size() >= points.ownedSize(), ErrorKind::DimensionMismatch,
        I.path << ": a field of " << values.size() << " x " << values.numComponents() << " values; expected at least "
               << points.ownedSize() << " entities x " << I.nc << " components");
    collective(I.comm, [&] {
      checkIndex(trajectory, I.header.numTrajectories, "trajectory", I.path);
      checkIndex(timeIndex, I.timeSlots(), "time index", I.path);
    });
    checkPointIds(points, I.numPoints, I.path);
    auto host = Kokkos::create_mirror_view_and_copy(HostSpace(), values.view());
    std::vector<double> buf(std::max<std::int64_t>(points.ownedSize() * I.nc, 1));
    for (std::int64_t k = 0; k < points.ownedSize(); ++k)
      for (int c = 0; c < I.nc; ++c) buf[k * I.nc + c] = host(k, c);
    LATS_CHECK_COLLECTIVE(I.comm, points.globalSize() == I.numPoints, ErrorKind::DimensionMismatch,
                          I.path << ": a snapshot on " << points.globalSize() << " points; expected all " << I.numPoints
                                 << " points of the dataset");
    const Exchange& ex = I.exchanges.get(I.comm, I.numPoints, ownedIds(points));
    const auto rows = ex.toRows(buf.data(), I.nc);
    collective(I.comm, [&] {
      auto [mem, file] = rowSelection(I.fields, {static_cast<hsize_t>(trajectory), static_cast<hsize_t>(timeIndex)},
                                      ex.lo(), ex.rows(), I.nc);
      Handle dxpl = transfer(false);
      check(H5Dwrite(I.fields, H5T_NATIVE_DOUBLE, mem, file, dxpl, rows.data()), I.path,
            "cannot write dataset '/fields' (trajectory " + std::to_string(trajectory) + ", time " +
                std::to_string(timeIndex) + ")");
    });
  }

  /// The start of finish(): every rank's writes done, the file closed. Collective.
  void closeForFinish(int level) {
    LATS_CHECK_COLLECTIVE(comm, level >= 1 && level <= 9, ErrorKind::InvalidValue,
                          path << ": compression level " << level << "; expected 1 to 9");
    MPI_Barrier(comm);
    collective(comm, [&] { close(); });
  }

  /// The end of finish(): the compressed file and its XDMF sidecar. Collective.
  void finishFile(int level) {
    onRoot(comm, [&] {
      compress(level);
      writeXdmf();
    });
  }

  /// The compressed copy of the in-progress file (rank 0, serial HDF5).
  void compress(int level) const {
    const std::string tmp = path + ".finishing";
    std::remove(tmp.c_str());
    try {
      Handle in = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path, "cannot open");
      Handle out =
          checked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, path, "cannot create");
      writeRootAttributes(out, header, dimension, "final", path);
      const auto M = static_cast<hsize_t>(header.numTrajectories), T = static_cast<hsize_t>(header.times.size()),
                 N = static_cast<hsize_t>(numPoints), C = static_cast<hsize_t>(nc);
      // `from`: the values, instead of the in-progress file's (a recording's times, which
      // fill only part of its allocation).
      auto copyWhole = [&](const char* name, hid_t type, const std::vector<hsize_t>& dims, const void* from = nullptr) {
        hsize_t count = 1;
        for (auto d : dims) count *= d;
        // One chunk with a Fletcher-32 checksum that HDF5 verifies on every read: a changed
        // byte is a read error, not a wrong value.
        Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        if (count > 0) {
          H5Pset_chunk(dcpl, static_cast<int>(dims.size()), dims.data());
          H5Pset_fletcher32(dcpl);
        }
        Handle dst = createDataset(out, name, type, dims, dcpl, path);
        std::vector<double> buf(std::max<hsize_t>(count, 1));  // 8 bytes per value covers every type here
        if (count == 0) return;
        if (from == nullptr) {
          Handle src = checked(H5Dopen2(in, name, H5P_DEFAULT), H5Dclose, path, std::string("cannot open ") + name);
          check(H5Dread(src, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), path,
                std::string("cannot read ") + name);
          from = buf.data();
        }
        check(H5Dwrite(dst, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, from), path, std::string("cannot write ") + name);
      };
      copyWhole("/points", H5T_NATIVE_DOUBLE, {N, 3});
      copyWhole("/cell_volumes", H5T_NATIVE_DOUBLE, {N});
      copyWhole("/times", H5T_NATIVE_DOUBLE, {T}, header.times.data());
      copyWhole("/parameters", H5T_NATIVE_DOUBLE, {M, static_cast<hsize_t>(header.parameterNames.size())});
      copyWhole("/complete", H5T_NATIVE_UINT8, {M});
      if (hasCells) {
        Handle group = checked(H5Gcreate2(out, "/cells", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, path,
                               "cannot create group '/cells'");
        copyWhole("/cells/types", H5T_NATIVE_UINT8, {N});
        copyWhole("/cells/offsets", H5T_NATIVE_INT64, {N + 1});
        copyWhole("/cells/vertices", H5T_NATIVE_DOUBLE, {static_cast<hsize_t>(cellVertices), 3});
        copyWhole("/cells/xdmf_topology", H5T_NATIVE_INT64, {static_cast<hsize_t>(topologyLength)});
      }
      Handle src = checked(H5Dopen2(in, "/fields", H5P_DEFAULT), H5Dclose, path, "cannot open '/fields'");
      Handle dcpl = creationProperties({1, 1, N, C}, level);
      Handle dst = createDataset(out, "/fields", H5T_NATIVE_DOUBLE, {M, T, N, C}, dcpl, path);
      std::vector<double> buf(N * C);
      const hsize_t count[4] = {1, 1, N, C};
      Handle mem(H5Screate_simple(4, count, nullptr), H5Sclose);
      for (hsize_t m = 0; m < M; ++m)
        for (hsize_t t = 0; t < T; ++t) {
          const hsize_t start[4] = {m, t, 0, 0};
          Handle fs(H5Dget_space(src), H5Sclose), ds(H5Dget_space(dst), H5Sclose);
          H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, count, nullptr);
          H5Sselect_hyperslab(ds, H5S_SELECT_SET, start, nullptr, count, nullptr);
          check(H5Dread(src, H5T_NATIVE_DOUBLE, mem, fs, H5P_DEFAULT, buf.data()), path, "cannot read '/fields'");
          check(H5Dwrite(dst, H5T_NATIVE_DOUBLE, mem, ds, H5P_DEFAULT, buf.data()), path, "cannot write '/fields'");
        }
    } catch (...) {
      std::remove(tmp.c_str());
      throw;
    }
    detail::commit(tmp, path);
  }
};

DatasetWriter::DatasetWriter(const std::string& path, const DatasetHeader& header, const Mesh& points,
                             const CellShapes* cells)
    : impl_(std::make_unique<Impl>()) {
  impl_->setUp(path, header, points, cells);
}

DatasetWriter::~DatasetWriter() = default;

const std::string& DatasetWriter::path() const { return impl_->path; }
const std::vector<bool>& DatasetWriter::complete() const { return impl_->complete; }
std::int64_t DatasetWriter::numPoints() const { return impl_->numPoints; }

void DatasetWriter::writeSnapshot(std::int64_t trajectory, std::int64_t timeIndex, const Mesh& points,
                                  const Field& values) {
  impl_->writeSnapshot(trajectory, timeIndex, points, values);
}

void DatasetWriter::writeSnapshotLocal(std::int64_t trajectory, std::int64_t timeIndex, const double* values) {
  auto& I = *impl_;
  checkIndex(trajectory, I.header.numTrajectories, "trajectory", I.path);
  checkIndex(timeIndex, static_cast<std::int64_t>(I.header.times.size()), "time index", I.path);
  const hsize_t start[4] = {static_cast<hsize_t>(trajectory), static_cast<hsize_t>(timeIndex), 0, 0};
  const hsize_t count[4] = {1, 1, static_cast<hsize_t>(I.numPoints), static_cast<hsize_t>(I.nc)};
  Handle file(H5Dget_space(I.fields), H5Sclose);
  H5Sselect_hyperslab(file, H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle mem(H5Screate_simple(4, count, nullptr), H5Sclose);
  Handle dxpl = transfer(false);
  check(H5Dwrite(I.fields, H5T_NATIVE_DOUBLE, mem, file, dxpl, values), I.path,
        "cannot write dataset '/fields' (trajectory " + std::to_string(trajectory) + ")");
}

void DatasetWriter::writeParameters(std::int64_t trajectory, const std::vector<double>& values) {
  auto& I = *impl_;
  checkIndex(trajectory, I.header.numTrajectories, "trajectory", I.path);
  LATS_CHECK(values.size() == I.header.parameterNames.size(), DimensionMismatchError,
             I.path << ": " << values.size() << " parameter values; expected " << I.header.parameterNames.size()
                    << " (one per parameter name)");
  if (values.empty()) return;
  const hsize_t start[2] = {static_cast<hsize_t>(trajectory), 0}, count[2] = {1, values.size()};
  Handle file(H5Dget_space(I.parameters), H5Sclose);
  H5Sselect_hyperslab(file, H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle mem(H5Screate_simple(2, count, nullptr), H5Sclose);
  Handle dxpl = transfer(false);
  check(H5Dwrite(I.parameters, H5T_NATIVE_DOUBLE, mem, file, dxpl, values.data()), I.path,
        "cannot write dataset '/parameters'");
}

void DatasetWriter::markComplete(std::int64_t trajectory) {
  auto& I = *impl_;
  checkIndex(trajectory, I.header.numTrajectories, "trajectory", I.path);
  const hsize_t start = static_cast<hsize_t>(trajectory), count = 1;
  Handle file(H5Dget_space(I.flags), H5Sclose);
  H5Sselect_hyperslab(file, H5S_SELECT_SET, &start, nullptr, &count, nullptr);
  Handle mem(H5Screate_simple(1, &count, nullptr), H5Sclose);
  const std::uint8_t one = 1;
  Handle dxpl = transfer(false);
  check(H5Dwrite(I.flags, H5T_NATIVE_UINT8, mem, file, dxpl, &one), I.path, "cannot write dataset '/complete'");
  I.complete[trajectory] = true;
}

void DatasetWriter::finish(int level) {
  auto& I = *impl_;
  I.closeForFinish(level);
  // The flags on disk (other ranks may have marked trajectories).
  std::vector<std::uint8_t> flags;
  onRoot(I.comm, [&] {
    Handle f = checked(H5Fopen(I.path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, I.path, "cannot open");
    Handle d = checked(H5Dopen2(f, "/complete", H5P_DEFAULT), H5Dclose, I.path, "cannot open '/complete'");
    flags = readFlags(d, I.path);
    std::int64_t missing = 0, first = -1;
    for (std::size_t m = 0; m < flags.size(); ++m)
      if (!flags[m]) {
        ++missing;
        if (first < 0) first = static_cast<std::int64_t>(m);
      }
    LATS_CHECK(missing == 0, InvalidValueError,
               I.path << ": " << missing << " of " << flags.size() << " trajectories are not complete (the first is "
                      << first << "); finish() needs every trajectory");
  });
  I.finishFile(level);
  I.complete.assign(I.header.numTrajectories, true);
}

// =========================================================================================
// Recording writer
//
// A recording is an in-progress file with `slots` time slots allocated and a count in
// /recorded: an append writes the fields of slot k (every rank), then rank 0 writes time k
// and the count k + 1, so the count never covers a slot whose values are not on disk. A
// full allocation is copied into a file twice its size under a temporary name, which is
// then renamed over the recording: the old file stays whole until the rename.

struct RecordingWriter::Impl {
  DatasetWriter::Impl w;
  std::vector<double> times;  // of the snapshots the file holds
  std::int64_t reopened = 0;
  bool appended = false, finished = false;

  /// Makes the file hold `count` snapshots, writing `time` into slot count - 1 first when
  /// given. After every rank's writes. Collective.
  void setCount(std::int64_t count, const double* time) {
    MPI_Barrier(w.comm);
    onRoot(w.comm, [&] {
      Handle dxpl = transfer(false);
      if (time != nullptr) {
        const hsize_t start = static_cast<hsize_t>(count - 1), one = 1;
        Handle fs(H5Dget_space(w.times), H5Sclose);
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, nullptr, &one, nullptr);
        Handle ms(H5Screate_simple(1, &one, nullptr), H5Sclose);
        check(H5Dwrite(w.times, H5T_NATIVE_DOUBLE, ms, fs, dxpl, time), w.path, "cannot write dataset '/times'");
      }
      check(H5Dwrite(w.recorded, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, dxpl, &count), w.path,
            "cannot write dataset '/recorded'");
    });
  }

  /// Doubles the allocation: a new in-progress file under `<path>.growing` (points and
  /// cells as before), the snapshots copied by rank 0, then renamed over the recording.
  /// Collective.
  void grow(const Mesh& points) {
    const std::string tmp = w.path + ".growing";
    const auto count = static_cast<hsize_t>(times.size());
    collective(w.comm, [&] { w.close(); });
    w.slots *= 2;
    w.create(points, tmp);
    onRoot(w.comm, [&] {
      try {
        Handle in = checked(H5Fopen(w.path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, w.path, "cannot open");
        Handle out =
            checked(H5Fopen(tmp.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, w.path, "cannot open '" + tmp + "'");
        Handle src = checked(H5Dopen2(in, "/fields", H5P_DEFAULT), H5Dclose, w.path, "cannot open '/fields'");
        Handle dst = checked(H5Dopen2(out, "/fields", H5P_DEFAULT), H5Dclose, w.path, "cannot open '/fields'");
        const hsize_t block[4] = {1, 1, static_cast<hsize_t>(w.numPoints), static_cast<hsize_t>(w.nc)};
        std::vector<double> buf(block[2] * block[3]);
        Handle mem(H5Screate_simple(4, block, nullptr), H5Sclose);
        for (hsize_t t = 0; t < count; ++t) {
          const hsize_t start[4] = {0, t, 0, 0};
          Handle fs(H5Dget_space(src), H5Sclose), ds(H5Dget_space(dst), H5Sclose);
          H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, block, nullptr);
          H5Sselect_hyperslab(ds, H5S_SELECT_SET, start, nullptr, block, nullptr);
          check(H5Dread(src, H5T_NATIVE_DOUBLE, mem, fs, H5P_DEFAULT, buf.data()), w.path, "cannot read '/fields'");
          check(H5Dwrite(dst, H5T_NATIVE_DOUBLE, mem, ds, H5P_DEFAULT, buf.data()), w.path, "cannot write '/fields'");
        }
        Handle td = checked(H5Dopen2(out, "/times", H5P_DEFAULT), H5Dclose, w.path, "cannot open '/times'");
        if (count > 0) {
          const hsize_t zero = 0;
          Handle fs(H5Dget_space(td), H5Sclose);
          H5Sselect_hyperslab(fs, H5S_SELECT_SET, &zero, nullptr, &count, nullptr);
          Handle ms(H5Screate_simple(1, &count, nullptr), H5Sclose);
          check(H5Dwrite(td, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, times.data()), w.path, "cannot write '/times'");
        }
        Handle rd = checked(H5Dopen2(out, "/recorded", H5P_DEFAULT), H5Dclose, w.path, "cannot open '/recorded'");
        const auto n = static_cast<std::int64_t>(count);
        check(H5Dwrite(rd, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &n), w.path, "cannot write '/recorded'");
      } catch (...) {
        std::remove(tmp.c_str());
        throw;
      }
      detail::commit(tmp, w.path);
    });
    collective(w.comm, [&] { w.open(); });
  }
};

RecordingWriter::RecordingWriter(const std::string& path, DatasetHeader header, const Mesh& points,
                                 std::int64_t capacityHint)
    : impl_(std::make_unique<Impl>()) {
  auto& I = *impl_;
  LATS_CHECK_COLLECTIVE(points.comm(), capacityHint >= 1, ErrorKind::InvalidValue,
                        path << ": room for " << capacityHint << " snapshots asked; expected at least 1");
  header.numTrajectories = 1;
  header.times.clear();
  I.w.recording = true;
  // Room for the hint, at most about 256 MiB at first: the allocation doubles when full.
  const std::int64_t bytes =
      std::max<std::int64_t>(points.globalSize() * static_cast<std::int64_t>(header.components.size()) * 8, 1);
  I.w.slots = std::max<std::int64_t>(2, std::min<std::int64_t>(capacityHint, (std::int64_t{256} << 20) / bytes));
  collective(points.comm(), [&] {  // what an interrupted growth left
    if (Comm(points.comm()).rank() == 0) std::remove((path + ".growing").c_str());
  });
  I.w.setUp(path, header, points, nullptr);
  I.times = I.w.recordedTimes;
  I.reopened = static_cast<std::int64_t>(I.times.size());
}

RecordingWriter::~RecordingWriter() = default;

const std::string& RecordingWriter::path() const { return impl_->w.path; }
const std::vector<double>& RecordingWriter::times() const { return impl_->times; }
std::int64_t RecordingWriter::reopened() const { return impl_->reopened; }
bool RecordingWriter::finished() const { return impl_->finished; }

void RecordingWriter::append(double time, const Mesh& points, const Field& values) {
  auto& I = *impl_;
  const std::string& path = I.w.path;
  LATS_CHECK_COLLECTIVE(I.w.comm, !I.finished, ErrorKind::Generic,
                        path << ": the recording is finished; start another to record more");
  auto index = static_cast<std::int64_t>(I.times.size());
  collective(I.w.comm, [&] {
    LATS_CHECK(std::isfinite(time), InvalidValueError,
               path << ": a snapshot at time " << time << "; expected a finite time");
    if (!I.appended && !I.times.empty()) {
      // The host restarted (from its start or a checkpoint): it must be at a recorded time.
      const auto it = std::find(I.times.begin(), I.times.end(), time);
      LATS_CHECK(it != I.times.end(), InvalidValueError,
                 path << ": holds an interrupted recording of " << I.times.size() << " snapshots (t = "
                      << I.times.front() << " .. " << I.times.back() << ") and the host now starts at t = " << time
                      << ", which is not one of them; restart the host from its start or from one of those times, or "
                         "remove the file to record anew");
      index = it - I.times.begin();
    } else if (!I.times.empty()) {
      LATS_CHECK(time > I.times.back(), InvalidValueError,
                 path << ": a snapshot at t = " << time << " after one at t = " << I.times.back()
                      << "; snapshot times must increase");
    }
  });
  if (index < static_cast<std::int64_t>(I.times.size())) {  // replaced from here on
    I.setCount(index, nullptr);
    I.times.resize(static_cast<std::size_t>(index));
  }
  I.appended = true;
  if (index >= I.w.slots) I.grow(points);
  I.w.writeSnapshot(0, index, points, values);
  I.setCount(index + 1, &time);
  I.times.push_back(time);
}

void RecordingWriter::finish(int level) {
  auto& I = *impl_;
  if (I.finished) return;
  collective(I.w.comm, [&] {
    LATS_CHECK(I.times.size() >= 2, InvalidValueError,
               I.w.path << ": " << I.times.size()
                        << " snapshot(s) recorded; a dataset needs at least two (take a step before finishing); the "
                           "in-progress file keeps what was recorded");
  });
  I.w.header.times = I.times;
  MPI_Barrier(I.w.comm);
  onRoot(I.w.comm, [&] {
    const std::uint8_t one = 1;
    Handle dxpl = transfer(false);
    check(H5Dwrite(I.w.flags, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, dxpl, &one), I.w.path,
          "cannot write dataset '/complete'");
  });
  I.w.closeForFinish(level);
  I.w.finishFile(level);
  I.finished = true;
}

// =========================================================================================
// Reader

struct DatasetReader::Impl {
  std::string path;
  MPI_Comm comm = MPI_COMM_NULL;
  Stored stored;
  std::vector<bool> complete;
  Handle file, fields;
  ExchangeCache exchanges;
};

DatasetReader::DatasetReader(MPI_Comm comm, const std::string& path) : impl_(std::make_unique<Impl>()) {
  quietHdf5();
  auto& I = *impl_;
  I.path = path;
  I.comm = comm;
  std::vector<std::uint8_t> flags;
  collective(comm, [&] {
    LATS_CHECK(fileExists(path), FileFormatError, path << ": no such file");
    if (H5Fis_hdf5(path.c_str()) <= 0)
      LATS_THROW(FileFormatError, path << ": not an HDF5 file, or truncated or corrupt; expected a LaTS trajectory "
                                          "dataset (doc/datasets.md)");
  });
  collective(comm, [&] {
    Handle fapl = fileAccess(comm);
    I.file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose, path,
                     "cannot be opened as HDF5 (truncated or corrupt)");
  });
  collective(comm, [&] {
    I.stored = readStored(I.file, path);
    Handle d = checked(H5Dopen2(I.file, "/parameters", H5P_DEFAULT), H5Dclose, path, "cannot open '/parameters'");
    Handle fl = checked(H5Dopen2(I.file, "/complete", H5P_DEFAULT), H5Dclose, path, "cannot open '/complete'");
    flags = readFlags(fl, path);
    I.fields = checked(H5Dopen2(I.file, "/fields", H5P_DEFAULT), H5Dclose, path, "cannot open '/fields'");
  });
  // A recording's one trajectory holds every snapshot its header lists.
  if (I.stored.recorded >= 0) flags.assign(1, I.stored.recorded >= 1 ? 1 : 0);
  I.complete.assign(flags.begin(), flags.end());
}

DatasetReader::~DatasetReader() = default;

const std::string& DatasetReader::path() const { return impl_->path; }
const DatasetHeader& DatasetReader::header() const { return impl_->stored.header; }
int DatasetReader::formatVersion() const { return impl_->stored.version; }
int DatasetReader::dimension() const { return impl_->stored.dimension; }
std::int64_t DatasetReader::numPoints() const { return impl_->stored.numPoints; }
bool DatasetReader::inProgress() const { return impl_->stored.state == "in_progress"; }
bool DatasetReader::recording() const { return impl_->stored.recorded >= 0; }
std::vector<bool> DatasetReader::complete() const { return impl_->complete; }

bool DatasetReader::hasCells() const { return impl_->stored.hasCells; }

CellShapes DatasetReader::cells() const {
  auto& I = *impl_;
  CellShapes out;
  if (!I.stored.hasCells) return out;
  const auto N = static_cast<std::size_t>(I.stored.numPoints);
  out.types.resize(N);
  out.offsets.resize(N + 1);
  out.vertices.resize(3 * I.stored.cellVertices);
  collective(I.comm, [&] {
    auto read = [&](const char* name, hid_t type, void* data) {
      Handle d = checked(H5Dopen2(I.file, name, H5P_DEFAULT), H5Dclose, I.path, std::string("cannot open ") + name);
      check(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), I.path,
            std::string("cannot read dataset '") + name + "': the file is corrupt");
    };
    read("/cells/types", H5T_NATIVE_UINT8, out.types.data());
    read("/cells/offsets", H5T_NATIVE_INT64, out.offsets.data());
    if (!out.vertices.empty()) read("/cells/vertices", H5T_NATIVE_DOUBLE, out.vertices.data());
    LATS_CHECK(out.offsets.front() == 0 && out.offsets.back() == static_cast<std::int64_t>(I.stored.cellVertices),
               FileFormatError,
               I.path << ": dataset '/cells/offsets' runs from " << out.offsets.front() << " to " << out.offsets.back()
                      << "; expected 0 to " << I.stored.cellVertices << " (the rows of '/cells/vertices')");
  });
  return out;
}

std::vector<double> DatasetReader::parameters(std::int64_t trajectory) const {
  auto& I = *impl_;
  std::vector<double> out(I.stored.header.parameterNames.size());
  collective(I.comm, [&] {
    checkIndex(trajectory, I.stored.header.numTrajectories, "trajectory", I.path);
    if (out.empty()) return;
    Handle d = checked(H5Dopen2(I.file, "/parameters", H5P_DEFAULT), H5Dclose, I.path, "cannot open '/parameters'");
    const hsize_t start[2] = {static_cast<hsize_t>(trajectory), 0}, count[2] = {1, out.size()};
    Handle fs(H5Dget_space(d), H5Sclose);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, count, nullptr);
    Handle ms(H5Screate_simple(2, count, nullptr), H5Sclose);
    check(H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, out.data()), I.path,
          "cannot read dataset '/parameters': the file is corrupt");
  });
  return out;
}

std::shared_ptr<const Mesh> DatasetReader::mesh(const std::vector<std::int64_t>& points) const {
  auto& I = *impl_;
  const Comm comm(I.comm);
  const std::int64_t N = I.stored.numPoints;
  const std::int64_t total = points.empty() ? N : static_cast<std::int64_t>(points.size());
  collective(I.comm, [&] {
    for (std::size_t i = 0; i < points.size(); ++i) {
      checkIndex(points[i], N, "point", I.path);
      LATS_CHECK(i == 0 || points[i] > points[i - 1], InvalidValueError,
                 I.path << ": point indices must be sorted and distinct (index " << i << " is " << points[i]
                        << " after " << points[i - 1] << ")");
    }
  });
  const std::int64_t begin = total * comm.rank() / comm.size(), end = total * (comm.rank() + 1) / comm.size();
  std::vector<std::int64_t> ids(end - begin);
  for (std::int64_t i = begin; i < end; ++i) ids[i - begin] = points.empty() ? i : points[i];
  const int dim = I.stored.dimension;
  std::vector<double> xyz(std::max<std::int64_t>(ids.size() * 3, 1)), vol(std::max<std::size_t>(ids.size(), 1));
  collective(I.comm, [&] {
    const Exchange ex(I.comm, N, ids);
    auto readRows = [&](const char* name, int width, double* out) {
      Handle d = checked(H5Dopen2(I.file, name, H5P_DEFAULT), H5Dclose, I.path, std::string("cannot open ") + name);
      std::vector<double> rows(std::max<std::int64_t>(ex.rows(), 1) * std::max(width, 1));
      auto [ms, fs] = rowSelection(d, {}, ex.lo(), ex.rows(), width);
      Handle dxpl = transfer(true);
      check(H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, dxpl, rows.data()), I.path,
            std::string("cannot read dataset '") + name + "': the file is corrupt");
      const auto values = ex.fromRows(rows, std::max(width, 1), ids.size());
      std::copy(values.begin(), values.end(), out);
    };
    readRows("/points", 3, xyz.data());
    if (I.stored.hasVolumes) readRows("/cell_volumes", 0, vol.data());
  });
  std::vector<double> coords;
  for (std::size_t k = 0; k < ids.size(); ++k)
    for (int d = 0; d < dim; ++d) coords.push_back(xyz[k * 3 + d]);
  MeshBuilder b(I.comm, dim);
  b.name(I.stored.header.equation + " points").coordinates(coords).globalIds(ids);
  bool volumesOk = I.stored.hasVolumes;
  for (std::size_t k = 0; k < ids.size() && volumesOk; ++k) volumesOk = vol[k] > 0;
  volumesOk = comm.all(volumesOk);
  if (volumesOk) b.volumes(std::vector<double>(vol.begin(), vol.begin() + ids.size()));
  return b.build();
}

Field DatasetReader::read(const Mesh& points, std::int64_t trajectory, std::int64_t timeIndex) const {
  auto& I = *impl_;
  const auto& h = I.stored.header;
  const int nc = static_cast<int>(h.components.size());
  collective(I.comm, [&] {
    checkIndex(trajectory, h.numTrajectories, "trajectory", I.path);
    checkIndex(timeIndex, static_cast<std::int64_t>(h.times.size()), "time index", I.path);
    LATS_CHECK(I.complete[trajectory], InvalidValueError,
               I.path << ": trajectory " << trajectory
                      << " is not complete (its generation was interrupted); re-run the generation to finish it");
  });
  checkPointIds(points, I.stored.numPoints, I.path);
  Field out(h.equation, points.ownedSize(), h.components, Location::Point);
  std::vector<double> buf(std::max<std::int64_t>(points.ownedSize() * nc, 1));
  const Exchange& ex = I.exchanges.get(I.comm, I.stored.numPoints, ownedIds(points));
  std::vector<double> rows(std::max<std::int64_t>(ex.rows(), 1) * nc);
  collective(I.comm, [&] {
    auto [mem, file] = rowSelection(I.fields, {static_cast<hsize_t>(trajectory), static_cast<hsize_t>(timeIndex)},
                                    ex.lo(), ex.rows(), nc);
    Handle dxpl = transfer(false);
    check(H5Dread(I.fields, H5T_NATIVE_DOUBLE, mem, file, dxpl, rows.data()), I.path,
          "cannot read dataset '/fields' at trajectory " + std::to_string(trajectory) + ", time index " +
              std::to_string(timeIndex) + ": the file is corrupt");
  });
  buf = ex.fromRows(rows, nc, static_cast<std::size_t>(points.ownedSize()));
  auto host = Kokkos::create_mirror_view(out.view());
  for (std::int64_t k = 0; k < points.ownedSize(); ++k)
    for (int c = 0; c < nc; ++c) host(k, c) = buf[k * nc + c];
  Kokkos::deep_copy(out.view(), host);
  return out;
}

std::vector<Field> DatasetReader::read(const Mesh& points, std::vector<std::int64_t> trajectories,
                                       std::int64_t timeBegin, std::int64_t timeEnd) const {
  const auto& h = impl_->stored.header;
  const auto T = static_cast<std::int64_t>(h.times.size());
  if (timeEnd < 0) timeEnd = T;
  collective(impl_->comm, [&] {
    LATS_CHECK(
        timeBegin >= 0 && timeBegin <= timeEnd && timeEnd <= T, InvalidValueError,
        impl_->path << ": time range [" << timeBegin << ", " << timeEnd << "); expected 0 <= begin <= end <= " << T);
  });
  if (trajectories.empty())
    for (std::int64_t m = 0; m < h.numTrajectories; ++m)
      if (impl_->complete[m]) trajectories.push_back(m);
  std::vector<Field> out;
  for (auto m : trajectories)
    for (std::int64_t t = timeBegin; t < timeEnd; ++t) out.push_back(read(points, m, t));
  return out;
}

std::vector<std::int64_t> subsamplePoints(std::int64_t numPoints, std::int64_t count, std::uint64_t seed) {
  LATS_CHECK(count >= 0 && count <= numPoints, InvalidValueError,
             "subsamplePoints: " << count << " of " << numPoints << " points; expected 0 <= count <= " << numPoints);
  // Floyd's algorithm: count distinct draws.
  SplitMix64 rng(seed, 0x5A3Bu);
  std::set<std::int64_t> chosen;
  for (std::int64_t j = numPoints - count; j < numPoints; ++j) {
    const auto t = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(j + 1)));
    if (!chosen.insert(t).second) chosen.insert(j);
  }
  return {chosen.begin(), chosen.end()};
}

}  // namespace lats::meshio
