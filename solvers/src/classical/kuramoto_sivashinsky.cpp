// Kuramoto-Sivashinsky (1D, periodic): u_t + (u^2/2)_x + u_xx + nu4 u_xxxx = 0, in flux form
// so the mean of u is conserved. The linear terms form the stiff part (implicit under
// -ts_type arkimex).
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>

#include "detail/conservation_law.hpp"
#include "lats/solvers/classical/equations.hpp"

namespace lats::solvers {
namespace {

const RealOption kHyperviscosity{"kuramoto_sivashinsky_nu4", 1.0, "kuramoto_sivashinsky: coefficient of u_xxxx"};

struct KuramotoSivashinskyPhysics {
  static constexpr int NC = 1;
  double diffusivity[NC] = {-1.0}, dispersion[NC] = {0.0}, hyperdiffusion[NC] = {1.0};
  bool hasFlux = true, hasSource = false;
  KOKKOS_INLINE_FUNCTION void boundaryState(std::int64_t, const double*, const double* uIn, double* uOut) const {
    uOut[0] = uIn[0];
  }
  /// Rusanov flux of u^2 / 2.
  KOKKOS_INLINE_FUNCTION void flux(const double* uL, const double* uR, const double* n, double* F) const {
    const double s = detail::kmath::fmax(detail::kmath::fabs(uL[0]), detail::kmath::fabs(uR[0]));
    F[0] = 0.25 * (uL[0] * uL[0] + uR[0] * uR[0]) * n[0] - 0.5 * s * (uR[0] - uL[0]);
  }
  KOKKOS_INLINE_FUNCTION void source(const double*, double, const double*, double* s) const { s[0] = 0.0; }
};

class KuramotoSivashinsky : public detail::ConservationLaw<KuramotoSivashinskyPhysics> {
 public:
  KuramotoSivashinsky() : ConservationLaw({{"nu4", kHyperviscosity.defaultValue(), 0.5, 1.5, &kHyperviscosity}}) {}
  std::string equation() const override { return "kuramoto_sivashinsky"; }
  std::vector<std::string> components() const override { return {"u"}; }
  std::vector<int> dimensions() const override { return {1}; }
  std::vector<bool> conservedComponents() const override { return {true}; }
  Limiter defaultLimiter() const override { return Limiter::None; }  // smooth (chaotic) solutions
  bool hasStiffPart() const override { return true; }
  double stableTimeStep(ConstCellValues u) const override {
    double umax = 0.0;
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(u.extent(0)); ++k) umax = std::max(umax, std::abs(u(k, 0)));
    const double D = mesh().diffusionScale();  // ~ 2 / h^2: the u_xxxx eigenvalues reach ~ 4 D^2
    double dt = 0.6 / (parameter("nu4") * D * D + D);
    if (umax > 0) dt = std::min(dt, 1.0 / (umax * mesh().convectionScale()));
    return dt;
  }

 protected:
  KuramotoSivashinskyPhysics physics() const override {
    KuramotoSivashinskyPhysics p;
    p.hyperdiffusion[0] = parameter("nu4");
    return p;
  }
};

}  // namespace

std::unique_ptr<FvOperator> makeKuramotoSivashinsky() { return std::make_unique<KuramotoSivashinsky>(); }

}  // namespace lats::solvers
