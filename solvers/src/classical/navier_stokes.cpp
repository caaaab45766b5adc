// 2D incompressible Navier-Stokes in vorticity-streamfunction form on periodic domains:
//   w_t + div(v w) = nu lap w + curl f,   -lap psi = w,   v = (psi_y, -psi_x).
//
// The streamfunction's Poisson equation uses the same finite-volume Laplacian that diffuses
// w (least-squares gradients with the jump correction along the centroid line), assembled
// once as a sparse matrix. It is solved either
//   gathered    (default): on rank 0, in mesh (serial) order, by a sparse LU factorised once;
//                the solve is then the same arithmetic for any number of ranks, so
//                trajectories are bit-identical across rank counts;
//   distributed: by a parallel PETSc KSP (GMRES + BoomerAMG by default), for meshes too
//                large for one rank; results then agree across rank counts to the solver
//                tolerance (-navier_stokes_ksp_rtol, default 1e-12).
// Either solver takes PETSc options with the prefix -navier_stokes_ (e.g.
// -navier_stokes_pc_factor_mat_ordering_type, -navier_stokes_pc_type gamg).
// The advective flux is upwind between second-order reconstructions of w, with the
// face-normal velocity from the mean of the two cells' streamfunction gradients.
#include <mpi.h>
#include <petscksp.h>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "detail/conservation_law.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/petsc.hpp"
#include "lats/solvers/classical/equations.hpp"

namespace lats::solvers {
namespace {

const RealOption kNu{"navier_stokes_nu", 1e-3, "navier_stokes: kinematic viscosity"};
const RealOption kForcing{"navier_stokes_forcing", 0.0,
                          "navier_stokes: amplitude A of the Kolmogorov forcing f = (A sin(k y), 0) (0: none)"};
const RealOption kForcingK{"navier_stokes_forcing_k", 4.0,
                           "navier_stokes: Kolmogorov forcing wavenumber, in periods over the domain"};
const EnumOption kPoisson{"navier_stokes_poisson",
                          "gathered",
                          {"gathered", "distributed"},
                          "navier_stokes: streamfunction solve: gathered (LU on rank 0; bit-identical for any rank "
                          "count) or distributed (parallel KSP, -navier_stokes_ksp_type/-navier_stokes_pc_type)"};
constexpr double kTwoPi = 6.283185307179586;

/// Vorticity: diffusion and the forcing's curl; advection is added by the operator.
struct VorticityPhysics {
  static constexpr int NC = 1;
  double diffusivity[NC] = {0.0}, dispersion[NC] = {0.0}, hyperdiffusion[NC] = {0.0};
  bool hasFlux = false, hasSource = false;
  double forcing = 0.0, forcingK = 0.0;
  KOKKOS_INLINE_FUNCTION void boundaryState(std::int64_t, const double*, const double* uIn, double* uOut) const {
    uOut[0] = uIn[0];
  }
  KOKKOS_INLINE_FUNCTION void flux(const double*, const double*, const double*, double* F) const { F[0] = 0.0; }
  /// curl of (A sin(k y), 0) = -A k cos(k y).
  KOKKOS_INLINE_FUNCTION void source(const double* x, double, const double*, double* s) const {
    s[0] = -forcing * forcingK * detail::kmath::cos(forcingK * x[1]);
  }
};

/// The streamfunction (gradients only).
struct StreamfunctionPhysics {
  static constexpr int NC = 1;
  double diffusivity[NC] = {0.0}, dispersion[NC] = {0.0}, hyperdiffusion[NC] = {0.0};
  bool hasFlux = false, hasSource = false;
  KOKKOS_INLINE_FUNCTION void boundaryState(std::int64_t, const double*, const double* uIn, double* uOut) const {
    uOut[0] = uIn[0];
  }
  KOKKOS_INLINE_FUNCTION void flux(const double*, const double*, const double*, double* F) const { F[0] = 0.0; }
  KOKKOS_INLINE_FUNCTION void source(const double*, double, const double*, double* s) const { s[0] = 0.0; }
};

/// Rows of -lap for the owned cells: columns are local cell indices (owned or ghost).
struct LocalRows {
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int64_t> columns;
  std::vector<double> values;
};

class NavierStokes : public detail::ConservationLaw<VorticityPhysics> {
 public:
  NavierStokes()
      : ConservationLaw({{"nu", kNu.defaultValue(), 5e-4, 5e-3, &kNu},
                         {"forcing", kForcing.defaultValue(), 0.0, 0.2, &kForcing},
                         {"forcing_k", kForcingK.defaultValue(), 1.0, 8.0, &kForcingK, true}}) {}
  ~NavierStokes() override {
    if (ksp_) KSPDestroy(&ksp_);
    if (matrix_) MatDestroy(&matrix_);
    if (scatter_) VecScatterDestroy(&scatter_);
    for (Vec* v : {&psi_, &rhs_, &psiLocal_, &gathered_, &seqRhs_, &seqPsi_})
      if (*v) VecDestroy(v);
  }
  std::string equation() const override { return "navier_stokes"; }
  std::vector<std::string> components() const override { return {"w"}; }
  std::vector<int> dimensions() const override { return {2}; }
  std::vector<bool> conservedComponents() const override { return {parameter("forcing") == 0.0}; }
  Limiter defaultLimiter() const override { return Limiter::None; }
  void setFromOptions() override {
    ConservationLaw::setFromOptions();
    LATS_CHECK(ksp_ == nullptr || kPoisson.get() == (gathered() ? "gathered" : "distributed"), ConfigurationError,
               "navier_stokes: -lats_navier_stokes_poisson must be given before the solver is set up");
    poisson_ = kPoisson.get();
  }

