// GoogleTest main for every LaTS test: starts MPI, PETSc and Kokkos (through lats::Runtime,
// in that order) and stops them in reverse after the tests. On ranks other than 0 the
// default printer is replaced by one that reports failures only, prefixed with the rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>

#include "lats/core/runtime.hpp"

namespace {
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (r.failed())
      std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_, r.file_name() ? r.file_name() : "?",
                   r.line_number(), r.summary());
  }

 private:
  int rank_;
};
}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = 1;
  {
    lats::Runtime runtime(&argc, &argv);
    if (runtime.rank() != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
      listeners.Append(new RankFailurePrinter(runtime.rank()));
    }
    rc = RUN_ALL_TESTS();
    // Every rank returns failure if any rank failed.
    int any = rc != 0;
    int all = 0;
    MPI_Allreduce(&any, &all, 1, MPI_INT, MPI_MAX, runtime.comm());
    rc = all;
  }
  return rc;
}
