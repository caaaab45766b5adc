#pragma once
/// \file workflows.hpp
/// Umbrella header of lats::workflows.
#include "lats/workflows/rollout_comparison.hpp"
#include "lats/workflows/twin_experiment.hpp"
