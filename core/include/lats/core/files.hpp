#pragma once
/// \file files.hpp
/// Files written so that an interrupted run never leaves a partial one behind.

#include <functional>
#include <string>

namespace lats {

/// Calls `write(tmp)` to write the whole file under a temporary name next to `path`, then
/// renames it to `path` (atomic on POSIX file systems). If `write` throws, or the rename
/// fails, the temporary file is removed and the error is raised (Error naming `path` for the
/// rename). Not collective.
void writeFileAtomically(const std::string& path, const std::function<void(const std::string& tmp)>& write);

}  // namespace lats
