#include <gtest/gtest.h>
#include <vtkDataArray.h>
#include <vtkFieldData.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkUnstructuredGrid.h>
#include <vtkXMLPUnstructuredGridReader.h>
#include <vtkXMLUnstructuredGridReader.h>

#include <dirent.h>
#include <cmath>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/meshio/file_kind.hpp"
#include "lats/meshio/vtu.hpp"
#include "test_support.hpp"

namespace {
double fu(double x, double y) { return std::sin(3 * x) * std::cos(2 * y); }
}  // namespace

TEST(Vtu, RoundTripThroughVtksOwnReaders) {
  const lats::Comm comm;
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "vtu");
  // Rank r owns 50 + 10 r points of a jittered cloud.
  const int n = 50 + 10 * comm.rank();
  std::vector<double> xy;
  for (int i = 0; i < n; ++i) {
    xy.push_back(std::fmod(0.618 * (i + 97 * comm.rank()), 1.0));
    xy.push_back(std::fmod(0.414 * (i + 31 * comm.rank()), 1.0));
  }
  auto mesh = lats::MeshBuilder(MPI_COMM_WORLD, 2).coordinates(xy).build();
  lats::Field u("u", n, 1);
  lats::Field vel("velocity", n, {"vx", "vy"});
  for (int i = 0; i < n; ++i) {
    u.view()(i, 0) = fu(xy[2 * i], xy[2 * i + 1]);
    vel.view()(i, 0) = xy[2 * i];
    vel.view()(i, 1) = -xy[2 * i + 1];
  }
  const auto pvtu = lats::meshio::writeVtu(dir + "/snap", *mesh, {u, vel}, 0.25);
  EXPECT_EQ(pvtu, dir + "/snap.pvtu");
  comm.barrier();
  EXPECT_EQ(lats::meshio::detectFileKind(pvtu), lats::meshio::FileKind::VtkXml);

  // This rank's piece, read by VTK.
  vtkNew<vtkXMLUnstructuredGridReader> piece;
  piece->SetFileName((dir + "/snap_" + std::to_string(comm.rank()) + ".vtu").c_str());
  piece->Update();
  vtkUnstructuredGrid* g = piece->GetOutput();
  ASSERT_EQ(g->GetNumberOfPoints(), n);
  EXPECT_EQ(g->GetNumberOfCells(), n);
  auto* pu = g->GetPointData()->GetArray("u");
  ASSERT_NE(pu, nullptr);
  for (int i = 0; i < n; ++i) EXPECT_EQ(pu->GetTuple1(i), u.view()(i, 0));
  EXPECT_STREQ(g->GetPointData()->GetArray("velocity")->GetComponentName(1), "vy");
  EXPECT_EQ(g->GetFieldData()->GetArray("TimeValue")->GetTuple1(0), 0.25);

  // The whole dataset through the parallel index, as ParaView opens it.
  if (comm.rank() == 0) {
    vtkNew<vtkXMLPUnstructuredGridReader> all;
    all->SetFileName(pvtu.c_str());
    all->Update();
    vtkUnstructuredGrid* a = all->GetOutput();
    ASSERT_EQ(a->GetNumberOfPoints(), mesh->globalSize());
    auto* au = a->GetPointData()->GetArray("u");
    auto* av = a->GetPointData()->GetArray("velocity");
    auto* ids = a->GetPointData()->GetArray("GlobalIds");
    ASSERT_NE(au, nullptr);
    ASSERT_NE(av, nullptr);
    ASSERT_NE(ids, nullptr);
    std::vector<int> seen(mesh->globalSize(), 0);
    for (vtkIdType i = 0; i < a->GetNumberOfPoints(); ++i) {
      double p[3];
      a->GetPoint(i, p);
      EXPECT_EQ(au->GetTuple1(i), fu(p[0], p[1]));
      EXPECT_EQ(av->GetComponent(i, 1), -p[1]);
      seen.at(static_cast<std::size_t>(ids->GetTuple1(i)))++;
    }
    for (int s : seen) EXPECT_EQ(s, 1);  // every global id exactly once
  }
  comm.barrier();
  // No temporary file is left behind.
  if (comm.rank() == 0) {
    DIR* d = opendir(dir.c_str());
    for (dirent* e = readdir(d); e; e = readdir(d)) EXPECT_EQ(std::string(e->d_name).find(".tmp."), std::string::npos);
    closedir(d);
  }
}

TEST(Vtu, ErrorsAreCollective) {
  const lats::Comm comm;
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "vtu");
  auto mesh = lats::MeshBuilder(MPI_COMM_WORLD, 1).coordinates({0.0, 0.5, 1.0}).build();
  lats::Field shortField("u", comm.rank() == comm.size() - 1 ? 2 : 3, 1);
  const auto msg = lats::test::messageOf<lats::DimensionMismatchError>(
      [&] { lats::meshio::writeVtu(dir + "/bad", *mesh, {shortField}); });
  EXPECT_NE(msg.find("field 'u' has 2 entities, fewer than the mesh's 3 owned entities"), std::string::npos) << msg;
  const auto msg2 =
      lats::test::messageOf<lats::Error>([&] { lats::meshio::writeVtu(dir + "/no/such/dir/snap", *mesh, {}); });
  EXPECT_NE(msg2.find("could not write"), std::string::npos) << msg2;
}