  double stableTimeStep(ConstCellValues w) const override {
    // The velocity of the state being stepped: solve for its streamfunction (collective,
    // like the caller's reduction of the step over ranks).
    auto* self = const_cast<NavierStokes*>(this);
    self->solveStreamfunction(w);
    const double vmax = self->maxSpeed();
    double dt = vmax > 0 ? 1.0 / (vmax * mesh().convectionScale()) : 1e300;
    if (parameter("nu") > 0) dt = std::min(dt, 1.0 / (parameter("nu") * mesh().diffusionScale()));
    return dt;
  }

  void rhs(double t, ConstCellValues w, CellValues dwdt) override { explicitRhs(t, w, dwdt); }
  void explicitRhs(double t, ConstCellValues w, CellValues dwdt) override {
    solveStreamfunction(w);
    ConservationLaw::explicitRhs(t, w, dwdt);  // diffusion + forcing; leaves the gradients of w
    addAdvection(w, dwdt);
  }

 protected:
  VorticityPhysics physics() const override {
    VorticityPhysics p;
    p.diffusivity[0] = parameter("nu");
    p.forcing = parameter("forcing");
    p.forcingK = kTwoPi * parameter("forcing_k") / mesh().period()[1];
    p.hasSource = p.forcing != 0.0;
    return p;
  }

  void onSetUp() override {
    ConservationLaw::onSetUp();
    LATS_CHECK(mesh().isPeriodic() && mesh().period()[0] > 0 && mesh().period()[1] > 0, ConfigurationError,
               "navier_stokes: " << mesh().describe()
                                 << " is not periodic in x and y; expected a doubly periodic mesh "
                                    "(-lats_mesh unit_square -lats_mesh_boundary periodic): walls need vorticity "
                                    "boundary conditions, which are not implemented");
    const auto& g = mesh().geometry();
    psiKernels_.setUp(g);
    dm_ = mesh().cellDM(1);
    LATS_PETSC_CALL(DMCreateGlobalVector(dm_, &psi_));
    LATS_PETSC_CALL(VecDuplicate(psi_, &rhs_));
    LATS_PETSC_CALL(DMCreateLocalVector(dm_, &psiLocal_));
    LATS_PETSC_CALL(VecSet(psi_, 0.0));
    LATS_PETSC_CALL(VecSet(psiLocal_, 0.0));
    serialIds_ = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh().mesh()->globalIds());
    const LocalRows rows = assembleRows();
    if (gathered())
      setUpGathered(rows);
    else
      setUpDistributed(rows);
  }

 private:
  bool gathered() const { return poisson_ == "gathered"; }
  static constexpr std::int64_t kPinned = 0;  ///< serial id of the cell where psi = 0

