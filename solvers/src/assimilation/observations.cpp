// Observations: validation, HDF5 and CSV files.
#include "lats/solvers/assimilation/observations.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/files.hpp"
#include "lats/core/strings.hpp"

namespace lats::solvers::assimilation {

void Sensors::validate() const {
  const auto m = static_cast<std::size_t>(size());
  LATS_CHECK(dimension >= 1 && dimension <= 3, DimensionMismatchError,
             "sensors have spatial dimension " << dimension << "; expected 1, 2 or 3");
  LATS_CHECK(coordinates.size() == m * static_cast<std::size_t>(dimension), DimensionMismatchError,
             "sensors: " << coordinates.size() << " coordinates for " << m << " sensors in " << dimension
                         << "D; expected " << m * static_cast<std::size_t>(dimension));
  LATS_CHECK(components.size() == m, DimensionMismatchError,
             "sensors: " << components.size() << " component names for " << m << " sensors; give one per sensor");
  for (std::size_t i = 0; i < m; ++i) {
    for (int d = 0; d < dimension; ++d)
      LATS_CHECK(
          std::isfinite(coordinates[i * dimension + d]), InvalidValueError,
          "sensor " << i << " has a non-finite coordinate " << d << " (" << coordinates[i * dimension + d] << ")");
    LATS_CHECK(std::isfinite(noiseStd[i]) && noiseStd[i] > 0.0, InvalidValueError,
               "sensor " << i << " has noise standard deviation " << noiseStd[i]
                         << "; it must be positive and finite (a perfect sensor still needs a small noise, "
                            "e.g. 1e-6 of the field's scale)");
    LATS_CHECK(!components[i].empty(), InvalidValueError, "sensor " << i << " observes no component (empty name)");
  }
}

void Observations::validate() const {
  sensors.validate();
  LATS_CHECK(std::isfinite(time), InvalidValueError, "observations at a non-finite time (" << time << ")");
  LATS_CHECK(values.size() == static_cast<std::size_t>(size()), DimensionMismatchError,
             "observations at t = " << time << ": " << values.size() << " values for " << size() << " sensors");
  for (std::size_t i = 0; i < values.size(); ++i)
    LATS_CHECK(std::isfinite(values[i]), InvalidValueError,
               "observation of sensor " << i << " at t = " << time << " is " << values[i]
                                        << "; drop the sensor at that time instead of giving a non-finite value");
}

const Observations* ObservationSeries::at(double time, double tolerance) const {
  for (const auto& b : batches)
    if (std::abs(b.time - time) <= tolerance) return &b;
  return nullptr;
}

double ObservationSeries::nextTime(double time, double tolerance) const {
  for (const auto& b : batches)
    if (b.time > time + tolerance) return b.time;
  return std::numeric_limits<double>::infinity();
}

std::int64_t ObservationSeries::totalSize() const {
  std::int64_t n = 0;
  for (const auto& b : batches) n += b.size();
  return n;
}

void ObservationSeries::validate() const {
  for (std::size_t k = 0; k < batches.size(); ++k) {
    batches[k].validate();
    if (k > 0) {
      LATS_CHECK(batches[k].time > batches[k - 1].time, InvalidValueError,
                 "observation times must increase: batch " << k << " is at t = " << batches[k].time
                                                           << " after t = " << batches[k - 1].time);
      LATS_CHECK(batches[k].sensors.dimension == batches[0].sensors.dimension, DimensionMismatchError,
                 "observation batch " << k << " is " << batches[k].sensors.dimension << "D, batch 0 is "
                                      << batches[0].sensors.dimension << "D");
    }
  }
}

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

enum class Format { Hdf5, Csv };

Format formatOf(const std::string& path) {
  if (endsWith(path, ".h5") || endsWith(path, ".hdf5")) return Format::Hdf5;
  if (endsWith(path, ".csv")) return Format::Csv;
  LATS_THROW(ConfigurationError,
             "observation file '" << path << "' has an unknown extension; expected .h5, .hdf5 or .csv");
}

// ---- CSV -------------------------------------------------------------------------------

std::vector<std::string> splitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream is(line);
  while (std::getline(is, cell, ',')) {
    const auto a = cell.find_first_not_of(" \t\r");
    const auto b = cell.find_last_not_of(" \t\r");
    out.push_back(a == std::string::npos ? std::string() : cell.substr(a, b - a + 1));
  }
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

double parseNumber(const std::string& text, const std::string& path, int line, const std::string& column) {
  // NaN and inf parse here and are rejected by validate() with the sensor named.
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    LATS_THROW(FileFormatError, path << ":" << line << ": column '" << column << "' is '" << text << "', not a number");
  return v;
}

ObservationSeries readCsv(const std::string& path) {
  std::ifstream in(path);
  LATS_CHECK(in.good(), FileFormatError, "cannot open observation file '" << path << "'");
  std::string line;
  int lineNo = 0;
  std::vector<std::string> header;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    header = splitCsv(line);
    break;
  }
  const std::vector<std::vector<std::string>> expected = {{"time", "x", "component", "value", "noise_std"},
                                                          {"time", "x", "y", "component", "value", "noise_std"},
                                                          {"time", "x", "y", "z", "component", "value", "noise_std"}};
  int dim = 0;
  for (int d = 0; d < 3; ++d)
    if (header == expected[d]) dim = d + 1;
  LATS_CHECK(dim > 0, FileFormatError,
             path << ":" << lineNo << ": header is '" << join(header, ",")
                  << "'; expected time,x,component,value,noise_std (1D), time,x,y,component,value,noise_std "
                     "(2D) or time,x,y,z,component,value,noise_std (3D)");
  ObservationSeries series;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    const auto cells = splitCsv(line);
    LATS_CHECK(cells.size() == header.size(), FileFormatError,
               path << ":" << lineNo << ": " << cells.size() << " columns; the header has " << header.size());
    const double t = parseNumber(cells[0], path, lineNo, "time");
    if (series.batches.empty() || t != series.batches.back().time) {
      LATS_CHECK(series.batches.empty() || t > series.batches.back().time, FileFormatError,
                 path << ":" << lineNo << ": time " << t << " comes after time " << series.batches.back().time
                      << "; sort the rows by time");
      series.batches.emplace_back();
      series.batches.back().time = t;
      series.batches.back().sensors.dimension = dim;
    }
    auto& b = series.batches.back();
    for (int d = 0; d < dim; ++d)
      b.sensors.coordinates.push_back(parseNumber(cells[1 + d], path, lineNo, header[1 + d]));
    b.sensors.components.push_back(cells[1 + dim]);
    b.values.push_back(parseNumber(cells[2 + dim], path, lineNo, "value"));
    b.sensors.noiseStd.push_back(parseNumber(cells[3 + dim], path, lineNo, "noise_std"));
  }
  LATS_CHECK(!series.batches.empty(), FileFormatError, "observation file '" << path << "' has no observations");
  return series;
}

