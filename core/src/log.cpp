#include "lats/core/log.hpp"

#include <cstdio>
#include <mutex>

#include "lats/core/error.hpp"

namespace lats {
namespace {
struct LogConfig {
  LogLevel level = LogLevel::Info;
  MPI_Comm comm = MPI_COMM_WORLD;
  Log::Sink sink;
  std::mutex mutex;
};
LogConfig& config() {
  static LogConfig c;
  return c;
}
void writeStderr(LogLevel, const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}
}  // namespace

LogLevel parseLogLevel(const std::string& name) {
  if (name == "error") return LogLevel::Error;
  if (name == "warning") return LogLevel::Warning;
  if (name == "info") return LogLevel::Info;
  if (name == "debug") return LogLevel::Debug;
  LATS_THROW(ConfigurationError, "unknown log level '" << name << "'; expected one of error, warning, info, debug");
}

const char* toString(LogLevel level) {
  switch (level) {
    case LogLevel::Error: return "error";
    case LogLevel::Warning: return "warning";
    case LogLevel::Info: return "info";
    case LogLevel::Debug: return "debug";
  }
  return "?";
}

void Log::setLevel(LogLevel level) { config().level = level; }
LogLevel Log::level() { return config().level; }
void Log::setCommunicator(MPI_Comm comm) { config().comm = comm; }
void Log::setSink(Sink sink) { config().sink = std::move(sink); }

void Log::write(LogLevel level, const std::string& message) {
  auto& c = config();
  if (static_cast<int>(level) > static_cast<int>(c.level)) return;
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  int rank = 0, size = 1;
  if (initialized && !finalized) {
    MPI_Comm_rank(c.comm, &rank);
    MPI_Comm_size(c.comm, &size);
  }
  std::string line;
  if (level == LogLevel::Info || level == LogLevel::Debug) {
    if (rank != 0) return;  // info is rank 0's alone
    line = "[lats] " + message;
  } else {
    line = std::string("[lats] ") + (level == LogLevel::Error ? "error" : "warning");
    if (size > 1) line += " [rank " + std::to_string(rank) + "]";
    line += ": " + message;
  }
  std::lock_guard<std::mutex> lock(c.mutex);
  if (c.sink)
    c.sink(level, line);
  else
    writeStderr(level, line);
}

}  // namespace lats
