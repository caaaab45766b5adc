#pragma once
/// \file files.hpp
/// Files written so that an interrupted run never leaves a partial one behind, and content
/// checksums that show a file changed after it was written.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace lats {

/// Calls `write(tmp)` to write the whole file under a temporary name next to `path`, then
/// renames it to `path` (atomic on POSIX file systems). If `write` throws, or the rename
/// fails, the temporary file is removed and the error is raised (Error naming `path` for the
/// rename). Not collective.
void writeFileAtomically(const std::string& path, const std::function<void(const std::string& tmp)>& write);

/// CRC-32 (the polynomial of zlib, PNG and Python's zlib.crc32) of `size` bytes, continuing
/// from `crc` (0 to start).
std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0);
/// CRC-32 of a whole file; FileFormatError naming the file if it cannot be read.
std::uint32_t fileCrc32(const std::string& path);
/// "crc32:" and 8 lower-case hex digits, the form checksums are recorded in.
std::string crc32Text(std::uint32_t crc);

}  // namespace lats
