#include "lats/solvers/neural/latent_rollout.hpp"

#include <torch/types.h>
// (separate block: the torch headers below need torch/types.h first)
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "assimilation/detail/latent_analysis.hpp"
#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/random.hpp"
#include "lats/core/strings.hpp"
#include "lats/solvers/neural/checkpoint.hpp"
#include "lats/solvers/neural/distributed.hpp"
#include "lats/solvers/neural/tensor_bridge.hpp"

namespace lats::solvers::neural {

struct LatentRollout::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  Checkpoint cp;
  RolloutInfo info;
  std::vector<double> parameters;  // in info.parameterNames order (physical units)
  bool parametersSet = false;
  std::int64_t members = 1;
  std::uint64_t seed = 1;
  std::shared_ptr<const Mesh> mesh;
  torch::Tensor coords;  // (1, owned, dim) float32, normalised
  torch::Tensor window;  // (E, history, M, L) float32; undefined before reset()
  std::int64_t sinceEncode = 0, stepCount = 0;
  struct Saved {
    torch::Tensor window;
    std::int64_t sinceEncode = 0, stepCount = 0;
  } saved;
  std::int64_t totalComponents = 0;
  double encodedScale = 1.0;        // max(1, largest |latent value|) of the last encoding
  mutable std::string decodeFault;  // injectFault("decoded", ...): the next decode's corruption

  /// The window was encoded afresh: its scale bounds the growth of later latent states.
  void encoded() {
    sinceEncode = 0;
    encodedScale = std::max(1.0, window.abs().max().item<double>());
  }

  /// The members' random streams at the current step.
  std::vector<std::uint64_t> streams() const {
    std::vector<std::uint64_t> out;
    for (std::int64_t i = 0; i < members; ++i) out.push_back(memberStream(seed, i, stepCount));
    return out;
  }

  /// (1, owned, C) float32 normalised values of the model's fields. A non-finite value on
  /// any rank is an InvalidValueError on every rank (the same message). Collective.
  torch::Tensor values(const State& state) const {
    const std::int64_t n = mesh->ownedSize();
    // The fields' owned rows through the bridge (no copy), side by side (one copy).
    std::vector<torch::Tensor> parts;
    for (const auto& name : info.fieldNames) parts.push_back(toTensor(state.field(name)).narrow(0, 0, n));
    const auto all = parts.size() == 1 ? parts[0] : torch::cat(parts, 1);  // (n, C) float64
    std::string problem;                                                   // the first non-finite value on this rank
    const auto bad = torch::nonzero(torch::logical_not(torch::isfinite(all)));
    if (bad.size(0) > 0) {
      const std::int64_t i = bad[0][0].item<std::int64_t>(), k = bad[0][1].item<std::int64_t>();
      std::int64_t f = 0, k0 = 0;
      while (k >= k0 + info.fieldComponents[static_cast<std::size_t>(f)]) k0 += info.fieldComponents[f++];
      std::ostringstream os;
      os << "surrogate: field '" << info.fieldNames[static_cast<std::size_t>(f)] << "' has a non-finite value ("
         << all[i][k].item<double>() << ") at local entity " << i << " of rank " << Comm(mesh->comm()).rank()
         << "; cannot encode it";
      problem = os.str();
    }
    // The lowest failing rank's message on every rank.
    agreeOnFailure(mesh->comm(), problem, ErrorKind::InvalidValue, LATS_HERE);
    const auto mean = torch::tensor(cp.metadata.mean, torch::kFloat64);
    const auto std = torch::tensor(cp.metadata.std, torch::kFloat64);
    return ((all - mean) / std).unsqueeze(0).to(torch::kFloat32);
  }

  /// Latent mean (1, M, L) of `state`, exact over the ranks of the mesh.
  torch::Tensor encode(const State& state) {
    const auto v = values(state);
    c10::InferenceMode guard;
    const auto tokens = encodeDistributed(cp.model->encoder(), coords, v, mesh->comm());
    return cp.model->latentOf(tokens);
  }

