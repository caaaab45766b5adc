#pragma once
/// \file runtime.hpp
/// The runtime scope: starts MPI (unless already started), PETSc and Kokkos in that order
/// and stops what it started in reverse order.

#include <mpi.h>

#include <functional>
#include <memory>
#include <string>

namespace lats {

/// Runtime scope. Create exactly one, early in main, and let it go out of scope after every
/// LaTS object and Kokkos View is gone:
///
///     int main(int argc, char** argv) {
///       lats::Runtime runtime(&argc, &argv);
///       ...
///     }
///
/// Construction is collective over `comm`. It reads -lats_threads, -lats_log_level,
/// -lats_view and -lats_check_options, and throws ConfigurationError on every rank if an
/// unknown -lats_* option is present (after which the destructor still finalizes cleanly).
class Runtime {
 public:
  Runtime(int* argc, char*** argv, MPI_Comm comm = MPI_COMM_WORLD);
  Runtime();
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Whether a Runtime is alive in this process, and that Runtime.
  static bool isActive();
  static Runtime& current();

  MPI_Comm comm() const;
  int rank() const;
  int size() const;
  /// Ranks sharing this node (MPI_COMM_TYPE_SHARED) and the hardware threads of the node.
  int ranksOnNode() const;
  int coresOnNode() const;
  /// Threads each rank's torch (and other threaded kernels) should use:
  /// -lats_threads when positive, else max(1, coresOnNode / ranksOnNode).
  int threadsPerRank() const;

  bool startedMpi() const;
  bool startedPetsc() const;
  bool startedKokkos() const;

  /// Hooks run at the end of construction with the runtime (immediately if a runtime is
  /// already active). Components that own thread pools register one (solvers/neural sets
  /// torch's thread count this way, so core needs no torch header). Not collective.
  using Hook = std::function<void(const Runtime&)>;
  static void addStartHook(const std::string& name, Hook hook);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lats
