#include "lats/meshio/file_kind.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "lats/core/error.hpp"

namespace lats::meshio {

const char* toString(FileKind kind) {
  switch (kind) {
    case FileKind::Missing: return "missing";
    case FileKind::Hdf5: return "HDF5 file";
    case FileKind::VtkXml: return "VTK XML file";
    case FileKind::Xdmf: return "XDMF file";
    case FileKind::GmshMsh: return "gmsh mesh";
    case FileKind::OpenFoamCase: return "OpenFOAM case";
    case FileKind::Directory: return "directory";
    case FileKind::Unknown: return "unrecognised file";
  }
  return "?";
}

namespace {
bool exists(const std::string& p, bool* isDir = nullptr) {
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) return false;
  if (isDir) *isDir = S_ISDIR(st.st_mode);
  return true;
}
}  // namespace

FileKind detectFileKind(const std::string& path) {
  bool isDir = false;
  if (!exists(path, &isDir)) return FileKind::Missing;
  if (isDir) {
    bool d = false;
    if (exists(path + "/system/controlDict") && exists(path + "/constant/polyMesh", &d) && d)
      return FileKind::OpenFoamCase;
    return FileKind::Directory;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileKind::Unknown;
  std::string head(512, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  static const char kHdf5[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  if (head.size() >= 8 && std::memcmp(head.data(), kHdf5, 8) == 0) return FileKind::Hdf5;
  // Skip leading white space for text formats.
  const auto start = head.find_first_not_of(" \t\r\n");
  const std::string text = start == std::string::npos ? std::string() : head.substr(start);
  if (text.rfind("$MeshFormat", 0) == 0) return FileKind::GmshMsh;
  if (text.rfind("<?xml", 0) == 0 || text.rfind("<", 0) == 0) {
    if (text.find("<VTKFile") != std::string::npos) return FileKind::VtkXml;
    if (text.find("<Xdmf") != std::string::npos) return FileKind::Xdmf;
  }
  return FileKind::Unknown;
}

void requireFileKind(const std::string& path, FileKind expected) {
  const FileKind found = detectFileKind(path);
  if (found == expected) return;
  if (found == FileKind::Missing)
    LATS_THROW(FileFormatError, "'" << path << "' does not exist; expected a " << toString(expected)
                                    << ". Check the path (relative paths start at the working directory)");
  LATS_THROW(FileFormatError, "'" << path << "' is a " << toString(found) << ", expected a " << toString(expected)
                                  << (found == FileKind::Unknown ? " (its first bytes match no known format: truncated "
                                                                   "or corrupt?)"
                                                                 : ""));
}

}  // namespace lats::meshio
