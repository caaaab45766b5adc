// Moving ensemble values between the member layout and point blocks (two all-to-alls with
// patterns fixed at construction), and seeded smooth perturbations.
#include "lats/solvers/assimilation/ensemble.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/random.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"

namespace lats::solvers::assimilation {

namespace {
int toInt(std::size_t v) {
  LATS_CHECK(v <= static_cast<std::size_t>(std::numeric_limits<int>::max()), DimensionMismatchError,
             "an ensemble exchange of " << v << " values is too large for one MPI message");
  return static_cast<int>(v);
}

// Displacements from counts.
std::vector<int> displacements(const std::vector<int>& counts) {
  std::vector<int> d(counts.size(), 0);
  for (std::size_t r = 1; r < counts.size(); ++r) d[r] = d[r - 1] + counts[r - 1];
  return d;
}

// Flattened component values of entity i of a state.
void readEntity(const State& s, std::int64_t i, double* out) {
  for (const auto& f : s.fields()) {
    const auto v = f.view();
    for (int c = 0; c < f.numComponents(); ++c) *out++ = v(i, c);
  }
}
void writeEntity(State& s, std::int64_t i, const double* in) {
  for (auto& f : s.fields()) {
    const auto v = f.view();
    for (int c = 0; c < f.numComponents(); ++c) v(i, c) = *in++;
  }
}
}  // namespace

struct EnsembleExchange::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  std::shared_ptr<const Mesh> mesh;
  std::vector<std::int64_t> members;
  std::int64_t N = 0, numPoints = 0;
  int C = 0, dim = 0, size = 1, rank = 0;
  std::vector<std::int64_t> begins;  // size + 1
  std::vector<std::string> fieldNames;
  std::vector<int> fieldComponents;
  // Forward (gather): what this rank sends, in order, as (member slot, entity), per-rank counts
  // (entries); what it receives: block slot (p * N + member) per entry.
  std::vector<std::pair<std::size_t, std::int64_t>> fwdSend;
  std::vector<int> fwdSendCounts, fwdRecvCounts;
  std::vector<std::int64_t> fwdRecvSlot;
  // Backward (scatter): requests this rank made (member slot, entity) in order, and the block
  // slots it serves to others, in their order.
  std::vector<std::pair<std::size_t, std::int64_t>> bwdRecv;
  std::vector<int> bwdRecvCounts, bwdSendCounts;
  std::vector<std::int64_t> bwdSendSlot;
  std::vector<double> coordinates;

  int owner(std::int64_t gid) const {
    return static_cast<int>(std::upper_bound(begins.begin(), begins.end(), gid) - begins.begin()) - 1;
  }
  void checkStates(std::size_t n) const {
    LATS_CHECK(n == members.size(), DimensionMismatchError,
               "the exchange holds " << members.size() << " members on this rank; got " << n << " states");
  }
  void checkState(const State& s) const {
    std::ostringstream got;
    bool ok = s.numFields() == fieldNames.size();
    for (std::size_t f = 0; f < s.numFields(); ++f) {
      const auto& field = s.fields()[f];
      got << (f ? ", " : "") << field.name() << "(" << field.numComponents() << ")";
      if (ok && (field.name() != fieldNames[f] || field.numComponents() != fieldComponents[f])) ok = false;
      LATS_CHECK(field.size() >= mesh->size(), DimensionMismatchError,
                 "field '" << field.name() << "' has " << field.size() << " entities; the mesh has " << mesh->size());
    }
    if (!ok) {
      std::ostringstream want;
      for (std::size_t f = 0; f < fieldNames.size(); ++f)
        want << (f ? ", " : "") << fieldNames[f] << "(" << fieldComponents[f] << ")";
      LATS_THROW(DimensionMismatchError, "ensemble member has fields " << got.str() << "; expected " << want.str());
    }
  }
};

EnsembleExchange::~EnsembleExchange() = default;
EnsembleExchange::EnsembleExchange(EnsembleExchange&&) noexcept = default;
EnsembleExchange& EnsembleExchange::operator=(EnsembleExchange&&) noexcept = default;