  torch::Tensor parameterTensor(std::int64_t batch) const {
    if (info.parameterNames.empty()) return {};
    std::vector<double> p(parameters);
    const auto& pm = cp.metadata.parameterMean;
    const auto& ps = cp.metadata.parameterStd;
    if (!pm.empty())
      for (std::size_t k = 0; k < p.size(); ++k) p[k] = (p[k] - pm[k]) / ps[k];
    return torch::tensor(p, torch::kFloat64).to(torch::kFloat32).unsqueeze(0).expand({batch, -1}).contiguous();
  }

  /// Writes normalised model values (owned, C) into the model's fields of `state` at the
  /// owned entities, de-normalised on the way: one pass per field through the bridge,
  /// straight into the field's (the host's) memory (dst = mean + values * std). Ghost
  /// entries are left alone. Not collective.
  void writeFields(const torch::Tensor& values, State& state) const {
    const std::int64_t n = mesh->ownedSize();
    std::int64_t k0 = 0;
    for (std::size_t f = 0; f < info.fieldNames.size(); ++f) {
      const std::int64_t c = info.fieldComponents[f];
      auto dst = toTensor(state.field(info.fieldNames[f])).narrow(0, 0, n);
      const auto mean = torch::tensor(
          std::vector<double>(cp.metadata.mean.begin() + k0, cp.metadata.mean.begin() + k0 + c), torch::kFloat64);
      const auto std = torch::tensor(
          std::vector<double>(cp.metadata.std.begin() + k0, cp.metadata.std.begin() + k0 + c), torch::kFloat64);
      torch::addcmul_out(dst, mean, values.narrow(1, k0, c), std);
      k0 += c;
    }
  }

  /// (E, owned, C) physical values of every member.
  torch::Tensor decodeAll() {
    LATS_CHECK(window.defined(), ConfigurationError, "surrogate: decode before any state was encoded (reset())");
    c10::InferenceMode guard;
    const auto E = window.size(0);
    const auto last = window.select(1, window.size(1) - 1);  // (E, M, L)
    const auto out = cp.model->decode(last, coords.expand({E, -1, -1})).to(torch::kFloat64);
    return out * torch::tensor(cp.metadata.std, torch::kFloat64) + torch::tensor(cp.metadata.mean, torch::kFloat64);
  }
};

LatentRollout::LatentRollout(MPI_Comm comm, const std::string& checkpointDir) : impl_(std::make_unique<Impl>()) {
  impl_->comm = comm;
  // Every rank reads the same files, so a bad checkpoint fails on every rank alike.
  impl_->cp = loadCheckpoint(checkpointDir);
  impl_->cp.model->eval();
  const auto& md = impl_->cp.metadata;
  const auto& c = impl_->cp.description;
  RolloutInfo& info = impl_->info;
  info.checkpoint = checkpointDir;
  info.spatialDim = md.spatialDim;
  for (const auto& f : md.fields) {
    info.fieldNames.push_back(f.name);
    info.fieldComponents.push_back(static_cast<int>(f.components.size()));
    impl_->totalComponents += static_cast<std::int64_t>(f.components.size());
  }
  if (c.numParameters > 0) {
    const auto it = md.provenance.find("parameter_names");
    std::vector<std::string> names;
    if (it != md.provenance.end()) {
      std::stringstream ss(it->second);
      for (std::string name; std::getline(ss, name, ',');)
        if (!name.empty()) names.push_back(name);
    }
    LATS_CHECK(static_cast<std::int64_t>(names.size()) == c.numParameters, FileFormatError,
               "model checkpoint '" << checkpointDir << "': the dynamics takes " << c.numParameters
                                    << " PDE parameters but provenance.parameter_names lists " << names.size()
                                    << "; the checkpoint is incomplete (retrain or add the names)");
    info.parameterNames = names;
  }
  info.history = c.history;
  info.timeStep = md.timeStep;
  info.dynamics = c.dynamics.type();
  info.stochastic = impl_->cp.model->dynamics().stochastic();
  info.guidance = impl_->cp.model->dynamics().supportsGuidance();
  info.numTokens = impl_->cp.model->numTokens();
  info.latentDim = c.latentDim;
}

LatentRollout::~LatentRollout() = default;

