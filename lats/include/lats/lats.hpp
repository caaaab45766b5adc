#pragma once
/// \file lats.hpp
/// Everything of LaTS that needs no torch header. Neural components:
/// lats/solvers/neural/neural.hpp.

#include "lats/core/core.hpp"
#include "lats/coupling/coupling.hpp"
#include "lats/meshio/meshio.hpp"
#include "lats/solvers/solvers.hpp"
#include "lats/workflows/workflows.hpp"

namespace lats {
/// Registers every run-time selectable type of every component (steppers, ...). Idempotent;
/// loading liblats does it too. Not collective.
void registerAll();
}  // namespace lats
