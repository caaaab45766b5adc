#pragma once
/// \file convert.hpp
/// Other people's meshes and data as LaTS datasets: a gmsh `.msh` file with element or
/// node data, a VTU/PVTU file, a ParaView `.pvd` time series of them, or an OpenFOAM case
/// (polyMesh and every time directory, read with VTK's OpenFOAM reader) becomes one
/// trajectory of a dataset (lats/meshio/dataset.hpp): the cell centroids are the points,
/// the cell volumes are kept, and the chosen fields are the components (a vector field U
/// becomes U_x, U_y, U_z). `lats convert` is the command-line face of convertToDataset().
///
///     lats::meshio::ConvertSettings s;
///     s.input = "cavity";            // OpenFOAM case directory
///     s.output = "cavity.h5";
///     s.fields = {"U", "p"};
///     lats::meshio::convertToDataset(comm, s);

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lats::meshio {

struct ConvertSettings {
  std::string input;                ///< .msh, .vtu, .pvtu, .pvd, or an OpenFOAM case directory
  std::string output;               ///< the dataset (.h5); default: input with .h5
  std::vector<std::string> fields;  ///< fields to keep; empty: every field of the first time
  int compression = 4;              ///< deflate level (1-9) of the dataset
  bool overwrite = false;           ///< replace an existing output file
  std::string commandLine;          ///< provenance written to the file

  /// From -lats_convert_input, -lats_convert_output, -lats_convert_fields (comma
  /// separated), -lats_convert_compression, -lats_convert_overwrite.
  static ConvertSettings fromOptions();
};

struct ConvertReport {
  std::string path;       ///< the dataset written
  std::string inputKind;  ///< "gmsh", "vtu", "pvd" or "openfoam"
  std::int64_t points = 0;
  int dimension = 0;
  std::vector<std::string> components;
  std::vector<double> times;
};

/// Reads `settings.input` on rank 0 and writes the dataset (collective over `comm`). The
/// spatial dimension is the number of leading coordinate axes along which the cell
/// centroids vary (a one-cell-thick OpenFOAM case in the xy plane gives 2). Only cells of
/// the highest dimension present are kept (boundary lines of a 2D gmsh mesh are dropped);
/// point data is averaged over each cell's points; files of vertex cells only (such as
/// LaTS's own PVTU snapshots) keep their points and have no volumes. Every failure is the
/// same error on every rank: a missing or unreadable input (FileFormatError naming the
/// file), an unknown field (ConfigurationError listing the available ones), a time whose
/// mesh or fields differ from the first (FileFormatError naming the time), non-finite
/// values (InvalidValueError naming field, time and cell), an existing output without
/// `overwrite`.
ConvertReport convertToDataset(MPI_Comm comm, const ConvertSettings& settings);

}  // namespace lats::meshio
