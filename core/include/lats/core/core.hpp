#pragma once
/// \file core.hpp
/// Umbrella header of lats::core.

#include "lats/core/block_exchange.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/field.hpp"
#include "lats/core/files.hpp"
#include "lats/core/kokkos.hpp"
#include "lats/core/log.hpp"
#include "lats/core/mesh.hpp"
#include "lats/core/options.hpp"
#include "lats/core/registry.hpp"
#include "lats/core/rhs_operator.hpp"
#include "lats/core/runtime.hpp"
#include "lats/core/state.hpp"
#include "lats/core/strings.hpp"
#include "lats/core/time_stepper.hpp"
#include "lats/core/version.hpp"