EnsembleExchange::EnsembleExchange(MPI_Comm comm, std::shared_ptr<const Mesh> mesh, const State& layout,
                                   std::vector<std::int64_t> members, std::int64_t ensembleSize)
    : impl_(std::make_unique<Impl>()) {
  auto& I = *impl_;
  I.comm = comm;
  I.mesh = std::move(mesh);
  I.members = std::move(members);
  I.N = ensembleSize;
  MPI_Comm_size(comm, &I.size);
  MPI_Comm_rank(comm, &I.rank);
  collective(comm, [&] {
    LATS_CHECK(I.mesh != nullptr, ConfigurationError, "an ensemble exchange needs a mesh");
    LATS_CHECK(ensembleSize >= 1, InvalidValueError, "ensemble size " << ensembleSize << "; it must be at least 1");
    for (auto m : I.members)
      LATS_CHECK(m >= 0 && m < ensembleSize, InvalidValueError,
                 "member index " << m << " is outside the ensemble [0, " << ensembleSize << ")");
    LATS_CHECK(layout.numFields() >= 1, ConfigurationError, "ensemble members need at least one field");
  });
  for (const auto& f : layout.fields()) {
    I.fieldNames.push_back(f.name());
    I.fieldComponents.push_back(f.numComponents());
  }
  I.C = totalComponents(layout);
  I.dim = I.mesh->dimension();
  const auto ids = I.mesh->globalIds();
  long long maxId = -1;
  for (std::int64_t i = 0; i < I.mesh->size(); ++i) maxId = std::max<long long>(maxId, ids(i));
  long long n = 0;
  MPI_Allreduce(&maxId, &n, 1, MPI_LONG_LONG, MPI_MAX, comm);
  I.numPoints = n + 1;
  I.begins.resize(static_cast<std::size_t>(I.size) + 1);
  for (int r = 0; r <= I.size; ++r) I.begins[static_cast<std::size_t>(r)] = I.numPoints * r / I.size;
  const std::int64_t begin = I.begins[static_cast<std::size_t>(I.rank)];
  const std::int64_t blockSize = I.begins[static_cast<std::size_t>(I.rank) + 1] - begin;

  // Forward pattern: (member, gid, coordinates) of every owned entity of every local member.
  std::vector<std::vector<double>> out(static_cast<std::size_t>(I.size));
  std::vector<std::vector<std::pair<std::size_t, std::int64_t>>> sendLists(static_cast<std::size_t>(I.size));
  const auto coords = I.mesh->coordinates();
  for (std::size_t mi = 0; mi < I.members.size(); ++mi)
    for (std::int64_t i = 0; i < I.mesh->ownedSize(); ++i) {
      const int q = I.owner(ids(i));
      auto& o = out[static_cast<std::size_t>(q)];
      o.push_back(static_cast<double>(I.members[mi]));
      o.push_back(static_cast<double>(ids(i)));
      for (int d = 0; d < I.dim; ++d) o.push_back(coords(i, d));
      sendLists[static_cast<std::size_t>(q)].emplace_back(mi, i);
    }
  const int rec = 2 + I.dim;
  auto exchange = [&](const std::vector<std::vector<double>>& parts, std::vector<int>& recvCounts) {
    std::vector<int> sc(static_cast<std::size_t>(I.size)), rc(static_cast<std::size_t>(I.size));
    std::vector<double> flat;
    for (int r = 0; r < I.size; ++r) {
      sc[static_cast<std::size_t>(r)] = toInt(parts[static_cast<std::size_t>(r)].size());
      flat.insert(flat.end(), parts[static_cast<std::size_t>(r)].begin(), parts[static_cast<std::size_t>(r)].end());
    }
    MPI_Alltoall(sc.data(), 1, MPI_INT, rc.data(), 1, MPI_INT, comm);
    std::size_t total = 0;
    for (int v : rc) total += static_cast<std::size_t>(v);
    std::vector<double> in(total);
    const auto sd = displacements(sc), rd = displacements(rc);
    MPI_Alltoallv(flat.data(), sc.data(), sd.data(), MPI_DOUBLE, in.data(), rc.data(), rd.data(), MPI_DOUBLE, comm);
    recvCounts = rc;
    return in;
  };
  std::vector<int> rcRaw;
  const auto in = exchange(out, rcRaw);
  I.fwdSendCounts.resize(static_cast<std::size_t>(I.size));
  I.fwdRecvCounts.resize(static_cast<std::size_t>(I.size));
  for (int r = 0; r < I.size; ++r) {
    I.fwdSendCounts[static_cast<std::size_t>(r)] = toInt(sendLists[static_cast<std::size_t>(r)].size());
    I.fwdRecvCounts[static_cast<std::size_t>(r)] = rcRaw[static_cast<std::size_t>(r)] / rec;
    I.fwdSend.insert(I.fwdSend.end(), sendLists[static_cast<std::size_t>(r)].begin(),
                     sendLists[static_cast<std::size_t>(r)].end());
  }
  I.coordinates.assign(static_cast<std::size_t>(blockSize * I.dim), 0.0);
  std::vector<int> hits(static_cast<std::size_t>(blockSize * I.N), 0);
  for (std::size_t e = 0; e * rec < in.size(); ++e) {
    const auto member = static_cast<std::int64_t>(in[e * rec]);
    const auto p = static_cast<std::int64_t>(in[e * rec + 1]) - begin;
    const std::int64_t slot = p * I.N + member;
    I.fwdRecvSlot.push_back(slot);
    ++hits[static_cast<std::size_t>(slot)];
    for (int d = 0; d < I.dim; ++d) I.coordinates[static_cast<std::size_t>(p * I.dim + d)] = in[e * rec + 2 + d];
  }
  std::string failure;
  for (std::int64_t s = 0; s < blockSize * I.N && failure.empty(); ++s)
    if (hits[static_cast<std::size_t>(s)] != 1)
      failure = "point " + std::to_string(begin + s / I.N) + " of ensemble member " + std::to_string(s % I.N) +
                (hits[static_cast<std::size_t>(s)] == 0 ? " is owned by no rank" : " is owned by more than one rank") +
                ": every member must be held by a group of ranks whose owned points cover the mesh once";
  agreeOnFailure(comm, failure, ErrorKind::Configuration, LATS_HERE);

  // Backward pattern: every local entity (owned and ghost) of every local member asks its
  // block owner for its value.
  std::vector<std::vector<double>> req(static_cast<std::size_t>(I.size));
  std::vector<std::vector<std::pair<std::size_t, std::int64_t>>> reqLists(static_cast<std::size_t>(I.size));
  for (std::size_t mi = 0; mi < I.members.size(); ++mi)
    for (std::int64_t i = 0; i < I.mesh->size(); ++i) {
      const int q = I.owner(ids(i));
      req[static_cast<std::size_t>(q)].push_back(static_cast<double>(I.members[mi]));
      req[static_cast<std::size_t>(q)].push_back(static_cast<double>(ids(i)));
      reqLists[static_cast<std::size_t>(q)].emplace_back(mi, i);
    }
  std::vector<int> rqRaw;
  const auto asked = exchange(req, rqRaw);
  I.bwdRecvCounts.resize(static_cast<std::size_t>(I.size));
  I.bwdSendCounts.resize(static_cast<std::size_t>(I.size));
  for (int r = 0; r < I.size; ++r) {
    I.bwdRecvCounts[static_cast<std::size_t>(r)] = toInt(reqLists[static_cast<std::size_t>(r)].size());
    I.bwdSendCounts[static_cast<std::size_t>(r)] = rqRaw[static_cast<std::size_t>(r)] / 2;
    I.bwdRecv.insert(I.bwdRecv.end(), reqLists[static_cast<std::size_t>(r)].begin(),
                     reqLists[static_cast<std::size_t>(r)].end());
  }
  for (std::size_t e = 0; 2 * e < asked.size(); ++e)
    I.bwdSendSlot.push_back((static_cast<std::int64_t>(asked[2 * e + 1]) - begin) * I.N +
                            static_cast<std::int64_t>(asked[2 * e]));
}

