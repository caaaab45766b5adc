#include "lats/solvers/neural/component.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>

#include "lats/core/options.hpp"

namespace lats::solvers::neural {
namespace {

const char* typeName(const HyperValue& v) {
  return std::holds_alternative<std::int64_t>(v) ? "an integer"
         : std::holds_alternative<double>(v)     ? "a real"
                                                 : "a text";
}

OptionType optionTypeOf(const HyperValue& v) {
  return std::holds_alternative<std::int64_t>(v) ? OptionType::Int
         : std::holds_alternative<double>(v)     ? OptionType::Real
                                                 : OptionType::String;
}

std::string boundsText(const HyperSpec& s) {
  std::ostringstream os;
  if (std::isfinite(s.min) && std::isfinite(s.max))
    os << "in [" << s.min << ", " << s.max << "]";
  else if (std::isfinite(s.min))
    os << ">= " << s.min;
  else if (std::isfinite(s.max))
    os << "<= " << s.max;
  return os.str();
}

}  // namespace

std::string toText(const HyperValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) {
    std::ostringstream os;
    os << std::setprecision(17) << *d;
    return os.str();
  }
  return std::get<std::string>(value);
}

HyperSpec declareHyper(HyperSpec spec) {
  std::string help = spec.help;
  const auto bounds = boundsText(spec);
  if (!bounds.empty()) help += " (" + bounds + ")";
  Options::declare(OptionSpec{spec.option, optionTypeOf(spec.defaultValue), toText(spec.defaultValue), help, {}});
  return spec;
}

const HyperSpec& headsSpec() {
  static const HyperSpec spec = declareHyper(
      {"num_heads", "model_heads", std::int64_t{4}, "model: attention heads (encoder, decoder, dynamics)", 1, 256});
  return spec;
}

const HyperSpec& frequenciesSpec() {
  static const HyperSpec spec =
      declareHyper({"num_frequencies", "model_frequencies", std::int64_t{8},
                    "model: Fourier frequencies of the position features (encoder, decoder)", 1, 64});
  return spec;
}

namespace {
// Declared at load time, so that the options database knows them before any is read.
[[maybe_unused]] const HyperSpec& kHeads = headsSpec();
[[maybe_unused]] const HyperSpec& kFrequencies = frequenciesSpec();
}  // namespace

std::int64_t ComponentConfig::integer(const std::string& key) const {
  const auto it = values_.find(key);
  if (it == values_.end() || !std::holds_alternative<std::int64_t>(it->second))
    LATS_THROW(ConfigurationError, type_ << ": no integer hyper-parameter '" << key << "'");
  return std::get<std::int64_t>(it->second);
}

double ComponentConfig::real(const std::string& key) const {
  const auto it = values_.find(key);
  if (it == values_.end() || !std::holds_alternative<double>(it->second))
    LATS_THROW(ConfigurationError, type_ << ": no real hyper-parameter '" << key << "'");
  return std::get<double>(it->second);
}

const std::string& ComponentConfig::text(const std::string& key) const {
  const auto it = values_.find(key);
  if (it == values_.end() || !std::holds_alternative<std::string>(it->second))
    LATS_THROW(ConfigurationError, type_ << ": no text hyper-parameter '" << key << "'");
  return std::get<std::string>(it->second);
}

ComponentConfig& ComponentConfig::set(const std::string& key, HyperValue value) {
  values_[key] = std::move(value);
  return *this;
}

bool ComponentConfig::equals(const ComponentConfig& other, const std::vector<HyperSpec>& schema,
                             bool architectureOnly) const {
  if (type_ != other.type_) return false;
  for (const auto& s : schema) {
    if (architectureOnly && s.runtime) continue;
    const auto a = values_.find(s.key), b = other.values_.find(s.key);
    if ((a == values_.end()) != (b == other.values_.end())) return false;
    if (a != values_.end() && a->second != b->second) return false;
  }
  return true;
}

void validate(ComponentConfig& config, const std::vector<HyperSpec>& schema, const std::string& role,
              bool fillDefaults) {
  std::vector<std::string> known;
  for (const auto& s : schema) known.push_back(s.key);
  for (const auto& [key, value] : config.values()) {
    bool found = false;
    for (const auto& s : schema) found = found || s.key == key;
    LATS_CHECK(found, ConfigurationError,
               role << " has no hyper-parameter '" << key << "'." << didYouMean(key, known)
                    << " Its hyper-parameters: " << join(known, ", "));
  }
  for (const auto& s : schema) {
    if (!config.has(s.key)) {
      LATS_CHECK(fillDefaults || s.legacyDefault, ConfigurationError,
                 role << " lacks the hyper-parameter '" << s.key << "' (" << s.help << "); the model description is "
                      << "incomplete");
      config.set(s.key, fillDefaults ? s.defaultValue : *s.legacyDefault);
    }
    HyperValue v = config.values().at(s.key);
    // An integer where a real is expected is fine (JSON writes 1.0 as 1).
    if (std::holds_alternative<double>(s.defaultValue) && std::holds_alternative<std::int64_t>(v)) {
      v = static_cast<double>(std::get<std::int64_t>(v));
      config.set(s.key, v);
    }
    LATS_CHECK(v.index() == s.defaultValue.index(), ConfigurationError,
               role << ": hyper-parameter '" << s.key << "' is " << typeName(v) << " ('" << toText(v) << "'); expected "
                    << typeName(s.defaultValue) << " (option -lats_" << s.option << ")");
    if (std::holds_alternative<std::string>(v)) continue;
    const double x =
        std::holds_alternative<double>(v) ? std::get<double>(v) : static_cast<double>(std::get<std::int64_t>(v));
    LATS_CHECK(std::isfinite(x) && x >= s.min && x <= s.max, ConfigurationError,
               role << ": hyper-parameter '" << s.key << "' is " << toText(v) << "; it must be finite and "
                    << boundsText(s) << " (option -lats_" << s.option << ": " << s.help << ")");
  }
}

ComponentConfig fromOptions(const std::string& type, const std::vector<HyperSpec>& schema, const std::string& role) {
  ComponentConfig c(type);
  for (const auto& s : schema) {
    const std::string text = Options::valueText(s.option);
    const std::string what = "-lats_" + s.option;
    if (std::holds_alternative<std::int64_t>(s.defaultValue))
      c.set(s.key, parseInt(text, what));
    else if (std::holds_alternative<double>(s.defaultValue))
      c.set(s.key, parseReal(text, what));
    else
      c.set(s.key, text);
  }
  validate(c, schema, role, true);
  return c;
}

}  // namespace lats::solvers::neural
