#pragma once
/// \file assimilation.hpp
/// Umbrella header of the assimilation part of lats::solvers (torch-free).

#include "lats/solvers/assimilation/ensemble.hpp"
#include "lats/solvers/assimilation/filters.hpp"
#include "lats/solvers/assimilation/metrics.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"
#include "lats/solvers/assimilation/observations.hpp"
