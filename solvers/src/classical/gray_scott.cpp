// Gray-Scott reaction-diffusion:
//   u_t = Du lap u - u v^2 + F (1 - u),   v_t = Dv lap v + u v^2 - (F + k) v.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>

#include "detail/conservation_law.hpp"
#include "lats/solvers/classical/equations.hpp"

namespace lats::solvers {
namespace {

const RealOption kFeed{"gray_scott_feed", 0.04, "gray_scott: feed rate F"};
const RealOption kKill{"gray_scott_kill", 0.06, "gray_scott: kill rate k"};
const RealOption kDu{"gray_scott_du", 2e-5, "gray_scott: diffusivity of u"};
const RealOption kDv{"gray_scott_dv", 1e-5, "gray_scott: diffusivity of v"};

struct GrayScottPhysics {
  static constexpr int NC = 2;
  double feed = 0.04, kill = 0.06;
  double diffusivity[NC] = {0, 0}, dispersion[NC] = {0, 0}, hyperdiffusion[NC] = {0, 0};
  bool hasFlux = false, hasSource = true;
  /// Walls: no flux of either species.
  KOKKOS_INLINE_FUNCTION void boundaryState(std::int64_t, const double*, const double* uIn, double* uOut) const {
    uOut[0] = uIn[0];
    uOut[1] = uIn[1];
  }
  KOKKOS_INLINE_FUNCTION void flux(const double*, const double*, const double*, double* F) const { F[0] = F[1] = 0.0; }
  KOKKOS_INLINE_FUNCTION void source(const double*, double, const double* u, double* s) const {
    const double uvv = u[0] * u[1] * u[1];
    s[0] = -uvv + feed * (1.0 - u[0]);
    s[1] = uvv - (feed + kill) * u[1];
  }
};

class GrayScott : public detail::ConservationLaw<GrayScottPhysics> {
 public:
  GrayScott()
      : ConservationLaw({{"feed", kFeed.defaultValue(), 0.02, 0.06, &kFeed},
                         {"kill", kKill.defaultValue(), 0.055, 0.065, &kKill},
                         {"du", kDu.defaultValue(), 1e-5, 4e-5, &kDu},
                         {"dv", kDv.defaultValue(), 5e-6, 2e-5, &kDv}}) {}
  std::string equation() const override { return "gray_scott"; }
  std::vector<std::string> components() const override { return {"u", "v"}; }
  std::vector<int> dimensions() const override { return {1, 2}; }
  std::vector<bool> conservedComponents() const override { return {false, false}; }
  Limiter defaultLimiter() const override { return Limiter::None; }
  bool hasStiffPart() const override { return true; }
  double stableTimeStep(ConstCellValues u) const override {
    double vmax = 0.0;
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(u.extent(0)); ++k)
      vmax = std::max({vmax, std::abs(u(k, 0)), std::abs(u(k, 1))});
    const double dmax = std::max(parameter("du"), parameter("dv"));
    const double reaction = 2.0 * vmax * vmax + parameter("feed") + parameter("kill");
    double dt = 1.0 / reaction;
    if (dmax > 0) dt = std::min(dt, 1.0 / (dmax * mesh().diffusionScale()));
    return dt;
  }

 protected:
  GrayScottPhysics physics() const override {
    GrayScottPhysics p;
    p.feed = parameter("feed");
    p.kill = parameter("kill");
    p.diffusivity[0] = parameter("du");
    p.diffusivity[1] = parameter("dv");
    return p;
  }
};

}  // namespace

std::unique_ptr<FvOperator> makeGrayScott() { return std::make_unique<GrayScott>(); }

}  // namespace lats::solvers
