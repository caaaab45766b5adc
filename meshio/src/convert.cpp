#include "lats/meshio/convert.hpp"

#include <sys/stat.h>
#include <vtkCell.h>
#include <vtkCellData.h>
#include <vtkCellType.h>
#include <vtkCommand.h>
#include <vtkCompositeDataIterator.h>
#include <vtkDataArray.h>
#include <vtkDoubleArray.h>
#include <vtkFieldData.h>
#include <vtkIdList.h>
#include <vtkMultiBlockDataSet.h>
#include <vtkNew.h>
#include <vtkOpenFOAMReader.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkSmartPointer.h>
#include <vtkUnstructuredGrid.h>
#include <vtkXMLDataElement.h>
#include <vtkXMLDataParser.h>
#include <vtkXMLPUnstructuredGridReader.h>
#include <vtkXMLUnstructuredGridReader.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/core/mesh.hpp"
#include "lats/core/options.hpp"
#include "lats/core/strings.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/meshio/file_kind.hpp"

namespace lats::meshio {
namespace {

const StringOption kInput{"convert_input", "",
                          "convert: gmsh .msh, .vtu, .pvtu, .pvd time series, or OpenFOAM case directory"};
const StringOption kOutput{"convert_output", "", "convert: the dataset to write (default: the input with .h5)"};
const StringOption kFields{"convert_fields", "", "convert: comma-separated fields to keep (default: all)"};
const IntOption kCompression{"convert_compression", 4, "convert: deflate level (1-9) of the dataset"};
const BoolOption kOverwrite{"convert_overwrite", false, "convert: replace an existing output file"};

// ---------------------------------------------------------------------------------------
// VTK reports errors through ErrorEvent; turn them into one exception naming the file.

class ErrorCatcher : public vtkCommand {
 public:
  static ErrorCatcher* New() { return new ErrorCatcher; }
  void Execute(vtkObject*, unsigned long, void* data) override {
    if (message.empty() && data) message = static_cast<const char*>(data);
  }
  std::string message;
};

template <class Reader>
void updateOrThrow(Reader* reader, const std::string& path) {
  vtkNew<ErrorCatcher> catcher;
  reader->AddObserver(vtkCommand::ErrorEvent, catcher);
  reader->AddObserver(vtkCommand::WarningEvent, vtkNew<ErrorCatcher>());  // silence warnings
  reader->Update();
  if (!catcher->message.empty()) {
    std::string m = catcher->message;
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    const auto cut = m.rfind("\n");
    LATS_THROW(FileFormatError,
               path << ": VTK could not read it (" << (cut == std::string::npos ? m : m.substr(cut + 1)) << ")");
  }
}

// ---------------------------------------------------------------------------------------
// A source is a sequence of times, each giving an unstructured grid with its data arrays.

struct Source {
  virtual ~Source() = default;
  virtual std::string kind() const = 0;
  virtual std::vector<double> times() const = 0;
  /// The grid at times()[i]; its cells must be the same at every time.
  virtual vtkSmartPointer<vtkUnstructuredGrid> load(std::size_t i) = 0;
  /// Where time i came from, for messages.
  virtual std::string where(std::size_t i) const = 0;
};

std::string directoryOf(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string rootType(const std::string& path) {
  vtkNew<vtkXMLDataParser> parser;
  parser->SetFileName(path.c_str());
  vtkNew<ErrorCatcher> catcher;
  parser->AddObserver(vtkCommand::ErrorEvent, catcher);
  if (!parser->Parse() || !parser->GetRootElement())
    LATS_THROW(FileFormatError, path << ": not a readable VTK XML file (" << catcher->message << ")");
  const char* type = parser->GetRootElement()->GetAttribute("type");
  return type ? type : "";
}

vtkSmartPointer<vtkUnstructuredGrid> readVtkXml(const std::string& path) {
  const std::string type = rootType(path);
  if (type == "UnstructuredGrid") {
    vtkNew<vtkXMLUnstructuredGridReader> reader;
    reader->SetFileName(path.c_str());
    updateOrThrow(reader.Get(), path);
    return reader->GetOutput();
  }
  if (type == "PUnstructuredGrid") {
    vtkNew<vtkXMLPUnstructuredGridReader> reader;
    reader->SetFileName(path.c_str());
    updateOrThrow(reader.Get(), path);
    return reader->GetOutput();
  }
  LATS_THROW(FileFormatError, path << ": a VTK XML file of type '" << type
                                   << "'; expected UnstructuredGrid (.vtu) or PUnstructuredGrid (.pvtu)");
}

double timeValueOf(vtkUnstructuredGrid* grid, double fallback) {
  vtkFieldData* fd = grid->GetFieldData();
  vtkDataArray* t = fd ? fd->GetArray("TimeValue") : nullptr;
  return (t && t->GetNumberOfTuples() > 0) ? t->GetComponent(0, 0) : fallback;
}

struct VtuSource : Source {
  explicit VtuSource(std::string p) : path(std::move(p)) { grid = readVtkXml(path); }
  std::string kind() const override { return "vtu"; }
  std::vector<double> times() const override { return {timeValueOf(grid, 0.0)}; }
  vtkSmartPointer<vtkUnstructuredGrid> load(std::size_t) override { return grid; }
  std::string where(std::size_t) const override { return path; }
  std::string path;
  vtkSmartPointer<vtkUnstructuredGrid> grid;
};

/// A ParaView collection: <VTKFile type="Collection"><Collection><DataSet timestep="t"
/// file="a.vtu"/>...; files relative to the .pvd's directory.
struct PvdSource : Source {
  explicit PvdSource(const std::string& path) {
    vtkNew<vtkXMLDataParser> parser;
    parser->SetFileName(path.c_str());
    vtkNew<ErrorCatcher> catcher;
    parser->AddObserver(vtkCommand::ErrorEvent, catcher);
    if (!parser->Parse() || !parser->GetRootElement())
      LATS_THROW(FileFormatError, path << ": not a readable .pvd file (" << catcher->message << ")");
    vtkXMLDataElement* root = parser->GetRootElement();
    vtkXMLDataElement* collection = root->FindNestedElementWithName("Collection");
    if (!collection || std::string(root->GetAttribute("type") ? root->GetAttribute("type") : "") != "Collection")
      LATS_THROW(FileFormatError, path << ": no <Collection> element; expected a ParaView .pvd time series");
    std::map<double, std::string> byTime;
    for (int i = 0; i < collection->GetNumberOfNestedElements(); ++i) {
      vtkXMLDataElement* ds = collection->GetNestedElement(i);
      if (std::string(ds->GetName()) != "DataSet") continue;
      const char* file = ds->GetAttribute("file");
      const char* step = ds->GetAttribute("timestep");
      if (!file) LATS_THROW(FileFormatError, path << ": DataSet " << i << " has no 'file' attribute");
      const double t = step ? parseReal(step, path + ": DataSet timestep") : 0.0;
      if (byTime.count(t))
        LATS_THROW(FileFormatError, path << ": two DataSets at timestep " << t
                                         << " (multi-part time steps are not supported; give one .pvtu per time)");
      const std::string f = file;
      byTime[t] = (!f.empty() && f[0] == '/') ? f : directoryOf(path) + "/" + f;
    }
    if (byTime.empty()) LATS_THROW(FileFormatError, path << ": the collection lists no DataSet");
    for (const auto& [t, f] : byTime) {
      times_.push_back(t);
      files_.push_back(f);
    }
  }
  std::string kind() const override { return "pvd"; }
  std::vector<double> times() const override { return times_; }
  vtkSmartPointer<vtkUnstructuredGrid> load(std::size_t i) override { return readVtkXml(files_[i]); }
  std::string where(std::size_t i) const override { return files_[i]; }
  std::vector<double> times_;
  std::vector<std::string> files_;
};

struct OpenFoamSource : Source {
  explicit OpenFoamSource(std::string dir) : caseDir(std::move(dir)) {
    const std::string controlDict = caseDir + "/system/controlDict";
    reader->SetFileName(controlDict.c_str());
    reader->SetSkipZeroTime(false);
    reader->SetCreateCellToPoint(0);
    reader->SetReadZones(0);
    reader->SetDecomposePolyhedra(0);
    reader->SetUse64BitFloats(true);
    reader->ListTimeStepsByControlDictOff();
    reader->UpdateInformation();
    reader->EnableAllCellArrays();
    for (int i = 0; i < reader->GetNumberOfPatchArrays(); ++i)
      reader->SetPatchArrayStatus(reader->GetPatchArrayName(i),
                                  std::string(reader->GetPatchArrayName(i)) == "internalMesh");
    vtkDoubleArray* t = reader->GetTimeValues();
    if (!t || t->GetNumberOfTuples() == 0)
      LATS_THROW(FileFormatError, caseDir << ": the OpenFOAM case has no time directories (expected at least 0/)");
    for (vtkIdType i = 0; i < t->GetNumberOfTuples(); ++i) times_.push_back(t->GetValue(i));
  }
  std::string kind() const override { return "openfoam"; }
  std::vector<double> times() const override { return times_; }
  vtkSmartPointer<vtkUnstructuredGrid> load(std::size_t i) override {
    reader->UpdateTimeStep(times_[i]);
    updateOrThrow(reader.Get(), caseDir);
    vtkMultiBlockDataSet* out = reader->GetOutput();
    vtkSmartPointer<vtkCompositeDataIterator> it;
    it.TakeReference(out->NewIterator());
    for (it->InitTraversal(); !it->IsDoneWithTraversal(); it->GoToNextItem()) {
      if (auto* ug = vtkUnstructuredGrid::SafeDownCast(it->GetCurrentDataObject())) {
        auto copy = vtkSmartPointer<vtkUnstructuredGrid>::New();
        copy->DeepCopy(ug);
        return copy;
      }
    }
    LATS_THROW(FileFormatError, caseDir << ": the OpenFOAM reader gave no internal mesh at time " << times_[i]
                                        << " (is constant/polyMesh complete?)");
  }
  std::string where(std::size_t i) const override {
    std::ostringstream os;
    os << caseDir << " at time " << times_[i];
    return os.str();
  }
  std::string caseDir;
  vtkNew<vtkOpenFOAMReader> reader;
  std::vector<double> times_;
};

// ---------------------------------------------------------------------------------------
// gmsh ASCII .msh (formats 2.2 and 4.1): nodes, elements and $ElementData / $NodeData.

int gmshNodesPerElement(int type, const std::string& path) {
  switch (type) {
    case 15: return 1;  // point
    case 1: return 2;   // line
    case 2: return 3;   // triangle
    case 3: return 4;   // quadrangle
    case 4: return 4;   // tetrahedron
    case 5: return 8;   // hexahedron
    case 6: return 6;   // prism
    case 7: return 5;   // pyramid
    default:
      LATS_THROW(FileFormatError, path << ": gmsh element type " << type
                                       << " is not supported (linear points, lines, triangles, quadrangles, "
                                          "tetrahedra, hexahedra, prisms and pyramids are; mesh with order 1)");
  }
}

int vtkTypeOfGmsh(int type) {
  switch (type) {
    case 15: return VTK_VERTEX;
    case 1: return VTK_LINE;
    case 2: return VTK_TRIANGLE;
    case 3: return VTK_QUAD;
    case 4: return VTK_TETRA;
    case 5: return VTK_HEXAHEDRON;
    case 6: return VTK_WEDGE;
    default: return VTK_PYRAMID;
  }
}

struct GmshSource : Source {
  explicit GmshSource(std::string p) : path(std::move(p)) { parse(); }

  std::string kind() const override { return "gmsh"; }
  std::vector<double> times() const override { return times_; }
  std::string where(std::size_t i) const override {
    std::ostringstream os;
    os << path << " at time " << times_[i];
    return os.str();
  }
  vtkSmartPointer<vtkUnstructuredGrid> load(std::size_t i) override {
    auto grid = vtkSmartPointer<vtkUnstructuredGrid>::New();
    grid->ShallowCopy(geometry);
    for (const auto& block : blocks) {
      if (block.time != times_[i]) continue;
      const bool cellData = block.onElements;
      const vtkIdType n = cellData ? geometry->GetNumberOfCells() : geometry->GetNumberOfPoints();
      vtkNew<vtkDoubleArray> a;
      a->SetName(block.name.c_str());
      a->SetNumberOfComponents(block.components);
      a->SetNumberOfTuples(n);
      a->Fill(std::nan(""));
      std::vector<bool> seen(n, false);
      for (const auto& [tag, values] : block.values) {
        const auto& index = cellData ? cellOfTag : pointOfTag;
        const auto it = index.find(tag);
        if (it == index.end()) continue;  // data on lower-dimensional elements
        for (int c = 0; c < block.components; ++c) a->SetComponent(it->second, c, values[c]);
        seen[it->second] = true;
      }
      const auto missing = std::count(seen.begin(), seen.end(), false);
      if (missing > 0)
        LATS_THROW(FileFormatError, path << ": " << (cellData ? "$ElementData" : "$NodeData") << " '" << block.name
                                         << "' at time " << block.time << " has no value for " << missing << " of " << n
                                         << (cellData ? " cells" : " nodes")
                                         << "; expected one value per cell of the highest dimension");
      if (cellData)
        grid->GetCellData()->AddArray(a);
      else
        grid->GetPointData()->AddArray(a);
    }
    return grid;
  }

  struct Block {
    std::string name;
    double time = 0.0;
    int components = 1;
    bool onElements = true;
    std::vector<std::pair<long, std::vector<double>>> values;
  };

  [[noreturn]] void fail(const std::string& what) const {
    LATS_THROW(FileFormatError, path << ": " << what << "; expected an ASCII gmsh file (format 2.2 or 4.1)");
  }

  template <class T>
  T next(std::istream& in, const char* what) const {
    T v{};
    if (!(in >> v)) fail(std::string("could not read ") + what + " (file truncated or malformed)");
    return v;
  }

  void expectEnd(std::istream& in, const std::string& section) const {
    std::string end;
    in >> end;
    if (end != "$End" + section) fail("section $" + section + " is not closed by $End" + section);
  }

  void parse() {
    std::ifstream in(path);
    if (!in) LATS_THROW(FileFormatError, path << ": cannot open the gmsh file");
    double version = 0.0;
    std::map<long, std::array<double, 3>> nodes;
    struct Element {
      long tag;
      int type;
      std::vector<long> nodes;
    };
    std::vector<Element> elements;
    std::string token;
    while (in >> token) {
      if (token == "$MeshFormat") {
        version = next<double>(in, "the format version");
        const int fileType = next<int>(in, "the file type");
        next<int>(in, "the data size");
        if (fileType != 0)
          LATS_THROW(FileFormatError, path << ": a binary gmsh file; only ASCII is read (re-save it with "
                                              "'gmsh -save -format msh22 -bin 0' or 'Mesh.Binary = 0;')");
        if (!(version >= 2.0 && version < 3.0) && !(version >= 4.1 && version < 5.0))
          LATS_THROW(FileFormatError, path << ": gmsh format " << version
                                           << " is not supported; expected 2.2 or 4.1 (gmsh -format msh22)");
        expectEnd(in, "MeshFormat");
      } else if (token == "$Nodes") {
        if (version == 0.0) fail("$Nodes before $MeshFormat");
        if (version < 3.0) {
          const long n = next<long>(in, "the node count");
          for (long i = 0; i < n; ++i) {
            const long tag = next<long>(in, "a node tag");
            nodes[tag] = {next<double>(in, "x"), next<double>(in, "y"), next<double>(in, "z")};
          }
        } else {
          const long blocksCount = next<long>(in, "the node block count");
          next<long>(in, "the node count");
          next<long>(in, "the minimum node tag");
          next<long>(in, "the maximum node tag");
          for (long b = 0; b < blocksCount; ++b) {
            next<int>(in, "an entity dimension");
            next<int>(in, "an entity tag");
            const int parametric = next<int>(in, "the parametric flag");
            const long n = next<long>(in, "a node block size");
            std::vector<long> tags(n);
            for (auto& t : tags) t = next<long>(in, "a node tag");
            for (long i = 0; i < n; ++i) {
              nodes[tags[i]] = {next<double>(in, "x"), next<double>(in, "y"), next<double>(in, "z")};
              if (parametric) fail("parametric node coordinates are not supported");
            }
          }
        }
        expectEnd(in, "Nodes");
      } else if (token == "$Elements") {
        if (version == 0.0) fail("$Elements before $MeshFormat");
        if (version < 3.0) {
          const long n = next<long>(in, "the element count");
          for (long i = 0; i < n; ++i) {
            Element e;
            e.tag = next<long>(in, "an element tag");
            e.type = next<int>(in, "an element type");
            const int ntags = next<int>(in, "the element tag count");
            for (int k = 0; k < ntags; ++k) next<long>(in, "an element tag");
            e.nodes.resize(gmshNodesPerElement(e.type, path));
            for (auto& v : e.nodes) v = next<long>(in, "an element node");
            elements.push_back(std::move(e));
          }
        } else {
          const long blocksCount = next<long>(in, "the element block count");
          next<long>(in, "the element count");
          next<long>(in, "the minimum element tag");
          next<long>(in, "the maximum element tag");
          for (long b = 0; b < blocksCount; ++b) {
            next<int>(in, "an entity dimension");
            next<int>(in, "an entity tag");
            const int type = next<int>(in, "an element type");
            const long n = next<long>(in, "an element block size");
            const int nn = gmshNodesPerElement(type, path);
            for (long i = 0; i < n; ++i) {
              Element e;
              e.tag = next<long>(in, "an element tag");
              e.type = type;
              e.nodes.resize(nn);
              for (auto& v : e.nodes) v = next<long>(in, "an element node");
              elements.push_back(std::move(e));
            }
          }
        }
        expectEnd(in, "Elements");
      } else if (token == "$ElementData" || token == "$NodeData") {
        Block block;
        block.onElements = token == "$ElementData";
        const int nStrings = next<int>(in, "the string tag count");
        std::string rest;
        std::getline(in, rest);
        for (int i = 0; i < nStrings; ++i) {
          std::string line;
          std::getline(in, line);
          if (i == 0) {
            const auto a = line.find('"'), b = line.rfind('"');
            block.name = (a != std::string::npos && b > a) ? line.substr(a + 1, b - a - 1) : line;
          }
        }
        const int nReals = next<int>(in, "the real tag count");
        for (int i = 0; i < nReals; ++i) {
          const double r = next<double>(in, "a real tag");
          if (i == 0) block.time = r;
        }
        const int nInts = next<int>(in, "the integer tag count");
        if (nInts < 3) fail("a data block with fewer than 3 integer tags (time step, components, count)");
        std::vector<long> ints(nInts);
        for (auto& v : ints) v = next<long>(in, "an integer tag");
        block.components = static_cast<int>(ints[1]);
        if (block.components < 1 || block.components > 9) fail("a data block with a bad component count");
        for (long i = 0; i < ints[2]; ++i) {
          const long tag = next<long>(in, "a data tag");
          std::vector<double> v(block.components);
          for (auto& x : v) x = next<double>(in, "a data value");
          block.values.emplace_back(tag, std::move(v));
        }
        expectEnd(in, block.onElements ? "ElementData" : "NodeData");
        blocks.push_back(std::move(block));
      } else if (!token.empty() && token[0] == '$' && token.rfind("$End", 0) != 0) {
        // another section ($PhysicalNames, $Entities, $Periodic, ...): skip it
        const std::string end = "$End" + token.substr(1);
        std::string t;
        while (in >> t && t != end) {
        }
        if (t != end) fail("section " + token + " is not closed");
      }
    }
    if (version == 0.0) fail("no $MeshFormat section");
    if (nodes.empty() || elements.empty()) fail("no nodes or no elements");

    // Keep the cells of the highest dimension.
    auto dimOf = [](int type) { return type == 15 ? 0 : type == 1 ? 1 : (type == 2 || type == 3) ? 2 : 3; };
    int top = 0;
    for (const auto& e : elements) top = std::max(top, dimOf(e.type));
    auto points = vtkSmartPointer<vtkPoints>::New();
    points->SetDataTypeToDouble();
    for (const auto& [tag, x] : nodes) {
      pointOfTag[tag] = points->InsertNextPoint(x.data());
    }
    geometry = vtkSmartPointer<vtkUnstructuredGrid>::New();
    geometry->SetPoints(points);
    for (const auto& e : elements) {
      if (dimOf(e.type) != top) continue;
      std::vector<vtkIdType> ids;
      for (long v : e.nodes) {
        const auto it = pointOfTag.find(v);
        if (it == pointOfTag.end()) {
          std::ostringstream os;
          os << "element " << e.tag << " uses node " << v << ", which $Nodes does not define";
          fail(os.str());
        }
        ids.push_back(it->second);
      }
      cellOfTag[e.tag] =
          geometry->InsertNextCell(vtkTypeOfGmsh(e.type), static_cast<vtkIdType>(ids.size()), ids.data());
    }
    if (blocks.empty())
      LATS_THROW(FileFormatError,
                 path << ": the gmsh file holds a mesh but no $ElementData or $NodeData, and a dataset needs at "
                         "least one field; to generate data on this mesh use 'lats generate -lats_mesh "
                      << path << "'");
    for (const auto& b : blocks)
      if (std::find(times_.begin(), times_.end(), b.time) == times_.end()) times_.push_back(b.time);
    std::sort(times_.begin(), times_.end());
  }

  std::string path;
  vtkSmartPointer<vtkUnstructuredGrid> geometry;
  std::map<long, vtkIdType> pointOfTag, cellOfTag;
  std::vector<Block> blocks;
  std::vector<double> times_;
};

std::unique_ptr<Source> openSource(const std::string& path) {
  const FileKind kind = detectFileKind(path);
  switch (kind) {
    case FileKind::Missing: LATS_THROW(FileFormatError, path << ": no such file or directory");
    case FileKind::GmshMsh: return std::make_unique<GmshSource>(path);
    case FileKind::OpenFoamCase: return std::make_unique<OpenFoamSource>(path);
    case FileKind::VtkXml:
      if (rootType(path) == "Collection") return std::make_unique<PvdSource>(path);
      return std::make_unique<VtuSource>(path);
    default:
      LATS_THROW(FileFormatError, path << ": a file of kind '" << toString(kind)
                                       << "'; expected a gmsh .msh file, a .vtu/.pvtu/.pvd file or an OpenFOAM "
                                          "case directory (with system/controlDict and constant/polyMesh)");
  }
}

// ---------------------------------------------------------------------------------------
// Geometry: centroids and sizes of the kept cells, by splitting each cell into simplices.

struct Geometry {
  bool pointsOnly = false;        // every cell is a vertex: the points are the entities
  std::vector<vtkIdType> cells;   // kept cells (highest dimension), or points when pointsOnly
  std::vector<double> centroids;  // 3 per entity
  std::vector<double> volumes;    // empty when pointsOnly
  bool shapesKnown = false;       // every kept cell is of a type /cells can hold
  CellShapes shapes;              // the kept cells, in order
  int dimension = 0;
};

double simplexMeasure(const double* p, int n) {  // n = number of vertices (2, 3 or 4)
  double a[3], b[3], c[3];
  for (int k = 0; k < 3; ++k) {
    a[k] = p[3 + k] - p[k];
    if (n > 2) b[k] = p[6 + k] - p[k];
    if (n > 3) c[k] = p[9 + k] - p[k];
  }
  if (n == 2) return std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
  const double cx = a[1] * b[2] - a[2] * b[1], cy = a[2] * b[0] - a[0] * b[2], cz = a[0] * b[1] - a[1] * b[0];
  if (n == 3) return 0.5 * std::sqrt(cx * cx + cy * cy + cz * cz);
  return std::abs(cx * c[0] + cy * c[1] + cz * c[2]) / 6.0;
}

Geometry geometryOf(vtkUnstructuredGrid* grid, const std::string& where) {
  Geometry g;
  const vtkIdType nc = grid->GetNumberOfCells();
  int top = -1;
  for (vtkIdType c = 0; c < nc; ++c) top = std::max(top, grid->GetCell(c)->GetCellDimension());
  if (top <= 0) {
    g.pointsOnly = true;
    const vtkIdType np = grid->GetNumberOfPoints();
    if (np == 0) LATS_THROW(FileFormatError, where << ": no points");
    for (vtkIdType p = 0; p < np; ++p) {
      double x[3];
      grid->GetPoint(p, x);
      g.cells.push_back(p);
      g.centroids.insert(g.centroids.end(), x, x + 3);
    }
  } else {
    vtkNew<vtkIdList> ptIds;
    vtkNew<vtkPoints> pts;
    pts->SetDataTypeToDouble();  // the default (float) would round the centroids to 1e-7
    for (vtkIdType c = 0; c < nc; ++c) {
      vtkCell* cell = grid->GetCell(c);
      if (cell->GetCellDimension() != top) continue;
      cell->Triangulate(0, ptIds, pts);
      const int per = top + 1;
      const vtkIdType ns = pts->GetNumberOfPoints() / per;
      double vol = 0.0, cx[3] = {0, 0, 0};
      for (vtkIdType s = 0; s < ns; ++s) {
        double p[12];
        for (int v = 0; v < per; ++v) pts->GetPoint(s * per + v, p + 3 * v);
        const double m = simplexMeasure(p, per);
        vol += m;
        for (int k = 0; k < 3; ++k) {
          double mean = 0.0;
          for (int v = 0; v < per; ++v) mean += p[3 * v + k];
          cx[k] += m * mean / per;
        }
      }
      if (!(vol > 0.0)) LATS_THROW(FileFormatError, where << ": cell " << c << " has zero or negative size");
      g.cells.push_back(c);
      const int type = cell->GetCellType();
      if (type == VTK_LINE || type == VTK_TRIANGLE || type == VTK_POLYGON || type == VTK_QUAD || type == VTK_TETRA ||
          type == VTK_HEXAHEDRON || type == VTK_WEDGE || type == VTK_PYRAMID) {
        g.shapes.types.push_back(static_cast<std::uint8_t>(type));
        if (g.shapes.offsets.empty()) g.shapes.offsets.push_back(0);
        const vtkIdType nv = cell->GetNumberOfPoints();
        g.shapes.offsets.push_back(g.shapes.offsets.back() + nv);
        for (vtkIdType v = 0; v < nv; ++v) {
          double x[3];
          grid->GetPoint(cell->GetPointId(v), x);
          g.shapes.vertices.insert(g.shapes.vertices.end(), x, x + 3);
        }
      }
      for (double& x : cx) x /= vol;
      g.centroids.insert(g.centroids.end(), cx, cx + 3);
      g.volumes.push_back(vol);
    }
  }
  g.shapesKnown = !g.pointsOnly && g.shapes.size() == static_cast<std::int64_t>(g.cells.size());
  if (!g.shapesKnown) g.shapes = CellShapes{};
  // Dimension: the leading axes along which the entities vary.
  double lo[3] = {1e300, 1e300, 1e300}, hi[3] = {-1e300, -1e300, -1e300};
  for (std::size_t i = 0; i < g.cells.size(); ++i)
    for (int k = 0; k < 3; ++k) {
      lo[k] = std::min(lo[k], g.centroids[3 * i + k]);
      hi[k] = std::max(hi[k], g.centroids[3 * i + k]);
    }
  const double extent = std::max({hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]});
  g.dimension = 1;
  for (int k = 0; k < 3; ++k)
    if (hi[k] - lo[k] > 1e-12 * extent) g.dimension = k + 1;
  return g;
}

// ---------------------------------------------------------------------------------------
// Fields: cell data as is, point data averaged over each cell's points.

struct FieldSpec {
  std::string name;
  int components = 1;
};

std::vector<std::string> availableFields(vtkUnstructuredGrid* grid, bool pointsOnly) {
  std::vector<std::string> names;
  auto add = [&](vtkDataSetAttributes* data) {
    for (int i = 0; i < data->GetNumberOfArrays(); ++i) {
      vtkDataArray* a = data->GetArray(i);
      if (!a || !a->GetName()) continue;
      const std::string n = a->GetName();
      if (n == "GlobalIds" || n == "vtkOriginalCellIds" || n == "vtkOriginalPointIds" || n == "vtkGhostType") continue;
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
  };
  if (!pointsOnly) add(grid->GetCellData());
  add(grid->GetPointData());
  return names;
}

std::vector<std::string> componentNames(const FieldSpec& f) {
  if (f.components == 1) return {f.name};
  std::vector<std::string> out;
  static const char* xyz[] = {"x", "y", "z"};
  for (int c = 0; c < f.components; ++c)
    out.push_back(f.name + "_" + (f.components <= 3 ? std::string(xyz[c]) : std::to_string(c)));
  return out;
}

/// Values of every field at one time, entity-major (entities x total components).
std::vector<double> valuesOf(vtkUnstructuredGrid* grid, const Geometry& g, const std::vector<FieldSpec>& fields,
                             const std::string& where) {
  if (g.pointsOnly ? grid->GetNumberOfPoints() != static_cast<vtkIdType>(g.cells.size())
                   : grid->GetNumberOfCells() <= g.cells.back())
    LATS_THROW(FileFormatError, where << ": the mesh differs from the first time's ("
                                      << (g.pointsOnly ? grid->GetNumberOfPoints() : grid->GetNumberOfCells())
                                      << " entities); every time must share one mesh");
  int width = 0;
  for (const auto& f : fields) width += f.components;
  const std::size_t n = g.cells.size();
  std::vector<double> out(n * width);
  vtkNew<vtkIdList> ids;
  int offset = 0;
  for (const auto& f : fields) {
    vtkDataArray* cellArray = g.pointsOnly ? nullptr : grid->GetCellData()->GetArray(f.name.c_str());
    vtkDataArray* pointArray = grid->GetPointData()->GetArray(f.name.c_str());
    vtkDataArray* a = cellArray ? cellArray : pointArray;
    if (!a)
      LATS_THROW(FileFormatError, where << ": has no field '" << f.name << "' (the first time has it); every time "
                                        << "must carry the same fields, or choose them with -lats_convert_fields");
    if (a->GetNumberOfComponents() != f.components)
      LATS_THROW(FileFormatError, where << ": field '" << f.name << "' has " << a->GetNumberOfComponents()
                                        << " components; the first time had " << f.components);
    for (std::size_t i = 0; i < n; ++i) {
      for (int c = 0; c < f.components; ++c) {
        double v = 0.0;
        if (cellArray || g.pointsOnly) {
          v = a->GetComponent(g.cells[i], c);
        } else {
          grid->GetCellPoints(g.cells[i], ids);
          for (vtkIdType k = 0; k < ids->GetNumberOfIds(); ++k) v += a->GetComponent(ids->GetId(k), c);
          v /= static_cast<double>(ids->GetNumberOfIds());
        }
        if (!std::isfinite(v))
          LATS_THROW(InvalidValueError, where << ": field '" << f.name << "' component " << c << " is " << v << " at "
                                              << (g.pointsOnly ? "point " : "cell ") << g.cells[i]
                                              << "; a dataset holds finite values only");
        out[i * width + offset + c] = v;
      }
    }
    offset += f.components;
  }
  return out;
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

std::string defaultOutput(const std::string& input) {
  std::string base = input;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const auto slash = base.find_last_of('/');
  const auto dot = base.find_last_of('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash)) base = base.substr(0, dot);
  return base + ".h5";
}

void broadcast(MPI_Comm comm, std::string& s) {
  std::uint64_t n = s.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, comm);
  s.resize(n);
  if (n > 0) MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, comm);
}

void broadcast(MPI_Comm comm, std::vector<double>& v) {
  std::uint64_t n = v.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, comm);
  v.resize(n);
  if (n > 0) MPI_Bcast(v.data(), static_cast<int>(n), MPI_DOUBLE, 0, comm);
}

void broadcast(MPI_Comm comm, std::vector<std::string>& v) {
  std::string joined = join(v, "\n");
  broadcast(comm, joined);
  v.clear();
  std::stringstream ss(joined);
  for (std::string item; std::getline(ss, item, '\n');) v.push_back(item);
}

}  // namespace

ConvertSettings ConvertSettings::fromOptions() {
  ConvertSettings s;
  s.input = kInput.get();
  s.output = kOutput.get();
  const std::string list = kFields.get();
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) s.fields.push_back(item);
  }
  const auto level = kCompression.get();
  if (level < 1 || level > 9)
    LATS_THROW(ConfigurationError, "-lats_convert_compression " << level << " is out of range; expected 1 to 9");
  s.compression = static_cast<int>(level);
  s.overwrite = kOverwrite.get();
  return s;
}