const RolloutInfo& LatentRollout::info() const { return impl_->info; }

void LatentRollout::setParameters(const std::map<std::string, double>& values) {
  const auto& names = impl_->info.parameterNames;
  for (const auto& [name, v] : values)
    LATS_CHECK(std::find(names.begin(), names.end(), name) != names.end(), ConfigurationError,
               "surrogate: the model has no PDE parameter '"
                   << name << "'." << didYouMean(name, names)
                   << " Its parameters: " << (names.empty() ? std::string("(none)") : join(names, ", ")));
  std::vector<double> p;
  std::vector<std::string> missing;
  for (const auto& name : names) {
    const auto it = values.find(name);
    if (it == values.end()) {
      missing.push_back(name);
      continue;
    }
    LATS_CHECK(std::isfinite(it->second), InvalidValueError,
               "surrogate: PDE parameter " << name << " = " << it->second << "; expected a finite number");
    p.push_back(it->second);
  }
  LATS_CHECK(missing.empty(), ConfigurationError,
             "surrogate: the model is conditioned on the PDE parameters "
                 << join(names, ", ") << " but no value was given for " << join(missing, ", ")
                 << " (set them with -lats_surrogate_parameters name=value,...)");
  impl_->parameters = p;
  impl_->parametersSet = true;
}

void LatentRollout::setEnsemble(std::int64_t members, std::uint64_t seed) {
  LATS_CHECK(members >= 1, InvalidValueError, "surrogate: ensemble of " << members << " members; expected at least 1");
  impl_->members = members;
  impl_->seed = seed;
  impl_->window = torch::Tensor();
}

std::int64_t LatentRollout::members() const { return impl_->members; }

void LatentRollout::setChunkSizes(std::int64_t encoderPoints, std::int64_t decoderPoints) {
  LATS_CHECK(encoderPoints >= -1 && decoderPoints >= -1, InvalidValueError,
             "surrogate: chunk sizes " << encoderPoints << " and " << decoderPoints
                                       << "; expected -1 (the checkpoint's), 0 (all points) or a point count");
  if (encoderPoints >= 0) impl_->cp.model->encoder().setChunkSize(encoderPoints);
  if (decoderPoints >= 0) impl_->cp.model->decoder().setChunkSize(decoderPoints);
}

void LatentRollout::bind(std::shared_ptr<const Mesh> mesh, const State& state) {
  LATS_CHECK(mesh != nullptr, InvalidValueError, "surrogate: bind() without a mesh");
  validateAgainst(impl_->cp.metadata, *mesh, state);
  for (std::size_t f = 0; f < impl_->info.fieldNames.size(); ++f)
    LATS_CHECK(state.field(impl_->info.fieldNames[f]).size() >= mesh->ownedSize(), DimensionMismatchError,
               "surrogate: field '" << impl_->info.fieldNames[f] << "' has "
                                    << state.field(impl_->info.fieldNames[f]).size() << " entries but the mesh owns "
                                    << mesh->ownedSize());
  const std::int64_t n = mesh->ownedSize();
  const int d = mesh->dimension();
  auto xyz = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mesh->coordinates());
  auto x = torch::empty({1, n, d}, torch::kFloat64);
  auto a = x.accessor<double, 3>();
  const auto& off = impl_->cp.metadata.coordOffset;
  const auto& scale = impl_->cp.metadata.coordScale;
  for (std::int64_t i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) a[0][i][k] = off.empty() ? xyz(i, k) : (xyz(i, k) - off[k]) / scale[k];
  impl_->coords = x.to(torch::kFloat32);
  impl_->mesh = std::move(mesh);
  impl_->window = torch::Tensor();
}

bool LatentRollout::isBound() const { return impl_->mesh != nullptr; }

void LatentRollout::reset(const State& state) {
  LATS_CHECK(isBound(), ConfigurationError, "surrogate: reset() before bind()");
  const auto z = impl_->encode(state);  // (1, M, L)
  impl_->window = z.unsqueeze(1).expand({impl_->members, impl_->info.history, -1, -1}).contiguous();
  impl_->encoded();
}

