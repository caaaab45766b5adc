#include "lats/core/files.hpp"

#include <unistd.h>

#include <cstdio>

#include "lats/core/error.hpp"

namespace lats {

void writeFileAtomically(const std::string& path, const std::function<void(const std::string& tmp)>& write) {
  const std::string tmp = path + ".tmp." + std::to_string(static_cast<long>(getpid()));
  try {
    write(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    LATS_THROW(Error, "could not move '" << tmp << "' to '" << path << "' (does the directory exist?)");
  }
}

}  // namespace lats
