// The twin-experiment workflow (workflows/twin_experiment.hpp) end to end; the Burgers
// diffusion model of the guided-sampling tests serves as the surrogate of every surrogate
// method (one training per executable: both files are built into test_guided).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include "burgers_diffusion_model.hpp"
#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/workflows/twin_experiment.hpp"
#include "test_support.hpp"

namespace {

using lats::test::checkpoint;
using lats::test::interval;

// The twin-experiment driver end to end on Burgers (the diffusion model above serves as the
// surrogate of every surrogate method): every method scored at every step, assimilation beats
// the free run, results written.
TEST(TwinExperiment, ScoresEveryMethodAndWritesTheTable) {
  auto plex = interval(MPI_COMM_WORLD);
  lats::workflows::TwinSettings s;
  s.equation = "burgers";
  s.model = checkpoint();
  s.guidedModel = checkpoint();
  s.fractions = {0.25};
  s.steps = 4;
  s.noise = 0.02;
  s.da.ensembleSize = 8;
  s.da.filter.localisation = 0.2;
  s.da.guidanceModelError = 1.0;
  const auto results = lats::workflows::runTwinExperiment(plex, s);
  ASSERT_EQ(results.size(), 5u);
  double free = 0.0, classical = 0.0;
  for (const auto& r : results) {
    ASSERT_EQ(r.scores.history().size(), 4u) << r.method;
    const auto o = r.scores.overall();
    EXPECT_TRUE(std::isfinite(o.rmse) && std::isfinite(o.crps) && o.rmse > 0) << r.method;
    EXPECT_EQ(r.sensors, 16);
    if (r.method == "free") free = o.rmse;
    if (r.method == "enkf_classical") classical = o.rmse;
  }
  std::printf("%s", lats::workflows::twinTable(results).c_str());
  EXPECT_LT(classical, free);
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "twin");
  lats::workflows::writeTwinResults(MPI_COMM_WORLD, dir, results);
  std::ifstream table(dir + "/twin.md"), csv(dir + "/enkf_classical_0.25.csv");
  std::string header, line;
  std::getline(table, header);
  EXPECT_NE(header.find("| sensors | method | RMSE |"), std::string::npos);
  std::getline(csv, line);
  EXPECT_EQ(line, "time,rmse,spread,spread_skill,crps");
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 4);
  // Bad settings.
  auto bad = s;
  bad.model.clear();
  auto msg = lats::test::messageOf<lats::ConfigurationError>([&] { lats::workflows::runTwinExperiment(plex, bad); });
  EXPECT_NE(msg.find("-lats_twin_model"), std::string::npos) << msg;
  // Bad options of lats assimilate.
  lats::Options::set("twin_methods", "free,enkf_latnet");
  msg = lats::test::messageOf<lats::ConfigurationError>([] { lats::workflows::TwinSettings::fromOptions(); });
  EXPECT_NE(msg.find("Did you mean 'enkf_latent'"), std::string::npos) << msg;
  lats::Options::clear("twin_methods");
  lats::Options::set("twin_fractions", "0.05,2");
  msg = lats::test::messageOf<lats::InvalidValueError>([] { lats::workflows::TwinSettings::fromOptions(); });
  EXPECT_NE(msg.find("'2' is not a fraction in (0, 1]"), std::string::npos) << msg;
  lats::Options::clear("twin_fractions");
}

}  // namespace
