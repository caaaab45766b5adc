#pragma once
// Finite-volume kernels shared by the equations: least-squares gradients with a slope
// limiter, cell Laplacians, and the face-flux residual. Templated on a Physics struct:
//
//   struct Physics {
//     static constexpr int NC;                       // components
//     KOKKOS_INLINE_FUNCTION void boundaryState(std::int64_t tag, const double n[3],
//                                               const double* uIn, double* uOut) const;
//     KOKKOS_INLINE_FUNCTION void flux(const double* uL, const double* uR, const double n[3],
//                                      double* F) const;   // numerical flux per unit area
//     KOKKOS_INLINE_FUNCTION void source(const double* x, double t, const double* u, double* s) const;
//     double diffusivity[NC], dispersion[NC], hyperdiffusion[NC];
//     bool hasFlux, hasSource;
//   };
//
// `n` is the outward unit normal. Kernels run over Views wrapping PETSc arrays (no copies)
// and carry "lats::..." labels.

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>

#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/classical/fv_operator.hpp"

namespace lats::detail {

/// Device-callable math (Kokkos 3.4 keeps it in Experimental).
namespace kmath = Kokkos::Experimental;

/// Which terms of F a residual evaluation includes (IMEX splits them).
struct Terms {
  bool flux = true, diffusion = true, dispersion = true, hyperdiffusion = true, source = true;
  static Terms explicitPart() { return {true, false, false, false, true}; }
  static Terms stiffPart() { return {false, true, true, true, false}; }
};

template <class Physics>
class FvKernels {
 public:
  static constexpr int NC = Physics::NC;
  using Grad = Kokkos::View<double** [3], Kokkos::LayoutRight, MemSpace>;
  using PerComp = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>;

  void setUp(const meshio::FvGeometry& g) {
    geom_ = g;
    grad_ = Grad("lats::FvKernels::gradients", g.numLocal, NC);
    phi_ = PerComp("lats::FvKernels::limiter", g.numLocal, NC);
    lap_ = PerComp("lats::FvKernels::laplacian", g.numLocal, NC);
  }

  /// Least-squares gradients on complete cells, and limiter values (1 with Limiter::None).
  void gradients(const Physics& p, solvers::ConstCellValues u, solvers::Limiter limiter, double venkatK = 5.0) {
    const auto g = geom_;
    const auto grad = grad_;
    const auto phi = phi_;
    const int dim = g.dimension;
    Kokkos::parallel_for(
        "lats::FvKernels::gradients", Kokkos::RangePolicy<ExecSpace>(0, g.numLocal), KOKKOS_LAMBDA(const int k) {
          for (int c = 0; c < NC; ++c) {
            phi(k, c) = 1.0;
            for (int a = 0; a < 3; ++a) grad(k, c, a) = 0.0;
          }
          if (!g.complete(k)) return;
          double m[3] = {0, 0, 0};  // symmetric 2x2: m00 m01 m11
          double b[NC][2];
          double umin[NC], umax[NC], uk[NC];
          for (int c = 0; c < NC; ++c) {
            uk[c] = u(k, c);
            b[c][0] = b[c][1] = 0.0;
            umin[c] = umax[c] = uk[c];
          }
          for (auto f = g.faceOffsets(k); f < g.faceOffsets(k + 1); ++f) {
            double uj[NC];
            neighbourState(p, g, u, k, f, uk, uj);
            double d[2] = {g.neighbourDelta(f, 0), dim > 1 ? g.neighbourDelta(f, 1) : 0.0};
            const double w = 1.0 / (d[0] * d[0] + d[1] * d[1]);
            m[0] += w * d[0] * d[0];
            m[1] += w * d[0] * d[1];
            m[2] += w * d[1] * d[1];
            for (int c = 0; c < NC; ++c) {
              const double du = uj[c] - uk[c];
              b[c][0] += w * d[0] * du;
              b[c][1] += w * d[1] * du;
              umin[c] = uj[c] < umin[c] ? uj[c] : umin[c];
              umax[c] = uj[c] > umax[c] ? uj[c] : umax[c];
            }
          }
          for (int c = 0; c < NC; ++c) {
            if (dim == 1) {
              grad(k, c, 0) = b[c][0] / m[0];
            } else {
              const double det = m[0] * m[2] - m[1] * m[1];
              grad(k, c, 0) = (m[2] * b[c][0] - m[1] * b[c][1]) / det;
              grad(k, c, 1) = (m[0] * b[c][1] - m[1] * b[c][0]) / det;
            }
          }
          if (limiter == solvers::Limiter::None) return;
          const double h = dim == 1 ? g.volumes(k) : kmath::sqrt(g.volumes(k));
          const double eps2 = venkatK * venkatK * venkatK * h * h * h;  // Venkatakrishnan's (K h)^3
          for (int c = 0; c < NC; ++c) {
            double lim = 1.0;
            for (auto f = g.faceOffsets(k); f < g.faceOffsets(k + 1); ++f) {
              double d2 = 0.0;
              for (int a = 0; a < dim; ++a) d2 += grad(k, c, a) * g.faceCenter(f, a);
              if (d2 == 0.0) continue;
              const double d1 = d2 > 0 ? umax[c] - uk[c] : umin[c] - uk[c];
              double pf;
              if (limiter == solvers::Limiter::Barth) {
                pf = d1 / d2 < 1.0 ? d1 / d2 : 1.0;
              } else {
                pf = ((d1 * d1 + eps2) * d2 + 2.0 * d2 * d2 * d1) / (d1 * d1 + 2.0 * d2 * d2 + d1 * d2 + eps2) / d2;
              }
              lim = pf < lim ? pf : lim;
            }
            phi(k, c) = lim;
          }
        });
  }

