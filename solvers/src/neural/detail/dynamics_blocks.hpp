#pragma once
/// \file dynamics_blocks.hpp
/// Pieces the latent dynamics share: DiT block stacks, token positions, checks of the
/// parameter conditioning, and the hyper-parameters every dynamics has (width, depth).

#include <torch/nn/modules/container/modulelist.h>
#include <torch/types.h>

#include "lats/core/error.hpp"
#include "lats/solvers/neural/component.hpp"
#include "lats/solvers/neural/dit_block.hpp"

namespace lats::solvers::neural::detail {

/// -lats_model_dynamics_dim and -lats_model_dynamics_depth (declared in latent_dynamics.cpp).
const HyperSpec& dynamicsDimSpec();
const HyperSpec& dynamicsDepthSpec();

inline torch::nn::ModuleList makeBlocks(int64_t depth, int64_t dim, int64_t numHeads) {
  torch::nn::ModuleList blocks;
  for (int64_t i = 0; i < depth; ++i) blocks->push_back(DiTBlock(DiTBlockOptions(dim, dim).numHeads(numHeads)));
  return blocks;
}

inline torch::Tensor runBlocks(torch::nn::ModuleList& blocks, torch::Tensor x, const torch::Tensor& condition) {
  for (auto& b : *blocks) x = b->as<DiTBlock>()->forward(x, condition);
  return x;
}

/// Adds the learned token positions (if any) after checking the token count.
inline torch::Tensor addPositions(const torch::Tensor& x, const torch::Tensor& positions, const char* who) {
  if (!positions.defined()) return x;
  LATS_CHECK(x.size(1) == positions.size(0), DimensionMismatchError,
             who << ": the model was built for " << positions.size(0) << " latent tokens, got " << x.size(1));
  return x + positions.to(x.dtype());
}

inline void checkParameters(const torch::Tensor& p, int64_t expected, int64_t batch, const char* who) {
  if (expected == 0) {
    LATS_CHECK(!p.defined() || p.numel() == 0, DimensionMismatchError,
               who << ": the model has no parameter conditioning but parameters " << p.sizes() << " were given");
    return;
  }
  LATS_CHECK(p.defined() && p.dim() == 2 && p.size(0) == batch && p.size(1) == expected, DimensionMismatchError,
             who << ": expected parameters of shape (" << batch << ", " << expected << "), got "
                 << (p.defined() ? p.sizes() : torch::IntArrayRef{}));
}

}  // namespace lats::solvers::neural::detail
