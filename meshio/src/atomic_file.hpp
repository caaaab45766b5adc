#pragma once
// Files written under a temporary name and renamed into place, so that an interrupted run
// never leaves a partial file behind (meshio internal).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "lats/core/error.hpp"

namespace lats::meshio::detail {

inline std::string temporaryName(const std::string& path) {
  return path + ".tmp." + std::to_string(static_cast<long>(getpid()));
}

// Renames a finished temporary file over its final name (atomic on POSIX file systems).
inline void commit(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    LATS_THROW(Error, "could not move '" << tmp << "' to '" << path << "'");
  }
}

inline std::string directoryOf(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

inline void requireWritableDirectory(const std::string& path) {
  const std::string dir = directoryOf(path);
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    LATS_THROW(Error, "could not write '" << path << "': directory '" << dir << "' does not exist; create it first");
  if (access(dir.c_str(), W_OK) != 0)
    LATS_THROW(Error, "could not write '" << path << "': directory '" << dir << "' is not writable");
}

}  // namespace lats::meshio::detail
