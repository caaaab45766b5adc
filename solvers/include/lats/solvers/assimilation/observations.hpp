#pragma once
/// \file observations.hpp
/// Sparse noisy observations: sensors at arbitrary coordinates, each observing one
/// component of the state with Gaussian noise of a given standard deviation, at a series
/// of times. Read from and written to HDF5 or CSV (layout in doc/assimilation.md).

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lats::solvers::assimilation {

/// Where the sensors are and what they see.
struct Sensors {
  int dimension = 0;
  std::vector<double> coordinates;      ///< size() * dimension values, sensor-major
  std::vector<std::string> components;  ///< per sensor: "u", or "field.component" when ambiguous
  std::vector<double> noiseStd;         ///< per sensor, positive
  std::int64_t size() const { return static_cast<std::int64_t>(noiseStd.size()); }
  /// Throws DimensionMismatchError for inconsistent lengths and InvalidValueError for
  /// non-finite coordinates or a noise that is not positive and finite, naming the sensor.
  void validate() const;
};

/// Values of the sensors at one time.
struct Observations {
  double time = 0.0;
  Sensors sensors;
  std::vector<double> values;  ///< per sensor
  std::int64_t size() const { return sensors.size(); }
  /// Sensors::validate() plus one finite value per sensor.
  void validate() const;
};

/// Observations at increasing times.
struct ObservationSeries {
  std::vector<Observations> batches;
  /// The batch observed at `time` (within `tolerance`), or nullptr.
  const Observations* at(double time, double tolerance) const;
  /// The first observation time after `time` + `tolerance`, or +infinity.
  double nextTime(double time, double tolerance) const;
  std::int64_t totalSize() const;
  /// Every batch valid, times finite and strictly increasing, one dimension throughout.
  void validate() const;
};

/// Reads an observation file: HDF5 (`.h5`, `.hdf5`) or CSV (`.csv`, header
/// `time,x[,y[,z]],component,value,noise_std`, one observation per row, rows grouped by
/// non-decreasing time). Rank 0 reads, every rank gets the series; a missing or malformed
/// file (the CSV line number is named), NaN values, negative noise or decreasing times are a
/// FileFormatError / InvalidValueError on every rank. Collective.
ObservationSeries readObservations(MPI_Comm comm, const std::string& path);

/// Writes `series` as HDF5 or CSV (by extension) from rank 0, under a temporary name renamed
/// into place, so an interrupted run leaves no partial file. Collective.
void writeObservations(MPI_Comm comm, const std::string& path, const ObservationSeries& series);

}  // namespace lats::solvers::assimilation
