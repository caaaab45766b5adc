/// \file torchscript.cpp
/// The "torchscript" encoder, decoder and latent dynamics: a model trained in Python (or
/// exported from a native LaTS checkpoint with python/lats_torchscript.py) runs behind the
/// component interfaces, so every stepper and host that loads a checkpoint runs it.

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <map>
#include <mutex>

#include "detail/torchscript_module.hpp"
#include "lats/core/error.hpp"

namespace lats::solvers::neural::detail {

// ---------------------------------------------------------------------------------------
// ScriptedModule

ScriptedModule::ScriptedModule(torch::jit::Module module, std::string path)
    : module_(std::move(module)), path_(std::move(path)) {
  module_.eval();
}

std::shared_ptr<ScriptedModule> ScriptedModule::load(const std::string& path) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const c10::Error& e) {
    LATS_THROW(FileFormatError, "cannot load '" << path << "' as a TorchScript model (" << e.what_without_backtrace()
                                                << "); export it with torch.jit.script(model).save(path)");
  } catch (const std::exception& e) {
    LATS_THROW(FileFormatError, "cannot load '" << path << "' as a TorchScript model (" << e.what()
                                                << "); export it with torch.jit.script(model).save(path)");
  }
  return std::shared_ptr<ScriptedModule>(new ScriptedModule(std::move(module), path));
}

std::shared_ptr<ScriptedModule> ScriptedModule::shared(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<ScriptedModule>> loaded;
  // One load per file version: a module rewritten in place (a new export) is loaded again.
  char resolved[PATH_MAX];
  std::string key = realpath(path.c_str(), resolved) ? std::string(resolved) : path;
  struct stat info {};
  if (stat(path.c_str(), &info) == 0)
    key += "|" + std::to_string(static_cast<long long>(info.st_mtim.tv_sec)) + "." +
           std::to_string(static_cast<long long>(info.st_mtim.tv_nsec)) + "|" +
           std::to_string(static_cast<long long>(info.st_size));
  std::lock_guard<std::mutex> lock(mutex);
  if (auto existing = loaded[key].lock()) return existing;
  auto module = load(path);
  loaded[key] = module;
  return module;
}

std::int64_t ScriptedModule::integer(const char* name) const {
  LATS_CHECK(module_.hasattr(name) && module_.attr(name).isInt(), ModelMismatchError,
             "TorchScript model '" << path_ << "' lacks the integer attribute '" << name
                                   << "'; see doc/torchscript.md for the expected signature");
  return module_.attr(name).toInt();
}

std::int64_t ScriptedModule::integer(const char* name, std::int64_t fallback) const {
  return module_.hasattr(name) ? integer(name) : fallback;
}

void ScriptedModule::requireMethod(const char* name) const {
  LATS_CHECK(module_.find_method(name).has_value(), ModelMismatchError,
             "TorchScript model '" << path_ << "' lacks the method '" << name
                                   << "'; export it with @torch.jit.export (see doc/torchscript.md)");
}

torch::Tensor ScriptedModule::call(const char* method, std::vector<torch::IValue> args) {
  torch::IValue out;
  try {
    out = module_.get_method(method)(std::move(args));
  } catch (const c10::Error& e) {
    LATS_THROW(ModelMismatchError,
               "TorchScript model '" << path_ << "': " << method << "() failed: " << e.what_without_backtrace());
  } catch (const std::exception& e) {  // the interpreter's own errors (torch::jit::JITException)
    LATS_THROW(ModelMismatchError, "TorchScript model '" << path_ << "': " << method << "() failed: " << e.what());
  }
  LATS_CHECK(out.isTensor(), ModelMismatchError,
             "TorchScript model '" << path_ << "': " << method << "() must return a Tensor, got " << out.tagKind());
  return out.toTensor();
}

// ---------------------------------------------------------------------------------------
// The components

const HyperSpec& torchscriptFileSpec() {
  static const HyperSpec spec = [] {
    HyperSpec s;
    s.key = "file";
    s.option = "model_torchscript";
    s.defaultValue = std::string();
    s.help = "model: TorchScript module of the torchscript encoder, decoder and dynamics (relative to the checkpoint)";
    return declareHyper(s);
  }();
  return spec;
}

