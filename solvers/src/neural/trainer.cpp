#include "lats/solvers/neural/trainer.hpp"

// torch/types.h first: clip_grad.h uses torch::Tensor without including it.
#include <torch/types.h>
// (separate block so include sorting keeps the order)
#include <ATen/CPUGeneratorImpl.h>
#include <sys/stat.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/log.hpp"
#include "lats/core/options.hpp"
#include "lats/core/random.hpp"
#include "lats/core/strings.hpp"
#include "lats/core/version.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/solvers/neural/checkpoint.hpp"
#include "lats/solvers/neural/latent_model.hpp"

namespace lats::solvers::neural {
namespace {

// ---------------------------------------------------------------------------------------
// Options

const StringOption kDataset{"train_dataset", "", "train: the training dataset (HDF5, from lats generate/convert)"};
const StringOption kOutput{"train_output", "lats_model", "train: checkpoint directory (training state inside)"};
const EnumOption kStages{"train_stages",
                         "all",
                         {"all", "autoencoder", "dynamics"},
                         "train: which stages to run (dynamics takes the autoencoder of -lats_train_init, else of the "
                         "checkpoint in the output directory)"};
const IntOption kAeSteps{"train_autoencoder_steps", 2000, "train: optimisation steps of the autoencoder stage"};
const IntOption kDynSteps{"train_dynamics_steps", 2000, "train: optimisation steps of the latent dynamics stage"};
const IntOption kBatch{"train_batch", 16, "train: global batch size (split over the ranks)"};
const RealOption kLr{"train_lr", 1e-3, "train: peak learning rate (AdamW)"};
const RealOption kWd{"train_weight_decay", 1e-4, "train: AdamW weight decay"};
const IntOption kWarmup{"train_warmup", 100, "train: linear warm-up steps before the cosine decay"};
const RealOption kClip{"train_clip", 1.0, "train: gradient norm clipping threshold (0: off)"};
const RealOption kEma{"train_ema", 0.999, "train: EMA decay of the weights the checkpoints hold (0: off)"};
const RealOption kValidation{"train_validation", 0.1, "train: fraction of trajectories held out for validation"};
const RealOption kPointFraction{"train_point_fraction", 0.5,
                                "train: samples are encoded from a random fraction in [this, 1] of the points"};
const IntOption kSamplePoints{"train_points", 0,
                              "train: mesh points per autoencoder sample, a random subset (0: all; for large meshes)"};
const StringOption kInit{
    "train_init", "", "train: start from this checkpoint's weights (a directory written by lats train; empty: random)"};
const RealOption kKl{"train_kl", 1e-5, "train: weight of the KL term of the autoencoder loss"};
const IntOption kUnroll{"train_unroll", 1, "train: latent steps per dynamics sample (autoregressive training)"};
const IntOption kValidateEvery{"train_validate_every", 200, "train: steps between validations"};
const IntOption kCheckpointEvery{"train_checkpoint_every", 500, "train: steps between checkpoints"};
const IntOption kStopAfter{"train_stop_after", 0,
                           "train: stop after this many steps of this run, with a checkpoint (0: train to the end)"};
const IntOption kSeed{"train_seed", 1, "train: seed of initialisation, batches, point subsets and noise"};
const BoolOption kProgress{"train_progress", true, "train: progress line (step, loss, rate, ETA) on rank 0"};

// ---------------------------------------------------------------------------------------
// Data: the whole dataset on every rank, normalised, float32.

struct Data {
  torch::Tensor values;                         // (M, T, N, C) normalised
  torch::Tensor coords;                         // (N, dim)
  torch::Tensor params;                         // (M, P)
  std::vector<std::int64_t> train, validation;  // trajectory indices (complete ones)
  std::vector<double> mean, std, coordOffset, coordScale, parameterMean, parameterStd;
  meshio::DatasetHeader header;
  int dimension = 0;
  std::int64_t M = 0, T = 0, N = 0, C = 0, P = 0;
};

Data loadData(const std::string& path, double validationFraction, const ModelMetadata* use = nullptr) {
  Data d;
  meshio::DatasetReader reader(MPI_COMM_SELF, path);
  d.header = reader.header();
  d.dimension = reader.dimension();
  d.M = d.header.numTrajectories;
  d.T = static_cast<std::int64_t>(d.header.times.size());
  d.N = reader.numPoints();
  d.C = static_cast<std::int64_t>(d.header.components.size());
  d.P = static_cast<std::int64_t>(d.header.parameterNames.size());
  std::vector<std::int64_t> complete;
  const auto flags = reader.complete();
  for (std::int64_t m = 0; m < d.M; ++m)
    if (flags[m]) complete.push_back(m);
  LATS_CHECK(!complete.empty(), InvalidValueError, path << ": no complete trajectory to train on");
  LATS_CHECK(d.T >= 2, InvalidValueError, path << ": " << d.T << " snapshot(s); training needs at least 2");
  const auto mesh = reader.mesh();
  auto xyz = Kokkos::create_mirror_view_and_copy(HostSpace(), mesh->coordinates());
  d.coords = torch::empty({d.N, d.dimension}, torch::kFloat64);
  auto c = d.coords.accessor<double, 2>();
  for (std::int64_t i = 0; i < d.N; ++i)
    for (int k = 0; k < d.dimension; ++k) c[i][k] = xyz(i, k);
  d.values = torch::zeros({d.M, d.T, d.N, d.C}, torch::kFloat64);
  d.params = torch::zeros({d.M, std::max<std::int64_t>(d.P, 1)}, torch::kFloat64);
  const auto fields = reader.read(*mesh, complete, 0, d.T);
  auto v = d.values.accessor<double, 4>();
  for (std::size_t j = 0; j < complete.size(); ++j) {
    const auto m = complete[j];
    for (std::int64_t t = 0; t < d.T; ++t) {
      auto host = Kokkos::create_mirror_view_and_copy(HostSpace(), fields[j * d.T + t].view());
      for (std::int64_t i = 0; i < d.N; ++i)
        for (std::int64_t k = 0; k < d.C; ++k) v[m][t][i][k] = host(i, k);
    }
    const auto p = reader.parameters(m);
    for (std::int64_t k = 0; k < d.P; ++k) d.params[m][k] = p[k];
  }
  // Non-finite input is refused, not trained on (a NaN spreads to every weight).
  for (std::int64_t t = 0; t < d.T; ++t)
    LATS_CHECK(std::isfinite(d.header.times[t]) && (t == 0 || d.header.times[t] > d.header.times[t - 1]),
               InvalidValueError,
               path << ": time " << t << " is " << d.header.times[t]
                    << "; training needs finite, strictly increasing snapshot times (regenerate or repair the file)");
  auto firstNonFinite = [](const torch::Tensor& x) {
    const auto bad = torch::nonzero(torch::logical_not(torch::isfinite(x)));
    return bad.size(0) > 0 ? bad[0] : torch::Tensor();
  };
  if (const auto at = firstNonFinite(d.coords); at.defined())
    LATS_THROW(InvalidValueError, path << ": point " << at[0].item<std::int64_t>() << " has a non-finite coordinate ("
                                       << d.coords[at[0]][at[1]].item<double>()
                                       << "); training needs finite points (regenerate or repair the file)");
  if (const auto at = firstNonFinite(d.params.narrow(1, 0, d.P)); d.P > 0 && at.defined())
    LATS_THROW(InvalidValueError, path << ": trajectory " << at[0].item<std::int64_t>() << " has a non-finite value of "
                                       << "parameter '" << d.header.parameterNames[at[1].item<std::int64_t>()] << "' ("
                                       << d.params[at[0]][at[1]].item<double>()
                                       << "); training needs finite parameters (regenerate or repair the file)");
  if (const auto at = firstNonFinite(d.values); at.defined())
    LATS_THROW(InvalidValueError,
               path << ": trajectory " << at[0].item<std::int64_t>() << ", time index " << at[1].item<std::int64_t>()
                    << ", point " << at[2].item<std::int64_t>() << ", component '"
                    << d.header.components[at[3].item<std::int64_t>()] << "' is "
                    << d.values[at[0]][at[1]][at[2]][at[3]].item<double>()
                    << "; training needs finite field values (regenerate the trajectory or remove it from the file)");
  // Split: the last trajectories are held out.
  std::int64_t nVal =
      validationFraction > 0 ? std::max<std::int64_t>(1, std::llround(validationFraction * complete.size())) : 0;
  if (nVal >= static_cast<std::int64_t>(complete.size())) nVal = static_cast<std::int64_t>(complete.size()) - 1;
  d.train.assign(complete.begin(), complete.end() - nVal);
  d.validation.assign(complete.end() - nVal, complete.end());
  // Normalisation per component over the training trajectories.
  if (use) {
    d.mean = use->mean;
    d.std = use->std;
    d.coordOffset = use->coordOffset;
    d.coordScale = use->coordScale;
    d.parameterMean = use->parameterMean;
    d.parameterStd = use->parameterStd;
  } else {
    // Coordinates into [0, 1] along the longest axis (the same scale on every axis).
    const auto lo = std::get<0>(d.coords.min(0)), hi = std::get<0>(d.coords.max(0));
    const double extent = (hi - lo).max().item<double>();
    for (int k = 0; k < d.dimension; ++k) {
      d.coordOffset.push_back(lo[k].item<double>());
      d.coordScale.push_back(extent > 0 ? extent : 1.0);
    }
    auto idx = torch::tensor(d.train, torch::kInt64);
    auto trainValues = d.values.index_select(0, idx).reshape({-1, d.C});
    auto mean = trainValues.mean(0), std = trainValues.std(0, false);
    for (std::int64_t k = 0; k < d.C; ++k) {
      d.mean.push_back(mean[k].item<double>());
      const double s = std[k].item<double>();
      d.std.push_back(s > 1e-12 ? s : 1.0);
    }
  }
  if (!use && d.P > 0) {
    // PDE parameters to zero mean and unit spread over the training trajectories (a parameter
    // that does not vary keeps scale 1).
    auto trainParams = d.params.index_select(0, torch::tensor(d.train, torch::kInt64));
    auto pm = trainParams.mean(0), ps = trainParams.std(0, false);
    for (std::int64_t k = 0; k < d.P; ++k) {
      d.parameterMean.push_back(pm[k].item<double>());
      const double sk = ps[k].item<double>();
      d.parameterStd.push_back(sk > 1e-12 ? sk : 1.0);
    }
  }
  if (!d.parameterMean.empty())
    d.params =
        (d.params - torch::tensor(d.parameterMean, torch::kFloat64)) / torch::tensor(d.parameterStd, torch::kFloat64);
  auto meanT = torch::tensor(d.mean, torch::kFloat64), stdT = torch::tensor(d.std, torch::kFloat64);
  d.values = ((d.values - meanT) / stdT).to(torch::kFloat32);
  if (!d.coordOffset.empty())
    d.coords =
        (d.coords - torch::tensor(d.coordOffset, torch::kFloat64)) / torch::tensor(d.coordScale, torch::kFloat64);
  d.coords = d.coords.to(torch::kFloat32);
  d.params = d.params.to(torch::kFloat32);
  return d;
}

// ---------------------------------------------------------------------------------------
// Settings fingerprint: what must match for a resume.

std::string fingerprint(const TrainerSettings& s) {
  std::ostringstream os;
  os.precision(17);
  os << "dataset=" << s.dataset << ";stages=" << s.stages << ";ae=" << s.autoencoderSteps << ";dyn=" << s.dynamicsSteps
     << ";batch=" << s.batchSize << ";lr=" << s.learningRate << ";wd=" << s.weightDecay << ";warmup=" << s.warmupSteps
     << ";clip=" << s.clipNorm << ";ema=" << s.emaDecay << ";validation=" << s.validation
     << ";points=" << s.pointFraction << (s.samplePoints > 0 ? ";samplePoints=" + std::to_string(s.samplePoints) : "")
     << (s.init.empty() ? "" : ";init=" + s.init) << ";kl=" << s.klWeight << ";unroll=" << s.unroll
     << ";seed=" << s.seed << ";" << s.model.fingerprint();
  return os.str();
}

std::string firstDifference(const std::string& stored, const std::string& now) {
  auto split = [](const std::string& s) {
    std::map<std::string, std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ';');) {
      const auto eq = item.find('=');
      out[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
    }
    return out;
  };
  const auto a = split(stored), b = split(now);
  for (const auto& [k, v] : b) {
    const auto it = a.find(k);
    if (it == a.end() || it->second != v)
      return k + " is " + (it == a.end() ? "(missing)" : it->second) + " in the stored run, " + v + " now";
  }
  return "the settings differ";
}

// ---------------------------------------------------------------------------------------
// Random draws that depend on (seed, stage, step, sample) only, not on the rank count.

std::uint64_t streamOf(int stage, std::int64_t step, std::int64_t sample = -1) {
  return (static_cast<std::uint64_t>(stage) << 56) ^ (static_cast<std::uint64_t>(step) << 20) ^
         static_cast<std::uint64_t>(sample + 1);
}

at::Generator generatorFor(std::uint64_t seed, int stage, std::int64_t step) {
  auto gen = at::detail::createCPUGenerator(SplitMix64(seed, streamOf(stage, step) ^ 0xABCDEFull).next());
  return gen;
}

/// A sorted random subset of `k` of `n` indices (partial Fisher-Yates).
std::vector<std::int64_t> subset(std::int64_t n, std::int64_t k, SplitMix64& rng) {
  std::vector<std::int64_t> idx(n);
  for (std::int64_t i = 0; i < n; ++i) idx[i] = i;
  for (std::int64_t i = 0; i < k; ++i) std::swap(idx[i], idx[i + static_cast<std::int64_t>(rng.below(n - i))]);
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

// ---------------------------------------------------------------------------------------
// Evaluation

/// The seed the evaluation samples stochastic dynamics with (the surrogate stepper's default).
constexpr std::uint64_t kEvaluationSeed = 1;

/// Accuracy of a model on trajectories, through the inference the steppers run.
struct Evaluator {
  LatentModel& model;
  const Data& data;
  torch::Tensor meanT, stdT;  // float64 (C)

  Evaluator(LatentModel& m, const Data& d)
      : model(m), data(d), meanT(torch::tensor(d.mean, torch::kFloat64)), stdT(torch::tensor(d.std, torch::kFloat64)) {}

  /// sum |pred - true|^2 / sum |true|^2 over one snapshot, in physical units.
  double rel(const torch::Tensor& pred, const torch::Tensor& truth) const {
    const auto p = pred.to(torch::kFloat64) * stdT + meanT, t = truth.to(torch::kFloat64) * stdT + meanT;
    const double den = t.pow(2).sum().item<double>();
    return (p - t).pow(2).sum().item<double>() / std::max(den, 1e-300);
  }

  /// Accuracy over `trajectories`, split over the ranks of `comm`.
  Accuracy operator()(const std::vector<std::int64_t>& trajectories, MPI_Comm comm, bool withRollout) const {
    torch::NoGradGuard noGrad;
    const Comm c(comm);
    const std::int64_t T = data.T, h = model->description().history;
    std::vector<double> recon(1, 0.0), byTime(T, 0.0);
    const auto coords = data.coords.unsqueeze(0);
    for (std::size_t j = c.rank(); j < trajectories.size(); j += c.size()) {
      const auto m = trajectories[j];
      const auto snaps = data.values[m];                                // (T, N, C)
      const auto z = model->encode(coords.expand({T, -1, -1}), snaps);  // (T, M, L)
      const auto rec = model->decode(z, coords.expand({T, -1, -1}));
      for (std::int64_t t = 0; t < T; ++t) recon[0] += rel(rec[t], snaps[t]);
      if (!withRollout) continue;
      auto window = z.slice(0, 0, h).unsqueeze(0);  // (1, h, M, L)
      const auto params = data.P > 0 ? data.params[m].unsqueeze(0) : torch::Tensor();
      for (std::int64_t t = 0; t < h; ++t) byTime[t] += rel(rec[t], snaps[t]);
      for (std::int64_t t = h; t < T; ++t) {
        // What the surrogate stepper computes: one member with the default seed, its stream
        // at latent step t - h (stochastic dynamics are scored on their samples).
        const auto next = model->advance(window, params, {memberStream(kEvaluationSeed, 0, t - h)});  // (1, M, L)
        byTime[t] += rel(model->decode(next, coords)[0], snaps[t]);
        window = torch::cat({window.slice(1, 1), next.unsqueeze(1)}, 1);
      }
    }
    MPI_Allreduce(MPI_IN_PLACE, recon.data(), 1, MPI_DOUBLE, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, byTime.data(), static_cast<int>(T), MPI_DOUBLE, MPI_SUM, comm);
    Accuracy a;
    a.trajectories = static_cast<std::int64_t>(trajectories.size());
    const double n = std::max<double>(1.0, static_cast<double>(trajectories.size()));
    a.reconstruction = recon[0] / (n * static_cast<double>(T));
    if (withRollout) {
      for (auto& b : byTime) b /= n;
      a.rolloutByTime = byTime;
      double sum = 0.0;
      for (std::int64_t t = h; t < T; ++t) sum += byTime[t];
      a.rollout = sum / static_cast<double>(std::max<std::int64_t>(1, T - h));
    }
    return a;
  }
};

// ---------------------------------------------------------------------------------------
// The trainer

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

void makeDirectory(const std::string& path) {
  if (!exists(path) && mkdir(path.c_str(), 0755) != 0 && !exists(path))
    LATS_THROW(Error, "could not create directory '" << path << "'");
}

struct Trainer {
  const TrainerSettings& s;
  MPI_Comm comm;
  Comm c;
  Data data;
  LatentModel model{nullptr};
  std::map<std::string, torch::Tensor> ema;  // name -> shadow
  std::unique_ptr<torch::optim::AdamW> optimizer;
  int optimizerStage = -1;
  std::int64_t step = 0;  // global step: [0, AE) autoencoder, [AE, AE + DYN) dynamics
  TrainingReport report;
  torch::Tensor latents;  // (M, T, tokens, L), stage 2
  std::string statePath;

  Trainer(const TrainerSettings& settings, MPI_Comm cm) : s(settings), comm(cm), c(cm) {}

  std::int64_t aeSteps() const { return s.stages == "dynamics" ? 0 : s.autoencoderSteps; }
  std::int64_t dynSteps() const { return s.stages == "autoencoder" ? 0 : s.dynamicsSteps; }
  std::int64_t totalSteps() const { return aeSteps() + dynSteps(); }

  /// The architecture: the options' description with the sizes of the data.
  ModelDescription description() const {
    ModelDescription d = s.model;
    d.spatialDim = data.dimension;
    d.numComponents = data.C;
    d.numParameters = data.P;
    return d;
  }

  ModelMetadata metadata() const {
    ModelMetadata md;
    md.fields = {{data.header.equation, data.header.components}};
    md.spatialDim = data.dimension;
    md.mean = data.mean;
    md.std = data.std;
    md.coordOffset = data.coordOffset;
    md.coordScale = data.coordScale;
    md.parameterMean = data.parameterMean;
    md.parameterStd = data.parameterStd;
    // The snapshot interval, when the snapshots are evenly spaced.
    const auto& times = data.header.times;
    const double dt = times.size() >= 2 ? times[1] - times[0] : 0.0;
    bool even = dt > 0;
    for (std::size_t j = 1; j < times.size() && even; ++j) even = std::abs((times[j] - times[j - 1]) - dt) <= 1e-9 * dt;
    md.timeStep = even ? dt : 0.0;
    md.provenance["lats_version"] = lats::version();
    md.provenance["command_line"] = s.commandLine;
    md.provenance["dataset"] = s.dataset;
    md.provenance["seed"] = std::to_string(s.seed);
    md.provenance["steps"] = std::to_string(step);
    md.provenance["parameter_names"] = join(data.header.parameterNames, ",");
    return md;
  }

  static bool isAutoencoder(const std::string& name) {
    return name.rfind("encoder.", 0) == 0 || name.rfind("bottleneck.", 0) == 0 || name.rfind("decoder.", 0) == 0;
  }

  std::vector<torch::Tensor> stageParameters(int stage) {
    std::vector<torch::Tensor> out;
    for (auto& p : model->named_parameters())
      if (isAutoencoder(p.key()) == (stage == 1)) out.push_back(p.value());
    return out;
  }

  void makeOptimizer(int stage) {
    optimizer = std::make_unique<torch::optim::AdamW>(
        stageParameters(stage), torch::optim::AdamWOptions(s.learningRate).weight_decay(s.weightDecay));
    optimizerStage = stage;
  }

  double learningRate(std::int64_t local, std::int64_t total) const {
    const double warm =
        std::min(1.0, static_cast<double>(local + 1) / static_cast<double>(std::max<std::int64_t>(1, s.warmupSteps)));
    const double cosine =
        0.5 *
        (1.0 + std::cos(M_PI * static_cast<double>(local) / static_cast<double>(std::max<std::int64_t>(1, total))));
    return s.learningRate * warm * (0.01 + 0.99 * cosine);
  }

  void updateEma(int stage, std::int64_t local) {
    if (s.emaDecay <= 0) return;
    torch::NoGradGuard g;
    const double d = std::min(s.emaDecay, (1.0 + local) / (10.0 + local));
    for (auto& p : model->named_parameters())
      if (isAutoencoder(p.key()) == (stage == 1)) ema[p.key()].mul_(d).add_(p.value().detach(), 1.0 - d);
  }

  /// Swaps the model's parameters with the EMA shadows (call twice to swap back).
  void swapEma() {
    if (s.emaDecay <= 0) return;
    torch::NoGradGuard g;
    for (auto& p : model->named_parameters()) {
      auto tmp = p.value().detach().clone();
      p.value().copy_(ema[p.key()]);
      ema[p.key()].copy_(tmp);
    }
  }

  /// Sums the gradients over the ranks (each rank's loss is already weighted by its share).
  void allReduceGradients(const std::vector<torch::Tensor>& params) {
    if (c.size() == 1) return;
    std::vector<torch::Tensor> grads;
    for (const auto& p : params) grads.push_back(p.grad().defined() ? p.grad().reshape(-1) : torch::zeros({p.numel()}));
    auto flat = torch::cat(grads).contiguous();
    MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), static_cast<int>(flat.numel()), MPI_FLOAT, MPI_SUM, comm);
    std::int64_t off = 0;
    for (const auto& p : params) {
      const auto n = p.numel();
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      p.mutable_grad().copy_(flat.slice(0, off, off + n).view_as(p));
      off += n;
    }
  }

