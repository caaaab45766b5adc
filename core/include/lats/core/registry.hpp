#pragma once
/// \file registry.hpp
/// String-keyed registries of run-time selectable types, in the spirit of PETSc's TSRegister.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/error.hpp"
#include "lats/core/strings.hpp"

namespace lats {

/// Maps names to factories of Base. `what` names the kind in messages ("time stepper").
template <class Base>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Base>()>;
  explicit Registry(std::string what) : what_(std::move(what)) {}

  /// Registers `name`; throws ConfigurationError if it is taken.
  void add(const std::string& name, const std::string& help, Factory factory) {
    if (entries_.count(name))
      LATS_THROW(ConfigurationError, "a " << what_ << " named '" << name << "' is already registered");
    entries_[name] = Entry{help, std::move(factory)};
  }
  /// Registers `name` unless it is present already (idempotent registration functions).
  void addIfAbsent(const std::string& name, const std::string& help, Factory factory) {
    if (!entries_.count(name)) add(name, help, std::move(factory));
  }
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  /// Creates an instance; an unknown name throws ConfigurationError with the closest
  /// registered name and the full list.
  std::unique_ptr<Base> create(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      LATS_THROW(ConfigurationError, "unknown "
                                         << what_ << " '" << name << "'." << didYouMean(name, names())
                                         << " Registered: " << (entries_.empty() ? "(none)" : join(names(), ", ")));
    }
    return it->second.factory();
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : entries_) out.push_back(k);
    return out;
  }
  const std::string& help(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) LATS_THROW(ConfigurationError, "unknown " << what_ << " '" << name << "'");
    return it->second.help;
  }

 private:
  struct Entry {
    std::string help;
    Factory factory;
  };
  std::string what_;
  std::map<std::string, Entry> entries_;
};

}  // namespace lats
