#include "lats/solvers/classical/equations.hpp"
#include "lats/solvers/classical/fv_operator.hpp"

#include "lats/core/options.hpp"

namespace lats::solvers {

void registerFvOperators() {
  auto& r = fvOperators();
  r.addIfAbsent("advection_diffusion", "u_t + a . grad u = nu lap u (1D, 2D)", makeAdvectionDiffusion);
  r.addIfAbsent("burgers", "u_t + (u^2/2)_x = nu u_xx (1D)", makeBurgers);
  r.addIfAbsent("combined", "u_t + (alpha u^2 - beta u_x + gamma u_xx)_x = forcing (1D)", makeCombinedEquation);
  r.addIfAbsent("gray_scott", "Gray-Scott reaction-diffusion, species u and v (1D, 2D)", makeGrayScott);
  r.addIfAbsent("wave", "wave equation as a first-order system in p, vx, vy (2D)", makeWave);
  r.addIfAbsent("shallow_water", "shallow water in h, hu, hv; HLL or Rusanov flux (2D)", makeShallowWater);
  r.addIfAbsent("kuramoto_sivashinsky", "u_t + (u^2/2)_x + u_xx + nu4 u_xxxx = 0 (1D periodic)",
                makeKuramotoSivashinsky);
  r.addIfAbsent("navier_stokes", "2D incompressible Navier-Stokes, vorticity-streamfunction (periodic)",
                makeNavierStokes);
}

namespace {
const StringOption kEquation{"equation", "burgers", "equation to solve (lats info lists the registered ones)"};
}  // namespace

std::string equationFromOptions() { return kEquation.get(); }

namespace {
// Registered when the library is loaded, so -lats_equation works without an init call.
const bool kRegistered = (registerFvOperators(), true);
}  // namespace

}  // namespace lats::solvers
