#pragma once
// Helpers shared by the tests.
#include <gtest/gtest.h>
#include <mpi.h>

#include <functional>
#include <string>

namespace lats::test {

/// A fresh directory, the same on every rank of `comm` (created by rank 0). Collective.
std::string sharedTempDir(MPI_Comm comm, const std::string& tag);

/// Runs a shell command, returns its exit status and puts stdout+stderr (if asked) in `output`.
int runCommand(const std::string& command, std::string* output = nullptr);

/// Runs `f`, expects it to throw ExceptionType on this rank, and returns the message
/// (empty and a test failure if nothing or something else was thrown).
template <class ExceptionType>
std::string messageOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const ExceptionType& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw the wrong exception type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "did not throw";
  return {};
}

}  // namespace lats::test