void LatentRollout::resetMembers(const std::vector<const State*>& states) {
  LATS_CHECK(isBound(), ConfigurationError, "surrogate: resetMembers() before bind()");
  LATS_CHECK(static_cast<std::int64_t>(states.size()) == impl_->members, DimensionMismatchError,
             "surrogate: resetMembers() got " << states.size() << " states for " << impl_->members << " members");
  // One batched encoding of all members.
  std::vector<torch::Tensor> v;
  for (const auto* s : states) v.push_back(impl_->values(*s));  // (1, n, C) each
  const auto values = torch::cat(v, 0);
  torch::Tensor z;
  {
    c10::InferenceMode guard;
    const auto coords = impl_->coords.expand({impl_->members, -1, -1});
    const auto tokens = encodeDistributed(impl_->cp.model->encoder(), coords, values, impl_->mesh->comm());
    z = impl_->cp.model->latentOf(tokens);  // (E, M, L)
  }
  impl_->window = z.unsqueeze(1).expand({impl_->members, impl_->info.history, -1, -1}).contiguous();
  impl_->encoded();
}

void LatentRollout::push(const State& state) {
  if (!hasLatent()) return reset(state);
  const auto z = impl_->encode(state).unsqueeze(1).expand({impl_->members, 1, -1, -1});
  impl_->window = torch::cat({impl_->window.slice(1, 1), z}, 1).contiguous();
  impl_->encoded();
}

bool LatentRollout::hasLatent() const { return impl_->window.defined(); }

void LatentRollout::advance(std::int64_t steps) {
  LATS_CHECK(hasLatent(), ConfigurationError, "surrogate: advance() before a state was encoded (reset())");
  LATS_CHECK(impl_->info.parameterNames.empty() || impl_->parametersSet, ConfigurationError,
             "surrogate: the model is conditioned on the PDE parameters "
                 << join(impl_->info.parameterNames, ", ")
                 << "; give their values (-lats_surrogate_parameters name=value,...)");
  c10::InferenceMode guard;
  auto& m = impl_->cp.model;
  const auto E = impl_->members;
  const auto params = impl_->parameterTensor(E);
  for (std::int64_t s = 0; s < steps; ++s) {
    const auto next = m->dynamics().advance(impl_->window, params, impl_->streams());
    impl_->window = torch::cat({impl_->window.slice(1, 1), next.unsqueeze(1)}, 1);
    ++impl_->sinceEncode;
    ++impl_->stepCount;
  }
}