  /// Cell Laplacians (1/V) sum_f grad_f . n on complete cells (after gradients()).
  void laplacian(const Physics& p, solvers::ConstCellValues u) {
    const auto g = geom_;
    const auto grad = grad_;
    const auto lap = lap_;
    Kokkos::parallel_for(
        "lats::FvKernels::laplacian", Kokkos::RangePolicy<ExecSpace>(0, g.numLocal), KOKKOS_LAMBDA(const int k) {
          for (int c = 0; c < NC; ++c) lap(k, c) = 0.0;
          if (!g.complete(k)) return;
          double uk[NC], uj[NC], s[NC];
          for (int c = 0; c < NC; ++c) uk[c] = u(k, c), s[c] = 0.0;
          for (auto f = g.faceOffsets(k); f < g.faceOffsets(k + 1); ++f) {
            neighbourState(p, g, u, k, f, uk, uj);
            for (int c = 0; c < NC; ++c) s[c] += faceNormalGradient(g, grad, k, f, c, uk[c], uj[c]);
          }
          for (int c = 0; c < NC; ++c) lap(k, c) = s[c] / g.volumes(k);
        });
  }

  /// dudt(owned) <- - (1/V) sum_f F_f . n_f + diffusion + dispersion + hyperdiffusion + source.
  /// Needs gradients() first, and laplacian() when dispersion or hyperdiffusion is on.
  void residual(const Physics& p, solvers::ConstCellValues u, solvers::CellValues dudt, double t, Terms terms) {
    const auto g = geom_;
    const auto grad = grad_;
    const auto phi = phi_;
    const auto lap = lap_;
    const int dim = g.dimension;
    Kokkos::parallel_for(
        "lats::FvKernels::residual", Kokkos::RangePolicy<ExecSpace>(0, g.numOwned), KOKKOS_LAMBDA(const int k) {
          double uk[NC], acc[NC];
          for (int c = 0; c < NC; ++c) uk[c] = u(k, c), acc[c] = 0.0;
          for (auto f = g.faceOffsets(k); f < g.faceOffsets(k + 1); ++f) {
            const auto j = g.faceNeighbour(f);
            double uj[NC];
            neighbourState(p, g, u, k, f, uk, uj);
            double area2 = 0.0;
            for (int a = 0; a < dim; ++a) area2 += g.faceNormal(f, a) * g.faceNormal(f, a);
            const double area = kmath::sqrt(area2);
            double nhat[3] = {0, 0, 0};
            for (int a = 0; a < dim; ++a) nhat[a] = g.faceNormal(f, a) / area;
            if (terms.flux && p.hasFlux) {
              double uL[NC], uR[NC], F[NC];
              for (int c = 0; c < NC; ++c) {
                double s = 0.0;
                for (int a = 0; a < dim; ++a) s += grad(k, c, a) * g.faceCenter(f, a);
                uL[c] = uk[c] + phi(k, c) * s;
              }
              if (j >= 0) {
                for (int c = 0; c < NC; ++c) {
                  double s = 0.0;
                  for (int a = 0; a < dim; ++a) s += grad(j, c, a) * (g.faceCenter(f, a) - g.neighbourDelta(f, a));
                  uR[c] = uj[c] + phi(j, c) * s;
                }
              } else {
                p.boundaryState(g.faceTag(f), nhat, uL, uR);
              }
              p.flux(uL, uR, nhat, F);
              for (int c = 0; c < NC; ++c) acc[c] -= F[c] * area;
            }
            for (int c = 0; c < NC; ++c) {
              if (terms.diffusion && p.diffusivity[c] != 0.0)
                acc[c] += p.diffusivity[c] * faceNormalGradient(g, grad, k, f, c, uk[c], uj[c]);
              if (j >= 0 && terms.dispersion && p.dispersion[c] != 0.0) {
                // flux c * u_xx at the face, from the neighbouring cell Laplacians
                double nd = 0.0;
                for (int a = 0; a < dim; ++a) nd += g.faceNormal(f, a);
                acc[c] -= p.dispersion[c] * 0.5 * (lap(k, c) + lap(j, c)) * nd;
              }
              if (j >= 0 && terms.hyperdiffusion && p.hyperdiffusion[c] != 0.0) {
                double d2 = 0.0, dn = 0.0;
                for (int a = 0; a < dim; ++a) {
                  d2 += g.neighbourDelta(f, a) * g.neighbourDelta(f, a);
                  dn += g.neighbourDelta(f, a) * g.faceNormal(f, a);
                }
                acc[c] -= p.hyperdiffusion[c] * (lap(j, c) - lap(k, c)) * dn / d2;
              }
            }
          }
          const double vol = g.volumes(k);
          for (int c = 0; c < NC; ++c) dudt(k, c) = acc[c] / vol;
          if (terms.source && p.hasSource) {
            double x[3] = {0, 0, 0}, s[NC];
            for (int a = 0; a < dim; ++a) x[a] = g.centroids(k, a);
            p.source(x, t, uk, s);
            for (int c = 0; c < NC; ++c) dudt(k, c) += s[c];
          }
        });
  }

