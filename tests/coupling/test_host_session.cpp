// The host adapter (coupling/host_session.hpp) on its own: a host's arrays wrapped and
// re-pointed, the host's own steps, recording, and the refusals (1 and 2 ranks). The PETSc TS
// type and the C API tests exercise it through those hosts.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <string>
#include <vector>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/mesh.hpp"
#include "lats/coupling/host_session.hpp"
#include "lats/coupling/runge_kutta.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/solvers/assimilation/observations.hpp"
#include "test_support.hpp"

using lats::test::messageOf;

namespace {

// du/dt = -(1 + x) u at every point: any partition gives the same values.
class Decay : public lats::RhsOperator {
 public:
  std::vector<std::string> fieldNames() const override { return {"u"}; }
  void setUp(const lats::Mesh& mesh, const lats::State&) override { x_ = mesh.coordinates(); }
  void apply(double, const lats::State& u, lats::State& dudt) override {
    const auto in = u.field("u").view();
    const auto out = dudt.field("u").view();
    for (std::size_t i = 0; i < in.extent(0); ++i) out(i, 0) = -(1.0 + x_(i, 0)) * in(i, 0);
  }

 private:
  lats::CoordView x_;
};

constexpr int kPoints = 12;

// This rank's block of kPoints points on [0, 1).
std::shared_ptr<const lats::Mesh> points() {
  const lats::Comm world(MPI_COMM_WORLD);
  const int first = kPoints * world.rank() / world.size(), last = kPoints * (world.rank() + 1) / world.size();
  std::vector<double> x;
  for (int i = first; i < last; ++i) x.push_back((i + 0.5) / kPoints);
  return lats::MeshBuilder(MPI_COMM_WORLD, 1).name("host").coordinates(x.data(), last - first).build();
}

std::unique_ptr<lats::TimeStepper> rk4() {
  return std::make_unique<lats::coupling::RungeKuttaStepper>(std::make_shared<Decay>(), "rk4");
}

TEST(HostSession, StepsTheHostsArrayWhereverItMoves) {
  const auto mesh = points();
  const std::size_t n = static_cast<std::size_t>(mesh->ownedSize());
  std::vector<double> a(n, 1.0), b;
  lats::coupling::HostSession session(mesh);
  session.bindField("u", 1, a.data());
  session.setUp(rk4());
  ASSERT_TRUE(session.step(0.1).ok());
  // The host's array moved (a new buffer with the same values): the session follows it.
  b = a;
  const auto frozen = a;
  session.bindField("u", 1, b.data());
  ASSERT_TRUE(session.step(0.1).ok());
  EXPECT_EQ(a, frozen);
  // The same two steps on LaTS's own state: bit for bit.
  lats::State own;
  own.add(lats::Field("u", mesh->size(), {"u"}));
  for (std::size_t i = 0; i < n; ++i) own.field("u").view()(i, 0) = 1.0;
  auto reference = rk4();
  reference->setUp(mesh, own);
  ASSERT_TRUE(reference->step(own, 0.1).ok());
  ASSERT_TRUE(reference->step(own, 0.1).ok());
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(b[i], own.field("u").view()(i, 0));
  // The host's own step moves the clock; bad input is refused.
  session.hostStep(0.1);
  EXPECT_NEAR(session.state().time(), 0.3, 1e-15);
  EXPECT_EQ(session.state().stepIndex(), 3);
  auto m = messageOf<lats::InvalidValueError>([&] { session.hostStep(-1.0); });
  EXPECT_NE(m.find("expected a positive finite step"), std::string::npos) << m;
  m = messageOf<lats::DimensionMismatchError>([&] { session.bindField("u", 2, b.data()); });
  EXPECT_NE(m.find("was bound with 1 components, now 2"), std::string::npos) << m;
  m = messageOf<lats::ConfigurationError>([&] { session.setHostReportsChanges(true); });
  EXPECT_NE(m.find("after setUp()"), std::string::npos) << m;
}

TEST(HostSession, RecordsEveryStepItTakesOrIsToldOf) {
  const auto mesh = points();
  const std::size_t n = static_cast<std::size_t>(mesh->ownedSize());
  std::vector<double> u(n, 2.0);
  const std::string path = lats::test::sharedTempDir(MPI_COMM_WORLD, "host-session") + "/rec.h5";
  {
    lats::coupling::HostSession session(mesh);
    session.bindField("u", 1, u.data());
    session.setUp(rk4());
    session.record(path, 1, "decay", "test_host_session", "test");
    EXPECT_TRUE(session.recording());
    ASSERT_TRUE(session.step(0.1).ok());
    for (auto& v : u) v *= 0.5;  // the host's own step
    session.hostStep(0.1);
    EXPECT_EQ(session.recordedSnapshots(), 3u);
    session.finishRecording();
    EXPECT_FALSE(session.recording());
  }
  lats::meshio::DatasetReader reader(MPI_COMM_WORLD, path);
  ASSERT_EQ(reader.header().times.size(), 3u);
  EXPECT_NEAR(reader.header().times[2], 0.2, 1e-15);
  const auto last = reader.read(*mesh, 0, 2);
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(last.view()(i, 0), u[i]);
  const auto first = reader.read(*mesh, 0, 0);
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(first.view()(i, 0), 2.0);
}

TEST(HostSession, ObservationsNeedAnAssimilatingStepper) {
  const auto mesh = points();
  std::vector<double> u(static_cast<std::size_t>(mesh->ownedSize()), 1.0);
  lats::coupling::HostSession session(mesh);
  session.bindField("u", 1, u.data());
  lats::solvers::assimilation::Observations obs;
  obs.time = 0.1;
  obs.sensors.dimension = 1;
  obs.sensors.coordinates = {0.5};
  obs.sensors.components = {"u"};
  obs.sensors.noiseStd = {0.1};
  obs.values = {0.9};
  session.addObservations(obs);
  const auto m = lats::test::messageOf<lats::ConfigurationError>([&] { session.setUp(rk4()); });
  EXPECT_NE(m.find("observations were added but the stepper 'rk' does not assimilate"), std::string::npos) << m;
}

}  // namespace
