#include <gtest/gtest.h>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "test_support.hpp"

using lats::test::messageOf;

TEST(Error, ThrowCarriesMessageKindAndLocation) {
  try {
    LATS_THROW(lats::DimensionMismatchError, "got " << 3 << " components, expected " << 2);
    FAIL() << "no throw";
  } catch (const lats::Error& e) {
    EXPECT_STREQ(e.what(), "got 3 components, expected 2");
    EXPECT_EQ(e.kind(), lats::ErrorKind::DimensionMismatch);
    EXPECT_NE(std::string(e.file()).find("test_error.cpp"), std::string::npos);
    EXPECT_GT(e.line(), 0);
    EXPECT_NE(e.describe().find("test_error.cpp:"), std::string::npos);
  }
}

TEST(Error, HierarchyIsRootedAtLatsError) {
  EXPECT_THROW(throw lats::ConfigurationError("x"), lats::Error);
  EXPECT_THROW(throw lats::FileFormatError("x"), std::runtime_error);
  EXPECT_THROW(lats::throwError(lats::ErrorKind::ModelMismatch, "m"), lats::ModelMismatchError);
  EXPECT_THROW(lats::throwError(lats::ErrorKind::InvalidValue, "m"), lats::InvalidValueError);
  EXPECT_THROW(lats::throwError(lats::ErrorKind::Configuration, "m"), lats::ConfigurationError);
}

TEST(Error, CheckThrowsOnlyWhenFalse) {
  EXPECT_NO_THROW(LATS_CHECK(1 + 1 == 2, lats::InvalidValueError, "never"));
  const auto msg =
      messageOf<lats::InvalidValueError>([] { LATS_CHECK(false, lats::InvalidValueError, "dt = " << -1); });
  EXPECT_EQ(msg, "dt = -1");
}

TEST(Error, CollectiveCheckThrowsOnEveryRankWithTheFailingRanksMessage) {
  const lats::Comm comm;
  const int last = comm.size() - 1;
  // Only the last rank fails; every rank must throw the same error.
  const auto msg = messageOf<lats::FileFormatError>([&] {
    LATS_CHECK_COLLECTIVE(MPI_COMM_WORLD, comm.rank() != last, lats::ErrorKind::FileFormat,
                          "bad header in piece " << comm.rank());
  });
  const std::string expected = (comm.size() > 1 ? "[rank " + std::to_string(last) + "] " : std::string()) +
                               "bad header in piece " + std::to_string(last);
  EXPECT_EQ(msg, expected);
  // No rank fails: nobody throws.
  EXPECT_NO_THROW(LATS_CHECK_COLLECTIVE(MPI_COMM_WORLD, true, lats::ErrorKind::Generic, "x"));
}

TEST(Error, CollectiveReportsTheLowestFailingRank) {
  const lats::Comm comm;
  const auto msg = messageOf<lats::ConfigurationError>([&] {
    lats::collective(MPI_COMM_WORLD,
                     [&] { LATS_THROW(lats::ConfigurationError, "rank " << comm.rank() << " failed"); });
  });
  EXPECT_NE(msg.find("rank 0 failed"), std::string::npos) << msg;
}

TEST(Error, CollectiveMakesAOneRankFailureEveryonesFailure) {
  const lats::Comm comm;
  const auto msg = messageOf<lats::ModelMismatchError>([&] {
    lats::collective(MPI_COMM_WORLD, [&] {
      if (comm.rank() == 0) LATS_THROW(lats::ModelMismatchError, "model expects 2 fields, got 1");
    });
  });
  EXPECT_NE(msg.find("model expects 2 fields, got 1"), std::string::npos);
  // Plain std::exceptions become lats::Error on every rank.
  const auto msg2 = messageOf<lats::Error>([&] {
    lats::collective(MPI_COMM_WORLD, [&] {
      if (comm.rank() == comm.size() - 1) throw std::out_of_range("index 7 out of range");
    });
  });
  EXPECT_NE(msg2.find("index 7 out of range"), std::string::npos);
}
