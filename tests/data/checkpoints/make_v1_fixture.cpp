// Writes the v1 checkpoint fixtures of tests/data/checkpoints with the code of commit
// 321d039 (the last commit before the component registries) and the outputs that code
// gives on fixed inputs, so later code can be held to bit-identical outputs.
#include <torch/serialize.h>
#include <torch/torch.h>

#include <fstream>

#include "lats/solvers/neural/checkpoint.hpp"

namespace nn = lats::solvers::neural;

static nn::ModelMetadata metadata() {
  nn::ModelMetadata m;
  m.fields = {{"h", {"h"}}, {"hu", {"hu_x", "hu_y"}}};
  m.spatialDim = 2;
  m.mean = {1.0, 0.0, 0.0};
  m.std = {0.5, 0.2, 0.2};
  m.coordOffset = {0.0, 0.0};
  m.coordScale = {1.0, 1.0};
  m.parameterMean = {0.5, 1.0};
  m.parameterStd = {0.1, 0.2};
  m.timeStep = 0.05;
  m.provenance = {{"dataset", "fixture"}, {"parameter_names", "a,b"}};
  return m;
}

static void write(const std::string& dir, nn::LatentModelConfig c, uint64_t seed) {
  torch::manual_seed(seed);
  nn::LatentModel model(c);
  // Non-trivial output layers (the transformer's starts near zero).
  {
    torch::NoGradGuard g;
    for (auto& p : model->parameters()) p.add_(0.05 * torch::randn_like(p));
  }
  nn::saveCheckpoint(dir, model, metadata());
  auto cp = nn::loadCheckpoint(dir);
  torch::manual_seed(seed + 100);
  auto x = torch::rand({2, 40, 2}), u = torch::randn({2, 40, 3}), p = torch::rand({2, 2});
  torch::NoGradGuard g;
  auto z = cp.model->encode(x, u);
  auto d = cp.model->decode(z, x);
  auto window = torch::stack({z, z * 0.5}, 1).slice(1, 2 - c.history);  // (2, history, M, L)
  auto s = cp.model->step(window, p);
  c10::Dict<std::string, at::Tensor> dict;
  dict.insert("coords", x);
  dict.insert("values", u);
  dict.insert("parameters", p);
  dict.insert("latent", z);
  dict.insert("decoded", d);
  dict.insert("window", window);
  dict.insert("step", s);
  if (c.dynamics == "diffusion") {
    // What LatentRollout::advance computed per member: one sample from the last state with
    // the member's stream (here streams 9 and 10 for the two batch entries).
    std::vector<at::Tensor> draws;
    for (int i = 0; i < 2; ++i)
      draws.push_back(cp.model->refiner()->sample(window.select(1, c.history - 1).slice(0, i, i + 1), 1, 9 + i,
                                                  p.slice(0, i, i + 1))[0]);
    dict.insert("samples", torch::cat(draws, 0));
  }
  const auto bytes = torch::pickle_save(c10::IValue(dict));
  std::ofstream(dir + "/expected.pt", std::ios::binary).write(bytes.data(), bytes.size());
}

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : ".";
  nn::LatentModelConfig c;
  c.spatialDim = 2;
  c.numComponents = 3;
  c.numTokens = 4;
  c.tokenDim = 16;
  c.latentDim = 8;
  c.numHeads = 2;
  c.numFrequencies = 4;
  c.decoderHidden = 16;
  c.decoderDepth = 1;
  c.dynamicsDim = 16;
  c.dynamicsDepth = 2;
  c.numParameters = 2;
  c.history = 2;
  c.dynamics = "deterministic";
  write(out + "/v1_deterministic", c, 11);
  c.decoderDepth = 0;
  c.history = 1;
  c.dynamics = "diffusion";
  c.refinementSteps = 3;
  write(out + "/v1_diffusion", c, 12);
  c.history = 2;
  write(out + "/v1_diffusion_history2", c, 13);
  return 0;
}
