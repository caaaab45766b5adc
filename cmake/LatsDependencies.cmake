# Finds every third-party dependency of LaTS. Included by the build and, after
# installation, by LaTSConfig.cmake, so a consumer sees exactly the targets LaTS linked.
# All of them come from Debian 12 packages (scripts/install-deps.sh).
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)

macro(_lats_find name)
  if(CMAKE_FIND_PACKAGE_NAME)   # inside LaTSConfig.cmake: propagate QUIET/REQUIRED
    find_dependency(${name} ${ARGN})
  else()
    find_package(${name} ${ARGN} REQUIRED)
  endif()
endmacro()

# MPI first: PETSc and HDF5 are the OpenMPI builds.
_lats_find(MPI COMPONENTS C CXX)

# PETSc comes through pkg-config only; mpi.h comes from MPI::MPI_C.
find_package(PkgConfig REQUIRED)
if(NOT TARGET PkgConfig::PETSc)
  pkg_check_modules(PETSc REQUIRED IMPORTED_TARGET GLOBAL PETSc)
  set_property(TARGET PkgConfig::PETSc APPEND PROPERTY INTERFACE_LINK_LIBRARIES MPI::MPI_C)
endif()

# Kokkos 3.4 from Trilinos. Debian's KokkosConfig.cmake computes its include directory
# one level too high (/usr/lib/include); the headers are in /usr/include/trilinos.
# This is the only place that repairs it.
_lats_find(Kokkos)
if(TARGET Kokkos::kokkos)
  get_filename_component(_lats_kokkos_inc "${Kokkos_INCLUDE_DIRS}" ABSOLUTE)
  if(NOT EXISTS "${_lats_kokkos_inc}/Kokkos_Core.hpp")
    set(_lats_kokkos_inc "/usr/include/trilinos")
  endif()
  set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_lats_kokkos_inc}")
  # The Debian target also puts "-DKOKKOS_DEPENDENCE" on the link line; drop it.
  get_target_property(_lats_kokkos_libs Kokkos::kokkos INTERFACE_LINK_LIBRARIES)
  list(REMOVE_ITEM _lats_kokkos_libs "-DKOKKOS_DEPENDENCE")
  set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_LINK_LIBRARIES "${_lats_kokkos_libs}")
endif()

# LibTorch (used by solvers/neural only).
_lats_find(Torch)

# Parallel HDF5 (OpenMPI build) for datasets.
set(HDF5_PREFER_PARALLEL TRUE)
_lats_find(HDF5 COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR "LaTS needs the parallel (MPI) build of HDF5; install libhdf5-openmpi-dev")
endif()

# VTK 9 for VTU/PVTU output and for reading VTU/OpenFOAM data.
_lats_find(VTK COMPONENTS CommonCore CommonDataModel IOXML IOXMLParser IOParallelXML IOGeometry)

# nlohmann/json (header-only) for model checkpoints.
_lats_find(nlohmann_json)

# Boost (header-only parts: geometry for spatial indices).
_lats_find(Boost)

# Eigen 3 (header-only) for the small dense linear algebra of the ensemble filters.
_lats_find(Eigen3 NO_MODULE)