  /// -lap as explicit coefficients. The kernels' face flux of the gradient is
  ///   F_f = gbar . t_f + (u_j - u_k) (d . n) / |d|^2,  t_f = n - d (d . n) / |d|^2,
  /// gbar = (g_k + g_j) / 2, and each least-squares gradient is linear in the differences:
  ///   g_c = sum_{f in c} G_{c f} (u_{j(f)} - u_c),  G_{c f} = M_c^{-1} d_f / |d_f|^2.
  LocalRows assembleRows() const {
    const auto& g = mesh().geometry();
    auto off = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.faceOffsets);
    auto nbr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.faceNeighbour);
    auto nrm = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.faceNormal);
    auto dlt = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.neighbourDelta);
    auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.volumes);
    auto complete = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.complete);
    // G per face of every complete local cell (the same arithmetic as the gradient kernel).
    std::vector<std::array<double, 2>> G(off(g.numLocal), {0.0, 0.0});
    for (std::int64_t c = 0; c < g.numLocal; ++c) {
      if (!complete(c)) continue;
      double m[3] = {0, 0, 0};
      for (auto f = off(c); f < off(c + 1); ++f) {
        const double d0 = dlt(f, 0), d1 = dlt(f, 1), w = 1.0 / (d0 * d0 + d1 * d1);
        m[0] += w * d0 * d0;
        m[1] += w * d0 * d1;
        m[2] += w * d1 * d1;
      }
      const double det = m[0] * m[2] - m[1] * m[1];
      for (auto f = off(c); f < off(c + 1); ++f) {
        const double d0 = dlt(f, 0), d1 = dlt(f, 1), w = 1.0 / (d0 * d0 + d1 * d1);
        G[f] = {(m[2] * w * d0 - m[1] * w * d1) / det, (m[0] * w * d1 - m[1] * w * d0) / det};
      }
    }
    LocalRows rows;
    std::vector<std::pair<std::int64_t, double>> row;
    auto add = [&](std::int64_t col, double v) {
      for (auto& e : row)
        if (e.first == col) {
          e.second += v;
          return;
        }
      row.emplace_back(col, v);
    };
    // c's gradient dotted with t, times s: s t . G_{c f'} (u_{j'} - u_c) over c's faces f'.
    auto addGradient = [&](std::int64_t c, const double t[2], double s) {
      LATS_CHECK(complete(c), Error,
                 "navier_stokes: cell " << serialIds_(c) << " lacks neighbours for the Laplacian stencil");
      for (auto f = off(c); f < off(c + 1); ++f) {
        const double a = s * (t[0] * G[f][0] + t[1] * G[f][1]);
        add(nbr(f), a);
        add(c, -a);
      }
    };
    for (std::int64_t k = 0; k < g.numOwned; ++k) {
      row.clear();
      if (serialIds_(k) == kPinned) {
        add(k, 1.0);
      } else {
        const double s = -1.0 / vol(k);  // the row of -lap
        for (auto f = off(k); f < off(k + 1); ++f) {
          const auto j = nbr(f);
          const double dn = dlt(f, 0) * nrm(f, 0) + dlt(f, 1) * nrm(f, 1);
          const double d2 = dlt(f, 0) * dlt(f, 0) + dlt(f, 1) * dlt(f, 1);
          const double t[2] = {nrm(f, 0) - dlt(f, 0) * dn / d2, nrm(f, 1) - dlt(f, 1) * dn / d2};
          add(j, s * dn / d2);
          add(k, -s * dn / d2);
          addGradient(k, t, 0.5 * s);
          addGradient(j, t, 0.5 * s);
        }
      }
      for (const auto& e : row) {
        rows.columns.push_back(e.first);
        rows.values.push_back(e.second);
      }
      rows.offsets.push_back(static_cast<std::int64_t>(rows.columns.size()));
    }
    return rows;
  }

  /// Rows and volumes go to rank 0 in serial order; rank 0 factorises once.
  void setUpGathered(const LocalRows& rows) {
    const auto& g = mesh().geometry();
    const Comm comm(mesh().comm());
    const auto n = static_cast<PetscInt>(mesh().globalCells());
    const bool root = comm.rank() == 0;
    // A vector with every cell on rank 0, indexed by serial id, and the scatter to it.
    LATS_PETSC_CALL(VecCreateMPI(mesh().comm(), root ? n : 0, n, &gathered_));
    PetscInt rstart;
    LATS_PETSC_CALL(VecGetOwnershipRange(psi_, &rstart, nullptr));
    std::vector<PetscInt> from(g.numOwned), to(g.numOwned);
    for (std::int64_t k = 0; k < g.numOwned; ++k) {
      from[k] = rstart + static_cast<PetscInt>(k);
      to[k] = static_cast<PetscInt>(serialIds_(k));
    }
    IS isFrom, isTo;
    LATS_PETSC_CALL(ISCreateGeneral(PETSC_COMM_SELF, g.numOwned, from.data(), PETSC_COPY_VALUES, &isFrom));
    LATS_PETSC_CALL(ISCreateGeneral(PETSC_COMM_SELF, g.numOwned, to.data(), PETSC_COPY_VALUES, &isTo));
    LATS_PETSC_CALL(VecScatterCreate(psi_, isFrom, gathered_, isTo, &scatter_));
    LATS_PETSC_CALL(ISDestroy(&isFrom));
    LATS_PETSC_CALL(ISDestroy(&isTo));
    // Volumes in serial order (for the compatibility projection on rank 0).
    auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.volumes);
    PetscScalar* a;
    LATS_PETSC_CALL(VecGetArray(rhs_, &a));
    for (std::int64_t k = 0; k < g.numOwned; ++k) a[k] = vol(k);
    LATS_PETSC_CALL(VecRestoreArray(rhs_, &a));
    scatterToRoot(rhs_);
    if (root) {
      const PetscScalar* v;
      LATS_PETSC_CALL(VecGetArrayRead(gathered_, &v));
      serialVolumes_.assign(v, v + n);
      LATS_PETSC_CALL(VecRestoreArrayRead(gathered_, &v));
    }
    // Triplets (serial row, serial column, value) to rank 0.
    std::vector<std::int64_t> triplets;
    std::vector<double> values;
    for (std::int64_t k = 0; k < g.numOwned; ++k)
      for (auto e = rows.offsets[k]; e < rows.offsets[k + 1]; ++e) {
        triplets.push_back(serialIds_(k));
        triplets.push_back(serialIds_(rows.columns[e]));
        values.push_back(rows.values[e]);
      }
    const auto allTriplets = gatherToRoot(triplets, MPI_INT64_T);
    const auto allValues = gatherToRoot(values, MPI_DOUBLE);
    if (!root) return;
    // CSR sorted by (row, column): the same matrix, entry for entry, for any rank count.
    const std::size_t nnz = allValues.size();
    std::vector<std::size_t> order(nnz);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::make_pair(allTriplets[2 * a], allTriplets[2 * a + 1]) <
             std::make_pair(allTriplets[2 * b], allTriplets[2 * b + 1]);
    });
    std::vector<PetscInt> rowPtr(n + 1, 0), cols(nnz);
    std::vector<PetscScalar> vals(nnz);
    for (std::size_t e = 0; e < nnz; ++e) {
      const auto i = order[e];
      ++rowPtr[allTriplets[2 * i] + 1];
      cols[e] = static_cast<PetscInt>(allTriplets[2 * i + 1]);
      vals[e] = allValues[i];
    }
    for (PetscInt r = 0; r < n; ++r) rowPtr[r + 1] += rowPtr[r];
    LATS_PETSC_CALL(MatCreateSeqAIJ(PETSC_COMM_SELF, n, n, 0, nullptr, &matrix_));
    LATS_PETSC_CALL(MatSeqAIJSetPreallocationCSR(matrix_, rowPtr.data(), cols.data(), vals.data()));
    LATS_PETSC_CALL(VecCreateSeq(PETSC_COMM_SELF, n, &seqRhs_));
    LATS_PETSC_CALL(VecDuplicate(seqRhs_, &seqPsi_));
    LATS_PETSC_CALL(KSPCreate(PETSC_COMM_SELF, &ksp_));
    LATS_PETSC_CALL(KSPSetOperators(ksp_, matrix_, matrix_));
    LATS_PETSC_CALL(KSPSetType(ksp_, KSPPREONLY));
    PC pc;
    LATS_PETSC_CALL(KSPGetPC(ksp_, &pc));
    LATS_PETSC_CALL(PCSetType(pc, PCLU));
    LATS_PETSC_CALL(PCFactorSetMatOrderingType(pc, MATORDERINGND));
    LATS_PETSC_CALL(KSPSetOptionsPrefix(ksp_, "navier_stokes_"));
    LATS_PETSC_CALL(KSPSetFromOptions(ksp_));
    LATS_PETSC_CALL(KSPSetUp(ksp_));
  }

  /// The matrix in PETSc's parallel numbering, and a parallel KSP.
  void setUpDistributed(const LocalRows& rows) {
    const auto& g = mesh().geometry();
    PetscInt rstart;
    LATS_PETSC_CALL(VecGetOwnershipRange(psi_, &rstart, nullptr));
    // The global row of every local cell, ghosts included, through the ghost exchange.
    PetscScalar* a;
    LATS_PETSC_CALL(VecGetArray(rhs_, &a));
    for (std::int64_t k = 0; k < g.numOwned; ++k) a[k] = static_cast<double>(rstart + k);
    LATS_PETSC_CALL(VecRestoreArray(rhs_, &a));
    LATS_PETSC_CALL(DMGlobalToLocal(dm_, rhs_, INSERT_VALUES, psiLocal_));
    std::vector<PetscInt> globalRow(g.numLocal);
    const PetscScalar* l;
    LATS_PETSC_CALL(VecGetArrayRead(psiLocal_, &l));
    for (std::int64_t k = 0; k < g.numLocal; ++k) globalRow[k] = static_cast<PetscInt>(l[k]);
    LATS_PETSC_CALL(VecRestoreArrayRead(psiLocal_, &l));
    LATS_PETSC_CALL(VecSet(psiLocal_, 0.0));
    std::vector<PetscInt> diag(g.numOwned, 0), offDiag(g.numOwned, 0);
    for (std::int64_t k = 0; k < g.numOwned; ++k)
      for (auto e = rows.offsets[k]; e < rows.offsets[k + 1]; ++e)
        ++(rows.columns[e] < g.numOwned ? diag[k] : offDiag[k]);
    LATS_PETSC_CALL(MatCreateAIJ(mesh().comm(), g.numOwned, g.numOwned, PETSC_DETERMINE, PETSC_DETERMINE, 0,
                                 diag.data(), 0, offDiag.data(), &matrix_));
    for (std::int64_t k = 0; k < g.numOwned; ++k)
      for (auto e = rows.offsets[k]; e < rows.offsets[k + 1]; ++e)
        LATS_PETSC_CALL(MatSetValue(matrix_, globalRow[k], globalRow[rows.columns[e]], rows.values[e], INSERT_VALUES));
    LATS_PETSC_CALL(MatAssemblyBegin(matrix_, MAT_FINAL_ASSEMBLY));
    LATS_PETSC_CALL(MatAssemblyEnd(matrix_, MAT_FINAL_ASSEMBLY));
    auto vol = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g.volumes);
    ownedVolumes_.assign(vol.data(), vol.data() + g.numOwned);
    LATS_PETSC_CALL(KSPCreate(mesh().comm(), &ksp_));
    LATS_PETSC_CALL(KSPSetOperators(ksp_, matrix_, matrix_));
    LATS_PETSC_CALL(KSPSetType(ksp_, KSPGMRES));
    PC pc;
    LATS_PETSC_CALL(KSPGetPC(ksp_, &pc));