MPI_Comm EnsembleExchange::comm() const { return impl_->comm; }
const Mesh& EnsembleExchange::mesh() const { return *impl_->mesh; }
const std::vector<std::int64_t>& EnsembleExchange::members() const { return impl_->members; }
std::int64_t EnsembleExchange::ensembleSize() const { return impl_->N; }
std::int64_t EnsembleExchange::numPoints() const { return impl_->numPoints; }
int EnsembleExchange::numComponents() const { return impl_->C; }

PointBlock EnsembleExchange::gather(const std::vector<const State*>& states) const {
  const auto& I = *impl_;
  collective(I.comm, [&] {
    I.checkStates(states.size());
    for (const auto* s : states) I.checkState(*s);
  });
  std::vector<double> send(I.fwdSend.size() * static_cast<std::size_t>(I.C));
  for (std::size_t e = 0; e < I.fwdSend.size(); ++e)
    readEntity(*states[I.fwdSend[e].first], I.fwdSend[e].second, &send[e * I.C]);
  std::vector<int> sc(I.fwdSendCounts), rc(I.fwdRecvCounts);
  for (auto& v : sc) v *= I.C;
  for (auto& v : rc) v *= I.C;
  std::vector<double> recv(I.fwdRecvSlot.size() * static_cast<std::size_t>(I.C));
  const auto sd = displacements(sc), rd = displacements(rc);
  MPI_Alltoallv(send.data(), sc.data(), sd.data(), MPI_DOUBLE, recv.data(), rc.data(), rd.data(), MPI_DOUBLE, I.comm);
  PointBlock b;
  b.begin = I.begins[static_cast<std::size_t>(I.rank)];
  b.end = I.begins[static_cast<std::size_t>(I.rank) + 1];
  b.members = I.N;
  b.components = I.C;
  b.dimension = I.dim;
  b.coordinates = I.coordinates;
  b.values.assign(static_cast<std::size_t>(b.size() * I.N * I.C), 0.0);
  for (std::size_t e = 0; e < I.fwdRecvSlot.size(); ++e)
    std::copy_n(&recv[e * I.C], I.C, &b.values[static_cast<std::size_t>(I.fwdRecvSlot[e] * I.C)]);
  return b;
}

