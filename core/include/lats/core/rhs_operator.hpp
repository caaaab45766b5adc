#pragma once
/// \file rhs_operator.hpp
/// "What to integrate": an operator computing du/dt, kept apart from "how" (the stepper).

#include <string>
#include <vector>

#include "lats/core/mesh.hpp"
#include "lats/core/state.hpp"

namespace lats {

/// Computes the time derivative of the evolved fields of a State.
class RhsOperator {
 public:
  virtual ~RhsOperator() = default;
  /// Names of the fields this operator evolves (dudt carries the same fields).
  virtual std::vector<std::string> fieldNames() const = 0;
  /// Called once before the first evaluation; may check that `state` fits the operator.
  virtual void setUp(const Mesh& mesh, const State& state) {}
  /// dudt <- f(t, u). `dudt` has the fields of fieldNames() with the shapes of `u`'s.
  virtual void apply(double t, const State& u, State& dudt) = 0;
};

}  // namespace lats
