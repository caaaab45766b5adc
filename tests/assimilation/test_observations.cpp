// Observations and the observation operator: files round-trip, interpolation is exact for
// linear fields and second order for smooth ones, the same for any rank count, and bad
// input is a clear error on every rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <fstream>

#include "lats/core/error.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"
#include "lats/solvers/assimilation/observations.hpp"
#include "test_support.hpp"

namespace {

using namespace lats::solvers::assimilation;
using lats::test::messageOf;

std::shared_ptr<const lats::Mesh> square(MPI_Comm comm, std::int64_t n) {
  lats::meshio::UnitSquareSpec spec;
  spec.cellsPerSide = n;
  return lats::meshio::PlexMesh::unitSquare(comm, spec)->mesh();
}

// A state with fields "u" (one component) and "vel" (vx, vy) filled by f(x, y, component).
template <class F>
lats::State stateOn(const lats::Mesh& mesh, F f) {
  lats::State s;
  s.add(lats::Field("u", mesh.size(), 1));
  s.add(lats::Field("vel", mesh.size(), std::vector<std::string>{"vx", "vy"}));
  const auto x = mesh.coordinates();
  for (std::int64_t i = 0; i < mesh.size(); ++i) {
    s.field("u").view()(i, 0) = f(x(i, 0), x(i, 1), 0);
    s.field("vel").view()(i, 0) = f(x(i, 0), x(i, 1), 1);
    s.field("vel").view()(i, 1) = f(x(i, 0), x(i, 1), 2);
  }
  return s;
}

Sensors someSensors(int count, double noise = 0.1) {
  Sensors s;
  s.dimension = 2;
  const char* comps[] = {"u", "vx", "vel.vy"};
  for (int i = 0; i < count; ++i) {
    // Spread over the square, clear of the outermost half cell.
    s.coordinates.push_back(0.07 + 0.86 * std::fmod(0.618034 * (i + 1), 1.0));
    s.coordinates.push_back(0.07 + 0.86 * std::fmod(0.414214 * (i + 1), 1.0));
    s.components.push_back(comps[i % 3]);
    s.noiseStd.push_back(noise);
  }
  return s;
}

TEST(ObservationOperator, IsExactForLinearFields) {
  auto mesh = square(MPI_COMM_WORLD, 12);
  auto lin = [](double x, double y, int c) { return 1.0 + c + (2.0 - c) * x - (0.5 + c) * y; };
  const auto state = stateOn(*mesh, lin);
  const auto sensors = someSensors(40);
  ObservationOperator h(mesh, state, sensors);
  EXPECT_EQ(h.neighbours(), 5);
  const auto y = h.apply(state);
  ASSERT_EQ(y.size(), 40u);
  const int comp[] = {0, 1, 2};
  double worst = 0.0;
  for (int i = 0; i < 40; ++i)
    worst =
        std::max(worst, std::abs(y[i] - lin(sensors.coordinates[2 * i], sensors.coordinates[2 * i + 1], comp[i % 3])));
  EXPECT_LT(worst, 1e-12);
}

TEST(ObservationOperator, IsSecondOrderAndRankIndependent) {
  auto smooth = [](double x, double y, int c) { return std::sin(2 * M_PI * x + c) * std::cos(2 * M_PI * y); };
  const auto sensors = someSensors(30);
  std::vector<double> errors;
  for (std::int64_t n : {8, 16, 32}) {
    auto mesh = square(MPI_COMM_WORLD, n);
    const auto state = stateOn(*mesh, smooth);
    const auto y = ObservationOperator(mesh, state, sensors).apply(state);
    double worst = 0.0;
    for (int i = 0; i < 30; ++i)
      worst =
          std::max(worst, std::abs(y[i] - smooth(sensors.coordinates[2 * i], sensors.coordinates[2 * i + 1], i % 3)));
    errors.push_back(worst);
    // The same values from a single-rank copy of the mesh.
    auto self = square(MPI_COMM_SELF, n);
    const auto selfState = stateOn(*self, smooth);
    const auto ySelf = ObservationOperator(self, selfState, sensors).apply(selfState);
    for (int i = 0; i < 30; ++i) EXPECT_NEAR(y[i], ySelf[i], 1e-12) << "sensor " << i << ", n = " << n;
  }
  for (std::size_t k = 1; k < errors.size(); ++k) {
    const double order = std::log2(errors[k - 1] / errors[k]);
    std::printf("interpolation error %.3e -> %.3e: order %.2f\n", errors[k - 1], errors[k], order);
    EXPECT_GT(order, 1.6);
  }
}

TEST(ObservationOperator, RejectsBadSensors) {
  auto mesh = square(MPI_COMM_WORLD, 8);
  const auto state = stateOn(*mesh, [](double, double, int) { return 0.0; });
  auto s = someSensors(5);
  s.coordinates[2] = 1.7;
  auto msg = messageOf<lats::InvalidValueError>([&] { ObservationOperator(mesh, state, s); });
  EXPECT_NE(msg.find("sensor 1 at (1.7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("outside the mesh"), std::string::npos) << msg;

  s = someSensors(5);
  s.components[3] = "vz";
  msg = messageOf<lats::ConfigurationError>([&] { ObservationOperator(mesh, state, s); });
  EXPECT_NE(msg.find("'vz'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Did you mean"), std::string::npos) << msg;

  s = someSensors(5);
  s.noiseStd[4] = -0.1;
  msg = messageOf<lats::InvalidValueError>([&] { ObservationOperator(mesh, state, s); });
  EXPECT_NE(msg.find("sensor 4 has noise standard deviation -0.1"), std::string::npos) << msg;

  s = someSensors(5);
  s.dimension = 1;
  s.coordinates.resize(5);
  msg = messageOf<lats::DimensionMismatchError>([&] { ObservationOperator(mesh, state, s); });
  EXPECT_NE(msg.find("1D but the mesh"), std::string::npos) << msg;

  // "vy" is a component of one field only, "vel" has two components: ambiguous or not.
  lats::State twice;
  twice.add(lats::Field("a", mesh->size(), std::vector<std::string>{"p"}));
  twice.add(lats::Field("b", mesh->size(), std::vector<std::string>{"p"}));
  msg = messageOf<lats::ConfigurationError>([&] { resolveComponent(twice, "p"); });
  EXPECT_NE(msg.find("ambiguous"), std::string::npos) << msg;
  EXPECT_EQ(resolveComponent(twice, "b.p").flat, 1);
}

TEST(ObservationOperator, TwinObservationsAreSeededAndNoisy) {
  auto mesh = square(MPI_COMM_WORLD, 16);
  const auto state = stateOn(*mesh, [](double x, double y, int c) { return x + y + c; });
  const auto sensors = sensorsAtRandomPoints(*mesh, 64, {"u", "vx"}, 0.2, 7);
  ASSERT_EQ(sensors.size(), 64);
  // The same sensors from a single-rank mesh.
  const auto selfSensors = sensorsAtRandomPoints(*square(MPI_COMM_SELF, 16), 64, {"u", "vx"}, 0.2, 7);
  EXPECT_EQ(sensors.coordinates, selfSensors.coordinates);
  ObservationOperator h(mesh, state, sensors);
  const auto exact = h.apply(state);
  const auto a = observe(h, state, 3, 0), b = observe(h, state, 3, 0), c = observe(h, state, 3, 1);
  EXPECT_EQ(a.values, b.values);
  EXPECT_NE(a.values, c.values);
  double var = 0.0;
  for (int i = 0; i < 64; ++i) var += std::pow(a.values[i] - exact[i], 2) / 64.0;
  EXPECT_GT(std::sqrt(var), 0.12);  // noise of 0.2: a sample RMS of 64 lies in [0.15, 0.25]
  EXPECT_LT(std::sqrt(var), 0.28);
  EXPECT_THROW(sensorsAtRandomPoints(*mesh, 0, {"u"}, 0.1, 1), lats::InvalidValueError);
}

ObservationSeries sampleSeries() {
  ObservationSeries series;
  for (int k = 0; k < 3; ++k) {
    Observations o;
    o.time = 0.5 * (k + 1);
    o.sensors = someSensors(4 + k);
    for (int i = 0; i < 4 + k; ++i) o.values.push_back(0.1 * i - k + 1.0 / 3.0);
    series.batches.push_back(o);
  }
  return series;
}

class ObservationFiles : public ::testing::TestWithParam<std::string> {};

TEST_P(ObservationFiles, RoundTrip) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "obs");
  const auto path = dir + "/obs." + GetParam();
  const auto series = sampleSeries();
  writeObservations(MPI_COMM_WORLD, path, series);
  const auto back = readObservations(MPI_COMM_WORLD, path);
  ASSERT_EQ(back.batches.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(back.batches[k].time, series.batches[k].time);
    EXPECT_EQ(back.batches[k].values, series.batches[k].values);
    EXPECT_EQ(back.batches[k].sensors.coordinates, series.batches[k].sensors.coordinates);
    EXPECT_EQ(back.batches[k].sensors.components, series.batches[k].sensors.components);
    EXPECT_EQ(back.batches[k].sensors.noiseStd, series.batches[k].sensors.noiseStd);
  }
  EXPECT_EQ(back.at(1.0, 1e-9)->size(), 5);
  EXPECT_EQ(back.at(1.1, 1e-9), nullptr);
  EXPECT_EQ(back.nextTime(0.5, 1e-9), 1.0);
  EXPECT_TRUE(std::isinf(back.nextTime(1.5, 1e-9)));
  // Bad series are refused before anything is written.
  auto bad = series;
  bad.batches[1].values[2] = NAN;
  auto msg =
      messageOf<lats::InvalidValueError>([&] { writeObservations(MPI_COMM_WORLD, dir + "/bad." + GetParam(), bad); });
  EXPECT_NE(msg.find("sensor 2 at t = 1"), std::string::npos) << msg;
  bad = series;
  bad.batches[2].time = 0.7;
  msg = messageOf<lats::InvalidValueError>([&] { writeObservations(MPI_COMM_WORLD, dir + "/bad." + GetParam(), bad); });
  EXPECT_NE(msg.find("must increase"), std::string::npos) << msg;
  std::ifstream none(dir + "/bad." + GetParam());
  EXPECT_FALSE(none.good());
}

INSTANTIATE_TEST_SUITE_P(Formats, ObservationFiles, ::testing::Values("h5", "csv"));

TEST(ObservationFiles, BadFilesAreClearErrors) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "obsbad");
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  auto write = [&](const std::string& name, const std::string& text) {
    if (rank == 0) std::ofstream(dir + "/" + name) << text;
    MPI_Barrier(MPI_COMM_WORLD);
    return dir + "/" + name;
  };
  auto msg = messageOf<lats::FileFormatError>([&] { readObservations(MPI_COMM_WORLD, dir + "/missing.h5"); });
  EXPECT_NE(msg.find("cannot open"), std::string::npos) << msg;
  msg = messageOf<lats::FileFormatError>(
      [&] { readObservations(MPI_COMM_WORLD, write("garbage.h5", "this is not HDF5\n")); });
  EXPECT_NE(msg.find("not an HDF5 file"), std::string::npos) << msg;
  msg = messageOf<lats::FileFormatError>(
      [&] { readObservations(MPI_COMM_WORLD, write("header.csv", "t,x,y,component,value,noise_std\n")); });
  EXPECT_NE(msg.find("header is 't,x,y"), std::string::npos) << msg;
  msg = messageOf<lats::FileFormatError>([&] {
    readObservations(MPI_COMM_WORLD, write("cell.csv",
                                           "time,x,y,component,value,noise_std\n0,0.5,0.5,u,1,0.1\n"
                                           "0,0.5,abc,u,1,0.1\n"));
  });
  EXPECT_NE(msg.find("cell.csv:3: column 'y' is 'abc'"), std::string::npos) << msg;
  msg = messageOf<lats::InvalidValueError>([&] {
    readObservations(MPI_COMM_WORLD, write("nan.csv", "time,x,component,value,noise_std\n0,0.5,u,nan,0.1\n"));
  });
  EXPECT_NE(msg.find("is nan"), std::string::npos) << msg;
  msg = messageOf<lats::InvalidValueError>([&] {
    readObservations(MPI_COMM_WORLD, write("noise.csv", "time,x,component,value,noise_std\n0,0.5,u,1,-2\n"));
  });
  EXPECT_NE(msg.find("noise standard deviation -2"), std::string::npos) << msg;
  msg = messageOf<lats::ConfigurationError>([&] { readObservations(MPI_COMM_WORLD, dir + "/obs.txt"); });
  EXPECT_NE(msg.find(".h5, .hdf5 or .csv"), std::string::npos) << msg;
}

}  // namespace
