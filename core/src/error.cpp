#include "lats/core/error.hpp"

#include <exception>
#include <vector>

namespace lats {

Error::Error(const std::string& message, SourceLocation where, ErrorKind kind)
    : std::runtime_error(message), where_(where), kind_(kind) {}

std::string Error::describe() const {
  std::ostringstream os;
  os << what();
  if (where_.line > 0) os << " (raised in " << where_.function << " at " << where_.file << ":" << where_.line << ")";
  return os.str();
}

void throwError(ErrorKind kind, const std::string& message, SourceLocation where) {
  switch (kind) {
    case ErrorKind::Configuration: throw ConfigurationError(message, where);
    case ErrorKind::DimensionMismatch: throw DimensionMismatchError(message, where);
    case ErrorKind::FileFormat: throw FileFormatError(message, where);
    case ErrorKind::ModelMismatch: throw ModelMismatchError(message, where);
    case ErrorKind::InvalidValue: throw InvalidValueError(message, where);
    case ErrorKind::Generic: break;
  }
  throw Error(message, where, ErrorKind::Generic);
}

void agreeOnFailure(MPI_Comm comm, const std::string& localFailure, ErrorKind kind, SourceLocation where) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int mine = localFailure.empty() ? size : rank;
  int first = size;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == size) return;  // nobody failed

  // The lowest failing rank tells everyone what went wrong.
  int header[2] = {static_cast<int>(kind), static_cast<int>(localFailure.size())};
  MPI_Bcast(header, 2, MPI_INT, first, comm);
  std::vector<char> text(static_cast<std::size_t>(header[1]) + 1, '\0');
  if (rank == first) std::copy(localFailure.begin(), localFailure.end(), text.begin());
  MPI_Bcast(text.data(), header[1], MPI_CHAR, first, comm);
  std::string message(text.data(), static_cast<std::size_t>(header[1]));
  if (size > 1) message = "[rank " + std::to_string(first) + "] " + message;
  throwError(static_cast<ErrorKind>(header[0]), message, where);
}

void collective(MPI_Comm comm, const std::function<void()>& work) {
  std::string failure;
  ErrorKind kind = ErrorKind::Generic;
  SourceLocation where{};
  try {
    work();
  } catch (const Error& e) {
    failure = e.what();
    kind = e.kind();
    where = SourceLocation{e.file(), e.line(), e.function()};
  } catch (const std::exception& e) {
    failure = e.what();
  }
  agreeOnFailure(comm, failure, kind, where);
}

}  // namespace lats
