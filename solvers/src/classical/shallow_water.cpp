// Shallow water: h_t + div(h v) = 0, (h v)_t + div(h v v + g h^2 / 2 I) = 0.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>

#include "detail/conservation_law.hpp"
#include "lats/core/comm.hpp"
#include "lats/solvers/classical/equations.hpp"

namespace lats::solvers {
namespace {

const RealOption kGravity{"shallow_water_g", 1.0, "shallow_water: gravitational acceleration g"};
const EnumOption kFlux{"shallow_water_flux",
                       "hllc",
                       {"rusanov", "hll", "hllc"},
                       "shallow_water: numerical flux (hllc resolves the shear wave; hll and rusanov smear it)"};

enum FluxKind { kRusanov = 0, kHll = 1, kHllc = 2 };

struct ShallowWaterPhysics {
  static constexpr int NC = 3;  // h, hu, hv
  double g = 1.0;
  int kind = kHllc;
  double diffusivity[NC] = {0, 0, 0}, dispersion[NC] = {0, 0, 0}, hyperdiffusion[NC] = {0, 0, 0};
  bool hasFlux = true, hasSource = false;
  /// Walls reflect: the normal momentum changes sign.
  KOKKOS_INLINE_FUNCTION void boundaryState(std::int64_t, const double* n, const double* uIn, double* uOut) const {
    const double mn = uIn[1] * n[0] + uIn[2] * n[1];
    uOut[0] = uIn[0];
    uOut[1] = uIn[1] - 2.0 * mn * n[0];
    uOut[2] = uIn[2] - 2.0 * mn * n[1];
  }
  KOKKOS_INLINE_FUNCTION void physicalFlux(const double* u, const double* n, double* F, double& un, double& c) const {
    const double h = u[0] > 0 ? u[0] : 0.0;
    un = h > 0 ? (u[1] * n[0] + u[2] * n[1]) / h : 0.0;
    c = detail::kmath::sqrt(g * h);
    const double pressure = 0.5 * g * h * h;
    F[0] = h * un;
    F[1] = u[1] * un + pressure * n[0];
    F[2] = u[2] * un + pressure * n[1];
  }
  KOKKOS_INLINE_FUNCTION void flux(const double* uL, const double* uR, const double* n, double* F) const {
    double FL[NC], FR[NC], unL, unR, cL, cR;
    physicalFlux(uL, n, FL, unL, cL);
    physicalFlux(uR, n, FR, unR, cR);
    if (kind == kHllc) {
      const double sL = detail::kmath::fmin(unL - cL, unR - cR), sR = detail::kmath::fmax(unL + cL, unR + cR);
      const double hL = uL[0], hR = uR[0];
      const double denom = hR * (unR - sR) - hL * (unL - sL);
      const double sStar = denom != 0.0 ? (sL * hR * (unR - sR) - sR * hL * (unL - sL)) / denom : 0.0;
      if (sL >= 0) {
        for (int i = 0; i < NC; ++i) F[i] = FL[i];
      } else if (sR <= 0) {
        for (int i = 0; i < NC; ++i) F[i] = FR[i];
      } else {
        // Star state of the upwind side of the contact: h* and momentum h* (s* n + tangential velocity).
        const bool left = sStar >= 0;
        const double* u = left ? uL : uR;
        const double* Fk = left ? FL : FR;
        const double sk = left ? sL : sR, unk = left ? unL : unR;
        const double h = u[0];
        const double hStar = h * (sk - unk) / (sk - sStar);
        const double vx = h > 0 ? u[1] / h : 0.0, vy = h > 0 ? u[2] / h : 0.0;
        const double tx = vx - unk * n[0], ty = vy - unk * n[1];
        const double star[NC] = {hStar, hStar * (sStar * n[0] + tx), hStar * (sStar * n[1] + ty)};
        for (int i = 0; i < NC; ++i) F[i] = Fk[i] + sk * (star[i] - u[i]);
      }
    } else if (kind == kHll) {
      const double sL = detail::kmath::fmin(unL - cL, unR - cR), sR = detail::kmath::fmax(unL + cL, unR + cR);
      for (int i = 0; i < NC; ++i) {
        if (sL >= 0)
          F[i] = FL[i];
        else if (sR <= 0)
          F[i] = FR[i];
        else
          F[i] = (sR * FL[i] - sL * FR[i] + sL * sR * (uR[i] - uL[i])) / (sR - sL);
      }
    } else {
      const double s = detail::kmath::fmax(detail::kmath::fabs(unL) + cL, detail::kmath::fabs(unR) + cR);
      for (int i = 0; i < NC; ++i) F[i] = 0.5 * (FL[i] + FR[i]) - 0.5 * s * (uR[i] - uL[i]);
    }
  }
  KOKKOS_INLINE_FUNCTION void source(const double*, double, const double*, double* s) const {
    s[0] = s[1] = s[2] = 0.0;
  }
};

class ShallowWater : public detail::ConservationLaw<ShallowWaterPhysics> {
 public:
  ShallowWater() : ConservationLaw({{"g", kGravity.defaultValue(), 0.5, 2.0, &kGravity}}) {}
  std::string equation() const override { return "shallow_water"; }
  std::vector<std::string> components() const override { return {"h", "hu", "hv"}; }
  std::vector<int> dimensions() const override { return {2}; }
  std::vector<bool> conservedComponents() const override { return {true, true, true}; }
  void setFromOptions() override {
    FvOperator::setFromOptions();
    const std::string flux = kFlux.get();
    kind_ = flux == "rusanov" ? kRusanov : flux == "hll" ? kHll : kHllc;
  }
  double stableTimeStep(ConstCellValues u) const override {
    double smax = 0.0;
    const double g = parameter("g");
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(u.extent(0)); ++k) {
      const double h = std::max(u(k, 0), 0.0);
      const double speed = h > 0 ? std::hypot(u(k, 1), u(k, 2)) / h : 0.0;
      smax = std::max(smax, speed + std::sqrt(g * h));
    }
    return smax > 0 ? 1.0 / (smax * mesh().convectionScale()) : 1e300;
  }

 protected:
  ShallowWaterPhysics physics() const override {
    ShallowWaterPhysics p;
    p.g = parameter("g");
    p.kind = kind_;
    return p;
  }

 private:
  int kind_ = kHllc;
};

}  // namespace

std::unique_ptr<FvOperator> makeShallowWater() { return std::make_unique<ShallowWater>(); }

}  // namespace lats::solvers