void writeCsv(const std::string& path, const ObservationSeries& series) {
  std::ofstream out(path);
  LATS_CHECK(out.good(), Error, "could not write '" << path << "'");
  const int dim = series.batches.empty() ? 1 : series.batches[0].sensors.dimension;
  out << "time,x" << (dim > 1 ? ",y" : "") << (dim > 2 ? ",z" : "") << ",component,value,noise_std\n";
  out.precision(17);
  for (const auto& b : series.batches)
    for (std::int64_t i = 0; i < b.size(); ++i) {
      out << b.time;
      for (int d = 0; d < dim; ++d) out << ',' << b.sensors.coordinates[i * dim + d];
      out << ',' << b.sensors.components[i] << ',' << b.values[i] << ',' << b.sensors.noiseStd[i] << '\n';
    }
  LATS_CHECK(out.good(), Error, "could not write '" << path << "' (disk full?)");
}

// ---- HDF5 ------------------------------------------------------------------------------

constexpr const char* kFormat = "lats-observations";
constexpr int kVersion = 1;

struct H5 {
  hid_t id;
  herr_t (*close)(hid_t);
  H5(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~H5() {
    if (id >= 0) close(id);
  }
  H5(const H5&) = delete;
  H5& operator=(const H5&) = delete;
  operator hid_t() const { return id; }
};

hid_t need(hid_t id, const std::string& path, const std::string& what) {
  LATS_CHECK(id >= 0, FileFormatError, "observation file '" << path << "': " << what);
  return id;
}

void writeAttr(hid_t obj, const char* name, hid_t type, const void* value) {
  H5 space(H5Screate(H5S_SCALAR), H5Sclose);
  H5 a(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  LATS_CHECK(a >= 0 && H5Awrite(a, type, value) >= 0, Error, "could not write attribute '" << name << "'");
}

void writeStringAttr(hid_t obj, const char* name, const std::string& value) {
  H5 type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, value.size() + 1);
  writeAttr(obj, name, type, value.c_str());
}

std::string readStringAttr(hid_t obj, const char* name, const std::string& path) {
  H5 a(need(H5Aopen(obj, name, H5P_DEFAULT), path, std::string("missing attribute '") + name + "'"), H5Aclose);
  H5 type(H5Aget_type(a), H5Tclose);
  LATS_CHECK(H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type), FileFormatError,
             "observation file '" << path << "': attribute '" << name << "' is not a fixed-length string");
  std::string buf(H5Tget_size(type), '\0');
  H5 mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem, buf.size());
  LATS_CHECK(H5Aread(a, mem, buf.data()) >= 0, FileFormatError,
             "observation file '" << path << "': cannot read attribute '" << name << "'");
  return std::string(buf.c_str());
}

