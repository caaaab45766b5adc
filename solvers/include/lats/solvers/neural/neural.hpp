#pragma once
/// \file neural.hpp
/// Umbrella header of the neural part of lats::solvers (includes torch headers).

#include "lats/solvers/neural/tensor_bridge.hpp"
