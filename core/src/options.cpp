#include "lats/core/options.hpp"

#include <petscsys.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <map>
#include <mutex>
#include <ostream>
#include <sstream>

#include "lats/core/error.hpp"
#include "lats/core/petsc.hpp"
#include "lats/core/strings.hpp"

namespace lats {
namespace {

std::map<std::string, OptionSpec>& declarations() {
  static std::map<std::string, OptionSpec> d;
  return d;
}
std::mutex& declarationMutex() {
  static std::mutex m;
  return m;
}

thread_local std::string currentPrefix;

std::string fullName(const std::string& name) { return OptionsPrefix::fullName(name); }

void requireDatabase() {
  PetscBool initialized = PETSC_FALSE;
  PetscInitialized(&initialized);
  if (!initialized)
    LATS_THROW(ConfigurationError,
               "the options database is not available: PETSc is not initialised; "
               "create a lats::Runtime before reading options");
}

std::vector<std::string> declaredNames() {
  std::lock_guard<std::mutex> lock(declarationMutex());
  std::vector<std::string> names;
  for (const auto& [k, v] : declarations()) names.push_back(k);
  return names;
}

// Raw text of an option; returns false when absent. A flag given without a value yields "".
bool rawValue(const std::string& name, std::string& value) {
  requireDatabase();
  char buffer[4096] = {0};
  PetscBool set = PETSC_FALSE;
  LATS_PETSC_CALL(PetscOptionsGetString(nullptr, currentPrefix.empty() ? nullptr : currentPrefix.c_str(),
                                        (std::string(Options::kPrefix) + name).c_str(), buffer, sizeof(buffer), &set));
  if (!set) return false;
  value = buffer;
  return true;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string realText(double v) {
  std::ostringstream os;
  os << std::setprecision(17) << v;
  return os.str();
}

template <class T>
OptionType optionType();
template <>
OptionType optionType<std::int64_t>() {
  return OptionType::Int;
}
template <>
OptionType optionType<double>() {
  return OptionType::Real;
}
template <>
OptionType optionType<bool>() {
  return OptionType::Bool;
}
template <>
OptionType optionType<std::string>() {
  return OptionType::String;
}

std::string toText(std::int64_t v) { return std::to_string(v); }
std::string toText(double v) { return realText(v); }
std::string toText(bool v) { return v ? "true" : "false"; }
std::string toText(const std::string& v) { return v; }

template <class T>
T parseAs(const std::string& text, const std::string& what);
template <>
std::int64_t parseAs<std::int64_t>(const std::string& t, const std::string& w) {
  return parseInt(t, w);
}
template <>
double parseAs<double>(const std::string& t, const std::string& w) {
  return parseReal(t, w);
}
template <>
bool parseAs<bool>(const std::string& t, const std::string& w) {
  return parseBool(t, w);
}
template <>
std::string parseAs<std::string>(const std::string& t, const std::string&) {
  return t;
}

}  // namespace

const char* toString(OptionType type) {
  switch (type) {
    case OptionType::Int: return "int";
    case OptionType::Real: return "real";
    case OptionType::Bool: return "bool";
    case OptionType::String: return "string";
    case OptionType::Enum: return "choice";
  }
  return "?";
}

std::int64_t parseInt(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE)
    LATS_THROW(ConfigurationError, what << " expects an integer, got '" << text << "'");
  return static_cast<std::int64_t>(v);
}

double parseReal(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v))
    LATS_THROW(ConfigurationError, what << " expects a finite real number, got '" << text << "'");
  return v;
}

bool parseBool(const std::string& text, const std::string& what) {
  const std::string t = lower(text);
  if (t.empty() || t == "1" || t == "true" || t == "yes" || t == "on") return true;
  if (t == "0" || t == "false" || t == "no" || t == "off") return false;
  LATS_THROW(ConfigurationError, what << " expects a boolean (true/false, 1/0, yes/no, on/off), got '" << text << "'");
}

void Options::declare(const OptionSpec& spec) {
  std::lock_guard<std::mutex> lock(declarationMutex());
  auto& d = declarations();
  auto it = d.find(spec.name);
  if (it != d.end()) {
    const OptionSpec& old = it->second;
    if (old.type != spec.type || old.defaultValue != spec.defaultValue || old.choices != spec.choices)
      LATS_THROW(ConfigurationError, "option " << fullName(spec.name)
                                               << " is declared twice with different type, default "
                                               << "or choices ('" << old.defaultValue << "' vs '" << spec.defaultValue
                                               << "'); declare each option in one place");
    return;
  }
  d.emplace(spec.name, spec);
}

std::vector<OptionSpec> Options::declared() {
  std::lock_guard<std::mutex> lock(declarationMutex());
  std::vector<OptionSpec> out;
  for (const auto& [k, v] : declarations()) out.push_back(v);
  return out;
}

bool Options::isDeclared(const std::string& name) {
  std::lock_guard<std::mutex> lock(declarationMutex());
  return declarations().count(name) > 0;
}

OptionSpec Options::spec(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(declarationMutex());
    auto it = declarations().find(name);
    if (it != declarations().end()) return it->second;
  }
  const std::string best = closestMatch(name, declaredNames());
  LATS_THROW(ConfigurationError, "unknown option " << fullName(name) << "."
                                                   << (best.empty() ? "" : " Did you mean " + fullName(best) + "?")
                                                   << " Run with -help to list the LaTS options.");
}

OptionsPrefix::OptionsPrefix(std::string prefix) : previous_(currentPrefix) { currentPrefix = std::move(prefix); }

OptionsPrefix::~OptionsPrefix() { currentPrefix = previous_; }

const std::string& OptionsPrefix::current() { return currentPrefix; }

