#include <gtest/gtest.h>

#include <vector>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/log.hpp"

namespace {
struct Capture {
  std::vector<std::string> lines;
  Capture() {
    lats::Log::setSink([this](lats::LogLevel, const std::string& l) { lines.push_back(l); });
  }
  ~Capture() {
    lats::Log::setSink({});
    lats::Log::setLevel(lats::LogLevel::Info);
  }
};
}  // namespace

TEST(Log, InfoOnlyOnRankZero) {
  Capture cap;
  const lats::Comm comm;
  lats::logInfo() << "generated " << 4 << " trajectories";
  if (comm.rank() == 0) {
    ASSERT_EQ(cap.lines.size(), 1u);
    EXPECT_EQ(cap.lines[0], "[lats] generated 4 trajectories");
  } else {
    EXPECT_TRUE(cap.lines.empty());
  }
}

TEST(Log, WarningsAndErrorsFromEveryRankWithRankPrefix) {
  Capture cap;
  const lats::Comm comm;
  lats::logWarning() << "slow step";
  lats::logError() << "bad thing";
  ASSERT_EQ(cap.lines.size(), 2u);
  const std::string rank = comm.size() > 1 ? " [rank " + std::to_string(comm.rank()) + "]" : "";
  EXPECT_EQ(cap.lines[0], "[lats] warning" + rank + ": slow step");
  EXPECT_EQ(cap.lines[1], "[lats] error" + rank + ": bad thing");
}

TEST(Log, LevelFilters) {
  Capture cap;
  lats::Log::setLevel(lats::LogLevel::Warning);
  lats::logInfo() << "hidden";
  lats::logDebug() << "hidden";
  lats::logWarning() << "shown";
  EXPECT_EQ(cap.lines.size(), 1u);
  lats::Log::setLevel(lats::LogLevel::Debug);
  lats::logDebug() << "debug shown";
  const lats::Comm comm;
  EXPECT_EQ(cap.lines.size(), comm.rank() == 0 ? 2u : 1u);
}

TEST(Log, ParseLevel) {
  EXPECT_EQ(lats::parseLogLevel("debug"), lats::LogLevel::Debug);
  try {
    lats::parseLogLevel("verbose");
    FAIL();
  } catch (const lats::ConfigurationError& e) {
    EXPECT_STREQ(e.what(), "unknown log level 'verbose'; expected one of error, warning, info, debug");
  }
}
