#pragma once
/// \file latent_operator.hpp
/// What a surrogate stepper needs from a latent model, whether native (LatentModel) or
/// imported from Python as TorchScript.
///
/// TorchScript signature (see doc/torchscript.md): a scripted module with integer attributes
/// `spatial_dim` and `num_components` and three exported methods
///   encode(coords: Tensor[B,N,spatial_dim], values: Tensor[B,N,num_components]) -> Tensor[B,M,L]
///   decode(latent: Tensor[B,M,L], coords: Tensor[B,N,spatial_dim]) -> Tensor[B,N,num_components]
///   step(latent: Tensor[B,M,L]) -> Tensor[B,M,L]
/// in float32, on normalised values (LaTS normalises with the checkpoint statistics).

#include <torch/types.h>

#include <memory>
#include <string>

#include "lats/solvers/neural/latent_model.hpp"

namespace lats::solvers::neural {

class LatentOperator {
 public:
  virtual ~LatentOperator() = default;
  virtual torch::Tensor encode(const torch::Tensor& coords, const torch::Tensor& values) = 0;
  virtual torch::Tensor decode(const torch::Tensor& latent, const torch::Tensor& coords) = 0;
  virtual torch::Tensor step(const torch::Tensor& latent) = 0;
  virtual int64_t spatialDim() const = 0;
  virtual int64_t numComponents() const = 0;
  /// "native" or "torchscript".
  virtual std::string kind() const = 0;
};

/// A LatentModel behind the LatentOperator interface (deterministic dynamics, history 1,
/// no parameter conditioning).
std::unique_ptr<LatentOperator> makeNativeOperator(LatentModel model);

/// Loads a TorchScript file and checks it has the documented attributes and methods;
/// FileFormatError if the file is not TorchScript, ModelMismatchError naming the missing or
/// wrong attribute or method otherwise. Not collective.
std::unique_ptr<LatentOperator> loadTorchScriptOperator(const std::string& path);

}  // namespace lats::solvers::neural
