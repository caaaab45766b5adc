#pragma once
/// \file error.hpp
/// The LaTS exception hierarchy, the LATS_CHECK macros and collective error agreement.

#include <mpi.h>

#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace lats {

/// What kind of error an exception is; travels between ranks in collective checks.
enum class ErrorKind { Generic, Configuration, DimensionMismatch, FileFormat, ModelMismatch, InvalidValue };

/// Source location of the code that raised an error.
struct SourceLocation {
  const char* file = "";
  int line = 0;
  const char* function = "";
};

/// Root of every exception LaTS throws. what() is the message alone; the source location
/// is kept separately (file(), line(), function()) and included by describe().
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, SourceLocation where = {}, ErrorKind kind = ErrorKind::Generic);
  const char* file() const noexcept { return where_.file; }
  int line() const noexcept { return where_.line; }
  const char* function() const noexcept { return where_.function; }
  ErrorKind kind() const noexcept { return kind_; }
  /// "message (raised in function at file:line)".
  std::string describe() const;

 private:
  SourceLocation where_;
  ErrorKind kind_;
};

/// An option, registry name or combination of settings is wrong.
class ConfigurationError : public Error {
 public:
  ConfigurationError(const std::string& m, SourceLocation w = {}) : Error(m, w, ErrorKind::Configuration) {}
};
/// Sizes, shapes, component counts or spatial dimensions do not agree.
class DimensionMismatchError : public Error {
 public:
  DimensionMismatchError(const std::string& m, SourceLocation w = {}) : Error(m, w, ErrorKind::DimensionMismatch) {}
};
/// A file is missing, truncated, corrupt or of an unsupported layout or version.
class FileFormatError : public Error {
 public:
  FileFormatError(const std::string& m, SourceLocation w = {}) : Error(m, w, ErrorKind::FileFormat) {}
};
/// A model does not fit the mesh, fields or options it is used with.
class ModelMismatchError : public Error {
 public:
  ModelMismatchError(const std::string& m, SourceLocation w = {}) : Error(m, w, ErrorKind::ModelMismatch) {}
};
/// A value is out of its allowed range or not finite.
class InvalidValueError : public Error {
 public:
  InvalidValueError(const std::string& m, SourceLocation w = {}) : Error(m, w, ErrorKind::InvalidValue) {}
};

/// Throws the exception class that matches `kind`.
[[noreturn]] void throwError(ErrorKind kind, const std::string& message, SourceLocation where = {});

/// Collective agreement on failure. Every rank of `comm` calls it; if `localFailure` is
/// non-empty on any rank, every rank throws the same error: the one of the lowest failing
/// rank, with its message prefixed by "[rank r] " when more than one rank runs.
/// Collective over `comm`.
void agreeOnFailure(MPI_Comm comm, const std::string& localFailure, ErrorKind kind = ErrorKind::Generic,
                    SourceLocation where = {});

/// Runs `work` on every rank and makes any lats::Error (or std::exception) it throws
/// collective: if it throws on one rank, the same error is thrown on all ranks instead of
/// leaving the others waiting in a later collective. Collective over `comm`.
void collective(MPI_Comm comm, const std::function<void()>& work);

namespace detail {
/// Builds a message from stream insertions: LATS_THROW(Error, "got " << n).
class MessageBuilder {
 public:
  template <class T>
  MessageBuilder& operator<<(const T& v) {
    os_ << v;
    return *this;
  }
  std::string str() const { return os_.str(); }

 private:
  std::ostringstream os_;
};
}  // namespace detail

}  // namespace lats

#define LATS_HERE (::lats::SourceLocation{__FILE__, __LINE__, __func__})

/// Throws `ErrorType` with a streamed message: LATS_THROW(lats::ConfigurationError, "x=" << x).
#define LATS_THROW(ErrorType, message) throw ErrorType((::lats::detail::MessageBuilder() << message).str(), LATS_HERE)

/// Throws `ErrorType` with the streamed message when `condition` is false (local, not collective).
#define LATS_CHECK(condition, ErrorType, message)     \
  do {                                                \
    if (!(condition)) LATS_THROW(ErrorType, message); \
  } while (0)

/// Collective check: every rank of `comm` evaluates `condition`; if it is false on any rank,
/// every rank throws the same `kind` of error with the failing rank's message.
#define LATS_CHECK_COLLECTIVE(comm, condition, kind, message)                                                      \
  do {                                                                                                             \
    const bool lats_ok_ = static_cast<bool>(condition);                                                            \
    ::lats::agreeOnFailure((comm), lats_ok_ ? std::string() : (::lats::detail::MessageBuilder() << message).str(), \
                           (kind), LATS_HERE);                                                                     \
  } while (0)
