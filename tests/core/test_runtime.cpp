#include <gtest/gtest.h>
#include <petscsys.h>

#include <Kokkos_Core.hpp>
#include <algorithm>

#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/core/runtime.hpp"
#include "test_support.hpp"

TEST(Runtime, StartedMpiPetscKokkos) {
  ASSERT_TRUE(lats::Runtime::isActive());
  auto& rt = lats::Runtime::current();
  int mpi = 0;
  MPI_Initialized(&mpi);
  PetscBool petsc = PETSC_FALSE;
  PetscInitialized(&petsc);
  EXPECT_TRUE(mpi);
  EXPECT_TRUE(petsc);
  EXPECT_TRUE(Kokkos::is_initialized());
  // The test main created the runtime before anything else, so it started all three.
  EXPECT_TRUE(rt.startedMpi());
  EXPECT_TRUE(rt.startedPetsc());
  EXPECT_TRUE(rt.startedKokkos());
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(rt.size(), size);
  // All test ranks run on one machine.
  EXPECT_EQ(rt.ranksOnNode(), size);
}

TEST(Runtime, ThreadsPerRankDefaultsToCoresOverRanksOrTheOption) {
  auto& rt = lats::Runtime::current();
  const std::int64_t requested = lats::parseInt(lats::Options::valueText("threads"), "threads");
  if (requested > 0)
    EXPECT_EQ(rt.threadsPerRank(), requested);
  else
    EXPECT_EQ(rt.threadsPerRank(), std::max(1, rt.coresOnNode() / rt.ranksOnNode()));
  EXPECT_GE(rt.threadsPerRank(), 1);
}

TEST(Runtime, OnlyOneRuntimeAtATime) {
  const auto msg = lats::test::messageOf<lats::ConfigurationError>([] { lats::Runtime second; });
  EXPECT_EQ(msg, "a lats::Runtime is already active; create exactly one per process");
}

TEST(Runtime, StartHooksRunImmediatelyWhenTheRuntimeIsActive) {
  int calls = 0;
  int threads = 0;
  lats::Runtime::addStartHook("test hook", [&](const lats::Runtime& rt) {
    ++calls;
    threads = rt.threadsPerRank();
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(threads, lats::Runtime::current().threadsPerRank());
}