ConvertReport convertToDataset(MPI_Comm comm, const ConvertSettings& settings) {
  const Comm c(comm);
  ConvertReport report;
  LATS_CHECK(!settings.input.empty(), ConfigurationError,
             "no input to convert; give -lats_convert_input <file.msh|file.vtu|file.pvtu|file.pvd|case directory>");
  LATS_CHECK(settings.compression >= 1 && settings.compression <= 9, ConfigurationError,
             "compression level " << settings.compression << " is out of range; expected 1 to 9");
  report.path = settings.output.empty() ? defaultOutput(settings.input) : settings.output;

  // Rank 0 reads the input; the outcome (or its error) is shared with every rank.
  std::unique_ptr<Source> source;
  Geometry geometry;
  std::vector<FieldSpec> fields;
  DatasetHeader header;
  collective(comm, [&] {
    if (c.rank() != 0) return;
    if (exists(report.path) && !settings.overwrite)
      LATS_THROW(ConfigurationError, report.path << ": exists; remove it, choose another -lats_convert_output, or "
                                                    "pass -lats_convert_overwrite");
    source = openSource(settings.input);
    report.inputKind = source->kind();
    report.times = source->times();
    auto first = source->load(0);
    geometry = geometryOf(first, source->where(0));
    const auto available = availableFields(first, geometry.pointsOnly);
    std::vector<std::string> names = settings.fields.empty() ? available : settings.fields;
    if (names.empty())
      LATS_THROW(FileFormatError, source->where(0) << ": no cell or point data arrays; a dataset needs at least one "
                                                      "field");
    for (const auto& name : names) {
      if (std::find(available.begin(), available.end(), name) == available.end())
        LATS_THROW(ConfigurationError, settings.input << ": no field '" << name << "'." << didYouMean(name, available)
                                                      << " (available: " << join(available, ", ") << ")");
      vtkDataArray* a = geometry.pointsOnly ? nullptr : first->GetCellData()->GetArray(name.c_str());
      if (!a) a = first->GetPointData()->GetArray(name.c_str());
      fields.push_back({name, a->GetNumberOfComponents()});
    }
  });

  // Share what the header needs.
  std::vector<std::string> compNames;
  for (const auto& f : fields)
    for (auto& n : componentNames(f)) compNames.push_back(n);
  std::int64_t n = static_cast<std::int64_t>(geometry.cells.size());
  int dim = geometry.dimension;
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm);
  MPI_Bcast(&dim, 1, MPI_INT, 0, comm);
  broadcast(comm, report.inputKind);
  broadcast(comm, report.times);
  broadcast(comm, compNames);
  int withVolumes = geometry.volumes.empty() ? 0 : 1;
  MPI_Bcast(&withVolumes, 1, MPI_INT, 0, comm);
  int withShapes = geometry.shapesKnown ? 1 : 0;
  MPI_Bcast(&withShapes, 1, MPI_INT, 0, comm);
  CellShapes noShapes;
  noShapes.offsets = {0};

  header.equation = "imported:" + report.inputKind;
  header.components = compNames;
  header.numTrajectories = 1;
  header.times = report.times;
  header.seed = 0;
  header.commandLine = settings.commandLine;
  header.source = report.inputKind + " " + settings.input;

  // The points live on rank 0 (the reader is serial); the writer is collective.
  std::vector<double> xyz;
  if (c.rank() == 0)
    for (std::int64_t i = 0; i < n; ++i)
      for (int k = 0; k < dim; ++k) xyz.push_back(geometry.centroids[3 * i + k]);
  MeshBuilder builder(comm, dim);
  builder.name("imported").coordinates(xyz.data(), c.rank() == 0 ? n : 0);
  if (withVolumes) builder.volumes(c.rank() == 0 ? geometry.volumes : std::vector<double>{});
  const auto points = builder.build();

  collective(comm, [&] {
    if (c.rank() == 0 && settings.overwrite && exists(report.path) && std::remove(report.path.c_str()) != 0)
      LATS_THROW(Error, report.path << ": exists and cannot be removed (-lats_convert_overwrite)");
  });
  // Cell shapes (when every kept cell is a linear cell of a standard type: not for
  // polyhedra) make the XDMF sidecar show the mesh.
  auto writer = std::make_unique<DatasetWriter>(report.path, header, *points,
                                                !withShapes     ? nullptr
                                                : c.rank() == 0 ? &geometry.shapes
                                                                : &noShapes);
  try {
    collective(comm, [&] {
      if (c.rank() != 0) return;
      for (std::size_t t = 0; t < report.times.size(); ++t) {
        const auto values = valuesOf(source->load(t), geometry, fields, source->where(t));
        writer->writeSnapshotLocal(0, static_cast<std::int64_t>(t), values.data());
      }
      writer->writeParameters(0, {});
      writer->markComplete(0);
    });
  } catch (...) {
    // The same error on every rank: close the half-written dataset and remove it, so a
    // rerun (after fixing the input) starts clean.
    writer.reset();
    if (c.rank() == 0) std::remove(report.path.c_str());
    throw;
  }
  writer->finish(settings.compression);

  report.points = n;
  report.dimension = dim;
  report.components = compNames;
  logInfo() << "converted " << settings.input << " (" << report.inputKind << ", " << report.times.size()
            << " time(s) from " << report.times.front() << " to " << report.times.back() << ") to " << report.path
            << ": " << n << " points in " << dim << "D, components " << join(compNames, ", ");
  return report;
}

}  // namespace lats::meshio