#if defined(PETSC_HAVE_HYPRE)
    LATS_PETSC_CALL(PCSetType(pc, PCHYPRE));
#else
    LATS_PETSC_CALL(PCSetType(pc, PCGAMG));
#endif
    LATS_PETSC_CALL(KSPSetTolerances(ksp_, 1e-12, 1e-50, PETSC_DEFAULT, 1000));
    LATS_PETSC_CALL(KSPSetInitialGuessNonzero(ksp_, PETSC_TRUE));
    LATS_PETSC_CALL(KSPSetOptionsPrefix(ksp_, "navier_stokes_"));
    LATS_PETSC_CALL(KSPSetFromOptions(ksp_));
    LATS_PETSC_CALL(KSPSetUp(ksp_));
  }

  template <class T>
  std::vector<T> gatherToRoot(const std::vector<T>& local, MPI_Datatype type) const {
    const Comm comm(mesh().comm());
    int count = static_cast<int>(local.size());
    std::vector<int> counts(comm.size()), displs(comm.size(), 0);
    MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
    for (int r = 1; r < comm.size(); ++r) displs[r] = displs[r - 1] + counts[r - 1];
    std::vector<T> all(comm.rank() == 0 ? displs.back() + counts.back() : 0);
    MPI_Gatherv(local.data(), count, type, all.data(), counts.data(), displs.data(), type, 0, comm);
    return all;
  }

  void scatterToRoot(Vec v) {
    LATS_PETSC_CALL(VecScatterBegin(scatter_, v, gathered_, INSERT_VALUES, SCATTER_FORWARD));
    LATS_PETSC_CALL(VecScatterEnd(scatter_, v, gathered_, INSERT_VALUES, SCATTER_FORWARD));
  }

  /// psi from w (owned cells); leaves psi with ghosts in psiLocal_. Collective.
  void solveStreamfunction(ConstCellValues w) {
    const auto& g = mesh().geometry();
    PetscScalar* b;
    LATS_PETSC_CALL(VecGetArray(rhs_, &b));
    for (std::int64_t k = 0; k < g.numOwned; ++k) b[k] = w(k, 0);
    LATS_PETSC_CALL(VecRestoreArray(rhs_, &b));
    if (gathered()) {
      scatterToRoot(rhs_);
      if (Comm(mesh().comm()).rank() == 0) {
        PetscScalar* all;
        LATS_PETSC_CALL(VecGetArray(gathered_, &all));
        // A periodic Poisson problem needs zero-mean data; the mean vorticity does not move the fluid.
        removeMean(all, serialVolumes_.data(), static_cast<std::int64_t>(serialVolumes_.size()), MPI_COMM_SELF);
        all[kPinned] = 0.0;
        LATS_PETSC_CALL(VecPlaceArray(seqRhs_, all));
        LATS_PETSC_CALL(KSPSolve(ksp_, seqRhs_, seqPsi_));
        LATS_PETSC_CALL(VecResetArray(seqRhs_));
        checkConverged();
        const PetscScalar* p;
        LATS_PETSC_CALL(VecGetArrayRead(seqPsi_, &p));
        std::copy(p, p + serialVolumes_.size(), all);
        LATS_PETSC_CALL(VecRestoreArrayRead(seqPsi_, &p));
        LATS_PETSC_CALL(VecRestoreArray(gathered_, &all));
      }
      LATS_PETSC_CALL(VecScatterBegin(scatter_, gathered_, psi_, INSERT_VALUES, SCATTER_REVERSE));
      LATS_PETSC_CALL(VecScatterEnd(scatter_, gathered_, psi_, INSERT_VALUES, SCATTER_REVERSE));
    } else {
      LATS_PETSC_CALL(VecGetArray(rhs_, &b));
      removeMean(b, ownedVolumes_.data(), g.numOwned, mesh().comm());
      for (std::int64_t k = 0; k < g.numOwned; ++k)
        if (serialIds_(k) == kPinned) b[k] = 0.0;
      LATS_PETSC_CALL(VecRestoreArray(rhs_, &b));
      LATS_PETSC_CALL(KSPSolve(ksp_, rhs_, psi_));
      checkConverged();
    }
    LATS_PETSC_CALL(DMGlobalToLocal(dm_, psi_, INSERT_VALUES, psiLocal_));
  }

  static void removeMean(double* b, const double* volumes, std::int64_t n, MPI_Comm comm) {
    double sums[2] = {0.0, 0.0};
    for (std::int64_t k = 0; k < n; ++k) {
      sums[0] += volumes[k] * b[k];
      sums[1] += volumes[k];
    }
    MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, comm);
    const double mean = sums[0] / sums[1];
    for (std::int64_t k = 0; k < n; ++k) b[k] -= mean;
  }

  void checkConverged() const {
    KSPConvergedReason reason;
    LATS_PETSC_CALL(KSPGetConvergedReason(ksp_, &reason));
    LATS_CHECK(reason > 0, Error,
               "navier_stokes: the streamfunction solve failed (" << KSPConvergedReasons[reason]
                                                                  << "); check the vorticity for non-finite values, "
                                                                     "or choose another -navier_stokes_pc_type");
  }

  /// Largest |v| over the owned cells (all ranks), from psiLocal_.
  double maxSpeed() {
    const auto& g = mesh().geometry();
    const auto gp = streamfunctionGradients();
    double vmax = 0.0;
    Kokkos::parallel_reduce(
        "lats::NavierStokes::maxSpeed", Kokkos::RangePolicy<ExecSpace>(0, g.numOwned),
        KOKKOS_LAMBDA(const int k, double& vm) {
          const double s = detail::kmath::sqrt(gp(k, 0, 0) * gp(k, 0, 0) + gp(k, 0, 1) * gp(k, 0, 1));
          vm = s > vm ? s : vm;
        },
        Kokkos::Max<double>(vmax));
    return Comm(mesh().comm()).max(vmax);
  }

  /// Least-squares gradients of the last streamfunction (psiLocal_), on all local cells.
  detail::FvKernels<StreamfunctionPhysics>::Grad streamfunctionGradients() {
    const PetscScalar* pa;
    LATS_PETSC_CALL(VecGetArrayRead(psiLocal_, &pa));
    psiKernels_.gradients(StreamfunctionPhysics{}, ConstCellValues(pa, mesh().geometry().numLocal, 1), Limiter::None);
    Kokkos::fence();
    LATS_PETSC_CALL(VecRestoreArrayRead(psiLocal_, &pa));
    return psiKernels_.gradientsView();
  }

  /// dwdt -= (1/V) sum_f (v_f . n_f) w_f: w_f the upwind side's reconstruction, v_f . n =
  /// psi_y n_x - psi_x n_y from the mean streamfunction gradient of the two cells.
  void addAdvection(ConstCellValues w, CellValues dwdt) {
    const auto& g = mesh().geometry();
    const auto gp = streamfunctionGradients();
    const auto gw = kernels().gradientsView();
    const auto phi = kernels().limiterView();
    const auto geom = g;
    Kokkos::parallel_for(
        "lats::NavierStokes::advection", Kokkos::RangePolicy<ExecSpace>(0, g.numOwned), KOKKOS_LAMBDA(const int k) {
          double acc = 0.0;
          for (auto f = geom.faceOffsets(k); f < geom.faceOffsets(k + 1); ++f) {
            const auto j = geom.faceNeighbour(f);
            const double px = 0.5 * (gp(k, 0, 0) + gp(j, 0, 0)), py = 0.5 * (gp(k, 0, 1) + gp(j, 0, 1));
            const double vn = py * geom.faceNormal(f, 0) - px * geom.faceNormal(f, 1);  // times the face length
            double wf;
            if (vn >= 0) {
              wf = w(k, 0) + phi(k, 0) * (gw(k, 0, 0) * geom.faceCenter(f, 0) + gw(k, 0, 1) * geom.faceCenter(f, 1));
            } else {
              const double rx = geom.faceCenter(f, 0) - geom.neighbourDelta(f, 0);
              const double ry = geom.faceCenter(f, 1) - geom.neighbourDelta(f, 1);
              wf = w(j, 0) + phi(j, 0) * (gw(j, 0, 0) * rx + gw(j, 0, 1) * ry);
            }
            acc -= vn * wf;
          }
          dwdt(k, 0) += acc / geom.volumes(k);
        });
    Kokkos::fence();
  }

  std::string poisson_ = "gathered";
  detail::FvKernels<StreamfunctionPhysics> psiKernels_;
  IdView::HostMirror serialIds_;
  std::vector<double> serialVolumes_, ownedVolumes_;
  DM dm_ = nullptr;
  Mat matrix_ = nullptr;
  KSP ksp_ = nullptr;
  VecScatter scatter_ = nullptr;
  Vec psi_ = nullptr, rhs_ = nullptr, psiLocal_ = nullptr, gathered_ = nullptr, seqRhs_ = nullptr, seqPsi_ = nullptr;
};

}  // namespace

std::unique_ptr<FvOperator> makeNavierStokes() { return std::make_unique<NavierStokes>(); }

}  // namespace lats::solvers
