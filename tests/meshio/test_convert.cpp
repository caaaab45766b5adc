// Other people's files to datasets: VTU (cell and point data, true centroids of non-affine
// cells), .pvd time series, LaTS's own PVTU snapshots, gmsh ASCII 2.2 and 4.1 with
// $ElementData/$NodeData; and one test per bad input.
#include <gtest/gtest.h>
#include <vtkCellData.h>
#include <vtkCellType.h>
#include <vtkDoubleArray.h>
#include <vtkFieldData.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkUnstructuredGrid.h>
#include <vtkXMLUnstructuredGridWriter.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/meshio/convert.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/meshio/vtu.hpp"
#include "test_support.hpp"

namespace {

using lats::test::messageOf;

// A quadrangle with one vertex pulled up (its centroid is not its vertex average), two
// triangles, and a boundary line that the converter must drop.
//   3(0,1.5)
//   |      4(1,1) ---- 5(2,1)
//   0(0,0) -- 1(1,0) -- 2(2,0)
vtkSmartPointer<vtkUnstructuredGrid> smallGrid(double time, double shift = 0.0, bool nanValue = false) {
  auto g = vtkSmartPointer<vtkUnstructuredGrid>::New();
  vtkNew<vtkPoints> pts;
  const double xy[6][2] = {{0, 0}, {1, 0}, {2, 0}, {0, 1.5}, {1, 1}, {2, 1}};
  for (auto& p : xy) pts->InsertNextPoint(p[0], p[1], 0.0);
  g->SetPoints(pts);
  const vtkIdType quad[4] = {0, 1, 4, 3}, t1[3] = {1, 2, 5}, t2[3] = {1, 5, 4}, line[2] = {0, 1};
  g->InsertNextCell(VTK_QUAD, 4, quad);
  g->InsertNextCell(VTK_LINE, 2, line);
  g->InsertNextCell(VTK_TRIANGLE, 3, t1);
  g->InsertNextCell(VTK_TRIANGLE, 3, t2);
  vtkNew<vtkDoubleArray> T;
  T->SetName("T");
  for (int c = 0; c < 4; ++c) T->InsertNextValue(1.0 + 1.5 * c + shift);
  if (nanValue) T->SetValue(3, std::numeric_limits<double>::quiet_NaN());
  g->GetCellData()->AddArray(T);
  vtkNew<vtkDoubleArray> phi;
  phi->SetName("phi");
  phi->SetNumberOfComponents(2);
  for (auto& p : xy) phi->InsertNextTuple2(p[0] + p[1] + shift, p[0] * p[1]);
  g->GetPointData()->AddArray(phi);
  vtkNew<vtkDoubleArray> tv;
  tv->SetName("TimeValue");
  tv->InsertNextValue(time);
  g->GetFieldData()->AddArray(tv);
  return g;
}

void writeGrid(vtkUnstructuredGrid* g, const std::string& path) {
  vtkNew<vtkXMLUnstructuredGridWriter> w;
  w->SetFileName(path.c_str());
  w->SetInputData(g);
  w->SetDataModeToAscii();
  ASSERT_EQ(w->Write(), 1);
}

void writeText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The whole dataset on every rank: points (dimension 2), volumes, values of one snapshot.
struct Snapshot {
  std::vector<std::array<double, 2>> points;
  std::vector<double> volumes;
  std::vector<std::vector<double>> values;  // per point
};

Snapshot readAll(const std::string& path, std::int64_t t) {
  lats::meshio::DatasetReader r(MPI_COMM_WORLD, path);
  const auto mesh = r.mesh();
  const auto field = r.read(*mesh, 0, t);
  const std::int64_t n = r.numPoints();
  const int nc = static_cast<int>(r.header().components.size());
  std::vector<double> xy(2 * n, 0.0), vol(n, 0.0), val(n * nc, 0.0);
  auto coords = Kokkos::create_mirror_view_and_copy(lats::HostSpace(), mesh->coordinates());
  auto ids = Kokkos::create_mirror_view_and_copy(lats::HostSpace(), mesh->globalIds());
  auto v = Kokkos::create_mirror_view_and_copy(lats::HostSpace(), field.view());
  for (std::int64_t i = 0; i < mesh->ownedSize(); ++i) {
    const auto g = ids(i);
    for (int k = 0; k < 2; ++k) xy[2 * g + k] = coords(i, k);
    if (mesh->hasVolumes()) vol[g] = mesh->volumes()(i);
    for (int c = 0; c < nc; ++c) val[g * nc + c] = v(i, c);
  }
  MPI_Allreduce(MPI_IN_PLACE, xy.data(), static_cast<int>(xy.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, vol.data(), static_cast<int>(vol.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, val.data(), static_cast<int>(val.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  Snapshot s;
  for (std::int64_t i = 0; i < n; ++i) {
    s.points.push_back({xy[2 * i], xy[2 * i + 1]});
    s.volumes.push_back(vol[i]);
    s.values.emplace_back(val.begin() + i * nc, val.begin() + (i + 1) * nc);
  }
  return s;
}

lats::meshio::ConvertSettings settingsFor(const std::string& input, const std::string& output) {
  lats::meshio::ConvertSettings s;
  s.input = input;
  s.output = output;
  return s;
}

// Expected cells (the line is dropped): true centroids and areas.
const double kQuadArea = 1.25, kQuadCx = (0.5 * 2.0 / 3.0 + 0.75 / 3.0) / 1.25,
             kQuadCy = (0.5 / 3.0 + 0.75 * 2.5 / 3.0) / 1.25;

}  // namespace

TEST(Convert, VtuCellDataPointDataAndTrueCentroids) {
  const lats::Comm comm;
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "convert-vtu");
  if (comm.rank() == 0) writeGrid(smallGrid(0.75), dir + "/small.vtu");
  comm.barrier();
  const auto report = lats::meshio::convertToDataset(MPI_COMM_WORLD, settingsFor(dir + "/small.vtu", ""));
  EXPECT_EQ(report.path, dir + "/small.h5");
  EXPECT_EQ(report.inputKind, "vtu");
  EXPECT_EQ(report.dimension, 2);
  EXPECT_EQ(report.points, 3);
  EXPECT_EQ(report.components, (std::vector<std::string>{"T", "phi_x", "phi_y"}));
  EXPECT_EQ(report.times, (std::vector<double>{0.75}));

  const auto s = readAll(report.path, 0);
  ASSERT_EQ(s.points.size(), 3u);
  EXPECT_NEAR(s.points[0][0], kQuadCx, 1e-15);  // not the vertex average (0.5, 0.625)
  EXPECT_NEAR(s.points[0][1], kQuadCy, 1e-15);
  EXPECT_NEAR(s.volumes[0], kQuadArea, 1e-15);
  EXPECT_NEAR(s.points[1][0], 5.0 / 3.0, 1e-15);
  EXPECT_NEAR(s.points[1][1], 1.0 / 3.0, 1e-15);
  EXPECT_NEAR(s.points[2][0], 4.0 / 3.0, 1e-15);
  EXPECT_NEAR(s.points[2][1], 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(s.volumes[1], 0.5, 1e-15);
  EXPECT_NEAR(s.volumes[2], 0.5, 1e-15);
  // Cell data as is (cells 0, 2, 3 of the file); point data averaged over the cell's points.
  EXPECT_EQ(s.values[0][0], 1.0);
  EXPECT_EQ(s.values[1][0], 4.0);
  EXPECT_EQ(s.values[2][0], 5.5);
  EXPECT_DOUBLE_EQ(s.values[0][1], (0 + 1 + 2 + 1.5) / 4.0);  // x + y at points 0, 1, 4, 3
  EXPECT_DOUBLE_EQ(s.values[0][2], (0 + 0 + 1 + 0) / 4.0);    // x * y
  EXPECT_DOUBLE_EQ(s.values[1][1], (1 + 2 + 3) / 3.0);
  EXPECT_DOUBLE_EQ(s.values[2][2], (0 + 2 + 1) / 3.0);

  // The cells themselves, for the XDMF sidecar: a quadrangle and two triangles.
  lats::meshio::DatasetReader r(MPI_COMM_WORLD, report.path);
  ASSERT_TRUE(r.hasCells());
  const auto cells = r.cells();
  EXPECT_EQ(cells.types, (std::vector<std::uint8_t>{9, 5, 5}));
  EXPECT_EQ(cells.offsets, (std::vector<std::int64_t>{0, 4, 7, 10}));
  EXPECT_EQ(std::vector<double>(cells.vertices.begin(), cells.vertices.begin() + 12),
            (std::vector<double>{0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1.5, 0}));

  // Chosen fields only, in the order given.
  auto only = settingsFor(dir + "/small.vtu", dir + "/only.h5");
  only.fields = {"phi"};
  EXPECT_EQ(lats::meshio::convertToDataset(MPI_COMM_WORLD, only).components,
            (std::vector<std::string>{"phi_x", "phi_y"}));
}

TEST(Convert, PvdTimeSeriesInTimeOrder) {
  const lats::Comm comm;
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "convert-pvd");
  if (comm.rank() == 0) {
    for (int k = 0; k < 3; ++k) writeGrid(smallGrid(0.1 * k, 10.0 * k), dir + "/s" + std::to_string(k) + ".vtu");
    writeText(dir + "/series.pvd",
              "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\">\n<Collection>\n"
              "  <DataSet timestep=\"0.2\" part=\"0\" file=\"s2.vtu\"/>\n"
              "  <DataSet timestep=\"0\" part=\"0\" file=\"s0.vtu\"/>\n"
              "  <DataSet timestep=\"0.1\" part=\"0\" file=\"s1.vtu\"/>\n</Collection>\n</VTKFile>\n");
  }
  comm.barrier();
  const auto report =
      lats::meshio::convertToDataset(MPI_COMM_WORLD, settingsFor(dir + "/series.pvd", dir + "/series.h5"));
  EXPECT_EQ(report.inputKind, "pvd");
  EXPECT_EQ(report.times, (std::vector<double>{0.0, 0.1, 0.2}));
  for (int t = 0; t < 3; ++t) {
    const auto s = readAll(report.path, t);
    EXPECT_EQ(s.values[0][0], 1.0 + 10.0 * t) << "time index " << t;
    EXPECT_EQ(s.values[2][0], 5.5 + 10.0 * t) << "time index " << t;
  }

  // A time whose mesh differs from the first: named, and no output left behind.
  if (comm.rank() == 0) {
    auto other = smallGrid(0.2);
    other->GetCellData()->GetArray("T")->SetNumberOfTuples(2);
    vtkNew<vtkUnstructuredGrid> fewer;
    vtkNew<vtkPoints> pts;
    pts->InsertNextPoint(0, 0, 0);
    pts->InsertNextPoint(1, 0, 0);
    pts->InsertNextPoint(0, 1, 0);
    fewer->SetPoints(pts);
    const vtkIdType tri[3] = {0, 1, 2};
    fewer->InsertNextCell(VTK_TRIANGLE, 3, tri);
    vtkNew<vtkDoubleArray> T;
    T->SetName("T");
    T->InsertNextValue(1.0);
    fewer->GetCellData()->AddArray(T);
    vtkNew<vtkDoubleArray> phi;
    phi->SetName("phi");
    phi->SetNumberOfComponents(2);
    for (int i = 0; i < 3; ++i) phi->InsertNextTuple2(0, 0);
    fewer->GetPointData()->AddArray(phi);
    writeGrid(fewer, dir + "/s2.vtu");
  }
  comm.barrier();
  const auto m = messageOf<lats::FileFormatError>(
      [&] { lats::meshio::convertToDataset(MPI_COMM_WORLD, settingsFor(dir + "/series.pvd", dir + "/bad.h5")); });
  EXPECT_NE(m.find("s2.vtu"), std::string::npos) << m;
  EXPECT_NE(m.find("mesh differs from the first time"), std::string::npos) << m;
  comm.barrier();
  EXPECT_FALSE(std::ifstream(dir + "/bad.h5").good());
}

TEST(Convert, OwnPvtuSnapshotsKeepTheirPoints) {
  const lats::Comm comm;
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "convert-pvtu");
  const int n = 40 + 7 * comm.rank();
  std::vector<double> xy;
  lats::Field u("u", n, 1);
  for (int i = 0; i < n; ++i) {
    const double x = std::fmod(0.618 * (i + 101 * comm.rank()), 1.0),
                 y = std::fmod(0.414 * (i + 37 * comm.rank()), 1.0);
    xy.push_back(x);
    xy.push_back(y);
    u.view()(i, 0) = std::sin(3 * x) * std::cos(2 * y);
  }
  auto mesh = lats::MeshBuilder(MPI_COMM_WORLD, 2).coordinates(xy).build();
  const auto pvtu = lats::meshio::writeVtu(dir + "/snap", *mesh, {u}, 0.5);
  const auto report = lats::meshio::convertToDataset(MPI_COMM_WORLD, settingsFor(pvtu, dir + "/snap.h5"));
  EXPECT_EQ(report.points, mesh->globalSize());
  EXPECT_EQ(report.components, (std::vector<std::string>{"u"}));
  EXPECT_EQ(report.times, (std::vector<double>{0.5}));
  lats::meshio::DatasetReader r(MPI_COMM_WORLD, report.path);
  EXPECT_FALSE(r.mesh()->hasVolumes());
  EXPECT_FALSE(r.hasCells());
  const auto s = readAll(report.path, 0);
  for (const auto& [p, v] : [&] {
         std::vector<std::pair<std::array<double, 2>, double>> out;
         for (std::size_t i = 0; i < s.points.size(); ++i) out.push_back({s.points[i], s.values[i][0]});
         return out;
       }())
    EXPECT_EQ(v, std::sin(3 * p[0]) * std::cos(2 * p[1]));
}

namespace {
// Two triangles of the square [0, 0.1]^2 (coordinates not exact in single precision) plus
// boundary lines; data at two times; vel = (30 x, 60 y, 0) at the nodes, linear.
const char* kNodes22 = "$Nodes\n4\n1 0 0 0\n2 0.1 0 0\n3 0.1 0.1 0\n4 0 0.1 0\n$EndNodes\n";
const char* kElements22 =
    "$Elements\n4\n1 1 2 1 1 1 2\n2 1 2 1 1 2 3\n10 2 2 0 1 1 2 3\n11 2 2 0 1 1 3 4\n$EndElements\n";
const char* kNodes41 = "$Nodes\n1 4 1 4\n2 1 0 4\n1\n2\n3\n4\n0 0 0\n0.1 0 0\n0.1 0.1 0\n0 0.1 0\n$EndNodes\n";
const char* kElements41 = "$Elements\n2 4 1 11\n1 1 1 2\n1 1 2\n2 2 3\n2 1 2 2\n10 1 2 3\n11 1 3 4\n$EndElements\n";
std::string data(double time, int step, double shift) {
  std::ostringstream os;
  os << "$ElementData\n1\n\"rho\"\n1\n"
     << time << "\n3\n"
     << step << "\n1\n2\n10 " << 1.0 + shift << "\n11 " << 2.0 + shift << "\n$EndElementData\n"
     << "$NodeData\n1\n\"vel\"\n1\n"
     << time << "\n3\n"
     << step << "\n3\n4\n1 0 0 0\n2 3 0 0\n3 3 6 0\n4 0 6 0\n"
     << "$EndNodeData\n";
  return os.str();
}
}  // namespace

TEST(Convert, GmshAsciiFormats22And41GiveTheSameDataset) {
  const lats::Comm comm;
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "convert-gmsh");
  if (comm.rank() == 0) {
    writeText(dir + "/a.msh", std::string("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$PhysicalNames\n1\n2 1 \"domain\"\n"
                                          "$EndPhysicalNames\n") +
                                  kNodes22 + kElements22 + data(0.5, 1, 10.0) + data(0.0, 0, 0.0));
    writeText(dir + "/b.msh", std::string("$MeshFormat\n4.1 0 8\n$EndMeshFormat\n") + kNodes41 + kElements41 +
                                  data(0.0, 0, 0.0) + data(0.5, 1, 10.0));
  }
  comm.barrier();
  const auto ra = lats::meshio::convertToDataset(MPI_COMM_WORLD, settingsFor(dir + "/a.msh", dir + "/a.h5"));
  const auto rb = lats::meshio::convertToDataset(MPI_COMM_WORLD, settingsFor(dir + "/b.msh", dir + "/b.h5"));
  EXPECT_EQ(ra.inputKind, "gmsh");
  EXPECT_EQ(ra.points, 2);
  EXPECT_EQ(ra.dimension, 2);
  EXPECT_EQ(ra.times, (std::vector<double>{0.0, 0.5}));
  EXPECT_EQ(ra.components, (std::vector<std::string>{"rho", "vel_x", "vel_y", "vel_z"}));
  EXPECT_EQ(rb.components, ra.components);
  for (int t = 0; t < 2; ++t) {
    const auto a = readAll(ra.path, t), b = readAll(rb.path, t);
    EXPECT_EQ(a.points, b.points);
    EXPECT_EQ(a.values, b.values);
    EXPECT_DOUBLE_EQ(a.points[0][0], 0.2 / 3.0);
    EXPECT_DOUBLE_EQ(a.points[0][1], 0.1 / 3.0);
    EXPECT_DOUBLE_EQ(a.volumes[1], 0.005);
    for (int c = 0; c < 2; ++c) {  // a linear field averaged over a triangle's nodes is its centroid value
      EXPECT_NEAR(a.values[c][1], 30.0 * a.points[c][0], 1e-14);
      EXPECT_NEAR(a.values[c][2], 60.0 * a.points[c][1], 1e-14);
    }
    EXPECT_EQ(a.values[0][0], 1.0 + 10.0 * t);
    EXPECT_EQ(a.values[1][0], 2.0 + 10.0 * t);
    EXPECT_DOUBLE_EQ(a.values[0][1], 2.0);  // vel_x averaged over nodes 1, 2, 3: (0 + 3 + 3) / 3
    EXPECT_DOUBLE_EQ(a.values[1][2], 4.0);  // vel_y over nodes 1, 3, 4: (0 + 6 + 6) / 3
  }
}

TEST(Convert, BadInputGivesOneClearErrorOnEveryRank) {
  const lats::Comm comm;
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "convert-bad");
  if (comm.rank() == 0) {
    writeText(dir + "/notes.txt", "just some text\n");
    writeText(dir + "/mesh_only.msh", std::string("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n") + kNodes22 + kElements22);
    writeText(dir + "/binary.msh", "$MeshFormat\n2.2 1 8\n$EndMeshFormat\n");
    writeText(dir + "/v5.msh", "$MeshFormat\n5.0 0 8\n$EndMeshFormat\n");
    writeText(dir + "/truncated.msh", std::string("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n4\n1 0 0 0\n2 1"));
    writeText(dir + "/missing_value.msh", std::string("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n") + kNodes22 +
                                              kElements22 +
                                              "$ElementData\n1\n\"rho\"\n1\n0\n3\n0\n1\n1\n10 1.0\n$EndElementData\n");
    writeGrid(smallGrid(0.0, 0.0, true), dir + "/nan.vtu");
    writeGrid(smallGrid(0.0), dir + "/good.vtu");
    std::ifstream in(dir + "/good.vtu");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    writeText(dir + "/cut.vtu", text.substr(0, text.size() / 2));
  }
  comm.barrier();
  auto convert = [&](const std::string& input, const std::vector<std::string>& fields = {}) {
    auto s = settingsFor(dir + "/" + input, dir + "/out.h5");
    s.fields = fields;
    lats::meshio::convertToDataset(MPI_COMM_WORLD, s);
  };
  auto expectIn = [](const std::string& message, const std::string& part) {
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  };
  std::string m = messageOf<lats::FileFormatError>([&] { convert("nothing.vtu"); });
  expectIn(m, "nothing.vtu: no such file");
  m = messageOf<lats::FileFormatError>([&] { convert("notes.txt"); });
  expectIn(m, "expected a gmsh .msh file, a .vtu/.pvtu/.pvd file or an OpenFOAM case directory");
  m = messageOf<lats::FileFormatError>([&] { convert("mesh_only.msh"); });
  expectIn(m, "no $ElementData or $NodeData");
  expectIn(m, "lats generate -lats_mesh");
  m = messageOf<lats::FileFormatError>([&] { convert("binary.msh"); });
  expectIn(m, "binary gmsh file");
  m = messageOf<lats::FileFormatError>([&] { convert("v5.msh"); });
  expectIn(m, "expected 2.2 or 4.1");
  m = messageOf<lats::FileFormatError>([&] { convert("truncated.msh"); });
  expectIn(m, "truncated or malformed");
  m = messageOf<lats::FileFormatError>([&] { convert("missing_value.msh"); });
  expectIn(m, "'rho' at time 0 has no value for 1 of 2 cells");
  m = messageOf<lats::InvalidValueError>([&] { convert("nan.vtu"); });
  expectIn(m, "field 'T' component 0 is nan at cell 3");
  m = messageOf<lats::FileFormatError>([&] { convert("cut.vtu"); });
  expectIn(m, "cut.vtu");
  m = messageOf<lats::ConfigurationError>([&] { convert("good.vtu", {"Tt"}); });
  expectIn(m, "no field 'Tt'. Did you mean 'T'?");
  expectIn(m, "available: T, phi");
  comm.barrier();
  EXPECT_FALSE(std::ifstream(dir + "/out.h5").good()) << "a failed conversion left its output behind";

  convert("good.vtu");
  m = messageOf<lats::ConfigurationError>([&] { convert("good.vtu"); });
  expectIn(m, "out.h5: exists");
  auto s = settingsFor(dir + "/good.vtu", dir + "/out.h5");
  s.overwrite = true;
  EXPECT_EQ(lats::meshio::convertToDataset(MPI_COMM_WORLD, s).points, 3);
  s.input.clear();
  m = messageOf<lats::ConfigurationError>([&] { lats::meshio::convertToDataset(MPI_COMM_WORLD, s); });
  expectIn(m, "-lats_convert_input");
}
