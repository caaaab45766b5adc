#pragma once
/// \file tiny_model.hpp
/// A tiny latent model description for fast neural tests (torch-free header).

#include <cstdint>
#include <string>

#include "lats/solvers/neural/model_description.hpp"

namespace lats::test {

/// 4 tokens of width 16, 2 attention heads in every component, decoder width 16, dynamics
/// of width 16 and depth 1, of the registered type `dynamics`. Data sizes at their defaults.
inline solvers::neural::ModelDescription tinyModel(const std::string& dynamics = "deterministic") {
  auto d = solvers::neural::ModelDescription::defaults();
  d.setType("dynamics", dynamics);
  d.set("encoder.num_tokens", std::int64_t{4})
      .set("encoder.token_dim", std::int64_t{16})
      .set("encoder.num_heads", std::int64_t{2})
      .set("decoder.hidden", std::int64_t{16})
      .set("decoder.num_heads", std::int64_t{2})
      .set("dynamics.dim", std::int64_t{16})
      .set("dynamics.depth", std::int64_t{1})
      .set("dynamics.num_heads", std::int64_t{2});
  return d;
}

}  // namespace lats::test
