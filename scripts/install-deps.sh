#!/usr/bin/env bash
# Installs every Debian package LaTS needs to build, test and run its demo.
# Idempotent: packages already present are skipped, so a second run takes seconds.
# Works as root or through sudo. Debian 12 (bookworm) packages only.
#
#   scripts/install-deps.sh            install what is missing
#   scripts/install-deps.sh --check    only report what is missing (exit 1 if anything is)
set -euo pipefail

# One place for every package the project uses. Grouped by what needs them.
packages=(
  # toolchain
  build-essential cmake pkg-config ninja-build ccache clang-format git
  # Fortran (the C API's Fortran module is tested)
  gfortran
  # MPI + PETSc (PETSc brings parallel HDF5 through its own dependencies)
  openmpi-bin libopenmpi-dev petsc-dev libhdf5-openmpi-dev hdf5-tools
  # Kokkos (Serial backend, from Trilinos)
  libtrilinos-kokkos-dev
  # LibTorch and a fast BLAS for it: without the OpenMP OpenBLAS torch falls back to the
  # reference BLAS and runs 20-50x slower
  libtorch-dev libopenblas0-openmp libopenblas-openmp-dev
  # VTK 9, Boost, Eigen (assimilation), JSON (model checkpoints), testing and benchmarking
  libvtk9-dev libboost-dev libeigen3-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  # PyTorch and h5py for Python: tests read LaTS checkpoints and datasets with them, and
  # make TorchScript models
  python3-torch
  python3-h5py
  # the figures of the demo's report
  python3-matplotlib
  # meshes and other people's cases
  gmsh
  # an OpenFOAM solver and its tutorials (the converter test runs the icoFoam cavity)
  openfoam openfoam-examples
  # PETSc's own TS tutorials (the TS plugin test builds them unmodified)
  libpetsc3.18-dev-examples
)

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: missing: ${missing[*]}"
[[ $check_only -eq 1 ]] && exit 1

if [[ $(id -u) -eq 0 ]]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1; then
  sudo_cmd=(sudo)
else
  echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
  exit 2
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# torch must see the OpenMP OpenBLAS, not the reference BLAS.
if command -v update-alternatives >/dev/null 2>&1; then
  for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
    target=$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-openmp | head -n 1 || true)
    [[ -n "$target" ]] && "${sudo_cmd[@]}" update-alternatives --set "$alt" "$target" >/dev/null
  done
fi
echo "install-deps: done"