  Grad gradientsView() const { return grad_; }
  PerComp laplacianView() const { return lap_; }
  PerComp limiterView() const { return phi_; }

 private:
  /// The value across face f: the neighbour's, or the boundary ghost state.
  KOKKOS_INLINE_FUNCTION static void neighbourState(const Physics& p, const meshio::FvGeometry& g,
                                                    const solvers::ConstCellValues& u, std::int64_t k, std::int64_t f,
                                                    const double* uk, double* uj) {
    const auto j = g.faceNeighbour(f);
    if (j >= 0) {
      for (int c = 0; c < NC; ++c) uj[c] = u(j, c);
    } else {
      double area2 = 0.0;
      for (int a = 0; a < g.dimension; ++a) area2 += g.faceNormal(f, a) * g.faceNormal(f, a);
      const double area = kmath::sqrt(area2);
      double nhat[3] = {0, 0, 0};
      for (int a = 0; a < g.dimension; ++a) nhat[a] = g.faceNormal(f, a) / area;
      p.boundaryState(g.faceTag(f), nhat, uk, uj);
    }
  }

  /// grad_f . n_f (area-weighted) with the jump correction along the centroid line:
  /// gbar . n + ((u_j - u_k) - gbar . d) (d . n) / |d|^2, gbar the mean of both cell gradients.
  KOKKOS_INLINE_FUNCTION static double faceNormalGradient(const meshio::FvGeometry& g, const Grad& grad, std::int64_t k,
                                                          std::int64_t f, int c, double uk, double uj) {
    const auto j = g.faceNeighbour(f);
    double gn = 0.0, gd = 0.0, dn = 0.0, d2 = 0.0;
    for (int a = 0; a < g.dimension; ++a) {
      const double gbar = j >= 0 ? 0.5 * (grad(k, c, a) + grad(j, c, a)) : grad(k, c, a);
      gn += gbar * g.faceNormal(f, a);
      gd += gbar * g.neighbourDelta(f, a);
      dn += g.neighbourDelta(f, a) * g.faceNormal(f, a);
      d2 += g.neighbourDelta(f, a) * g.neighbourDelta(f, a);
    }
    return gn + ((uj - uk) - gd) * dn / d2;
  }

  meshio::FvGeometry geom_;
  Grad grad_;
  PerComp phi_, lap_;
};

}  // namespace lats::detail
