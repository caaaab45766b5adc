#include "lats/solvers/neural/latent_operator.hpp"

#include <torch/torch.h>

#include "detail/torchscript_module.hpp"
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
  explicit TorchScriptOperator(std::shared_ptr<detail::ScriptedModule> module) : module_(std::move(module)) {
    spatialDim_ = module_->integer("spatial_dim");
    numComponents_ = module_->integer("num_components");
    for (const char* method : {"encode", "decode", "step"}) module_->requireMethod(method);
  }
  torch::Tensor encode(const torch::Tensor& c, const torch::Tensor& v) override {
    return module_->call("encode", {c, v});
  }
  torch::Tensor decode(const torch::Tensor& z, const torch::Tensor& c) override {
    return module_->call("decode", {z, c});
  }
  torch::Tensor step(const torch::Tensor& z) override { return module_->call("step", {z}); }
  int64_t spatialDim() const override { return spatialDim_; }
  int64_t numComponents() const override { return numComponents_; }
  std::string kind() const override { return "torchscript"; }

 private:
  std::shared_ptr<detail::ScriptedModule> module_;
  int64_t spatialDim_ = 0, numComponents_ = 0;
};

}  // namespace

std::unique_ptr<LatentOperator> makeNativeOperator(LatentModel model) {
  return std::make_unique<NativeOperator>(std::move(model));
}

std::unique_ptr<LatentOperator> loadTorchScriptOperator(const std::string& path) {
  return std::make_unique<TorchScriptOperator>(detail::ScriptedModule::load(path));
}

}  // namespace lats::solvers::neural
