#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/stat.h>

#include <fstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/meshio/file_kind.hpp"
#include "test_support.hpp"

using lats::meshio::FileKind;
using lats::test::messageOf;

namespace {
void writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}
}  // namespace

TEST(FileKind, RecognisesFilesByContent) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "filekind");
  // A real HDF5 file made by the HDF5 library, under a misleading name.
  const std::string h5 = dir + "/data.bin";
  const hid_t file = H5Fcreate(h5.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  H5Fclose(file);
  EXPECT_EQ(lats::meshio::detectFileKind(h5), FileKind::Hdf5);

  // A gmsh 2.2 ASCII mesh of one triangle.
  writeText(dir + "/tri.msh",
            "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n3\n1 0 0 0\n2 1 0 0\n3 0 1 0\n$EndNodes\n"
            "$Elements\n1\n1 2 2 0 1 1 2 3\n$EndElements\n");
  EXPECT_EQ(lats::meshio::detectFileKind(dir + "/tri.msh"), FileKind::GmshMsh);

  writeText(dir + "/a.xmf", "<?xml version=\"1.0\" ?>\n<Xdmf Version=\"3.0\"><Domain/></Xdmf>\n");
  EXPECT_EQ(lats::meshio::detectFileKind(dir + "/a.xmf"), FileKind::Xdmf);

  // An OpenFOAM case layout.
  mkdir((dir + "/cavity").c_str(), 0755);
  mkdir((dir + "/cavity/system").c_str(), 0755);
  mkdir((dir + "/cavity/constant").c_str(), 0755);
  mkdir((dir + "/cavity/constant/polyMesh").c_str(), 0755);
  writeText(dir + "/cavity/system/controlDict", "FoamFile {}\n");
  EXPECT_EQ(lats::meshio::detectFileKind(dir + "/cavity"), FileKind::OpenFoamCase);
  EXPECT_EQ(lats::meshio::detectFileKind(dir + "/cavity/system"), FileKind::Directory);

  writeText(dir + "/junk.h5", "this is not HDF5");
  EXPECT_EQ(lats::meshio::detectFileKind(dir + "/junk.h5"), FileKind::Unknown);
  EXPECT_EQ(lats::meshio::detectFileKind(dir + "/nothing-here"), FileKind::Missing);
}

TEST(FileKind, RequireFileKindExplains) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "filekind");
  writeText(dir + "/junk.h5", "truncated");
  EXPECT_EQ(messageOf<lats::FileFormatError>([&] { lats::meshio::requireFileKind(dir + "/junk.h5", FileKind::Hdf5); }),
            "'" + dir +
                "/junk.h5' is a unrecognised file, expected a HDF5 file (its first bytes match no known format: "
                "truncated or corrupt?)");
  EXPECT_NE(messageOf<lats::FileFormatError>([&] {
              lats::meshio::requireFileKind(dir + "/no.msh", FileKind::GmshMsh);
            }).find("does not exist; expected a gmsh mesh"),
            std::string::npos);
}
