#include "lats/core/comm.hpp"

namespace lats {

int Comm::rank() const {
  int r = 0;
  MPI_Comm_rank(comm_, &r);
  return r;
}
int Comm::size() const {
  int s = 1;
  MPI_Comm_size(comm_, &s);
  return s;
}

namespace {
template <class T>
T reduce(MPI_Comm comm, T v, MPI_Datatype type, MPI_Op op) {
  T out{};
  MPI_Allreduce(&v, &out, 1, type, op, comm);
  return out;
}
}  // namespace

double Comm::sum(double v) const { return reduce(comm_, v, MPI_DOUBLE, MPI_SUM); }
double Comm::min(double v) const { return reduce(comm_, v, MPI_DOUBLE, MPI_MIN); }
double Comm::max(double v) const { return reduce(comm_, v, MPI_DOUBLE, MPI_MAX); }
std::int64_t Comm::sum(std::int64_t v) const { return reduce(comm_, v, MPI_INT64_T, MPI_SUM); }
std::int64_t Comm::max(std::int64_t v) const { return reduce(comm_, v, MPI_INT64_T, MPI_MAX); }
bool Comm::all(bool v) const { return reduce(comm_, static_cast<int>(v), MPI_INT, MPI_LAND) != 0; }
bool Comm::any(bool v) const { return reduce(comm_, static_cast<int>(v), MPI_INT, MPI_LOR) != 0; }
void Comm::barrier() const { MPI_Barrier(comm_); }

}  // namespace lats