void LatentRollout::advanceGuided(const GuidanceTarget& target) {
  auto& I = *impl_;
  LATS_CHECK(hasLatent(), ConfigurationError, "surrogate: advanceGuided() before a state was encoded (reset())");
  LATS_CHECK(I.info.guidance, ModelMismatchError,
             "guided sampling needs a generative dynamics that accepts guidance; '"
                 << I.info.checkpoint << "' has " << I.info.dynamics
                 << " dynamics (train one with -lats_model_dynamics diffusion)");
  LATS_CHECK(I.info.parameterNames.empty() || I.parametersSet, ConfigurationError,
             "surrogate: the model is conditioned on the PDE parameters "
                 << join(I.info.parameterNames, ", ")
                 << "; give their values (-lats_surrogate_parameters name=value,...)");
  const auto m = static_cast<std::int64_t>(target.values.size());
  const int d = I.info.spatialDim;
  LATS_CHECK(target.coordinates.size() == static_cast<std::size_t>(m * d) &&
                 target.components.size() == static_cast<std::size_t>(m) &&
                 target.noiseStd.size() == static_cast<std::size_t>(m),
             DimensionMismatchError,
             "guidance: " << m << " values need " << m * d << " coordinates, " << m << " components and " << m
                          << " noise values; got " << target.coordinates.size() << ", " << target.components.size()
                          << ", " << target.noiseStd.size());
  LATS_CHECK(std::isfinite(target.gamma) && target.gamma >= 0.0, InvalidValueError,
             "guidance: gamma " << target.gamma << " must be finite and >= 0");
  LATS_CHECK(std::isfinite(target.modelError) && target.modelError >= 0.0 && target.corrections >= 1, InvalidValueError,
             "guidance: model error " << target.modelError << " must be finite and >= 0 and corrections "
                                      << target.corrections << " at least 1");
  // Sensors in the model's normalised units.
  const auto& md = I.cp.metadata;
  auto xs = torch::empty({1, m, d}, torch::kFloat64);
  auto y = torch::empty({m}, torch::kFloat64), var0 = torch::empty({m}, torch::kFloat64);
  auto idx = torch::empty({m, 1}, torch::kInt64);
  for (std::int64_t s = 0; s < m; ++s) {
    const int c = target.components[static_cast<std::size_t>(s)];
    LATS_CHECK(c >= 0 && c < I.totalComponents, InvalidValueError,
               "guidance: sensor " << s << " sees component " << c << "; the model has " << I.totalComponents);
    const double sd = md.std[static_cast<std::size_t>(c)];
    const double noise = target.noiseStd[static_cast<std::size_t>(s)];
    LATS_CHECK(std::isfinite(noise) && noise > 0.0 && std::isfinite(target.values[static_cast<std::size_t>(s)]),
               InvalidValueError,
               "guidance: sensor " << s << " has value " << target.values[static_cast<std::size_t>(s)] << " and noise "
                                   << noise << "; both must be finite, noise > 0");
    for (int k = 0; k < d; ++k) {
      const double x = target.coordinates[static_cast<std::size_t>(s * d + k)];
      xs[0][s][k] = md.coordOffset.empty() ? x : (x - md.coordOffset[k]) / md.coordScale[k];
    }
    y[s] = (target.values[static_cast<std::size_t>(s)] - md.mean[static_cast<std::size_t>(c)]) / sd;
    var0[s] = (noise / sd) * (noise / sd);
    idx[s][0] = c;
  }
  const auto coords = xs.to(torch::kFloat32);
  const auto yf = y.to(torch::kFloat32), var0f = var0.to(torch::kFloat32);
  auto& model = I.cp.model;
  const auto E = I.members;
  const auto params = I.parameterTensor(E);
  // The observations' log-likelihood of clean-state estimates (summed over the members),
  // widened by the denoiser's own uncertainty at the current noise level.
  const Guidance guidance = [&](const torch::Tensor& x0, double varianceScale) {
    const auto pred = model->decode(x0, coords.expand({x0.size(0), -1, -1}))
                          .gather(2, idx.view({1, m, 1}).expand({x0.size(0), m, 1}))
                          .squeeze(2);
    return assimilation::detail::observationLogLikelihood(pred, yf, var0f, target.gamma, varianceScale);
  };
  // Plain tensors (the window was made in inference mode, which autograd cannot record).
  const auto sampled = model->dynamics().advance(I.window.clone(), params, I.streams(), &guidance);
  std::vector<torch::Tensor> draws;
  for (std::int64_t i = 0; i < E; ++i) {
    auto x0 = sampled.slice(0, i, i + 1).detach();
    if (target.modelError > 0.0) {
      // Model error: the sample may lie off by N(0, modelError^2) per latent value. The
      // member becomes the most probable state under that prior and the observations (the
      // assimilation's latent variational analysis, with the decoder at the sensors as
      // observation operator).
      x0 = assimilation::detail::latentVariationalAnalysis(
          x0, [&](const torch::Tensor& z) { return model->decode(z, coords)[0].gather(1, idx).squeeze(1); }, yf, var0f,
          target.modelError, target.corrections);
    }
    draws.push_back(x0);
  }
  torch::NoGradGuard noGrad;
  const auto next = torch::cat(draws, 0);
  I.window = torch::cat({I.window.slice(1, 1), next.unsqueeze(1)}, 1);
  ++I.sinceEncode;
  ++I.stepCount;
}

std::int64_t LatentRollout::stepsSinceEncode() const { return impl_->sinceEncode; }

std::string LatentRollout::latentProblem(double bound) const {
  const auto& w = impl_->window;
  if (!w.defined()) return "";
  if (!torch::isfinite(w).all().item<bool>()) return "the latent state became non-finite";
  const double largest = w.abs().max().item<double>();
  if (bound > 0 && largest > bound * impl_->encodedScale) {
    std::ostringstream os;
    os << "the latent state grew to " << largest << " in magnitude, beyond " << bound << " x " << impl_->encodedScale
       << " (the bound times the largest value of the last encoded state; -lats_surrogate_bound)";
    return os.str();
  }
  return "";
}

