#pragma once
/// \file neural.hpp
/// Umbrella header of the neural part of lats::solvers (includes torch headers).

#include "lats/solvers/neural/attention.hpp"
#include "lats/solvers/neural/bottleneck.hpp"
#include "lats/solvers/neural/checkpoint.hpp"
#include "lats/solvers/neural/component.hpp"
#include "lats/solvers/neural/decoder.hpp"
#include "lats/solvers/neural/diffusion_refiner.hpp"
#include "lats/solvers/neural/distributed.hpp"
#include "lats/solvers/neural/dit_block.hpp"
#include "lats/solvers/neural/encoder.hpp"
#include "lats/solvers/neural/fourier_features.hpp"
#include "lats/solvers/neural/latent_dynamics.hpp"
#include "lats/solvers/neural/latent_model.hpp"
#include "lats/solvers/neural/latent_operator.hpp"
#include "lats/solvers/neural/latent_transformer.hpp"
#include "lats/solvers/neural/model_description.hpp"
#include "lats/solvers/neural/sampler.hpp"
#include "lats/solvers/neural/tensor_bridge.hpp"
