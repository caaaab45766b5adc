#include "lats/core/field.hpp"

#include <cmath>

#include "lats/core/error.hpp"
#include "lats/core/strings.hpp"

namespace lats {

const char* toString(Location location) {
  switch (location) {
    case Location::Cell: return "cell";
    case Location::Vertex: return "vertex";
    case Location::Point: return "point";
  }
  return "?";
}

namespace {
std::vector<std::string> defaultComponentNames(const std::string& name, int n) {
  LATS_CHECK(n >= 1, DimensionMismatchError, "field '" << name << "' needs at least one component, got " << n);
  if (n == 1) return {name};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(name + "_" + std::to_string(i));
  return out;
}
void checkShape(const std::string& name, std::int64_t size, const std::vector<std::string>& components) {
  LATS_CHECK(size >= 0, DimensionMismatchError, "field '" << name << "': size must be >= 0, got " << size);
  LATS_CHECK(!components.empty(), DimensionMismatchError, "field '" << name << "' needs at least one component name");
}
}  // namespace

Field::Field(std::string name, std::int64_t size, std::vector<std::string> components, Location location)
    : name_(std::move(name)), location_(location), components_(std::move(components)) {
  checkShape(name_, size, components_);
  view_ = FieldView("lats::Field::" + name_, size, components_.size());
}

Field::Field(std::string name, std::int64_t size, int numComponents, Location location)
    : Field(name, size, defaultComponentNames(name, numComponents), location) {}

Field Field::wrap(std::string name, double* data, std::int64_t size, std::vector<std::string> components,
                  Location location, std::shared_ptr<void> keepAlive) {
  static_assert(Kokkos::SpaceAccessibility<HostSpace, MemSpace>::accessible,
                "Field::wrap(double*) wraps host memory; the default memory space must be host accessible");
  checkShape(name, size, components);
  LATS_CHECK(data != nullptr || size == 0, InvalidValueError,
             "field '" << name << "': cannot wrap a null pointer holding " << size << " entities");
  Field f;
  f.name_ = std::move(name);
  f.location_ = location;
  f.components_ = std::move(components);
  f.view_ = FieldView(data, size, f.components_.size());  // unmanaged: no copy, no ownership
  f.external_ = true;
  f.keepAlive_ = std::move(keepAlive);
  return f;
}

Field Field::wrap(std::string name, FieldView view, std::vector<std::string> components, Location location) {
  LATS_CHECK(components.size() == view.extent(1), DimensionMismatchError,
             "field '" << name << "': " << components.size() << " component names for a view with " << view.extent(1)
                       << " columns");
  Field f;
  f.name_ = std::move(name);
  f.location_ = location;
  f.components_ = std::move(components);
  f.view_ = view;
  f.external_ = true;
  return f;
}

int Field::componentIndex(const std::string& component) const {
  for (std::size_t i = 0; i < components_.size(); ++i)
    if (components_[i] == component) return static_cast<int>(i);
  LATS_THROW(ConfigurationError, "field '" << name_ << "' has no component '" << component << "'."
                                           << didYouMean(component, components_)
                                           << " Components: " << join(components_, ", "));
}

Field Field::clone() const {
  Field f(name_, size(), components_, location_);
  Kokkos::deep_copy(f.view_, view_);
  return f;
}

void Field::copyFrom(const Field& other) {
  LATS_CHECK(other.size() == size() && other.numComponents() == numComponents(), DimensionMismatchError,
             "cannot copy field '" << other.name_ << "' (" << other.size() << " x " << other.numComponents()
                                   << ") into field '" << name_ << "' (" << size() << " x " << numComponents()
                                   << "): shapes differ");
  if (other.view_.data() != view_.data()) Kokkos::deep_copy(view_, other.view_);
}

void Field::fill(double value) { Kokkos::deep_copy(view_, value); }

std::int64_t Field::firstNonFinite() const {
  const auto v = view_;
  const int nc = numComponents();
  std::int64_t first = size();
  Kokkos::parallel_reduce(
      "lats::Field::firstNonFinite", Kokkos::RangePolicy<ExecSpace>(0, size()),
      KOKKOS_LAMBDA(const std::int64_t i, std::int64_t& m) {
        for (int c = 0; c < nc; ++c)
          if (!std::isfinite(v(i, c)) && i < m) m = i;
      },
      Kokkos::Min<std::int64_t>(first));
  return first >= size() ? -1 : first;  // the Min reducer starts at the largest int64
}

}  // namespace lats