void LatentRollout::injectFault(const std::string& where, const std::string& kind) {
  LATS_CHECK(kind == "nan" || kind == "inf" || kind == "huge", InvalidValueError,
             "surrogate: fault kind '" << kind << "'; expected nan, inf or huge");
  LATS_CHECK(where == "latent" || where == "decoded", InvalidValueError,
             "surrogate: fault in '" << where << "'; expected latent or decoded");
  LATS_CHECK(hasLatent(), ConfigurationError, "surrogate: injectFault() before a state was encoded (reset())");
  if (where == "decoded") {
    impl_->decodeFault = kind;
    return;
  }
  const double v = kind == "nan" ? std::nan("") : kind == "inf" ? INFINITY : 1e30;
  auto w = impl_->window.clone();  // tensors are never modified in place (save/restore share them)
  w.index_put_({torch::indexing::Ellipsis, -1, 0, 0}, v);
  impl_->window = w;
}

void LatentRollout::save() { impl_->saved = {impl_->window, impl_->sinceEncode, impl_->stepCount}; }

void LatentRollout::restore() {
  impl_->window = impl_->saved.window;  // tensors are never modified in place: sharing is safe
  impl_->sinceEncode = impl_->saved.sinceEncode;
  impl_->stepCount = impl_->saved.stepCount;
}

void LatentRollout::decode(State& state) const { decodeInto(state, false, 0.0); }

std::string LatentRollout::decodeChecked(State& state, double bound) const { return decodeInto(state, true, bound); }

std::string LatentRollout::decodeInto(State& state, bool check, double bound) const {
  auto& I = *impl_;
  LATS_CHECK(hasLatent(), ConfigurationError, "surrogate: decode before any state was encoded (reset())");
  c10::InferenceMode guard;
  const auto E = I.window.size(0);
  const auto last = I.window.select(1, I.window.size(1) - 1);               // (E, M, L)
  const auto out = I.cp.model->decode(last, I.coords.expand({E, -1, -1}));  // (E, owned, C) normalised
  // One member: its decoded values go straight into the fields. An ensemble: their mean (in
  // float64, of the normalised values, which de-normalisation maps linearly).
  auto values = E == 1 ? out[0] : out.to(torch::kFloat64).mean(0);
  const Comm comm(I.mesh->comm());
  if (!I.decodeFault.empty()) {  // injectFault("decoded", ...): the last rank's first value
    if (comm.rank() == comm.size() - 1 && values.size(0) > 0) {
      values = values.clone();
      values.index_put_({0, 0}, I.decodeFault == "nan" ? std::nan("") : I.decodeFault == "inf" ? INFINITY : 1e30);
    }
    I.decodeFault.clear();
  }
  if (check) {
    const bool finite = comm.all(torch::isfinite(values).all().item<bool>());
    if (!finite) return "the surrogate's decoded state has non-finite values";
    if (bound > 0) {
      const double largest = comm.max(values.numel() > 0 ? values.abs().max().item<double>() : 0.0);
      if (largest > bound) {
        std::ostringstream os;
        os << "the surrogate's decoded state reached " << largest
           << " training standard deviations from the training mean, beyond the bound " << bound
           << " (-lats_surrogate_bound)";
        return os.str();
      }
    }
  }
  I.writeFields(values, state);
  return "";
}

std::vector<double> LatentRollout::decodeMember(std::int64_t member) const {
  LATS_CHECK(member >= 0 && member < impl_->members, InvalidValueError,
             "surrogate: member " << member << " of an ensemble of " << impl_->members);
  const auto m = impl_->decodeAll()[member].contiguous();
  return std::vector<double>(m.data_ptr<double>(), m.data_ptr<double>() + m.numel());
}

std::int64_t LatentRollout::latentSize() const {
  return impl_->info.history * impl_->info.numTokens * impl_->info.latentDim;
}

