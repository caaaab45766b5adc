#pragma once
/// \file component.hpp
/// What the parts of a latent model (encoders, decoders, latent dynamics, samplers) share:
/// hyper-parameters declared once, the configuration of one component, the sizes every
/// component sees, and the registry that makes a component by name.
///
/// A component type declares each hyper-parameter once, as a HyperSpec: its key in
/// model.json, the -lats_ option that sets it, its default, bounds and help. That one
/// declaration drives the option database (the option is declared with it), the checkpoint
/// (the key is written and read with it), validation (bounds) and equality (architecture
/// keys vs run-time settings). No parallel structs hold the same numbers. Torch-free.

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "lats/core/error.hpp"
#include "lats/core/strings.hpp"

namespace lats::solvers::neural {

/// A hyper-parameter value: an integer, a real or a text.
using HyperValue = std::variant<std::int64_t, double, std::string>;

/// Declaration of one hyper-parameter of a component type.
struct HyperSpec {
  std::string key;          ///< key in the component's block of model.json
  std::string option;       ///< the option that sets it, without -lats_ ("model_tokens")
  HyperValue defaultValue;  ///< also fixes the type
  std::string help;
  double min = -std::numeric_limits<double>::infinity();  ///< inclusive bounds of numbers
  double max = std::numeric_limits<double>::infinity();
  /// A run-time setting (e.g. a chunk size): stored in the checkpoint as the default, may be
  /// changed when the model is used, and is not part of the architecture.
  bool runtime = false;
  /// Value when the key is absent from an older checkpoint (unset: the key is required).
  std::optional<HyperValue> legacyDefault;
};

/// Declares the option of `spec` in the options database and returns the spec. Call it once
/// per HyperSpec, at namespace scope in the component's .cpp (like every other option).
HyperSpec declareHyper(HyperSpec spec);

/// Hyper-parameters that several components read from one option: attention heads
/// (-lats_model_heads) and Fourier frequencies of position features (-lats_model_frequencies).
/// Declared here once and listed in the schema of each component that has them.
const HyperSpec& headsSpec();
const HyperSpec& frequenciesSpec();

/// The configuration of one component: its registered type and its hyper-parameter values.
class ComponentConfig {
 public:
  ComponentConfig() = default;
  explicit ComponentConfig(std::string type) : type_(std::move(type)) {}
  const std::string& type() const { return type_; }
  const std::map<std::string, HyperValue>& values() const { return values_; }
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  /// Typed access; ConfigurationError naming the component and key if absent or of another type.
  std::int64_t integer(const std::string& key) const;
  double real(const std::string& key) const;
  const std::string& text(const std::string& key) const;
  /// Sets a value (no check; validate() checks against the schema).
  ComponentConfig& set(const std::string& key, HyperValue value);
  /// Equal type and values (`architectureOnly`: ignoring the schema's run-time settings).
  bool equals(const ComponentConfig& other, const std::vector<HyperSpec>& schema, bool architectureOnly) const;
  bool operator==(const ComponentConfig& other) const { return type_ == other.type_ && values_ == other.values_; }
  bool operator!=(const ComponentConfig& other) const { return !(*this == other); }

 private:
  std::string type_;
  std::map<std::string, HyperValue> values_;
};

/// "key=value" of a value, for messages and fingerprints (reals with 17 digits).
std::string toText(const HyperValue& value);

/// Checks every value against `schema`: an unknown key (with the closest known one), a
/// wrong type, or a number out of bounds is a ConfigurationError that names `role`, the
/// key, the value, the bounds and the option. An absent key takes its default when
/// `fillDefaults`, else its legacy default, else is an error (an incomplete description).
void validate(ComponentConfig& config, const std::vector<HyperSpec>& schema, const std::string& role,
              bool fillDefaults);
/// The values of `schema` from the options database (defaults where unset), validated.
ComponentConfig fromOptions(const std::string& type, const std::vector<HyperSpec>& schema, const std::string& role);

/// The sizes every component of a model is built for.
struct ModelShape {
  std::int64_t spatialDim = 2;
  std::int64_t numComponents = 1;  ///< values per point, over all fields
  std::int64_t numParameters = 0;  ///< PDE parameters the dynamics is conditioned on
  std::int64_t numTokens = 16;     ///< latent tokens (set by the encoder)
  std::int64_t tokenDim = 64;      ///< width of the encoder's tokens (set by the encoder)
  std::int64_t latentDim = 16;     ///< values per latent token
  std::int64_t history = 1;        ///< latent states the dynamics sees
  /// Where the model's files are (its checkpoint directory; empty: the working directory).
  /// A component that reads a file named in its configuration resolves relative names here.
  std::string directory;
};

/// Name -> (help, hyper-parameters, factory) of the components of one role, in the spirit of
/// PETSc's XXXRegister. Factories take the component's validated configuration and the
/// model's shape.
template <class Base, class... Args>
class ComponentRegistry {
 public:
  using Factory = std::function<std::shared_ptr<Base>(const ComponentConfig&, Args...)>;
  struct Entry {
    std::string help;
    std::vector<HyperSpec> schema;
    Factory factory;
  };
  explicit ComponentRegistry(std::string what) : what_(std::move(what)) {}

  /// Registers `name` (idempotent for the same name: a second registration is ignored).
  void add(const std::string& name, std::string help, std::vector<HyperSpec> schema, Factory factory) {
    if (!entries_.count(name)) entries_[name] = Entry{std::move(help), std::move(schema), std::move(factory)};
  }
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  /// The entry of `name`; ConfigurationError with the closest name and the list otherwise.
  const Entry& entry(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end())
      LATS_THROW(ConfigurationError, "unknown " << what_ << " '" << name << "'." << didYouMean(name, names())
                                                << " Registered: " << join(names(), ", "));
    return it->second;
  }
  /// Validates `config` against its type's schema (absent keys: legacy defaults only) and
  /// builds it.
  std::shared_ptr<Base> create(ComponentConfig config, Args... args) const {
    const auto& e = entry(config.type());
    validate(config, e.schema, what_ + " '" + config.type() + "'", false);
    return e.factory(config, args...);
  }
  /// The configuration of `name` with every hyper-parameter at its default.
  ComponentConfig defaults(const std::string& name) const {
    ComponentConfig c(name);
    validate(c, entry(name).schema, what_ + " '" + name + "'", true);
    return c;
  }
  /// The configuration of `name` from the options database.
  ComponentConfig fromOptions(const std::string& name) const {
    return neural::fromOptions(name, entry(name).schema, what_ + " '" + name + "'");
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : entries_) out.push_back(k);
    return out;
  }
  const std::string& what() const { return what_; }

 private:
  std::string what_;
  std::map<std::string, Entry> entries_;
};

}  // namespace lats::solvers::neural
