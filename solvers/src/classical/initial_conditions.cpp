#include "lats/solvers/classical/initial_conditions.hpp"

#include <algorithm>
#include <cmath>

#include "lats/core/error.hpp"
#include "lats/core/options.hpp"
#include "lats/core/random.hpp"
#include "lats/core/strings.hpp"

namespace lats::solvers {

namespace {
const EnumOption kIc{"ic",
                     "default",
                     {"default", "grf", "sinusoids", "blobs"},
                     "initial-condition family of sampled trajectories (default: the equation's usual one)"};
const RealOption kIcAmplitude{"ic_amplitude", 1.0, "amplitude of -lats_ic grf|sinusoids|blobs"};
const RealOption kIcOffset{"ic_offset", 0.0, "mean added to -lats_ic grf|sinusoids|blobs"};
const IntOption kIcModes{"ic_modes", 6, "largest wavenumber (periods per domain) of -lats_ic grf|sinusoids"};
constexpr double kTwoPi = 6.283185307179586;
}  // namespace

RandomField::RandomField(const RandomFieldSpec& spec, std::uint64_t seed, int dimension, std::array<double, 3> extent,
                         std::array<double, 3> lower)
    : spec_(spec), dim_(dimension), extent_(extent), lower_(lower) {
  const auto families = RandomField::families();
  LATS_CHECK(std::find(families.begin(), families.end(), spec.family) != families.end(), ConfigurationError,
             "unknown random-field family '" << spec.family << "'." << didYouMean(spec.family, families)
                                             << " Families: " << join(families, ", "));
  LATS_CHECK(dimension >= 1 && dimension <= 3, DimensionMismatchError,
             "random field: dimension " << dimension << "; expected 1, 2 or 3");
  for (int d = 0; d < dimension; ++d)
    LATS_CHECK(extent[d] > 0 && std::isfinite(extent[d]), InvalidValueError,
               "random field: domain extent " << extent[d] << " along axis " << d << "; expected a positive size");
  LATS_CHECK(spec.maxWavenumber >= 1 && spec.count >= 1 && spec.width > 0, InvalidValueError,
             "random field: maxWavenumber " << spec.maxWavenumber << ", count " << spec.count << ", width "
                                            << spec.width << "; expected positive values");
  SplitMix64 rng(seed, 0x1C0DEu);
  const int K = spec.maxWavenumber;
  if (spec.family == "grf") {
    // Every integer wave vector of the half space (first non-zero component positive).
    double variance = 0.0;
    const int ky = dimension > 1 ? K : 0, kz = dimension > 2 ? K : 0;
    for (int i = -K; i <= K; ++i)
      for (int j = -ky; j <= ky; ++j)
        for (int l = -kz; l <= kz; ++l) {
          const bool half = i > 0 || (i == 0 && (j > 0 || (j == 0 && l > 0)));
          if (!half) continue;
          const double k2 = static_cast<double>(i * i + j * j + l * l);
          const double sigma = std::pow(1.0 + k2, -0.25 * spec.decay);
          Term t{{kTwoPi * i / extent[0], kTwoPi * j / (dimension > 1 ? extent[1] : 1.0),
                  kTwoPi * l / (dimension > 2 ? extent[2] : 1.0)},
                 sigma * rng.normal(),
                 sigma * rng.normal(),
                 {0, 0, 0}};
          variance += sigma * sigma;
          terms_.push_back(t);
        }
    const double scale = spec.amplitude / std::sqrt(variance);
    for (Term& t : terms_) t.a *= scale, t.b *= scale;
  } else if (spec.family == "sinusoids") {
    for (int n = 0; n < spec.count; ++n) {
      Term t{{0, 0, 0}, 0, 0, {0, 0, 0}};
      int k[3] = {0, 0, 0};
      while (k[0] == 0 && k[1] == 0 && k[2] == 0)
        for (int d = 0; d < dimension; ++d)
          k[d] = d == 0 && dimension == 1 ? 1 + static_cast<int>(rng.below(K))
                                          : static_cast<int>(rng.below(2 * K + 1)) - K;
      for (int d = 0; d < dimension; ++d) t.k[d] = kTwoPi * k[d] / extent[d];
      const double amp = rng.uniform(-spec.amplitude, spec.amplitude), phase = rng.uniform(0.0, kTwoPi);
      t.a = amp * std::sin(phase);  // amp sin(k.x + phase) = a cos(k.x) + b sin(k.x)
      t.b = amp * std::cos(phase);
      terms_.push_back(t);
    }
  } else {  // blobs
    for (int n = 0; n < spec.count; ++n) {
      Term t{{0, 0, 0}, rng.uniform(0.5, 1.0) * spec.amplitude, 0, {0, 0, 0}};
      for (int d = 0; d < dimension; ++d) t.centre[d] = lower[d] + rng.uniform(0.0, extent[d]);
      terms_.push_back(t);
    }
  }
}

double RandomField::operator()(const double* x) const {
  double sum = 0.0;
  if (spec_.family == "blobs") {
    double minExtent = extent_[0];
    for (int d = 1; d < dim_; ++d) minExtent = std::min(minExtent, extent_[d]);
    const double w = spec_.width * minExtent;
    for (const Term& t : terms_) {
      double r2 = 0.0;
      for (int d = 0; d < dim_; ++d) {
        double dx = x[d] - t.centre[d];
        dx -= extent_[d] * std::round(dx / extent_[d]);  // nearest image: smooth on periodic domains
        r2 += dx * dx;
      }
      sum += t.a * std::exp(-0.5 * r2 / (w * w));
    }
  } else {
    for (const Term& t : terms_) {
      double phase = 0.0;
      for (int d = 0; d < dim_; ++d) phase += t.k[d] * (x[d] - lower_[d]);
      sum += t.a * std::cos(phase) + t.b * std::sin(phase);
    }
  }
  return spec_.offset + sum;
}

std::function<void(const double* x, double* u)> initialCondition(const FvOperator& op, const meshio::PlexMesh& mesh,
                                                                 std::uint64_t seed) {
  const int dim = mesh.dimension();
  std::array<double, 3> extent{1.0, 1.0, 1.0}, lower{0.0, 0.0, 0.0};
  const auto& bounds = mesh.mesh()->globalBounds();
  for (int d = 0; d < dim; ++d) {
    extent[d] = mesh.isPeriodic() ? mesh.period()[d] : bounds.upper[d] - bounds.lower[d];
    lower[d] = mesh.isPeriodic() ? 0.0 : bounds.lower[d];
  }
  const int nc = op.numComponents();
  const std::string eq = op.equation();
  const std::string family = kIc.get();
  auto field = [&](RandomFieldSpec spec, int component) {
    return RandomField(spec, seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(component + 1)), dim, extent,
                       lower);
  };
  if (family != "default") {
    RandomFieldSpec spec;
    spec.family = family;
    spec.amplitude = kIcAmplitude.get();
    spec.offset = kIcOffset.get();
    spec.maxWavenumber = static_cast<int>(kIcModes.get());
    std::vector<RandomField> fields;
    for (int c = 0; c < nc; ++c) fields.push_back(field(spec, c));
    return [fields, nc](const double* x, double* u) {
      for (int c = 0; c < nc; ++c) u[c] = fields[c](x);
    };
  }
  if (eq == "burgers" || eq == "combined") {
    // Brandstetter et al.: sum of 5 sinusoids, amplitude in [-0.5, 0.5], wavenumbers 1..3.
    RandomFieldSpec spec{"sinusoids", 0.0, 0.5, 3, 3.0, 5, 0.08};
    const RandomField f = field(spec, 0);
    return [f](const double* x, double* u) { u[0] = f(x); };
  }
  if (eq == "gray_scott") {
    // Spots of v seeded into u = 1.
    const RandomField f = field({"blobs", 0.0, 1.0, 6, 3.0, 6, 0.05}, 0);
    return [f](const double* x, double* u) {
      const double b = std::min(1.0, f(x));
      u[0] = 1.0 - 0.5 * b;
      u[1] = 0.25 * b;
    };
  }
  if (eq == "wave") {
    const RandomField f = field({"blobs", 0.0, 1.0, 6, 3.0, 3, 0.08}, 0);
    return [f](const double* x, double* u) {
      u[0] = f(x);
      u[1] = u[2] = 0.0;
    };
  }
  if (eq == "shallow_water") {
    const RandomField f = field({"blobs", 1.0, 0.3, 6, 3.0, 3, 0.1}, 0);
    return [f](const double* x, double* u) {
      u[0] = f(x);
      u[1] = u[2] = 0.0;
    };
  }
  if (eq == "navier_stokes") {
    // A zero-mean Gaussian random field of vorticity (std 4, modes up to 4 periods): speeds of
    // about 0.5 on the unit square.
    const RandomField f = field({"grf", 0.0, 4.0, 4, 4.0, 4, 0.08}, 0);
    return [f](const double* x, double* u) { u[0] = f(x); };
  }
  std::vector<RandomField> fields;
  for (int c = 0; c < nc; ++c) fields.push_back(field(RandomFieldSpec{}, c));
  return [fields, nc](const double* x, double* u) {
    for (int c = 0; c < nc; ++c) u[c] = fields[c](x);
  };
}

std::map<std::string, double> sampleParameters(FvOperator& op, std::uint64_t seed) {
  SplitMix64 rng(seed, 0x9A8Au);
  std::map<std::string, double> values;
  for (const Parameter& p : op.parameters()) {
    const double v = p.integer ? std::floor(rng.uniform(p.low, p.high + 1.0)) : rng.uniform(p.low, p.high);
    values[p.name] = std::min(v, p.high);
  }
  for (const auto& [name, v] : values) op.setParameter(name, v);
  return values;
}

}  // namespace lats::solvers