std::vector<double> LatentRollout::latentState() const {
  LATS_CHECK(hasLatent(), ConfigurationError, "surrogate: latentState() before a state was encoded (reset())");
  const auto w = impl_->window.to(torch::kFloat64).contiguous();
  return std::vector<double>(w.data_ptr<double>(), w.data_ptr<double>() + w.numel());
}

void LatentRollout::setLatentState(const std::vector<double>& values) {
  LATS_CHECK(hasLatent(), ConfigurationError, "surrogate: setLatentState() before a state was encoded (reset())");
  LATS_CHECK(static_cast<std::int64_t>(values.size()) == impl_->members * latentSize(), DimensionMismatchError,
             "surrogate: setLatentState() got " << values.size() << " values; expected " << impl_->members << " x "
                                                << latentSize());
  for (std::size_t k = 0; k < values.size(); ++k)
    LATS_CHECK(std::isfinite(values[k]), InvalidValueError,
               "surrogate: setLatentState(): value " << k << " is " << values[k]);
  impl_->window = torch::tensor(values, torch::kFloat64).view(impl_->window.sizes()).to(torch::kFloat32).contiguous();
}

std::vector<double> LatentRollout::decodeAt(const std::vector<double>& coordinates,
                                            const std::vector<int>& components) const {
  auto& I = *impl_;
  LATS_CHECK(hasLatent(), ConfigurationError, "surrogate: decodeAt() before a state was encoded (reset())");
  const int d = I.info.spatialDim;
  const auto m = static_cast<std::int64_t>(components.size());
  LATS_CHECK(
      coordinates.size() == static_cast<std::size_t>(m * d), DimensionMismatchError,
      "surrogate: decodeAt() got " << coordinates.size() << " coordinates for " << m << " points in " << d << "D");
  const auto& md = I.cp.metadata;
  auto xs = torch::empty({1, m, d}, torch::kFloat64);
  auto idx = torch::empty({m, 1}, torch::kInt64);
  for (std::int64_t p = 0; p < m; ++p) {
    const int c = components[static_cast<std::size_t>(p)];
    LATS_CHECK(c >= 0 && c < I.totalComponents, InvalidValueError,
               "surrogate: decodeAt(): point " << p << " asks for component " << c << " of " << I.totalComponents);
    idx[p][0] = c;
    for (int k = 0; k < d; ++k) {
      const double x = coordinates[static_cast<std::size_t>(p * d + k)];
      xs[0][p][k] = md.coordOffset.empty() ? x : (x - md.coordOffset[k]) / md.coordScale[k];
    }
  }
  c10::InferenceMode guard;
  const auto E = I.members;
  const auto last = I.window.select(1, I.window.size(1) - 1);  // (E, M, L)
  const auto out = I.cp.model->decode(last, xs.to(torch::kFloat32).expand({E, -1, -1})).to(torch::kFloat64);
  const auto phys = out * torch::tensor(md.std, torch::kFloat64) + torch::tensor(md.mean, torch::kFloat64);
  const auto picked = phys.gather(2, idx.view({1, m, 1}).expand({E, m, 1})).squeeze(2).contiguous();  // (E, m)
  return std::vector<double>(picked.data_ptr<double>(), picked.data_ptr<double>() + picked.numel());
}

void LatentRollout::decodeMeanLatent(State& state) const {
  auto& I = *impl_;
  LATS_CHECK(hasLatent(), ConfigurationError, "surrogate: decode before any state was encoded (reset())");
  c10::InferenceMode guard;
  const auto last = I.window.select(1, I.window.size(1) - 1).mean(0, true);  // (1, M, L)
  I.writeFields(I.cp.model->decode(last, I.coords)[0], state);
}

std::vector<double> LatentRollout::decodeMembers() const {
  const auto all = impl_->decodeAll().contiguous();  // (E, owned, C)
  return std::vector<double>(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
}

std::vector<double> LatentRollout::spread() const {
  const auto all = impl_->decodeAll();
  const auto s = (all.size(0) > 1 ? all.std(0, false) : torch::zeros_like(all[0])).contiguous();
  return std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
}

}  // namespace lats::solvers::neural