void EnsembleExchange::scatter(const PointBlock& block, const std::vector<State*>& states) const {
  const auto& I = *impl_;
  collective(I.comm, [&] {
    I.checkStates(states.size());
    for (const auto* s : states) I.checkState(*s);
    LATS_CHECK(block.begin == I.begins[static_cast<std::size_t>(I.rank)] &&
                   block.end == I.begins[static_cast<std::size_t>(I.rank) + 1] && block.members == I.N &&
                   block.components == I.C && block.values.size() == static_cast<std::size_t>(block.size() * I.N * I.C),
               DimensionMismatchError,
               "point block [" << block.begin << ", " << block.end << ") x " << block.members << " members x "
                               << block.components << " components does not fit this exchange's block ["
                               << I.begins[static_cast<std::size_t>(I.rank)] << ", "
                               << I.begins[static_cast<std::size_t>(I.rank) + 1] << ") x " << I.N << " x " << I.C);
  });
  std::vector<double> send(I.bwdSendSlot.size() * static_cast<std::size_t>(I.C));
  for (std::size_t e = 0; e < I.bwdSendSlot.size(); ++e)
    std::copy_n(&block.values[static_cast<std::size_t>(I.bwdSendSlot[e] * I.C)], I.C, &send[e * I.C]);
  std::vector<int> sc(I.bwdSendCounts), rc(I.bwdRecvCounts);
  for (auto& v : sc) v *= I.C;
  for (auto& v : rc) v *= I.C;
  std::vector<double> recv(I.bwdRecv.size() * static_cast<std::size_t>(I.C));
  const auto sd = displacements(sc), rd = displacements(rc);
  MPI_Alltoallv(send.data(), sc.data(), sd.data(), MPI_DOUBLE, recv.data(), rc.data(), rd.data(), MPI_DOUBLE, I.comm);
  for (std::size_t e = 0; e < I.bwdRecv.size(); ++e)
    writeEntity(*states[I.bwdRecv[e].first], I.bwdRecv[e].second, &recv[e * I.C]);
}

