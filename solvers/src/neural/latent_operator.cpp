#include "lats/solvers/neural/latent_operator.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include "lats/core/error.hpp"

namespace lats::solvers::neural {
namespace {

class NativeOperator : public LatentOperator {
 public:
  explicit NativeOperator(LatentModel model) : model_(std::move(model)) {
    const auto& d = model_->description();
    LATS_CHECK(d.history == 1 && d.numParameters == 0 && !model_->dynamics().stochastic(), ModelMismatchError,
               "the LatentOperator interface steps one state without parameters or random draws; this model has "
               "history "
                   << d.history << ", " << d.numParameters << " parameters and " << d.dynamics.type() << " dynamics");
    model_->eval();
  }
  torch::Tensor encode(const torch::Tensor& c, const torch::Tensor& v) override { return model_->encode(c, v); }
  torch::Tensor decode(const torch::Tensor& z, const torch::Tensor& c) override { return model_->decode(z, c); }
  torch::Tensor step(const torch::Tensor& z) override { return model_->advance(z); }
  int64_t spatialDim() const override { return model_->description().spatialDim; }
  int64_t numComponents() const override { return model_->description().numComponents; }
  std::string kind() const override { return "native"; }

 private:
  LatentModel model_;
};

class TorchScriptOperator : public LatentOperator {
 public:
  TorchScriptOperator(torch::jit::Module module, std::string path)
      : module_(std::move(module)), path_(std::move(path)) {
    for (const char* attr : {"spatial_dim", "num_components"}) {
      LATS_CHECK(module_.hasattr(attr) && module_.attr(attr).isInt(), ModelMismatchError,
                 "TorchScript model '" << path_ << "' lacks the integer attribute '" << attr
                                       << "'; see doc/torchscript.md for the expected signature");
    }
    spatialDim_ = module_.attr("spatial_dim").toInt();
    numComponents_ = module_.attr("num_components").toInt();
    for (const char* method : {"encode", "decode", "step"}) {
      LATS_CHECK(module_.find_method(method).has_value(), ModelMismatchError,
                 "TorchScript model '" << path_ << "' lacks the method '" << method
                                       << "'; export it with @torch.jit.export (see doc/torchscript.md)");
    }
    module_.eval();
  }
  torch::Tensor encode(const torch::Tensor& c, const torch::Tensor& v) override { return call("encode", {c, v}); }
  torch::Tensor decode(const torch::Tensor& z, const torch::Tensor& c) override { return call("decode", {z, c}); }
  torch::Tensor step(const torch::Tensor& z) override { return call("step", {z}); }
  int64_t spatialDim() const override { return spatialDim_; }
  int64_t numComponents() const override { return numComponents_; }
  std::string kind() const override { return "torchscript"; }

 private:
  torch::Tensor call(const char* method, std::vector<torch::IValue> args) {
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
  torch::jit::Module module_;
  std::string path_;
  int64_t spatialDim_ = 0, numComponents_ = 0;
};

}  // namespace

std::unique_ptr<LatentOperator> makeNativeOperator(LatentModel model) {
  return std::make_unique<NativeOperator>(std::move(model));
}

std::unique_ptr<LatentOperator> loadTorchScriptOperator(const std::string& path) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const c10::Error& e) {
    LATS_THROW(FileFormatError, "cannot load '" << path << "' as a TorchScript model (" << e.what_without_backtrace()
                                                << "); export it with torch.jit.script(model).save(path)");
  }
  return std::make_unique<TorchScriptOperator>(std::move(module), path);
}

}  // namespace lats::solvers::neural
