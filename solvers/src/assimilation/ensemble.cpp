// Moving ensemble values between the member layout and point blocks (core's BlockExchange:
// one PetscSF for the owned entities, one for owned and ghost entities), and seeded smooth
// perturbations.
#include "lats/solvers/assimilation/ensemble.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "lats/core/block_exchange.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/random.hpp"
#include "lats/solvers/assimilation/observation_operator.hpp"

namespace lats::solvers::assimilation {

namespace {
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
  std::int64_t begin = 0, end = 0;  // this rank's block of points
  std::vector<std::string> fieldNames;
  std::vector<int> fieldComponents;
  // Slots p * N + member of this rank's block <- (local member, owned entity), and the same
  // for every local entity (owned and ghost) on the way back.
  std::unique_ptr<BlockExchange> owned, all;
  std::vector<double> coordinates;

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
  // Items: every local member's entities, member-major; slot: the member.
  auto items = [&](std::int64_t count) {
    std::vector<std::int64_t> gid, slot;
    for (auto m : I.members)
      for (std::int64_t i = 0; i < count; ++i) {
        gid.push_back(ids(i));
        slot.push_back(m);
      }
    return std::make_pair(gid, slot);
  };
  {
    const auto [gid, slot] = items(I.mesh->ownedSize());
    I.owned = std::make_unique<BlockExchange>(comm, I.numPoints, gid, slot, I.N);
  }
  {
    const auto [gid, slot] = items(I.mesh->size());
    I.all = std::make_unique<BlockExchange>(comm, I.numPoints, gid, slot, I.N);
  }
  I.begin = I.owned->begin();
  I.end = I.owned->end();
  // Every (point, member) of the block owned exactly once.
  const auto hits = I.owned->counts();
  std::string failure;
  for (std::size_t s = 0; s < hits.size() && failure.empty(); ++s)
    if (hits[s] != 1)
      failure = "point " + std::to_string(I.begin + static_cast<std::int64_t>(s) / I.N) + " of ensemble member " +
                std::to_string(static_cast<std::int64_t>(s) % I.N) +
                (hits[s] == 0 ? " is owned by no rank" : " is owned by more than one rank") +
                ": every member must be held by a group of ranks whose owned points cover the mesh once";
  agreeOnFailure(comm, failure, ErrorKind::Configuration, LATS_HERE);
  // The block's coordinates: from any member's owned entity of each point.
  {
    const auto coords = I.mesh->coordinates();
    std::vector<double> local;
    for (std::size_t m = 0; m < I.members.size(); ++m)
      for (std::int64_t i = 0; i < I.mesh->ownedSize(); ++i)
        for (int d = 0; d < I.dim; ++d) local.push_back(coords(i, d));
    std::vector<double> slots(static_cast<std::size_t>((I.end - I.begin) * I.N * std::max(I.dim, 1)), 0.0);
    if (I.dim > 0) I.owned->toBlock(local.data(), I.dim, slots.data());
    I.coordinates.assign(static_cast<std::size_t>((I.end - I.begin) * I.dim), 0.0);
    for (std::int64_t p = 0; p < I.end - I.begin; ++p)
      for (int d = 0; d < I.dim; ++d)
        I.coordinates[static_cast<std::size_t>(p * I.dim + d)] = slots[static_cast<std::size_t>((p * I.N) * I.dim + d)];
  }
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
  const std::int64_t n = I.mesh->ownedSize();
  std::vector<double> items(static_cast<std::size_t>(static_cast<std::int64_t>(states.size()) * n * I.C));
  for (std::size_t m = 0; m < states.size(); ++m)
    for (std::int64_t i = 0; i < n; ++i)
      readEntity(*states[m], i, &items[static_cast<std::size_t>((static_cast<std::int64_t>(m) * n + i) * I.C)]);
  PointBlock b;
  b.begin = I.begin;
  b.end = I.end;
  b.members = I.N;
  b.components = I.C;
  b.dimension = I.dim;
  b.coordinates = I.coordinates;
  b.values.assign(static_cast<std::size_t>(b.size() * I.N * I.C), 0.0);
  I.owned->toBlock(items.data(), I.C, b.values.data());
  return b;
}

void EnsembleExchange::scatter(const PointBlock& block, const std::vector<State*>& states) const {
  const auto& I = *impl_;
  collective(I.comm, [&] {
    I.checkStates(states.size());
    for (const auto* s : states) I.checkState(*s);
    LATS_CHECK(block.begin == I.begin && block.end == I.end && block.members == I.N && block.components == I.C &&
                   block.values.size() == static_cast<std::size_t>(block.size() * I.N * I.C),
               DimensionMismatchError,
               "point block [" << block.begin << ", " << block.end << ") x " << block.members << " members x "
                               << block.components << " components does not fit this exchange's block [" << I.begin
                               << ", " << I.end << ") x " << I.N << " x " << I.C);
  });
  const std::int64_t n = I.mesh->size();
  std::vector<double> items(static_cast<std::size_t>(static_cast<std::int64_t>(states.size()) * n * I.C));
  I.all->fromBlock(block.values.data(), I.C, items.data());
  for (std::size_t m = 0; m < states.size(); ++m)
    for (std::int64_t i = 0; i < n; ++i)
      writeEntity(*states[m], i, &items[static_cast<std::size_t>((static_cast<std::int64_t>(m) * n + i) * I.C)]);
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
