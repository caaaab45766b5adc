// Errors a program meets when it uses LaTS before creating a lats::Runtime. This executable
// deliberately has no runtime (plain GoogleTest main).
#include <gtest/gtest.h>

#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/core/runtime.hpp"

namespace {
const lats::IntOption kN{"test_no_runtime_n", 1, "an option read without a runtime"};
}

TEST(NoRuntime, ReadingOptionsExplainsThatTheRuntimeIsMissing) {
  try {
    kN.get();
    FAIL() << "no throw";
  } catch (const lats::ConfigurationError& e) {
    EXPECT_STREQ(e.what(),
                 "the options database is not available: PETSc is not initialised; create a lats::Runtime before "
                 "reading options");
  }
}

TEST(NoRuntime, CurrentRuntimeExplains) {
  EXPECT_FALSE(lats::Runtime::isActive());
  try {
    lats::Runtime::current();
    FAIL() << "no throw";
  } catch (const lats::ConfigurationError& e) {
    EXPECT_STREQ(e.what(), "no lats::Runtime is active; create one at the start of main()");
  }
}
