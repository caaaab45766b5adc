#pragma once
/// \file solvers.hpp
/// Umbrella header of lats::solvers without torch; include lats/solvers/neural/neural.hpp
/// for the LibTorch components.
