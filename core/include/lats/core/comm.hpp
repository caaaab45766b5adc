#pragma once
/// \file comm.hpp
/// A thin, non-owning view of an MPI communicator with the reductions LaTS uses.

#include <mpi.h>

#include <cstdint>

namespace lats {

/// Non-owning wrapper around an MPI communicator. Cheap to copy.
class Comm {
 public:
  Comm() : comm_(MPI_COMM_WORLD) {}
  explicit Comm(MPI_Comm c) : comm_(c) {}
  MPI_Comm get() const { return comm_; }
  operator MPI_Comm() const { return comm_; }  // NOLINT(google-explicit-constructor)
  int rank() const;
  int size() const;
  /// Collective reductions over all ranks.
  double sum(double v) const;
  double min(double v) const;
  double max(double v) const;
  std::int64_t sum(std::int64_t v) const;
  std::int64_t max(std::int64_t v) const;
  /// True on all ranks if `v` is true on every rank.
  bool all(bool v) const;
  /// True on all ranks if `v` is true on any rank.
  bool any(bool v) const;
  void barrier() const;

 private:
  MPI_Comm comm_;
};

}  // namespace lats
