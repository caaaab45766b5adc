#pragma once
/// \file tensor_bridge.hpp
/// The one place where Kokkos Views and torch tensors meet, without copying.

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "lats/core/field.hpp"

namespace lats::solvers::neural {

/// A (size x components) float64 CPU tensor sharing the Field's memory. The tensor keeps the
/// Field's allocation (or its keep-alive owner) alive for as long as the tensor lives, so the
/// Field may go out of scope first. Fences Kokkos first. Not collective.
at::Tensor toTensor(const Field& field);

/// A Field sharing a tensor's memory; the Field keeps the tensor alive. The tensor must be a
/// contiguous 2D float64 CPU tensor with one column per component name (DimensionMismatchError
/// or InvalidValueError otherwise, saying which property differs). Not collective.
Field toField(const at::Tensor& tensor, std::string name, std::vector<std::string> components,
              Location location = Location::Cell);

/// Copies a tensor of any dtype/device with the Field's shape into the Field
/// (DimensionMismatchError when the shapes differ). Not collective.
void copyToField(const at::Tensor& tensor, Field& field);

}  // namespace lats::solvers::neural