namespace {

[[maybe_unused]] const HyperSpec& kFile = torchscriptFileSpec();

/// What the three components share: the module and the sizes it was checked against.
class ScriptedPart {
 protected:
  ScriptedPart(const ComponentConfig& config, const ModelShape& shape, const char* role, const char* method)
      : file_(config.text("file")),
        spatialDim_(shape.spatialDim),
        numComponents_(shape.numComponents),
        latentDim_(shape.latentDim) {
    LATS_CHECK(!file_.empty(), ConfigurationError,
               "the torchscript " << role << " needs its module file: 'file' in model.json's " << role
                                  << " block (or -lats_model_torchscript)");
    const std::string path = file_.front() == '/' || shape.directory.empty() ? file_ : shape.directory + "/" + file_;
    module_ = ScriptedModule::shared(path);
    checkSize("spatial_dim", shape.spatialDim);
    checkSize("num_components", shape.numComponents);
    checkSize("latent_dim", shape.latentDim);
    numTokens_ = module_->integer("num_tokens");
    LATS_CHECK(numTokens_ >= 1, ModelMismatchError,
               "TorchScript model '" << module_->path() << "': num_tokens is " << numTokens_ << "; expected >= 1");
    module_->requireMethod(method);
  }
  void checkSize(const char* attribute, std::int64_t expected) const {
    const auto value = module_->integer(attribute);
    LATS_CHECK(value == expected, ModelMismatchError,
               "TorchScript model '" << module_->path() << "' has " << attribute << " = " << value
                                     << " but model.json describes " << expected
                                     << "; the module and its model.json do not belong together");
  }
  ComponentConfig configOf() const { return ComponentConfig("torchscript").set("file", file_); }

  std::string file_;
  std::shared_ptr<ScriptedModule> module_;
  std::int64_t spatialDim_, numComponents_, latentDim_;  // as model.json describes them
  std::int64_t numTokens_ = 0;
};

class TorchScriptEncoder : public Encoder, ScriptedPart {
 public:
  TorchScriptEncoder(const ComponentConfig& config, const ModelShape& shape)
      : ScriptedPart(config, shape, "encoder", "encode") {}
  std::string type() const override { return "torchscript"; }
  ComponentConfig config() const override { return configOf(); }
  std::int64_t numTokens() const override { return numTokens_; }
  std::int64_t tokenDim() const override { return latentDim_; }
  bool variational() const override { return false; }
  bool trainable() const override { return false; }
  void setChunkSize(std::int64_t /*points*/) override {}  // the module sees every point at once

  EncoderPartial partial(const torch::Tensor& coords, const torch::Tensor& values, const torch::Tensor& mask) override {
    LATS_CHECK(coords.dim() == 3 && coords.size(2) == spatialDim_, DimensionMismatchError,
               "encoder: coordinates must be (batch, points, " << spatialDim_ << "), got " << coords.sizes());
    LATS_CHECK(values.dim() == 3 && values.size(2) == numComponents_ && values.size(0) == coords.size(0) &&
                   values.size(1) == coords.size(1),
               DimensionMismatchError,
               "encoder: values must be (" << coords.size(0) << ", " << coords.size(1) << ", " << numComponents_
                                           << ") to match the coordinates, got " << values.sizes());
    if (!mask.defined() || mask.all().item<bool>()) return EncoderPartial{{}, {}, {coords, values}};
    // encode() has no mask: the points a mask keeps are passed on their own, which needs the
    // same number of them in every batch entry.
    LATS_CHECK(mask.dim() == 2 && mask.size(0) == coords.size(0) && mask.size(1) == coords.size(1),
               DimensionMismatchError,
               "encoder: mask must be (batch, points) = (" << coords.size(0) << ", " << coords.size(1) << "), got "
                                                           << mask.sizes());
    const auto kept = mask.sum(1);
    LATS_CHECK((kept == kept[0]).all().item<bool>(), ModelMismatchError,
               "the torchscript encoder passes the points a mask keeps to the module's encode(), which has no "
               "mask; the batch entries keep different numbers of points ("
                   << kept.min().item<std::int64_t>() << " to " << kept.max().item<std::int64_t>() << ")");
    const auto n = kept[0].item<std::int64_t>();
    // Row-major positions of the kept points: n per entry, in the entry's order.
    auto index = mask.nonzero().select(1, 1).view({mask.size(0), n});
    auto gather = [&](const torch::Tensor& t) {
      return torch::gather(t, 1, index.unsqueeze(-1).expand({-1, -1, t.size(2)}));
    };
    return EncoderPartial{{}, {}, {gather(coords), gather(values)}};
  }

