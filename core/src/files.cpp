#include "lats/core/files.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <vector>

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

namespace {
std::array<std::uint32_t, 256> crcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}
}  // namespace

std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc) {
  static const auto table = crcTable();
  const auto* bytes = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ bytes[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

std::uint32_t fileCrc32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LATS_CHECK(in, FileFormatError, "cannot read '" << path << "' to verify its checksum");
  std::vector<char> buffer(1 << 20);
  std::uint32_t crc = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    crc = crc32(buffer.data(), static_cast<std::size_t>(in.gcount()), crc);
  }
  return crc;
}

std::string crc32Text(std::uint32_t crc) {
  char text[16];
  std::snprintf(text, sizeof text, "crc32:%08x", crc);
  return text;
}

}  // namespace lats
