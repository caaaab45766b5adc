#pragma once
/// \file file_kind.hpp
/// Recognising mesh and data files by their content, not their name.

#include <string>

namespace lats::meshio {

enum class FileKind {
  Missing,       ///< nothing at that path
  Hdf5,          ///< HDF5 signature (LaTS datasets, PETSc HDF5 output)
  VtkXml,        ///< VTK XML file (.vtu, .pvtu, .vtp, ...)
  Xdmf,          ///< XDMF XML file
  GmshMsh,       ///< gmsh .msh (ASCII or binary; starts with $MeshFormat)
  OpenFoamCase,  ///< a directory with system/controlDict and constant/polyMesh
  Directory,     ///< some other directory
  Unknown        ///< a file of none of the above kinds
};
const char* toString(FileKind kind);

/// Looks at the first bytes of a file (or the layout of a directory). Never throws for an
/// unreadable or unknown file: reports Missing or Unknown. Not collective.
FileKind detectFileKind(const std::string& path);

/// Throws FileFormatError unless `path` is of kind `expected`, saying what was found.
void requireFileKind(const std::string& path, FileKind expected);

}  // namespace lats::meshio