void perturb(State& state, const Mesh& mesh, double amplitude, std::uint64_t seed, std::uint64_t member, int modes) {
  collective(mesh.comm(), [&] {
    LATS_CHECK(std::isfinite(amplitude) && amplitude >= 0.0, InvalidValueError,
               "perturbation amplitude " << amplitude << "; it must be finite and non-negative");
    LATS_CHECK(modes >= 1, InvalidValueError, "perturbations need at least one mode; got " << modes);
    for (const auto& f : state.fields())
      LATS_CHECK(f.size() >= mesh.size(), DimensionMismatchError,
                 "field '" << f.name() << "' has " << f.size() << " entities; the mesh has " << mesh.size());
  });
  const int dim = mesh.dimension();
  const auto& box = mesh.globalBounds();
  const auto coords = mesh.coordinates();
  const int C = totalComponents(state);
  // Mean and standard deviation of every component over the owned points.
  std::vector<double> sums(2 * static_cast<std::size_t>(C), 0.0), tot(sums.size());
  int flat = 0;
  for (const auto& f : state.fields())
    for (int c = 0; c < f.numComponents(); ++c, ++flat)
      for (std::int64_t i = 0; i < mesh.ownedSize(); ++i) {
        sums[2 * flat] += f.view()(i, c);
        sums[2 * flat + 1] += f.view()(i, c) * f.view()(i, c);
      }
  MPI_Allreduce(sums.data(), tot.data(), static_cast<int>(sums.size()), MPI_DOUBLE, MPI_SUM, mesh.comm());
  const double n = static_cast<double>(std::max<std::int64_t>(mesh.globalSize(), 1));
  flat = 0;
  for (auto& f : state.fields())
    for (int c = 0; c < f.numComponents(); ++c, ++flat) {
      const double mean = tot[2 * flat] / n;
      const double sd = std::sqrt(std::max(0.0, tot[2 * flat + 1] / n - mean * mean));
      const double scale = amplitude * (sd > 1e-12 * (std::abs(mean) + 1.0) ? sd : std::max(std::abs(mean), 1.0));
      SplitMix64 rng(seed, (member * 1000003ull + static_cast<std::uint64_t>(flat)) * 7919ull + 17ull);
      std::vector<double> k(static_cast<std::size_t>(modes * 3), 0.0), phase(static_cast<std::size_t>(modes));
      for (int m = 0; m < modes; ++m) {
        bool zero = true;
        while (zero) {
          for (int d = 0; d < dim; ++d) {
            const double ext = box.upper[d] - box.lower[d];
            const double wave = static_cast<double>(static_cast<int>(rng.below(7)) - 3);
            k[static_cast<std::size_t>(3 * m + d)] = ext > 0 ? 2.0 * M_PI * wave / ext : 0.0;
            zero = zero && wave == 0.0;
          }
          if (dim == 0) zero = false;
        }
        phase[static_cast<std::size_t>(m)] = rng.uniform(0.0, 2.0 * M_PI);
      }
      const double norm = std::sqrt(2.0 / modes);
      const auto v = f.view();
      for (std::int64_t i = 0; i < mesh.size(); ++i) {
        double s = 0.0;
        for (int m = 0; m < modes; ++m) {
          double arg = phase[static_cast<std::size_t>(m)];
          for (int d = 0; d < dim; ++d) arg += k[static_cast<std::size_t>(3 * m + d)] * (coords(i, d) - box.lower[d]);
          s += std::cos(arg);
        }
        v(i, c) += scale * norm * s;
      }
    }
}

}  // namespace lats::solvers::assimilation
