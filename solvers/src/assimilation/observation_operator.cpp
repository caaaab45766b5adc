// The observation operator: k-nearest stencils found with an R-tree over every rank's
// points, weighted least-squares linear interpolation, partial sums all-reduced.
#include "lats/solvers/assimilation/observation_operator.hpp"

#include <Eigen/Dense>
#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <unordered_map>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/random.hpp"
#include "lats/core/strings.hpp"
#include "lats/meshio/dataset.hpp"

namespace lats::solvers::assimilation {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

int totalComponents(const State& state) {
  int n = 0;
  for (const auto& f : state.fields()) n += f.numComponents();
  return n;
}

ComponentRef resolveComponent(const State& layout, const std::string& name) {
  std::vector<ComponentRef> matches;
  std::vector<std::string> matchedIn, known;
  int flat = 0;
  const auto dot = name.find('.');
  for (std::size_t f = 0; f < layout.fields().size(); ++f) {
    const auto& field = layout.fields()[f];
    for (int c = 0; c < field.numComponents(); ++c, ++flat) {
      const std::string& comp = field.componentNames()[static_cast<std::size_t>(c)];
      if (field.numComponents() == 1 && field.name() == comp) {
        known.push_back(comp);
      } else {
        known.push_back(field.name() + "." + comp);
        if (field.numComponents() == 1) known.push_back(field.name());
        known.push_back(comp);
      }
      bool hit;
      if (dot != std::string::npos)
        hit = name.substr(0, dot) == field.name() && name.substr(dot + 1) == comp;
      else
        hit = comp == name || (field.numComponents() == 1 && field.name() == name);
      if (hit) {
        matches.push_back(ComponentRef{static_cast<int>(f), c, flat});
        matchedIn.push_back(field.name() + "." + comp);
      }
    }
  }
  if (matches.size() == 1) return matches[0];
  if (matches.empty())
    LATS_THROW(ConfigurationError, "observations refer to component '" << name << "', which the state does not have."
                                                                       << didYouMean(name, known)
                                                                       << " Available: " << join(known, ", "));
  LATS_THROW(ConfigurationError, "component name '" << name << "' is ambiguous: it matches " << join(matchedIn, " and ")
                                                    << "; write field.component");
}

namespace {
using Point = bg::model::point<double, 3, bg::cs::cartesian>;
using Entry = std::pair<Point, std::int64_t>;  // (coordinates, local index)

struct Candidate {
  double dist, gid, x[3];
};
}  // namespace

struct ObservationOperator::Impl {
  std::shared_ptr<const Mesh> mesh;
  Sensors sensors;
  int k = 0;
  double h = 1.0;
  std::vector<ComponentRef> refs;
  struct Term {
    std::int64_t sensor, entity;
    double weight;
  };
  std::vector<Term> terms;
};

ObservationOperator::~ObservationOperator() = default;
ObservationOperator::ObservationOperator(ObservationOperator&&) noexcept = default;
ObservationOperator& ObservationOperator::operator=(ObservationOperator&&) noexcept = default;

ObservationOperator::ObservationOperator(std::shared_ptr<const Mesh> mesh, const State& layout, const Sensors& sensors,
                                         int neighbours)
    : impl_(std::make_unique<Impl>()) {
  LATS_CHECK(mesh != nullptr, ConfigurationError, "ObservationOperator needs a mesh");
  auto& I = *impl_;
  I.mesh = mesh;
  I.sensors = sensors;
  const MPI_Comm comm = mesh->comm();
  const int dim = mesh->dimension();
  const std::int64_t m = sensors.size();
  collective(comm, [&] {
    sensors.validate();
    LATS_CHECK(sensors.dimension == dim, DimensionMismatchError,
               "the sensors are " << sensors.dimension << "D but the mesh '" << mesh->name() << "' is " << dim
                                  << "D; give " << dim << " coordinates per sensor");
    LATS_CHECK(neighbours >= 0, InvalidValueError, "stencil size " << neighbours << " is negative");
    I.refs.clear();
    for (const auto& c : sensors.components) I.refs.push_back(resolveComponent(layout, c));
    for (const auto& f : layout.fields())
      LATS_CHECK(f.size() >= mesh->ownedSize(), DimensionMismatchError,
                 "field '" << f.name() << "' has " << f.size() << " entities; the mesh has " << mesh->ownedSize()
                           << " owned here");
  });
  I.k = neighbours > 0 ? neighbours : 2 * dim + 1;
  I.k = static_cast<int>(std::min<std::int64_t>(I.k, mesh->globalSize()));

  // Typical spacing from the bounding box of all points.
  const auto& box = mesh->globalBounds();
  double volume = 1.0;
  int extended = 0;
  for (int d = 0; d < dim; ++d) {
    const double ext = box.upper[d] - box.lower[d];
    if (ext > 0) volume *= ext, ++extended;
  }
  I.h = extended > 0
            ? std::pow(volume / static_cast<double>(std::max<std::int64_t>(mesh->globalSize(), 1)), 1.0 / extended)
            : 1.0;
  collective(comm, [&] {
    for (std::int64_t s = 0; s < m; ++s)
      for (int d = 0; d < dim; ++d) {
        const double x = sensors.coordinates[s * dim + d];
        if (x < box.lower[d] - I.h || x > box.upper[d] + I.h) {
          std::ostringstream where, span;
          for (int e = 0; e < dim; ++e) {
            where << (e ? ", " : "") << sensors.coordinates[s * dim + e];
            span << (e ? " x " : "") << "[" << box.lower[e] << ", " << box.upper[e] << "]";
          }
          LATS_THROW(InvalidValueError, "sensor " << s << " at (" << where.str() << ") lies outside the mesh '"
                                                  << mesh->name() << "', whose points span " << span.str()
                                                  << " (allowance " << I.h << "); move it inside or drop it");
        }
      }
  });

  // Local k nearest owned points of every sensor.
  const auto coords = mesh->coordinates();
  const auto ids = mesh->globalIds();
  std::vector<Entry> entries;
  entries.reserve(static_cast<std::size_t>(mesh->ownedSize()));
  for (std::int64_t i = 0; i < mesh->ownedSize(); ++i) {
    Point p(0.0, 0.0, 0.0);
    if (dim > 0) bg::set<0>(p, coords(i, 0));
    if (dim > 1) bg::set<1>(p, coords(i, 1));
    if (dim > 2) bg::set<2>(p, coords(i, 2));
    entries.emplace_back(p, i);
  }
  bgi::rtree<Entry, bgi::rstar<16>> tree(entries.begin(), entries.end());
  const int k = I.k;
  std::vector<Candidate> local(static_cast<std::size_t>(m * k),
                               Candidate{std::numeric_limits<double>::infinity(), -1.0, {0, 0, 0}});
  for (std::int64_t s = 0; s < m; ++s) {
    Point q(0.0, 0.0, 0.0);
    double xs[3] = {0, 0, 0};
    for (int d = 0; d < dim; ++d) xs[d] = sensors.coordinates[s * dim + d];
    bg::set<0>(q, xs[0]);
    bg::set<1>(q, xs[1]);
    bg::set<2>(q, xs[2]);
    std::vector<Entry> found;
    tree.query(bgi::nearest(q, static_cast<unsigned>(k)), std::back_inserter(found));
    for (std::size_t j = 0; j < found.size(); ++j) {
      Candidate& c = local[static_cast<std::size_t>(s * k) + j];
      const auto i = found[j].second;
      c.dist = bg::distance(q, found[j].first);
      c.gid = static_cast<double>(ids(i));
      for (int d = 0; d < 3; ++d) c.x[d] = d < dim ? coords(i, d) : 0.0;
    }
  }
  int size = 1;
  MPI_Comm_size(comm, &size);
  std::vector<Candidate> all(local.size() * static_cast<std::size_t>(size));
  MPI_Allgather(local.data(), static_cast<int>(local.size() * 5), MPI_DOUBLE, all.data(),
                static_cast<int>(local.size() * 5), MPI_DOUBLE, comm);

  std::unordered_map<std::int64_t, std::int64_t> owned;
  for (std::int64_t i = 0; i < mesh->ownedSize(); ++i) owned.emplace(ids(i), i);
  std::string failure;
  for (std::int64_t s = 0; s < m && failure.empty(); ++s) {
    std::vector<Candidate> cand;
    for (int r = 0; r < size; ++r)
      for (int j = 0; j < k; ++j) {
        const Candidate& c = all[static_cast<std::size_t>(r) * local.size() + static_cast<std::size_t>(s * k + j)];
        if (c.gid >= 0) cand.push_back(c);
      }
    std::sort(cand.begin(), cand.end(), [](const Candidate& a, const Candidate& b) {
      return a.dist != b.dist ? a.dist < b.dist : a.gid < b.gid;
    });
    cand.resize(std::min<std::size_t>(cand.size(), static_cast<std::size_t>(k)));
    if (cand.empty() || cand[0].dist > 2.0 * I.h) {
      std::ostringstream where;
      for (int e = 0; e < dim; ++e) where << (e ? ", " : "") << sensors.coordinates[s * dim + e];
      failure = "sensor " + std::to_string(s) + " at (" + where.str() + ") is " +
                (cand.empty() ? std::string("far") : std::to_string(cand[0].dist)) +
                " from the nearest point of mesh '" + mesh->name() + "' (more than 2 spacings of " +
                std::to_string(I.h) + "): it lies outside the mesh; move it inside or drop it";
      break;
    }
    // Weighted least squares: value(s) = a with u(x) ~ a + g . (x - s).
    const int n = static_cast<int>(cand.size());
    Eigen::VectorXd w = Eigen::VectorXd::Zero(n);
    if (cand[0].dist <= 1e-12 * I.h) {
      w(0) = 1.0;
    } else {
      Eigen::MatrixXd A(n, dim + 1);
      Eigen::VectorXd omega(n);
      for (int j = 0; j < n; ++j) {
        A(j, 0) = 1.0;
        for (int d = 0; d < dim; ++d) A(j, 1 + d) = (cand[j].x[d] - sensors.coordinates[s * dim + d]) / I.h;
        omega(j) = 1.0 / (cand[j].dist * cand[j].dist / (I.h * I.h) + 1e-6);
      }
      const Eigen::MatrixXd M = A.transpose() * omega.asDiagonal() * A;
      Eigen::FullPivLU<Eigen::MatrixXd> lu(M);
      lu.setThreshold(1e-10);
      if (n > dim && lu.rank() == dim + 1) {
        const Eigen::VectorXd c = lu.solve(Eigen::VectorXd::Unit(dim + 1, 0));
        w = omega.asDiagonal() * (A * c);
      } else {  // degenerate stencil (collinear points): inverse-distance weights
        w = omega / omega.sum();
      }
    }
    for (int j = 0; j < n; ++j) {
      auto it = owned.find(static_cast<std::int64_t>(cand[j].gid));
      if (it != owned.end()) I.terms.push_back(Impl::Term{s, it->second, w(j)});
    }
  }
  agreeOnFailure(comm, failure, ErrorKind::InvalidValue, LATS_HERE);
}

std::int64_t ObservationOperator::size() const { return impl_->sensors.size(); }
const Sensors& ObservationOperator::sensors() const { return impl_->sensors; }
const Mesh& ObservationOperator::mesh() const { return *impl_->mesh; }
int ObservationOperator::neighbours() const { return impl_->k; }
double ObservationOperator::spacing() const { return impl_->h; }

std::vector<double> ObservationOperator::apply(const State& state) const {
  const auto& I = *impl_;
  LATS_CHECK(state.numFields() >= 1, ConfigurationError, "observing a state without fields");
  std::vector<double> partial(static_cast<std::size_t>(size()), 0.0);
  for (const auto& t : I.terms) {
    const auto& ref = I.refs[static_cast<std::size_t>(t.sensor)];
    LATS_CHECK(ref.field < static_cast<int>(state.numFields()), DimensionMismatchError,
               "the state has " << state.numFields() << " fields; the observation operator was built for more");
    const auto v = state.fields()[static_cast<std::size_t>(ref.field)].view();
    partial[static_cast<std::size_t>(t.sensor)] += t.weight * v(t.entity, ref.component);
  }
  std::vector<double> out(partial.size());
  MPI_Allreduce(partial.data(), out.data(), static_cast<int>(out.size()), MPI_DOUBLE, MPI_SUM, I.mesh->comm());
  return out;
}

Sensors sensorsAtRandomPoints(const Mesh& mesh, std::int64_t count, const std::vector<std::string>& components,
                              double noiseStd, std::uint64_t seed) {
  const int dim = mesh.dimension();
  collective(mesh.comm(), [&] {
    LATS_CHECK(count >= 1 && count <= mesh.globalSize(), InvalidValueError,
               "asked for " << count << " sensors on a mesh of " << mesh.globalSize() << " points; give 1 to "
                            << mesh.globalSize());
    LATS_CHECK(!components.empty(), InvalidValueError, "sensors need at least one component to observe");
  });
  const auto picked = meshio::subsamplePoints(mesh.globalSize(), count, seed);
  std::unordered_map<std::int64_t, std::size_t> slot;
  for (std::size_t i = 0; i < picked.size(); ++i) slot.emplace(picked[i], i);
  std::vector<double> xyz(picked.size() * static_cast<std::size_t>(dim), 0.0), all(xyz.size());
  const auto coords = mesh.coordinates();
  const auto ids = mesh.globalIds();
  for (std::int64_t i = 0; i < mesh.ownedSize(); ++i) {
    auto it = slot.find(ids(i));
    if (it != slot.end())
      for (int d = 0; d < dim; ++d) xyz[it->second * dim + d] = coords(i, d);
  }
  MPI_Allreduce(xyz.data(), all.data(), static_cast<int>(xyz.size()), MPI_DOUBLE, MPI_SUM, mesh.comm());
  Sensors s;
  s.dimension = dim;
  s.coordinates = std::move(all);
  for (std::size_t i = 0; i < picked.size(); ++i) {
    s.components.push_back(components[i % components.size()]);
    s.noiseStd.push_back(noiseStd);
  }
  collective(mesh.comm(), [&] { s.validate(); });
  return s;
}

Observations observe(const ObservationOperator& h, const State& truth, std::uint64_t seed, std::uint64_t stream) {
  Observations obs;
  obs.time = truth.time();
  obs.sensors = h.sensors();
  obs.values = h.apply(truth);
  SplitMix64 rng(seed, stream);
  for (std::size_t i = 0; i < obs.values.size(); ++i) obs.values[i] += obs.sensors.noiseStd[i] * rng.normal();
  return obs;
}

}  // namespace lats::solvers::assimilation
