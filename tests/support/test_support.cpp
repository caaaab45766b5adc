#include "test_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace lats::test {

std::string sharedTempDir(MPI_Comm comm, const std::string& tag) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::vector<char> buffer(4096, '\0');
  if (rank == 0) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/lats-" + tag + "-XXXXXX";
    std::vector<char> p(pattern.begin(), pattern.end());
    p.push_back('\0');
    if (!mkdtemp(p.data())) std::abort();
    std::copy(p.begin(), p.end(), buffer.begin());
  }
  MPI_Bcast(buffer.data(), static_cast<int>(buffer.size()), MPI_CHAR, 0, comm);
  return std::string(buffer.data());
}

int runCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::string text;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe)) text += buffer;
  const int status = pclose(pipe);
  if (output) *output = text;
  return status;
}

}  // namespace lats::test
