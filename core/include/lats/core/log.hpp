#pragma once
/// \file log.hpp
/// Rank-aware logging: info and debug from rank 0 only, warnings and errors from any rank
/// with a "[rank r]" prefix. The library never writes to stdout: the default sink is stderr.

#include <mpi.h>

#include <functional>
#include <sstream>
#include <string>

namespace lats {

enum class LogLevel { Error = 0, Warning = 1, Info = 2, Debug = 3 };

/// Parses "error", "warning", "info", "debug" (throws ConfigurationError otherwise).
LogLevel parseLogLevel(const std::string& name);
const char* toString(LogLevel level);

/// Process-wide logger configuration.
class Log {
 public:
  using Sink = std::function<void(LogLevel, const std::string&)>;
  /// Messages above this level are dropped (default Info; option -lats_log_level).
  static void setLevel(LogLevel level);
  static LogLevel level();
  /// Rank numbering and rank-0 filtering use this communicator (default MPI_COMM_WORLD).
  static void setCommunicator(MPI_Comm comm);
  /// Replaces the output (default: one line to stderr). An empty function restores stderr.
  static void setSink(Sink sink);
  /// Emits a message subject to the level and rank rules.
  static void write(LogLevel level, const std::string& message);
};

namespace detail {
/// Collects a streamed message and hands it to Log::write when destroyed.
class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level) {}
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  ~LogLine() { Log::write(level_, os_.str()); }
  template <class T>
  LogLine& operator<<(const T& v) {
    os_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream os_;
};
}  // namespace detail

/// Streamed logging: lats::logInfo() << "generated " << n << " trajectories";
inline detail::LogLine logError() { return detail::LogLine(LogLevel::Error); }
inline detail::LogLine logWarning() { return detail::LogLine(LogLevel::Warning); }
inline detail::LogLine logInfo() { return detail::LogLine(LogLevel::Info); }
inline detail::LogLine logDebug() { return detail::LogLine(LogLevel::Debug); }

}  // namespace lats