template <class T>
T readScalarAttr(hid_t obj, const char* name, hid_t memType, const std::string& path) {
  H5 a(need(H5Aopen(obj, name, H5P_DEFAULT), path, std::string("missing attribute '") + name + "'"), H5Aclose);
  T v{};
  LATS_CHECK(H5Aread(a, memType, &v) >= 0, FileFormatError,
             "observation file '" << path << "': cannot read attribute '" << name << "'");
  return v;
}

void writeArray(hid_t group, const char* name, hid_t fileType, hid_t memType, const void* data,
                std::vector<hsize_t> dims) {
  H5 space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5 d(H5Dcreate2(group, name, fileType, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  LATS_CHECK(d >= 0 && H5Dwrite(d, memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, Error,
             "could not write dataset '" << name << "'");
}

template <class T>
std::vector<T> readArray(hid_t group, const std::string& gname, const char* name, hid_t memType,
                         std::vector<hsize_t> expected, const std::string& path) {
  const std::string where = gname + "/" + name;
  H5 d(need(H5Dopen2(group, name, H5P_DEFAULT), path, "missing dataset '" + where + "'"), H5Dclose);
  H5 space(H5Dget_space(d), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  if (dims != expected) {
    std::ostringstream got, want;
    for (auto v : dims) got << (got.tellp() ? " x " : "") << v;
    for (auto v : expected) want << (want.tellp() ? " x " : "") << v;
    LATS_THROW(FileFormatError, "observation file '" << path << "': dataset '" << where << "' has shape (" << got.str()
                                                     << "); expected (" << want.str() << ")");
  }
  std::size_t n = 1;
  for (auto v : dims) n *= v;
  std::vector<T> out(n);
  LATS_CHECK(n == 0 || H5Dread(d, memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >= 0, FileFormatError,
             "observation file '" << path << "': cannot read dataset '" << where << "' (truncated or corrupt)");
  return out;
}

void writeHdf5(const std::string& path, const ObservationSeries& series) {
  const int dim = series.batches.empty() ? 1 : series.batches[0].sensors.dimension;
  std::vector<std::string> names;
  std::map<std::string, int> index;
  for (const auto& b : series.batches)
    for (const auto& c : b.sensors.components) {
      LATS_CHECK(c.find(',') == std::string::npos, InvalidValueError,
                 "component name '" << c << "' contains a comma, which observation files do not allow");
      if (index.emplace(c, static_cast<int>(names.size())).second) names.push_back(c);
    }
  H5 file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  LATS_CHECK(file >= 0, Error, "could not create '" << path << "'");
  writeStringAttr(file, "format", kFormat);
  writeAttr(file, "version", H5T_NATIVE_INT, &kVersion);
  writeAttr(file, "dimension", H5T_NATIVE_INT, &dim);
  writeStringAttr(file, "components", join(names, ","));
  const long long nb = static_cast<long long>(series.batches.size());
  writeAttr(file, "batches", H5T_NATIVE_LLONG, &nb);
  for (std::size_t k = 0; k < series.batches.size(); ++k) {
    const auto& b = series.batches[k];
    const std::string gname = "batch_" + std::to_string(k);
    H5 g(H5Gcreate2(file, gname.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    LATS_CHECK(g >= 0, Error, "could not create group '" << gname << "' in '" << path << "'");
    writeAttr(g, "time", H5T_NATIVE_DOUBLE, &b.time);
    const auto m = static_cast<hsize_t>(b.size());
    std::vector<int> comp(b.sensors.components.size());
    for (std::size_t i = 0; i < comp.size(); ++i) comp[i] = index.at(b.sensors.components[i]);
    writeArray(g, "coordinates", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, b.sensors.coordinates.data(),
               {m, static_cast<hsize_t>(dim)});
    writeArray(g, "component", H5T_STD_I32LE, H5T_NATIVE_INT, comp.data(), {m});
    writeArray(g, "noise_std", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, b.sensors.noiseStd.data(), {m});
    writeArray(g, "values", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, b.values.data(), {m});
  }
  LATS_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0, Error, "could not write '" << path << "' (disk full?)");
}

// Silences HDF5's own error printing while alive (we report errors ourselves).
class QuietHdf5 {
 public:
  QuietHdf5() {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

ObservationSeries readHdf5(const std::string& path) {
  LATS_CHECK(access(path.c_str(), R_OK) == 0, FileFormatError, "cannot open observation file '" << path << "'");
  QuietHdf5 quiet;
  {
    H5 file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    need(file, path, "not an HDF5 file, or truncated");
    const std::string format = readStringAttr(file, "format", path);
    LATS_CHECK(format == kFormat, FileFormatError,
               "'" << path << "' is a '" << format << "' file, not observations ('" << kFormat << "')");
    const int version = readScalarAttr<int>(file, "version", H5T_NATIVE_INT, path);
    LATS_CHECK(
        version == kVersion, FileFormatError,
        "observation file '" << path << "' has layout version " << version << "; this LaTS reads version " << kVersion);
    const int dim = readScalarAttr<int>(file, "dimension", H5T_NATIVE_INT, path);
    LATS_CHECK(dim >= 1 && dim <= 3, FileFormatError, "observation file '" << path << "': dimension " << dim);
    std::vector<std::string> names;
    {
      std::istringstream is(readStringAttr(file, "components", path));
      for (std::string s; std::getline(is, s, ',');) names.push_back(s);
    }
    const auto nb = readScalarAttr<long long>(file, "batches", H5T_NATIVE_LLONG, path);
    ObservationSeries series;
    for (long long k = 0; k < nb; ++k) {
      const std::string gname = "batch_" + std::to_string(k);
      H5 g(need(H5Gopen2(file, gname.c_str(), H5P_DEFAULT), path, "missing group '" + gname + "'"), H5Gclose);
      Observations b;
      b.time = readScalarAttr<double>(g, "time", H5T_NATIVE_DOUBLE, path);
      b.sensors.dimension = dim;
      H5 vd(need(H5Dopen2(g, "values", H5P_DEFAULT), path, "missing dataset '" + gname + "/values'"), H5Dclose);
      H5 vs(H5Dget_space(vd), H5Sclose);
      hsize_t m = 0;
      LATS_CHECK(H5Sget_simple_extent_ndims(vs) == 1, FileFormatError,
                 "observation file '" << path << "': '" << gname << "/values' is not one-dimensional");
      H5Sget_simple_extent_dims(vs, &m, nullptr);
      b.values = readArray<double>(g, gname, "values", H5T_NATIVE_DOUBLE, {m}, path);
      b.sensors.noiseStd = readArray<double>(g, gname, "noise_std", H5T_NATIVE_DOUBLE, {m}, path);
      b.sensors.coordinates =
          readArray<double>(g, gname, "coordinates", H5T_NATIVE_DOUBLE, {m, static_cast<hsize_t>(dim)}, path);
      const auto comp = readArray<int>(g, gname, "component", H5T_NATIVE_INT, {m}, path);
      for (std::size_t i = 0; i < comp.size(); ++i) {
        LATS_CHECK(comp[i] >= 0 && comp[i] < static_cast<int>(names.size()), FileFormatError,
                   "observation file '" << path << "': sensor " << i << " of " << gname << " has component index "
                                        << comp[i] << "; the file names " << names.size() << " components");
        b.sensors.components.push_back(names[static_cast<std::size_t>(comp[i])]);
      }
      series.batches.push_back(std::move(b));
    }
    return series;
  }
}

// ---- broadcast -------------------------------------------------------------------------

void packSeries(const ObservationSeries& s, std::vector<double>& nums, std::string& text) {
  nums.push_back(static_cast<double>(s.batches.size()));
  for (const auto& b : s.batches) {
    nums.push_back(b.time);
    nums.push_back(b.sensors.dimension);
    nums.push_back(static_cast<double>(b.size()));
    nums.insert(nums.end(), b.sensors.coordinates.begin(), b.sensors.coordinates.end());
    nums.insert(nums.end(), b.sensors.noiseStd.begin(), b.sensors.noiseStd.end());
    nums.insert(nums.end(), b.values.begin(), b.values.end());
    for (const auto& c : b.sensors.components) text += c + '\n';
  }
}

ObservationSeries unpackSeries(const std::vector<double>& nums, const std::string& text) {
  ObservationSeries s;
  std::size_t at = 0;
  std::istringstream names(text);
  const auto nb = static_cast<std::size_t>(nums[at++]);
  for (std::size_t k = 0; k < nb; ++k) {
    Observations b;
    b.time = nums[at++];
    b.sensors.dimension = static_cast<int>(nums[at++]);
    const auto m = static_cast<std::size_t>(nums[at++]);
    const auto dm = m * static_cast<std::size_t>(b.sensors.dimension);
    b.sensors.coordinates.assign(nums.begin() + at, nums.begin() + at + dm);
    at += dm;
    b.sensors.noiseStd.assign(nums.begin() + at, nums.begin() + at + m);
    at += m;
    b.values.assign(nums.begin() + at, nums.begin() + at + m);
    at += m;
    for (std::size_t i = 0; i < m; ++i) {
      std::string c;
      std::getline(names, c);
      b.sensors.components.push_back(c);
    }
    s.batches.push_back(std::move(b));
  }
  return s;
}

}  // namespace

ObservationSeries readObservations(MPI_Comm comm, const std::string& path) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::vector<double> nums;
  std::string text;
  collective(comm, [&] {
    const Format f = formatOf(path);
    if (rank != 0) return;
    ObservationSeries s = f == Format::Hdf5 ? readHdf5(path) : readCsv(path);
    try {
      s.validate();
    } catch (const Error& e) {
      throwError(e.kind(), "observation file '" + path + "': " + e.what());
    }
    packSeries(s, nums, text);
  });
  long long sizes[2] = {static_cast<long long>(nums.size()), static_cast<long long>(text.size())};
  MPI_Bcast(sizes, 2, MPI_LONG_LONG, 0, comm);
  nums.resize(static_cast<std::size_t>(sizes[0]));
  text.resize(static_cast<std::size_t>(sizes[1]));
  MPI_Bcast(nums.data(), static_cast<int>(sizes[0]), MPI_DOUBLE, 0, comm);
  MPI_Bcast(text.data(), static_cast<int>(sizes[1]), MPI_CHAR, 0, comm);
  return unpackSeries(nums, text);
}

void writeObservations(MPI_Comm comm, const std::string& path, const ObservationSeries& series) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  collective(comm, [&] {
    const Format f = formatOf(path);
    series.validate();
    if (rank != 0) return;
    writeFileAtomically(path, [&](const std::string& tmp) {
      if (f == Format::Hdf5)
        writeHdf5(tmp, series);
      else
        writeCsv(tmp, series);
    });
  });
}

}  // namespace lats::solvers::assimilation
