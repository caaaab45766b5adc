#include "lats/meshio/vtu.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <vtkCellType.h>
#include <vtkDoubleArray.h>
#include <vtkFieldData.h>
#include <vtkIdTypeArray.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkUnstructuredGrid.h>
#include <vtkXMLUnstructuredGridWriter.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "atomic_file.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"

namespace lats::meshio {
namespace {

using detail::commit;
using detail::requireWritableDirectory;
using detail::temporaryName;

std::string baseName(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void writePiece(const std::string& path, const Mesh& mesh, const std::vector<Field>& fields, double time) {
  requireWritableDirectory(path);
  const std::int64_t n = mesh.ownedSize();
  const int dim = mesh.dimension();
  auto coords = Kokkos::create_mirror_view_and_copy(HostSpace(), mesh.coordinates());
  auto ids = Kokkos::create_mirror_view_and_copy(HostSpace(), mesh.globalIds());

  vtkNew<vtkPoints> points;
  points->SetDataTypeToDouble();
  points->SetNumberOfPoints(n);
  for (std::int64_t i = 0; i < n; ++i) {
    double x[3] = {0.0, 0.0, 0.0};
    for (int d = 0; d < dim; ++d) x[d] = coords(i, d);
    points->SetPoint(i, x);
  }
  vtkNew<vtkUnstructuredGrid> grid;
  grid->SetPoints(points);
  grid->Allocate(n);
  for (vtkIdType i = 0; i < n; ++i) grid->InsertNextCell(VTK_VERTEX, 1, &i);

  vtkNew<vtkIdTypeArray> gids;
  gids->SetName("GlobalIds");
  gids->SetNumberOfTuples(n);
  for (std::int64_t i = 0; i < n; ++i) gids->SetValue(i, ids(i));
  grid->GetPointData()->SetGlobalIds(gids);

  for (const auto& f : fields) {
    auto values = Kokkos::create_mirror_view_and_copy(HostSpace(), f.view());
    vtkNew<vtkDoubleArray> array;
    array->SetName(f.name().c_str());
    array->SetNumberOfComponents(f.numComponents());
    array->SetNumberOfTuples(n);
    for (int c = 0; c < f.numComponents(); ++c) array->SetComponentName(c, f.componentNames()[c].c_str());
    for (std::int64_t i = 0; i < n; ++i)
      for (int c = 0; c < f.numComponents(); ++c) array->SetComponent(i, c, values(i, c));
    grid->GetPointData()->AddArray(array);
  }
  vtkNew<vtkDoubleArray> timeValue;
  timeValue->SetName("TimeValue");
  timeValue->InsertNextValue(time);
  grid->GetFieldData()->AddArray(timeValue);

  const std::string tmp = temporaryName(path);
  vtkNew<vtkXMLUnstructuredGridWriter> writer;
  writer->SetFileName(tmp.c_str());
  writer->SetInputData(grid);
  writer->SetDataModeToAppended();
  writer->SetCompressorTypeToZLib();
  if (writer->Write() != 1 || writer->GetErrorCode() != 0) {
    std::remove(tmp.c_str());
    LATS_THROW(Error, "VTK could not write '" << path << "' (does the directory exist and is it writable?)");
  }
  commit(tmp, path);
}

void writeIndex(const std::string& path, const std::string& base, int ranks, const std::vector<Field>& fields) {
  std::ostringstream os;
  os << "<?xml version=\"1.0\"?>\n"
     << "<VTKFile type=\"PUnstructuredGrid\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\">\n"
     << "  <PUnstructuredGrid GhostLevel=\"0\">\n"
     << "    <PPointData GlobalIds=\"GlobalIds\">\n"
     << "      <PDataArray type=\"Int64\" Name=\"GlobalIds\"/>\n";
  for (const auto& f : fields)
    os << "      <PDataArray type=\"Float64\" Name=\"" << f.name() << "\" NumberOfComponents=\"" << f.numComponents()
       << "\"/>\n";
  os << "    </PPointData>\n"
     << "    <PPoints>\n      <PDataArray type=\"Float64\" Name=\"Points\" NumberOfComponents=\"3\"/>\n    "
        "</PPoints>\n";
  for (int r = 0; r < ranks; ++r) os << "    <Piece Source=\"" << baseName(base) << "_" << r << ".vtu\"/>\n";
  os << "  </PUnstructuredGrid>\n</VTKFile>\n";
  const std::string tmp = temporaryName(path);
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << os.str();
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      LATS_THROW(Error, "could not write '" << path << "' (does the directory exist and is it writable?)");
    }
  }
  commit(tmp, path);
}

}  // namespace

std::string writeVtu(const std::string& base, const Mesh& mesh, const std::vector<Field>& fields, double time) {
  const Comm comm(mesh.comm());
  std::string mismatch;
  for (const auto& f : fields)
    if (f.size() < mesh.ownedSize() && mismatch.empty())
      mismatch = "field '" + f.name() + "' has " + std::to_string(f.size()) + " entities, fewer than the mesh's " +
                 std::to_string(mesh.ownedSize()) + " owned entities";
  agreeOnFailure(mesh.comm(), mismatch, ErrorKind::DimensionMismatch, LATS_HERE);

  const std::string pvtu = base + ".pvtu";
  collective(mesh.comm(), [&] { writePiece(base + "_" + std::to_string(comm.rank()) + ".vtu", mesh, fields, time); });
  collective(mesh.comm(), [&] {
    if (comm.rank() == 0) writeIndex(pvtu, base, comm.size(), fields);
  });
  return pvtu;
}

}  // namespace lats::meshio
