#pragma once
/// \file field.hpp
/// A named field of values on mesh entities: a Kokkos View (entities x components).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/kokkos.hpp"

namespace lats {

/// Where a field's values live.
enum class Location { Cell, Vertex, Point };
const char* toString(Location location);

/// A named (entities x components) View with its location and component names. Copies are
/// shallow (they share the values, like Views); clone() makes a deep copy. A Field can wrap
/// memory owned by someone else (a PETSc Vec array, an OpenFOAM field) without copying.
class Field {
 public:
  Field() = default;
  /// Allocates a zero-initialised field with the given component names (at least one).
  Field(std::string name, std::int64_t size, std::vector<std::string> components, Location location = Location::Cell);
  /// Allocates with `numComponents` components named "<name>" (one) or "<name>_<i>".
  Field(std::string name, std::int64_t size, int numComponents, Location location = Location::Cell);

  /// Wraps external memory holding size*components doubles, entity-major, without copying.
  /// The memory must outlive every copy of the Field, unless `keepAlive` owns it: the Field
  /// holds `keepAlive` until its last copy is gone. Throws InvalidValueError for a null
  /// pointer with a non-zero size.
  static Field wrap(std::string name, double* data, std::int64_t size, std::vector<std::string> components,
                    Location location = Location::Cell, std::shared_ptr<void> keepAlive = {});
  /// Shares an existing View (no copy).
  static Field wrap(std::string name, FieldView view, std::vector<std::string> components,
                    Location location = Location::Cell);

  const std::string& name() const { return name_; }
  Location location() const { return location_; }
  std::int64_t size() const { return static_cast<std::int64_t>(view_.extent(0)); }
  int numComponents() const { return static_cast<int>(view_.extent(1)); }
  const std::vector<std::string>& componentNames() const { return components_; }
  /// Index of a component by name; throws ConfigurationError with a suggestion if absent.
  int componentIndex(const std::string& component) const;
  FieldView view() const { return view_; }
  double* data() const { return view_.data(); }
  /// True if the values live in memory this Field did not allocate.
  bool wrapsExternalMemory() const { return external_; }

  /// A deep copy in a new allocation (never wraps).
  Field clone() const;
  /// Copies values from `other`; throws DimensionMismatchError unless sizes and component
  /// counts agree.
  void copyFrom(const Field& other);
  void fill(double value);
  /// Local index of the first non-finite value (entity), or -1 if all are finite. Local.
  std::int64_t firstNonFinite() const;

 private:
  std::string name_;
  Location location_ = Location::Cell;
  std::vector<std::string> components_;
  FieldView view_;
  bool external_ = false;
  std::shared_ptr<void> keepAlive_;
};

}  // namespace lats
