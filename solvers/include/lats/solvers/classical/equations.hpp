#pragma once
/// \file equations.hpp
/// The built-in equations, as finite-volume operators (see doc/equations/ for each one's
/// equation, parameters, boundary conditions and verification numbers). They are also
/// registered by name in fvOperators() (-lats_equation <name>).

#include <memory>

#include "lats/solvers/classical/fv_operator.hpp"

namespace lats::solvers {

/// "advection_diffusion": u_t + a . grad u = nu lap u, constant velocity a = (vx, vy); 1D, 2D.
std::unique_ptr<FvOperator> makeAdvectionDiffusion();
/// "burgers": u_t + (u^2/2)_x = nu u_xx; 1D.
std::unique_ptr<FvOperator> makeBurgers();
/// "combined": u_t + (alpha u^2 - beta u_x + gamma u_xx)_x = delta(t, x), with delta a sum of
/// five random travelling sinusoids drawn from forcing_seed (0: no forcing); 1D.
std::unique_ptr<FvOperator> makeCombinedEquation();
/// "gray_scott": u_t = Du lap u - u v^2 + F (1 - u), v_t = Dv lap v + u v^2 - (F + k) v; 1D, 2D.
std::unique_ptr<FvOperator> makeGrayScott();
/// "wave": p_t + c div v = 0, v_t + c grad p = 0 (the wave equation as a first-order system);
/// walls reflect; 2D.
std::unique_ptr<FvOperator> makeWave();
/// "shallow_water": h_t + div(h v) = 0, (h v)_t + div(h v v + g h^2/2 I) = 0; HLLC, HLL or Rusanov
/// flux (-lats_shallow_water_flux); walls reflect; 2D.
std::unique_ptr<FvOperator> makeShallowWater();
/// "kuramoto_sivashinsky": u_t + (u^2/2)_x + u_xx + nu4 u_xxxx = 0 on a periodic interval
/// (its length, e.g. 22 or 32 pi, sets the dynamics); the linear terms are the stiff part; 1D.
std::unique_ptr<FvOperator> makeKuramotoSivashinsky();
/// "navier_stokes": w_t + v . grad w = nu lap w + curl f, -lap psi = w (a KSP solve,
/// options prefix -navier_stokes_), v = (psi_y, -psi_x), optional Kolmogorov forcing
/// f = (A sin(k y), 0); periodic 2D meshes.
std::unique_ptr<FvOperator> makeNavierStokes();

}  // namespace lats::solvers
