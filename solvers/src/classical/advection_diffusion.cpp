// Linear advection-diffusion: u_t + a . grad u = nu lap u.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>

#include "detail/conservation_law.hpp"
#include "lats/core/comm.hpp"
#include "lats/solvers/classical/equations.hpp"

namespace lats::solvers {
namespace {

const RealOption kVx{"advection_diffusion_vx", 1.0, "advection_diffusion: x velocity"};
const RealOption kVy{"advection_diffusion_vy", 0.5, "advection_diffusion: y velocity (2D)"};
const RealOption kNu{"advection_diffusion_nu", 0.01, "advection_diffusion: diffusivity"};

struct AdvectionDiffusionPhysics {
  static constexpr int NC = 1;
  double a[3] = {0, 0, 0};
  double diffusivity[NC], dispersion[NC] = {0.0}, hyperdiffusion[NC] = {0.0};
  bool hasFlux = true, hasSource = false;
  /// Walls: zero normal gradient (what flows out leaves; nothing but the wall value flows in).
  KOKKOS_INLINE_FUNCTION void boundaryState(std::int64_t, const double*, const double* uIn, double* uOut) const {
    uOut[0] = uIn[0];
  }
  /// Upwind flux of a u.
  KOKKOS_INLINE_FUNCTION void flux(const double* uL, const double* uR, const double* n, double* F) const {
    const double an = a[0] * n[0] + a[1] * n[1] + a[2] * n[2];
    F[0] = an * (an >= 0 ? uL[0] : uR[0]);
  }
  KOKKOS_INLINE_FUNCTION void source(const double*, double, const double*, double* s) const { s[0] = 0.0; }
};

class AdvectionDiffusion : public detail::ConservationLaw<AdvectionDiffusionPhysics> {
 public:
  AdvectionDiffusion()
      : ConservationLaw({{"vx", kVx.defaultValue(), -1.0, 1.0, &kVx},
                         {"vy", kVy.defaultValue(), -1.0, 1.0, &kVy},
                         {"nu", kNu.defaultValue(), 1e-3, 5e-2, &kNu}}) {}
  std::string equation() const override { return "advection_diffusion"; }
  std::vector<std::string> components() const override { return {"u"}; }
  std::vector<int> dimensions() const override { return {1, 2}; }
  std::vector<bool> conservedComponents() const override { return {true}; }
  Limiter defaultLimiter() const override { return Limiter::None; }  // smooth: diffusion
  double stableTimeStep(ConstCellValues) const override {
    const double speed = std::hypot(parameter("vx"), mesh().dimension() > 1 ? parameter("vy") : 0.0);
    const double nu = parameter("nu");
    double dt = speed > 0 ? 1.0 / (speed * mesh().convectionScale()) : 1e300;
    if (nu > 0) dt = std::min(dt, 1.0 / (nu * mesh().diffusionScale()));
    return dt;
  }

 protected:
  AdvectionDiffusionPhysics physics() const override {
    AdvectionDiffusionPhysics p;
    p.a[0] = parameter("vx");
    p.a[1] = mesh().dimension() > 1 ? parameter("vy") : 0.0;
    p.diffusivity[0] = parameter("nu");
    return p;
  }
};

}  // namespace

std::unique_ptr<FvOperator> makeAdvectionDiffusion() { return std::make_unique<AdvectionDiffusion>(); }

}  // namespace lats::solvers
