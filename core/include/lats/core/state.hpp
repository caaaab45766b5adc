#pragma once
/// \file state.hpp
/// A State: a set of named fields, the time and the step index.

#include <cstdint>
#include <string>
#include <vector>

#include "lats/core/field.hpp"

namespace lats {

/// Fields (kept in insertion order) plus time and step index. Copies are shallow, like
/// Fields; clone() deep-copies every field (used for rollback).
class State {
 public:
  State() = default;
  /// Adds a field; throws ConfigurationError if a field of that name exists.
  void add(Field field);
  bool has(const std::string& name) const;
  /// The field of that name; throws ConfigurationError naming the available fields and
  /// the closest one if it is absent.
  Field& field(const std::string& name);
  const Field& field(const std::string& name) const;
  std::vector<std::string> fieldNames() const;
  std::size_t numFields() const { return fields_.size(); }
  std::vector<Field>& fields() { return fields_; }
  const std::vector<Field>& fields() const { return fields_; }

  double time() const { return time_; }
  void setTime(double t) { time_ = t; }
  std::int64_t stepIndex() const { return step_; }
  void setStepIndex(std::int64_t s) { step_ = s; }

  /// Deep copy of fields, time and step index.
  State clone() const;
  /// Copies values, time and step from `other`, which must have the same field names and
  /// shapes (DimensionMismatchError / ConfigurationError otherwise).
  void copyFrom(const State& other);
  /// A zero-initialised state with the same fields and shapes (time 0, step 0).
  State zerosLike() const;

 private:
  std::vector<Field> fields_;
  double time_ = 0.0;
  std::int64_t step_ = 0;
};

}  // namespace lats
