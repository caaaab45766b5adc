#include <gtest/gtest.h>

#include <sstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "test_support.hpp"

using lats::test::messageOf;

namespace {
const lats::IntOption kSteps{"test_steps", 10, "number of steps of the options test"};
const lats::RealOption kCfl{"test_cfl", 0.5, "CFL number of the options test"};
const lats::BoolOption kMonitor{"test_monitor", false, "monitor flag of the options test"};
const lats::StringOption kOut{"test_output", "out.h5", "output file of the options test"};
const lats::EnumOption kFlux{"test_flux", "rusanov", {"rusanov", "hll", "upwind"}, "flux of the options test"};

struct ClearOptions {
  ~ClearOptions() {
    for (const char* n : {"test_steps", "test_cfl", "test_monitor", "test_output", "test_flux", "test_stpes"})
      lats::Options::clear(n);
  }
};
}  // namespace

TEST(Options, DefaultsWhenUnset) {
  ClearOptions guard;
  EXPECT_EQ(kSteps.get(), 10);
  EXPECT_DOUBLE_EQ(kCfl.get(), 0.5);
  EXPECT_FALSE(kMonitor.get());
  EXPECT_EQ(kOut.get(), "out.h5");
  EXPECT_EQ(kFlux.get(), "rusanov");
  EXPECT_FALSE(kSteps.isSet());
}

TEST(Options, TypedValuesFromTheDatabase) {
  ClearOptions guard;
  lats::Options::set("test_steps", "250");
  lats::Options::set("test_cfl", "0.25");
  lats::Options::set("test_monitor", "");  // a bare flag means true
  lats::Options::set("test_output", "run.h5");
  lats::Options::set("test_flux", "hll");
  EXPECT_EQ(kSteps.get(), 250);
  EXPECT_DOUBLE_EQ(kCfl.get(), 0.25);
  EXPECT_TRUE(kMonitor.get());
  EXPECT_EQ(kOut.get(), "run.h5");
  EXPECT_EQ(kFlux.get(), "hll");
  EXPECT_TRUE(kSteps.isSet());
  lats::Options::set("test_monitor", "off");
  EXPECT_FALSE(kMonitor.get());
}

TEST(Options, BadValuesSayWhatWasExpected) {
  ClearOptions guard;
  lats::Options::set("test_steps", "12x");
  EXPECT_EQ(messageOf<lats::ConfigurationError>([] { kSteps.get(); }),
            "option -lats_test_steps expects an integer, got '12x'");
  lats::Options::set("test_cfl", "nan");
  EXPECT_EQ(messageOf<lats::ConfigurationError>([] { kCfl.get(); }),
            "option -lats_test_cfl expects a finite real number, got 'nan'");
  lats::Options::set("test_monitor", "maybe");
  EXPECT_NE(messageOf<lats::ConfigurationError>([] { kMonitor.get(); }).find("expects a boolean"), std::string::npos);
  lats::Options::set("test_flux", "hlll");
  EXPECT_EQ(messageOf<lats::ConfigurationError>([] { kFlux.get(); }),
            "option -lats_test_flux got 'hlll'; expected one of rusanov, hll, upwind. Did you mean 'hll'?");
  lats::Options::set("test_steps", "");
  EXPECT_NE(messageOf<lats::ConfigurationError>([] { kSteps.get(); }).find("needs a value"), std::string::npos);
}

TEST(Options, UnknownOptionIsRejectedOnEveryRankWithASuggestion) {
  ClearOptions guard;
  const lats::Comm comm;
  EXPECT_NO_THROW(lats::Options::checkUnknown(MPI_COMM_WORLD));
  // The misspelt option is present on the last rank only; every rank must throw.
  if (comm.rank() == comm.size() - 1) lats::Options::set("test_stpes", "3");
  const auto msg = messageOf<lats::ConfigurationError>([] { lats::Options::checkUnknown(MPI_COMM_WORLD); });
  EXPECT_NE(msg.find("unknown option -lats_test_stpes. Did you mean -lats_test_steps?"), std::string::npos) << msg;
}

TEST(Options, SpecOfAnUndeclaredNameSuggests) {
  EXPECT_NE(messageOf<lats::ConfigurationError>([] {
              lats::Options::spec("test_outptu");
            }).find("Did you mean -lats_test_output?"),
            std::string::npos);
}

TEST(Options, ConflictingRedeclarationIsAnError) {
  EXPECT_NO_THROW(lats::IntOption("test_steps", 10, "same declaration again"));
  EXPECT_NE(messageOf<lats::ConfigurationError>([] {
              lats::IntOption("test_steps", 11, "other default");
            }).find("declared twice"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::ConfigurationError>([] {
              lats::EnumOption("test_bad_enum", "c", {"a", "b"}, "default not a choice");
            }).find("default 'c' is not one of a, b"),
            std::string::npos);
}

TEST(Options, HelpAndViewListDeclaredOptions) {
  ClearOptions guard;
  lats::Options::set("test_cfl", "0.75");
  std::ostringstream help, view;
  lats::Options::printHelp(help);
  lats::Options::view(view);
  EXPECT_NE(help.str().find("-lats_test_flux <choice>"), std::string::npos);
  EXPECT_NE(help.str().find("[rusanov|hll|upwind]"), std::string::npos);
  EXPECT_NE(help.str().find("-lats_threads <int>"), std::string::npos);  // declared by the runtime
  EXPECT_NE(view.str().find("-lats_test_cfl"), std::string::npos);
  EXPECT_NE(view.str().find("= 0.75\n"), std::string::npos);
  EXPECT_NE(view.str().find("= rusanov  (default)"), std::string::npos);
}

TEST(Options, AnObjectPrefixScopesEveryRead) {
  ClearOptions guard;
  lats::Options::set("test_steps", "20");  // -lats_test_steps
  {
    const lats::OptionsPrefix scope("p_");
    EXPECT_EQ(lats::OptionsPrefix::current(), "p_");
    EXPECT_EQ(lats::OptionsPrefix::fullName("test_steps"), "-p_lats_test_steps");
    EXPECT_EQ(kSteps.get(), 10);             // -p_lats_test_steps is unset: no fall-back to -lats_, as in PETSc
    lats::Options::set("test_steps", "30");  // sets -p_lats_test_steps
    EXPECT_EQ(kSteps.get(), 30);
    {
      const lats::OptionsPrefix inner("q_");
      EXPECT_EQ(kSteps.get(), 10);
    }
    EXPECT_EQ(kSteps.get(), 30);
    // A misspelling under the prefix is named with the prefix.
    lats::Options::set("test_stpes", "1");
    const auto m = messageOf<lats::ConfigurationError>([] { lats::Options::checkUnknown(MPI_COMM_WORLD); });
    EXPECT_NE(m.find("unknown option -p_lats_test_stpes. Did you mean -p_lats_test_steps?"), std::string::npos) << m;
    lats::Options::clear("test_stpes");
    lats::Options::clear("test_steps");
  }
  EXPECT_EQ(lats::OptionsPrefix::current(), "");
  EXPECT_EQ(kSteps.get(), 20);
  EXPECT_NO_THROW(lats::Options::checkUnknown(MPI_COMM_WORLD));
}
