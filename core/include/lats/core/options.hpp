#pragma once
/// \file options.hpp
/// Typed access to the PETSc options database under the -lats_ prefix.
///
/// Options are declared once, as namespace-scope objects in the .cpp file of the component
/// that reads them, with a default and help text:
///
///     const lats::IntOption kThreads{"threads", 0, "torch threads per rank (0: automatic)"};
///     ...
///     int n = kThreads.get();   // reads -lats_threads, or 0
///
/// Because every option is declared up front, Options::checkUnknown() can reject any
/// -lats_* option that no component declares and suggest the closest declared name.

#include <mpi.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace lats {

enum class OptionType { Int, Real, Bool, String, Enum };
const char* toString(OptionType type);

/// Declaration of one option. `name` excludes the "-lats_" prefix.
struct OptionSpec {
  std::string name;
  OptionType type = OptionType::String;
  std::string defaultValue;
  std::string help;
  std::vector<std::string> choices;  ///< allowed values of an Enum option
};

/// The options database seen through LaTS declarations. All functions read the global
/// PETSc options database, which must be initialised (lats::Runtime does that).
class Options {
 public:
  static constexpr const char* kPrefix = "-lats_";
  /// Registers a declaration. Redeclaring an option identically is allowed; a conflicting
  /// redeclaration throws ConfigurationError.
  static void declare(const OptionSpec& spec);
  /// All declarations, sorted by name.
  static std::vector<OptionSpec> declared();
  static bool isDeclared(const std::string& name);
  /// The declaration of `name` (throws ConfigurationError with a suggestion if undeclared).
  static OptionSpec spec(const std::string& name);

  /// Raw access by declared name: whether it is set, and its value as text (the default if unset).
  static bool isSet(const std::string& name);
  static std::string valueText(const std::string& name);
  /// Sets or removes a value in the database (names without prefix). Not collective.
  static void set(const std::string& name, const std::string& value);
  static void clear(const std::string& name);

  /// Every -lats_* option present in the database (names without prefix; under an
  /// OptionsPrefix scope, every -<prefix>lats_* option).
  static std::vector<std::string> present();
  /// Names starting with `prefix` (after -lats_) belong to a PETSc object whose options
  /// prefix begins with lats_ (e.g. "classical_ts_" for the TS plugin's inner TS):
  /// checkUnknown() leaves them to PETSc.
  static void addPetscPrefix(const std::string& prefix);
  /// Throws ConfigurationError on every rank if any -lats_* option in the database (under
  /// an OptionsPrefix scope: -<prefix>lats_*) is not declared, naming it and the closest
  /// declared option. Collective over `comm`.
  static void checkUnknown(MPI_Comm comm);
  /// Writes one line per declared option: name, type, default, choices, help.
  static void printHelp(std::ostream& os);
  /// Writes the declarations as a Markdown table (the source of doc/options.md).
  static void printMarkdown(std::ostream& os);
  /// Writes the effective configuration: each declared option with its value and whether
  /// it was set or defaulted.
  static void view(std::ostream& os);
};

/// Reads (and writes) of LaTS options during its lifetime use a PETSc object's options
/// prefix, as PETSc objects do: under OptionsPrefix("p_"), the option declared as "mode" is
/// -p_lats_mode, not -lats_mode (no fall-back, like PETSc). The TS type "lats" opens one
/// with its TS's prefix, so two lats TS objects in one program are configured apart.
/// Scopes nest (the innermost prefix applies) and are per thread. Not collective.
class OptionsPrefix {
 public:
  explicit OptionsPrefix(std::string prefix);
  ~OptionsPrefix();
  OptionsPrefix(const OptionsPrefix&) = delete;
  OptionsPrefix& operator=(const OptionsPrefix&) = delete;
  /// The prefix in force ("" outside any scope).
  static const std::string& current();
  /// The option as given on the command line under the current prefix: "-p_lats_mode".
  static std::string fullName(const std::string& name);

 private:
  std::string previous_;
};

/// A declared option of value type T (std::int64_t, double, bool, std::string).
template <class T>
class Option {
 public:
  Option(std::string name, T defaultValue, std::string help);
  const std::string& name() const { return name_; }
  const T& defaultValue() const { return default_; }
  /// The value from the database, or the default. Throws ConfigurationError if the text
  /// cannot be parsed as T. Not collective.
  T get() const;
  bool isSet() const;

 private:
  std::string name_;
  T default_;
};

using IntOption = Option<std::int64_t>;
using RealOption = Option<double>;
using BoolOption = Option<bool>;
using StringOption = Option<std::string>;

/// A string option restricted to a fixed set of choices.
class EnumOption {
 public:
  EnumOption(std::string name, std::string defaultValue, std::vector<std::string> choices, std::string help);
  const std::string& name() const { return name_; }
  /// The chosen value; throws ConfigurationError (with a suggestion) for a value not in the choices.
  std::string get() const;
  bool isSet() const;
  const std::vector<std::string>& choices() const { return choices_; }

 private:
  std::string name_;
  std::string default_;
  std::vector<std::string> choices_;
};

/// Parsers shared by options and the CLI; throw ConfigurationError naming `what`.
std::int64_t parseInt(const std::string& text, const std::string& what);
double parseReal(const std::string& text, const std::string& what);
bool parseBool(const std::string& text, const std::string& what);

}  // namespace lats
