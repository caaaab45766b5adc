// The wave equation as a first-order system: p_t + c div v = 0, v_t + c grad p = 0.
#include <Kokkos_Core.hpp>

#include <cmath>

#include "detail/conservation_law.hpp"
#include "lats/solvers/classical/equations.hpp"

namespace lats::solvers {
namespace {

const RealOption kSpeed{"wave_c", 1.0, "wave: wave speed c"};

struct WavePhysics {
  static constexpr int NC = 3;  // p, vx, vy (vy stays 0 in 1D)
  double c = 1.0;
  double diffusivity[NC] = {0, 0, 0}, dispersion[NC] = {0, 0, 0}, hyperdiffusion[NC] = {0, 0, 0};
  bool hasFlux = true, hasSource = false;
  /// Walls reflect: the normal velocity changes sign.
  KOKKOS_INLINE_FUNCTION void boundaryState(std::int64_t, const double* n, const double* uIn, double* uOut) const {
    const double vn = uIn[1] * n[0] + uIn[2] * n[1];
    uOut[0] = uIn[0];
    uOut[1] = uIn[1] - 2.0 * vn * n[0];
    uOut[2] = uIn[2] - 2.0 * vn * n[1];
  }
  /// The exact (characteristic) upwind flux: only p and the normal velocity carry waves, so
  /// only they are dissipated; the tangential velocity is not.
  KOKKOS_INLINE_FUNCTION void flux(const double* uL, const double* uR, const double* n, double* F) const {
    const double vnL = uL[1] * n[0] + uL[2] * n[1], vnR = uR[1] * n[0] + uR[2] * n[1];
    const double pStar = 0.5 * (uL[0] + uR[0]) - 0.5 * (vnR - vnL);
    const double vnStar = 0.5 * (vnL + vnR) - 0.5 * (uR[0] - uL[0]);
    F[0] = c * vnStar;
    F[1] = c * pStar * n[0];
    F[2] = c * pStar * n[1];
  }
  KOKKOS_INLINE_FUNCTION void source(const double*, double, const double*, double* s) const {
    s[0] = s[1] = s[2] = 0.0;
  }
};

class Wave : public detail::ConservationLaw<WavePhysics> {
 public:
  Wave() : ConservationLaw({{"c", kSpeed.defaultValue(), 0.5, 2.0, &kSpeed}}) {}
  std::string equation() const override { return "wave"; }
  std::vector<std::string> components() const override { return {"p", "vx", "vy"}; }
  std::vector<int> dimensions() const override { return {2}; }
  std::vector<bool> conservedComponents() const override { return {true, true, true}; }
  Limiter defaultLimiter() const override { return Limiter::None; }  // linear: no new extrema to tame
  double stableTimeStep(ConstCellValues) const override {
    return 1.0 / (std::abs(parameter("c")) * mesh().convectionScale());
  }

 protected:
  WavePhysics physics() const override {
    WavePhysics p;
    p.c = parameter("c");
    return p;
  }
};

}  // namespace

std::unique_ptr<FvOperator> makeWave() { return std::make_unique<Wave>(); }

}  // namespace lats::solvers