  EncoderPartial emptyPartial(std::int64_t batch, const torch::TensorOptions& options) override {
    return EncoderPartial{
        {}, {}, {torch::zeros({batch, 0, spatialDim_}, options), torch::zeros({batch, 0, numComponents_}, options)}};
  }

  torch::Tensor finish(const EncoderPartial& merged) override {
    LATS_CHECK(merged.points.size() == 2 && merged.attention.empty() && merged.sums.empty(), DimensionMismatchError,
               "torchscript encoder: expected the gathered coordinates and values, got "
                   << merged.points.size() << " point, " << merged.attention.size() << " attention and "
                   << merged.sums.size() << " sum tensors");
    const auto& coords = merged.points[0];
    LATS_CHECK(coords.size(1) >= 1, DimensionMismatchError,
               "torchscript encoder: no points to encode (every rank passed none)");
    auto z = module_->call("encode", {coords, merged.points[1]});
    LATS_CHECK(z.dim() == 3 && z.size(0) == coords.size(0) && z.size(1) == numTokens_ && z.size(2) == latentDim_,
               ModelMismatchError,
               "TorchScript model '" << module_->path() << "': encode() returned " << z.sizes() << "; expected ("
                                     << coords.size(0) << ", " << numTokens_ << ", " << latentDim_
                                     << ") (batch, num_tokens, latent_dim)");
    return z;
  }
};

class TorchScriptDecoder : public Decoder, ScriptedPart {
 public:
  TorchScriptDecoder(const ComponentConfig& config, const ModelShape& shape)
      : ScriptedPart(config, shape, "decoder", "decode") {}
  std::string type() const override { return "torchscript"; }
  ComponentConfig config() const override { return configOf(); }
  bool trainable() const override { return false; }
  void setChunkSize(std::int64_t points) override { chunk_ = points; }

  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& coords) override {
    LATS_CHECK(tokens.dim() == 3 && tokens.size(2) == latentDim_, DimensionMismatchError,
               "decoder: tokens must be (batch, tokens, " << latentDim_ << "), got " << tokens.sizes());
    LATS_CHECK(coords.dim() == 3 && coords.size(2) == spatialDim_ && coords.size(0) == tokens.size(0),
               DimensionMismatchError,
               "decoder: query coordinates must be (" << tokens.size(0) << ", points, " << spatialDim_ << "), got "
                                                      << coords.sizes());
    // Query points are independent, so chunks bound memory without changing the values.
    const std::int64_t n = coords.size(1), chunk = chunk_ > 0 ? chunk_ : std::max<std::int64_t>(n, 1);
    std::vector<torch::Tensor> parts;
    for (std::int64_t start = 0; start < n || start == 0; start += chunk) {
      const auto x = coords.narrow(1, start, std::min(chunk, n - start));
      auto y = module_->call("decode", {tokens, x});
      LATS_CHECK(y.dim() == 3 && y.size(0) == x.size(0) && y.size(1) == x.size(1) && y.size(2) == numComponents_,
                 ModelMismatchError,
                 "TorchScript model '" << module_->path() << "': decode() returned " << y.sizes() << "; expected ("
                                       << x.size(0) << ", " << x.size(1) << ", " << numComponents_
                                       << ") (batch, points, num_components)");
      parts.push_back(y);
      if (n == 0) break;
    }
    return parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
  }

 private:
  std::int64_t chunk_ = 0;
};

