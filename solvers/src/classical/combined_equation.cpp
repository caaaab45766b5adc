// The 1D "combined equation" family u_t + (alpha u^2 - beta u_x + gamma u_xx)_x = delta(t, x)
// (Burgers: alpha = 1/2, gamma = 0, no forcing; KdV: beta = 0; heat: alpha = gamma = 0).
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>

#include "detail/conservation_law.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/random.hpp"
#include "lats/solvers/classical/equations.hpp"

namespace lats::solvers {
namespace {

const RealOption kAlpha{"combined_alpha", 0.5, "combined: coefficient of (u^2)_x"};
const RealOption kBeta{"combined_beta", 0.1, "combined: diffusion coefficient"};
const RealOption kGamma{"combined_gamma", 0.0, "combined: dispersion coefficient of u_xxx"};
const RealOption kForcingSeed{"combined_forcing_seed", 0.0,
                              "combined: seed of the random sinusoidal forcing (integer; 0: no forcing)"};
const RealOption kBurgersNu{"burgers_nu", 0.01, "burgers: viscosity"};

constexpr int kForcingTerms = 5;
constexpr double kTwoPi = 6.283185307179586;

struct CombinedPhysics {
  static constexpr int NC = 1;
  double alpha = 0.5;
  double diffusivity[NC] = {0.0}, dispersion[NC] = {0.0}, hyperdiffusion[NC] = {0.0};
  bool hasFlux = true, hasSource = false;
  double amp[kForcingTerms] = {}, omega[kForcingTerms] = {}, wavenumber[kForcingTerms] = {}, phase[kForcingTerms] = {};
  KOKKOS_INLINE_FUNCTION void boundaryState(std::int64_t, const double*, const double* uIn, double* uOut) const {
    uOut[0] = uIn[0];
  }
  /// Rusanov flux of alpha u^2.
  KOKKOS_INLINE_FUNCTION void flux(const double* uL, const double* uR, const double* n, double* F) const {
    const double fl = alpha * uL[0] * uL[0] * n[0], fr = alpha * uR[0] * uR[0] * n[0];
    const double s =
        2.0 * detail::kmath::fabs(alpha) * detail::kmath::fmax(detail::kmath::fabs(uL[0]), detail::kmath::fabs(uR[0]));
    F[0] = 0.5 * (fl + fr) - 0.5 * s * (uR[0] - uL[0]);
  }
  KOKKOS_INLINE_FUNCTION void source(const double* x, double t, const double*, double* s) const {
    double sum = 0.0;
    for (int j = 0; j < kForcingTerms; ++j)
      sum += amp[j] * detail::kmath::sin(omega[j] * t + wavenumber[j] * x[0] + phase[j]);
    s[0] = sum;
  }
};

class CombinedEquation : public detail::ConservationLaw<CombinedPhysics> {
 public:
  explicit CombinedEquation(bool burgers)
      : ConservationLaw(burgers ? std::vector<Parameter>{{"nu", kBurgersNu.defaultValue(), 2e-3, 5e-2, &kBurgersNu}}
                                : std::vector<Parameter>{{"alpha", kAlpha.defaultValue(), 0.0, 3.0, &kAlpha},
                                                         {"beta", kBeta.defaultValue(), 0.0, 0.4, &kBeta},
                                                         {"gamma", kGamma.defaultValue(), 0.0, 1.0, &kGamma},
                                                         {"forcing_seed", 0.0, 1.0, 1e6, &kForcingSeed, true}}),
        burgers_(burgers) {}
  std::string equation() const override { return burgers_ ? "burgers" : "combined"; }
  std::vector<std::string> components() const override { return {"u"}; }
  std::vector<int> dimensions() const override { return {1}; }
  std::vector<bool> conservedComponents() const override { return {burgers_ || parameter("forcing_seed") == 0.0}; }
  bool hasStiffPart() const override { return beta() != 0.0 || gamma() != 0.0; }
  double stableTimeStep(ConstCellValues u) const override {
    double umax = 0.0;
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(u.extent(0)); ++k) umax = std::max(umax, std::abs(u(k, 0)));
    const double h = mesh().minCellSize();
    double dt = 1e300;
    const double speed = 2.0 * std::abs(alpha()) * umax;
    if (speed > 0) dt = std::min(dt, 1.0 / (speed * mesh().convectionScale()));
    if (beta() > 0) dt = std::min(dt, 1.0 / (beta() * mesh().diffusionScale()));
    if (gamma() != 0) dt = std::min(dt, 0.3 * h * h * h / std::abs(gamma()));
    return dt;
  }

 protected:
  CombinedPhysics physics() const override {
    CombinedPhysics p;
    p.alpha = alpha();
    p.diffusivity[0] = beta();
    p.dispersion[0] = gamma();
    const double seed = burgers_ ? 0.0 : parameter("forcing_seed");
    if (seed != 0.0) {
      // Five travelling sinusoids as in Brandstetter et al. (2022): A in [-0.5, 0.5],
      // omega in [-0.4, 0.4], wavenumber 2 pi l / L with l in {1, 2, 3}, phase in [0, 2 pi).
      SplitMix64 rng(static_cast<std::uint64_t>(std::llround(seed)), 0xF0Cu);
      const double length = mesh().period()[0];
      p.hasSource = true;
      for (int j = 0; j < kForcingTerms; ++j) {
        p.amp[j] = rng.uniform(-0.5, 0.5);
        p.omega[j] = rng.uniform(-0.4, 0.4);
        p.wavenumber[j] = kTwoPi * static_cast<double>(1 + rng.below(3)) / length;
        p.phase[j] = rng.uniform(0.0, kTwoPi);
      }
    }
    return p;
  }

 private:
  double alpha() const { return burgers_ ? 0.5 : parameter("alpha"); }
  double beta() const { return burgers_ ? parameter("nu") : parameter("beta"); }
  double gamma() const { return burgers_ ? 0.0 : parameter("gamma"); }
  bool burgers_;
};

}  // namespace

std::unique_ptr<FvOperator> makeBurgers() { return std::make_unique<CombinedEquation>(true); }
std::unique_ptr<FvOperator> makeCombinedEquation() { return std::make_unique<CombinedEquation>(false); }

}  // namespace lats::solvers
