#pragma once
/// \file solvers.hpp
/// Umbrella header of lats::solvers without torch; include lats/solvers/neural/neural.hpp
/// for the LibTorch components.

#include "lats/solvers/assimilation/assimilation.hpp"
#include "lats/solvers/classical/equations.hpp"
#include "lats/solvers/classical/fv_operator.hpp"
#include "lats/solvers/classical/fv_solver.hpp"
#include "lats/solvers/classical/initial_conditions.hpp"