class TorchScriptDynamics : public LatentDynamics, ScriptedPart {
 public:
  TorchScriptDynamics(const ComponentConfig& config, const ModelShape& shape)
      : ScriptedPart(config, shape, "dynamics", "step"), history_(shape.history), numParameters_(shape.numParameters) {
    checkSize("num_tokens", shape.numTokens);
    LATS_CHECK(module_->integer("history", 1) == history_, ModelMismatchError,
               "TorchScript model '" << module_->path() << "' steps a window of " << module_->integer("history", 1)
                                     << " states (attribute history) but model.json describes history " << history_);
    LATS_CHECK(module_->integer("num_parameters", 0) == numParameters_, ModelMismatchError,
               "TorchScript model '" << module_->path() << "' is conditioned on "
                                     << module_->integer("num_parameters", 0)
                                     << " PDE parameters (attribute num_parameters) but model.json describes "
                                     << numParameters_);
  }
  std::string type() const override { return "torchscript"; }
  ComponentConfig config() const override { return configOf(); }
  std::int64_t history() const override { return history_; }
  bool stochastic() const override { return false; }
  bool trainable() const override { return false; }

  torch::Tensor advance(const torch::Tensor& window, const torch::Tensor& parameters,
                        const std::vector<std::uint64_t>& /*streams*/, const Guidance* guidance) override {
    LATS_CHECK(guidance == nullptr, ModelMismatchError,
               "guided sampling needs a generative dynamics (e.g. -lats_model_dynamics diffusion); an imported "
               "TorchScript step() is deterministic");
    LATS_CHECK(
        window.dim() == 4 && window.size(1) == history_ && window.size(2) == numTokens_ && window.size(3) == latentDim_,
        DimensionMismatchError,
        "torchscript dynamics: expected windows (batch, " << history_ << ", " << numTokens_ << ", " << latentDim_
                                                          << "), got " << window.sizes());
    // step() takes the latent state (B, M, L) when the history is 1, the window (B, H, M, L)
    // otherwise, and the parameters (B, P) second when the model is conditioned on them.
    std::vector<torch::IValue> args{history_ == 1 ? window.select(1, 0) : window};
    if (numParameters_ > 0) {
      LATS_CHECK(parameters.defined() && parameters.dim() == 2 && parameters.size(0) == window.size(0) &&
                     parameters.size(1) == numParameters_,
                 DimensionMismatchError,
                 "torchscript dynamics: expected parameters ("
                     << window.size(0) << ", " << numParameters_ << "), got "
                     << (parameters.defined() ? parameters.sizes() : torch::IntArrayRef{}));
      args.emplace_back(parameters);
    }
    torch::NoGradGuard noGrad;
    auto z = module_->call("step", std::move(args));
    LATS_CHECK(z.sizes() == window.select(1, 0).sizes(), ModelMismatchError,
               "TorchScript model '" << module_->path() << "': step() returned " << z.sizes() << "; expected "
                                     << window.select(1, 0).sizes() << " (batch, num_tokens, latent_dim)");
    return z;
  }

  torch::Tensor loss(const DynamicsBatch& /*batch*/) override {
    LATS_THROW(ModelMismatchError, "the torchscript dynamics runs an imported module ('"
                                       << module_->path()
                                       << "') and cannot be trained in LaTS; train it in Python and export it again");
  }

 private:
  std::int64_t history_, numParameters_;
};

const char* const kHelp = "an imported TorchScript module's encode/decode/step (doc/torchscript.md); inference only";

}  // namespace

void registerTorchScriptEncoder(ComponentRegistry<Encoder, const ModelShape&>& registry) {
  registry.add("torchscript", kHelp, {torchscriptFileSpec()},
               [](const ComponentConfig& c, const ModelShape& shape) -> std::shared_ptr<Encoder> {
                 return std::make_shared<TorchScriptEncoder>(c, shape);
               });
}

void registerTorchScriptDecoder(ComponentRegistry<Decoder, const ModelShape&>& registry) {
  registry.add("torchscript", kHelp, {torchscriptFileSpec()},
               [](const ComponentConfig& c, const ModelShape& shape) -> std::shared_ptr<Decoder> {
                 return std::make_shared<TorchScriptDecoder>(c, shape);
               });
}

void registerTorchScriptDynamics(ComponentRegistry<LatentDynamics, const ModelShape&>& registry) {
  registry.add("torchscript", kHelp, {torchscriptFileSpec()},
               [](const ComponentConfig& c, const ModelShape& shape) -> std::shared_ptr<LatentDynamics> {
                 return std::make_shared<TorchScriptDynamics>(c, shape);
               });
}

}  // namespace lats::solvers::neural::detail
