#include "lats/core/state.hpp"

#include "lats/core/error.hpp"
#include "lats/core/strings.hpp"

namespace lats {

void State::add(Field field) {
  LATS_CHECK(!has(field.name()), ConfigurationError,
             "state already has a field named '" << field.name() << "'; field names must be unique");
  fields_.push_back(std::move(field));
}

bool State::has(const std::string& name) const {
  for (const auto& f : fields_)
    if (f.name() == name) return true;
  return false;
}

std::vector<std::string> State::fieldNames() const {
  std::vector<std::string> names;
  for (const auto& f : fields_) names.push_back(f.name());
  return names;
}

Field& State::field(const std::string& name) {
  for (auto& f : fields_)
    if (f.name() == name) return f;
  LATS_THROW(ConfigurationError, "state has no field '" << name << "'." << didYouMean(name, fieldNames()) << " Fields: "
                                                        << (fields_.empty() ? "(none)" : join(fieldNames(), ", ")));
}

const Field& State::field(const std::string& name) const { return const_cast<State*>(this)->field(name); }

State State::clone() const {
  State s;
  for (const auto& f : fields_) s.fields_.push_back(f.clone());
  s.time_ = time_;
  s.step_ = step_;
  return s;
}

void State::copyFrom(const State& other) {
  LATS_CHECK(other.fields_.size() == fields_.size(), DimensionMismatchError,
             "cannot copy a state with " << other.fields_.size() << " fields (" << join(other.fieldNames(), ", ")
                                         << ") into one with " << fields_.size() << " (" << join(fieldNames(), ", ")
                                         << ")");
  for (auto& f : fields_) f.copyFrom(other.field(f.name()));
  time_ = other.time_;
  step_ = other.step_;
}

State State::zerosLike() const {
  State s;
  for (const auto& f : fields_) s.fields_.emplace_back(f.name(), f.size(), f.componentNames(), f.location());
  return s;
}

}  // namespace lats