std::string OptionsPrefix::fullName(const std::string& name) {
  return "-" + currentPrefix + std::string(Options::kPrefix).substr(1) + name;
}

bool Options::isSet(const std::string& name) {
  std::string v;
  return rawValue(name, v);
}

std::string Options::valueText(const std::string& name) {
  const OptionSpec s = spec(name);
  std::string v;
  if (!rawValue(name, v)) return s.defaultValue;
  if (v.empty() && s.type == OptionType::Bool) return "true";
  return v;
}

void Options::set(const std::string& name, const std::string& value) {
  requireDatabase();
  LATS_PETSC_CALL(PetscOptionsSetValue(nullptr, fullName(name).c_str(), value.empty() ? nullptr : value.c_str()));
}

void Options::clear(const std::string& name) {
  requireDatabase();
  LATS_PETSC_CALL(PetscOptionsClearValue(nullptr, fullName(name).c_str()));
}

std::vector<std::string> Options::present() {
  requireDatabase();
  char* all = nullptr;
  LATS_PETSC_CALL(PetscOptionsGetAll(nullptr, &all));
  std::istringstream in(all ? all : "");
  std::vector<std::string> names;
  std::string token;
  const std::string prefix = "-" + currentPrefix + std::string(kPrefix).substr(1);  // -[p_]lats_
  while (in >> token) {
    if (token.compare(0, prefix.size(), prefix) == 0 && token.size() > prefix.size())
      names.push_back(token.substr(prefix.size()));
  }
  PetscFree(all);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

namespace {
std::vector<std::string>& petscPrefixes() {
  static std::vector<std::string> prefixes;
  return prefixes;
}
}  // namespace

void Options::addPetscPrefix(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(declarationMutex());
  auto& p = petscPrefixes();
  if (std::find(p.begin(), p.end(), prefix) == p.end()) p.push_back(prefix);
}

void Options::checkUnknown(MPI_Comm comm) {
  std::string failure;
  try {
    for (const auto& name : present()) {
      if (isDeclared(name)) continue;
      bool petsc = false;
      {
        std::lock_guard<std::mutex> lock(declarationMutex());
        for (const auto& p : petscPrefixes()) petsc = petsc || name.compare(0, p.size(), p) == 0;
      }
      if (petsc) continue;  // options of a PETSc object whose prefix starts with -lats_
      spec(name);           // throws with the suggestion
    }
  } catch (const Error& e) {
    failure = e.what();
  }
  agreeOnFailure(comm, failure, ErrorKind::Configuration, LATS_HERE);
}

void Options::printHelp(std::ostream& os) {
  os << "LaTS options (prefix " << kPrefix << "):\n";
  for (const auto& s : declared()) {
    std::string head = "  " + fullName(s.name) + " <" + toString(s.type) + ">";
    os << std::left << std::setw(40) << head << " " << s.help;
    if (!s.choices.empty()) os << " [" << join(s.choices, "|") << "]";
    os << " (default: " << (s.defaultValue.empty() ? "\"\"" : s.defaultValue) << ")\n";
  }
}

void Options::printMarkdown(std::ostream& os) {
  os << "| option | type | default | description |\n|---|---|---|---|\n";
  for (const auto& s : declared()) {
    os << "| `" << fullName(s.name) << "` | " << toString(s.type) << " | `" << s.defaultValue << "` | " << s.help;
    if (!s.choices.empty()) os << " (one of: " << join(s.choices, ", ") << ")";
    os << " |\n";
  }
}

void Options::view(std::ostream& os) {
  os << "LaTS configuration:\n";
  for (const auto& s : declared()) {
    const bool set = isSet(s.name);
    os << "  " << std::left << std::setw(36) << fullName(s.name) << " = " << valueText(s.name)
       << (set ? "" : "  (default)") << "\n";
  }
}

template <class T>
Option<T>::Option(std::string name, T defaultValue, std::string help)
    : name_(std::move(name)), default_(std::move(defaultValue)) {
  Options::declare(OptionSpec{name_, optionType<T>(), toText(default_), std::move(help), {}});
}

template <class T>
T Option<T>::get() const {
  std::string v;
  if (!rawValue(name_, v)) return default_;
  if (v.empty() && !std::is_same<T, bool>::value && !std::is_same<T, std::string>::value)
    LATS_THROW(ConfigurationError, "option " << fullName(name_) << " needs a value (" << toString(optionType<T>())
                                             << "), e.g. " << fullName(name_) << " " << toText(default_));
  return parseAs<T>(v, "option " + fullName(name_));
}

template <class T>
bool Option<T>::isSet() const {
  return Options::isSet(name_);
}

template class Option<std::int64_t>;
template class Option<double>;
template class Option<bool>;
template class Option<std::string>;

EnumOption::EnumOption(std::string name, std::string defaultValue, std::vector<std::string> choices, std::string help)
    : name_(std::move(name)), default_(std::move(defaultValue)), choices_(std::move(choices)) {
  if (std::find(choices_.begin(), choices_.end(), default_) == choices_.end())
    LATS_THROW(ConfigurationError,
               "option " << fullName(name_) << ": default '" << default_ << "' is not one of " << join(choices_, ", "));
  Options::declare(OptionSpec{name_, OptionType::Enum, default_, std::move(help), choices_});
}

std::string EnumOption::get() const {
  std::string v;
  if (!rawValue(name_, v)) return default_;
  if (std::find(choices_.begin(), choices_.end(), v) != choices_.end()) return v;
  LATS_THROW(ConfigurationError, "option " << fullName(name_) << " got '" << v << "'; expected one of "
                                           << join(choices_, ", ") << "." << didYouMean(v, choices_));
}

bool EnumOption::isSet() const { return Options::isSet(name_); }

}  // namespace lats