  std::pair<std::int64_t, std::int64_t> mySlice() const {
    const std::int64_t B = s.batchSize;
    return {B * c.rank() / c.size(), B * (c.rank() + 1) / c.size()};
  }

  /// One autoencoder step at local step `local`; returns the global mean loss.
  double autoencoderStep(std::int64_t local) {
    const std::int64_t B = s.batchSize;
    // Each sample sees P of the mesh's points (all by default), encoded from k of them.
    const std::int64_t N = s.samplePoints > 0 ? std::min(s.samplePoints, data.N) : data.N;
    SplitMix64 rng(s.seed, streamOf(1, local));
    std::vector<std::pair<std::int64_t, std::int64_t>> samples(B);
    for (auto& sm : samples)
      sm = {data.train[rng.below(data.train.size())], static_cast<std::int64_t>(rng.below(data.T))};
    const auto k = std::max<std::int64_t>(
        1, std::min<std::int64_t>(N, static_cast<std::int64_t>(std::ceil(rng.uniform(s.pointFraction, 1.0) * N))));
    auto gen = generatorFor(s.seed, 1, local);
    const auto noise =
        at::randn({B, model->numTokens(), s.model.latentDim}, gen, at::TensorOptions().dtype(at::kFloat));
    const auto [lo, hi] = mySlice();
    double lossValue = 0.0;
    optimizer->zero_grad();
    if (hi > lo) {
      std::vector<torch::Tensor> xs, vs, qs, full;
      for (std::int64_t j = lo; j < hi; ++j) {
        SplitMix64 prng(s.seed, streamOf(1, local, j));
        auto coords = data.coords;
        auto snap = data.values[samples[j].first][samples[j].second];  // (N, C)
        if (N < data.N) {
          const auto points = torch::tensor(subset(data.N, N, prng), torch::kInt64);
          coords = coords.index_select(0, points);
          snap = snap.index_select(0, points);
        }
        const auto idx = torch::tensor(subset(N, k, prng), torch::kInt64);
        xs.push_back(coords.index_select(0, idx));
        vs.push_back(snap.index_select(0, idx));
        if (N < data.N) qs.push_back(coords);
        full.push_back(snap);
      }
      const auto coordsSub = torch::stack(xs), valuesSub = torch::stack(vs), target = torch::stack(full);
      const auto out =
          model->bottleneck()(model->encoder().forward(coordsSub, valuesSub), true, noise.slice(0, lo, hi));
      // Decoded at the sample's points: its subset, or every point (shared, not copied).
      const auto queries = N < data.N ? torch::stack(qs) : data.coords.unsqueeze(0).expand({hi - lo, -1, -1});
      const auto recon = model->decode(out.latent, queries);
      const auto loss = (torch::mse_loss(recon, target) + s.klWeight * out.kl()) *
                        (static_cast<double>(hi - lo) / static_cast<double>(B));
      loss.backward();
      lossValue = loss.item<double>();
    }
    const auto params = stageParameters(1);
    allReduceGradients(params);
    if (s.clipNorm > 0) torch::nn::utils::clip_grad_norm_(params, s.clipNorm);
    for (auto& group : optimizer->param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(learningRate(local, aeSteps()));
    optimizer->step();
    updateEma(1, local);
    return c.sum(lossValue);
  }

  void computeLatents() {
    torch::NoGradGuard g;
    latents = torch::zeros({data.M, data.T, model->numTokens(), s.model.latentDim}, torch::kFloat32);
    const auto coords = data.coords.unsqueeze(0).expand({data.T, -1, -1});
    std::vector<std::int64_t> all = data.train;
    all.insert(all.end(), data.validation.begin(), data.validation.end());
    for (const auto m : all) latents[m].copy_(model->encode(coords, data.values[m]));
  }

  double dynamicsStep(std::int64_t local) {
    const std::int64_t B = s.batchSize, h = s.model.history, U = std::max<std::int64_t>(1, s.unroll);
    const std::int64_t starts = data.T - h - U + 1;
    LATS_CHECK(starts >= 1, InvalidValueError,
               s.dataset << ": " << data.T << " snapshots are too few for history " << h << " and unroll " << U);
    SplitMix64 rng(s.seed, streamOf(2, local));
    std::vector<std::pair<std::int64_t, std::int64_t>> samples(B);
    for (auto& sm : samples)
      sm = {data.train[rng.below(data.train.size())], static_cast<std::int64_t>(rng.below(starts))};
    const auto [lo, hi] = mySlice();
    double lossValue = 0.0;
    optimizer->zero_grad();
    if (hi > lo) {
      std::vector<torch::Tensor> windows, targets, params;
      for (std::int64_t j = lo; j < hi; ++j) {
        const auto [m, t0] = samples[j];
        windows.push_back(latents[m].slice(0, t0, t0 + h));
        targets.push_back(latents[m].slice(0, t0 + h, t0 + h + U));
        if (data.P > 0) params.push_back(data.params[m]);
      }
      DynamicsBatch batch;
      batch.window = torch::stack(windows);  // (b, h, M, L)
      batch.targets = torch::stack(targets);
      batch.parameters = data.P > 0 ? torch::stack(params) : torch::Tensor();
      batch.generator = generatorFor(s.seed, 2, local);
      batch.globalBatch = B;
      batch.begin = lo;
      const auto loss = model->dynamics().loss(batch) * (static_cast<double>(hi - lo) / static_cast<double>(B));
      loss.backward();
      lossValue = loss.item<double>();
    }
    const auto params = stageParameters(2);
    allReduceGradients(params);
    if (s.clipNorm > 0) torch::nn::utils::clip_grad_norm_(params, s.clipNorm);
    for (auto& group : optimizer->param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(learningRate(local, dynSteps()));
    optimizer->step();
    updateEma(2, local);
    return c.sum(lossValue);
  }

  double validate(int stage) {
    if (data.validation.empty()) return std::nan("");
    swapEma();
    const auto a = Evaluator(model, data)(data.validation, comm, stage == 2);
    swapEma();
    return stage == 1 ? a.reconstruction : a.rollout;
  }

  // --- state on disk -------------------------------------------------------------------

  void saveState() {
    const std::string dir = s.output + "/training";
    collective(comm, [&] {
      if (c.rank() != 0) return;
      makeDirectory(s.output);
      makeDirectory(dir);
      torch::serialize::OutputArchive a;
      a.write("fingerprint", c10::IValue(fingerprint(s)));
      a.write("step", torch::tensor(step, torch::kInt64));
      for (auto& p : model->named_parameters()) a.write("model." + p.key(), p.value().detach());
      for (auto& b : model->named_buffers()) a.write("buffer." + b.key(), b.value());
      for (auto& [k, v] : ema) a.write("ema." + k, v);
      a.write("loss.autoencoder", torch::tensor(report.autoencoderLoss, torch::kFloat64));
      a.write("loss.dynamics", torch::tensor(report.dynamicsLoss, torch::kFloat64));
      a.write("validation.steps", torch::tensor(report.validationSteps, torch::kInt64));
      a.write("validation.loss", torch::tensor(report.validationLoss, torch::kFloat64));
      a.write("optimizer.stage", torch::tensor(static_cast<std::int64_t>(optimizerStage), torch::kInt64));
      if (optimizer) {
        torch::serialize::OutputArchive o;
        optimizer->save(o);
        a.write("optimizer", o);
      }
      const std::string tmp = statePath + ".tmp";
      a.save_to(tmp);
      if (std::rename(tmp.c_str(), statePath.c_str()) != 0)
        LATS_THROW(Error, "could not move '" << tmp << "' to '" << statePath << "'");
    });
  }

  void saveModel() {
    collective(comm, [&] {
      if (c.rank() != 0) return;
      swapEma();
      try {
        saveCheckpoint(s.output, model, metadata());
      } catch (...) {
        swapEma();
        throw;
      }
      swapEma();
    });
  }

  /// Loads <output>/training/state.pt if present (every rank reads it). Returns true if resumed.
  bool loadState() {
    int present = c.rank() == 0 && exists(statePath);
    MPI_Bcast(&present, 1, MPI_INT, 0, comm);
    if (!present) return false;
    collective(comm, [&] {
      torch::serialize::InputArchive a;
      try {
        a.load_from(statePath);
      } catch (const std::exception& e) {
        LATS_THROW(FileFormatError, statePath << ": cannot be read as a LaTS training state (" << e.what()
                                              << "); remove it to start over");
      }
      c10::IValue fp;
      a.read("fingerprint", fp);
      if (fp.toStringRef() != fingerprint(s))
        LATS_THROW(ConfigurationError, s.output << " holds a training run with other settings ("
                                                << firstDifference(fp.toStringRef(), fingerprint(s))
                                                << "); use the same settings to resume, or another -lats_train_output");
      auto get = [&](const std::string& key) {
        torch::Tensor x;  // a fresh tensor per key: read() rebinds a defined one
        a.read(key, x);
        return x;
      };
      step = get("step").item<std::int64_t>();
      torch::NoGradGuard g;
      for (auto& p : model->named_parameters()) p.value().copy_(get("model." + p.key()));
      for (auto& b : model->named_buffers()) b.value().copy_(get("buffer." + b.key()));
      for (auto& [k, v] : ema) v.copy_(get("ema." + k));
      auto toVector = [](const torch::Tensor& x, auto zero) {
        using T = decltype(zero);
        std::vector<T> out(x.numel());
        auto c = x.contiguous();
        std::copy(c.data_ptr<T>(), c.data_ptr<T>() + c.numel(), out.begin());
        return out;
      };
      report.autoencoderLoss = toVector(get("loss.autoencoder"), 0.0);
      report.dynamicsLoss = toVector(get("loss.dynamics"), 0.0);
      report.validationSteps = toVector(get("validation.steps"), std::int64_t{0});
      report.validationLoss = toVector(get("validation.loss"), 0.0);
      const int stage = static_cast<int>(get("optimizer.stage").item<std::int64_t>());
      if (stage > 0) {
        makeOptimizer(stage);
        torch::serialize::InputArchive o;
        a.read("optimizer", o);
        optimizer->load(o);
      }
    });
    return true;
  }

  // --- the loop ------------------------------------------------------------------------

  /// Mean of the losses since the last validation (what the progress line shows).
  double recentMean(const std::vector<double>& losses) const {
    const auto n = std::min<std::size_t>(losses.size(), static_cast<std::size_t>(s.validateEvery));
    double sum = 0.0;
    for (std::size_t i = losses.size() - n; i < losses.size(); ++i) sum += losses[i];
    return n > 0 ? sum / static_cast<double>(n) : std::nan("");
  }

  void progressLine(const char* stage, std::int64_t local, std::int64_t total, double loss, double rate,
                    std::int64_t remaining) const {
    if (!s.progress || c.rank() != 0) return;
    const double eta = rate > 0 ? static_cast<double>(remaining) / rate : 0.0;
    std::printf("[train] %-11s step %6lld/%-6lld loss %.3e  val %.3e  %.2f steps/s  ETA %dm%02ds\n", stage,
                static_cast<long long>(local), static_cast<long long>(total), loss,
                report.validationLoss.empty() ? std::nan("") : report.validationLoss.back(), rate,
                static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    std::fflush(stdout);
  }

  void run() {
    const auto start = std::chrono::steady_clock::now();
    LATS_CHECK(!s.dataset.empty(), ConfigurationError,
               "no training data; give -lats_train_dataset <file.h5> (made by lats generate or lats convert)");
    LATS_CHECK(s.batchSize >= c.size(), ConfigurationError,
               "batch " << s.batchSize << " is smaller than the " << c.size()
                        << " ranks; give -lats_train_batch >= the number of ranks");
    LATS_CHECK(s.pointFraction > 0 && s.pointFraction <= 1, ConfigurationError,
               "-lats_train_point_fraction " << s.pointFraction << " is outside (0, 1]");
    LATS_CHECK(s.samplePoints >= 0, ConfigurationError,
               "-lats_train_points " << s.samplePoints << " is negative; give 0 (every point) or a point count");
    LATS_CHECK(s.autoencoderSteps >= 0 && s.dynamicsSteps >= 0 && s.unroll >= 1 && s.model.history >= 1,
               ConfigurationError, "train: step counts must be >= 0 and unroll, history >= 1");
    collective(comm, [&] { data = loadData(s.dataset, s.validation); });
    LATS_CHECK(!data.train.empty(), InvalidValueError,
               s.dataset << ": no trajectory left for training after holding out " << data.validation.size()
                         << " for validation; lower -lats_train_validation or generate more trajectories");
    torch::manual_seed(s.seed);
    model = LatentModel(description());
    LATS_CHECK(model->trainable(), ConfigurationError,
               "train: the model has a component that runs an imported TorchScript module (encoder "
                   << description().encoder.type() << ", decoder " << description().decoder.type() << ", dynamics "
                   << description().dynamics.type() << "), which LaTS cannot train; train it in Python, or choose "
                   << "native components (-lats_model_encoder, -lats_model_decoder, -lats_model_dynamics)");
    for (auto& p : model->named_parameters()) ema[p.key()] = p.value().detach().clone();
    statePath = s.output + "/training/state.pt";
    const bool resumed = loadState();
    report.resumedAt = resumed ? step : 0;
    report.checkpoint = s.output;
    if (resumed && c.rank() == 0 && s.progress)
      std::printf("[train] resuming %s at step %lld of %lld\n", s.output.c_str(), static_cast<long long>(step),
                  static_cast<long long>(totalSteps()));
    // Starting weights: -lats_train_init's checkpoint (its dynamics too when they match), or,
    // for a dynamics-only training, the autoencoder of the checkpoint in the output directory.
    const bool fromInit = !s.init.empty();
    if ((fromInit || s.stages == "dynamics") && !resumed) {
      collective(comm, [&] {
        const std::string from = fromInit ? s.init : s.output;
        LATS_CHECK(!fromInit || exists(from + "/model.json"), ConfigurationError,
                   "-lats_train_init " << from << ": no checkpoint there (no model.json); give a directory "
                                       << "written by lats train");
        const auto ck = loadCheckpoint(from);
        if (fromInit) {
          LATS_CHECK(ck.description.sameAutoencoder(description()), ConfigurationError,
                     "-lats_train_init " << from << ": its autoencoder differs from the -lats_model_ options; give "
                                         << "the options it was trained with (see its model.json)");
        } else {
          LATS_CHECK(ck.description.sameAutoencoder(description()), ConfigurationError,
                     from << ": the checkpoint's autoencoder differs from the -lats_model_ options; train the "
                             "dynamics with the autoencoder options it was trained with (the dynamics options "
                             "may differ)");
        }
        torch::NoGradGuard g;
        const bool all = fromInit && ck.description.sameArchitecture(description());
        auto src = ck.model->named_parameters();
        for (auto& p : model->named_parameters())
          if (all || isAutoencoder(p.key())) p.value().copy_(src[p.key()]), ema[p.key()].copy_(src[p.key()]);
        if (fromInit && c.rank() == 0 && s.progress)
          std::printf("[train] starting from the weights of %s (%s)\n", from.c_str(),
                      all ? "autoencoder and dynamics" : "autoencoder; the dynamics differ and start afresh");
      });
    }
    std::int64_t ran = 0;
    auto last = std::chrono::steady_clock::now();
    std::int64_t lastStep = step;
    bool stopped = false;
    auto rate = [&] {
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - last).count();
      const double r = dt > 0 ? static_cast<double>(step - lastStep) / dt : 0.0;
      last = std::chrono::steady_clock::now();
      lastStep = step;
      return r;
    };
    // Stage 1
    model->train();
    while (step < aeSteps() && !stopped) {
      if (optimizerStage != 1) makeOptimizer(1);
      report.autoencoderLoss.push_back(autoencoderStep(step));
      ++step;
      ++ran;
      if (step % s.validateEvery == 0 || step == aeSteps()) {
        report.validationSteps.push_back(step);
        report.validationLoss.push_back(validate(1));
        progressLine("autoencoder", step, aeSteps(), recentMean(report.autoencoderLoss), rate(), totalSteps() - step);
      }
      stopped = s.stopAfter > 0 && ran >= s.stopAfter;
      if (step % s.checkpointEvery == 0 || step == aeSteps() || stopped) {
        saveState();
        saveModel();
      }
    }
    if (stopped && step < totalSteps()) return finish(start, false);
    // Stage 2 on the latents of the EMA autoencoder (frozen from here on).
    if (dynSteps() > 0) {
      if (step == aeSteps() && s.emaDecay > 0) {  // the autoencoder keeps its EMA weights (idempotent)
        torch::NoGradGuard g;
        for (auto& p : model->named_parameters())
          if (isAutoencoder(p.key())) p.value().copy_(ema[p.key()]);
      }
      computeLatents();
      while (step < totalSteps() && !stopped) {
        if (optimizerStage != 2) makeOptimizer(2);
        const std::int64_t local = step - aeSteps();
        report.dynamicsLoss.push_back(dynamicsStep(local));
        ++step;
        ++ran;
        if ((local + 1) % s.validateEvery == 0 || step == totalSteps()) {
          report.validationSteps.push_back(step);
          report.validationLoss.push_back(validate(2));
          progressLine("dynamics", local + 1, dynSteps(), recentMean(report.dynamicsLoss), rate(), totalSteps() - step);
        }
        stopped = s.stopAfter > 0 && ran >= s.stopAfter;
        if ((local + 1) % s.checkpointEvery == 0 || step == totalSteps() || stopped) {
          saveState();
          saveModel();
        }
      }
    }
    finish(start, step >= totalSteps());
  }

  void finish(std::chrono::steady_clock::time_point start, bool done) {
    report.finished = done;
    if (done && !data.validation.empty()) {
      swapEma();
      report.validationAccuracy = Evaluator(model, data)(data.validation, comm, dynSteps() > 0);
      swapEma();
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

}  // namespace

TrainerSettings TrainerSettings::fromOptions() {
  TrainerSettings s;
  s.dataset = kDataset.get();
  s.output = kOutput.get();
  s.stages = kStages.get();
  s.autoencoderSteps = kAeSteps.get();
  s.dynamicsSteps = kDynSteps.get();
  s.batchSize = kBatch.get();
  s.learningRate = kLr.get();
  s.weightDecay = kWd.get();
  s.warmupSteps = kWarmup.get();
  s.clipNorm = kClip.get();
  s.emaDecay = kEma.get();
  s.validation = kValidation.get();
  s.pointFraction = kPointFraction.get();
  s.samplePoints = kSamplePoints.get();
  s.init = kInit.get();
  s.klWeight = kKl.get();
  s.unroll = kUnroll.get();
  s.validateEvery = kValidateEvery.get();
  s.checkpointEvery = kCheckpointEvery.get();
  s.stopAfter = kStopAfter.get();
  s.seed = static_cast<std::uint64_t>(kSeed.get());
  s.progress = kProgress.get();
  s.model = ModelDescription::fromOptions();
  LATS_CHECK(s.batchSize >= 1 && s.validateEvery >= 1 && s.checkpointEvery >= 1 && s.learningRate > 0 &&
                 s.validation >= 0 && s.validation < 1,
             ConfigurationError,
             "train: -lats_train_batch, _validate_every, _checkpoint_every must be >= 1, -lats_train_lr > 0 and "
             "-lats_train_validation in [0, 1)");
  return s;
}

TrainingReport trainModel(MPI_Comm comm, const TrainerSettings& settings) {
  Trainer t(settings, comm);
  t.run();
  return t.report;
}

Accuracy evaluateModel(MPI_Comm comm, const std::string& checkpointDir, const std::string& dataset,
                       const std::vector<std::int64_t>& trajectories) {
  Checkpoint ck;
  collective(comm, [&] { ck = loadCheckpoint(checkpointDir); });
  Data data;
  collective(comm, [&] {
    data = loadData(dataset, 0.0, &ck.metadata);
    const auto& d = ck.description;
    LATS_CHECK(data.dimension == d.spatialDim && data.C == d.numComponents, ModelMismatchError,
               dataset << ": " << data.dimension << "D points with " << data.C << " components; the model "
                       << checkpointDir << " expects " << d.spatialDim << "D and " << d.numComponents);
    LATS_CHECK(data.P == d.numParameters, ModelMismatchError,
               dataset << ": " << data.P << " parameters per trajectory; the model expects " << d.numParameters);
  });
  std::vector<std::int64_t> which = trajectories.empty() ? data.train : trajectories;
  ck.model->eval();
  return Evaluator(ck.model, data)(which, comm, true);
}

}  // namespace lats::solvers::neural
