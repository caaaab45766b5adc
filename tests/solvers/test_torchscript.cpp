#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "lats/core/error.hpp"
#include "lats/solvers/neural/checkpoint.hpp"
#include "lats/solvers/neural/latent_operator.hpp"
#include "test_support.hpp"
#include "tiny_model.hpp"

namespace nn = lats::solvers::neural;
using lats::test::messageOf;

namespace {
std::string makeModels() {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "ts");
  std::string out;
  const int rc = lats::test::runCommand(
      "/usr/bin/python3 " LATS_TEST_SOURCE_DIR "/solvers/make_torchscript_model.py " + dir, &out);
  EXPECT_EQ(rc, 0) << "python3-torch could not script the test models (scripts/install-deps.sh installs it): " << out;
  return dir;
}
}  // namespace

TEST(TorchScript, ImportedModelWorksInPlaceOfANativeOne) {
  const auto dir = makeModels();
  auto op = nn::loadTorchScriptOperator(dir + "/good.pt");
  EXPECT_EQ(op->kind(), "torchscript");
  EXPECT_EQ(op->spatialDim(), 2);
  EXPECT_EQ(op->numComponents(), 3);
  torch::NoGradGuard g;
  auto x = torch::rand({2, 40, 2}), u = torch::randn({2, 40, 3});
  auto z = op->encode(x, u);
  EXPECT_TRUE(torch::allclose(z, u.mean(1, true)));
  EXPECT_TRUE(torch::allclose(op->step(z), 0.5 * z));
  auto y = op->decode(op->step(z), x.narrow(1, 0, 7));
  ASSERT_EQ(y.sizes(), (torch::IntArrayRef{2, 7, 3}));
  EXPECT_TRUE(torch::allclose(y[1][6], 0.5 * u[1].mean(0)));

  // The native model goes through the same interface.
  auto c = lats::test::tinyModel();
  c.numComponents = 3;
  c.latentDim = 8;
  std::vector<std::unique_ptr<nn::LatentOperator>> ops;
  ops.push_back(std::move(op));
  ops.push_back(nn::makeNativeOperator(nn::LatentModel(c)));
  for (auto& o : ops) {
    auto out = o->decode(o->step(o->encode(x, u)), x);
    EXPECT_EQ(out.sizes(), u.sizes()) << o->kind();
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << o->kind();
  }
}

TEST(TorchScript, BadModelsAreRejectedWithReasons) {
  const auto dir = makeModels();
  EXPECT_NE(messageOf<lats::ModelMismatchError>([&] {
              nn::loadTorchScriptOperator(dir + "/no_step.pt");
            }).find("lacks the method 'step'"),
            std::string::npos);
  std::ofstream(dir + "/junk.pt") << "not a zip archive";
  EXPECT_NE(messageOf<lats::FileFormatError>([&] {
              nn::loadTorchScriptOperator(dir + "/junk.pt");
            }).find("cannot load '" + dir + "/junk.pt' as a TorchScript model"),
            std::string::npos);
  auto op = nn::loadTorchScriptOperator(dir + "/good.pt");
  // A call with the wrong arity fails inside TorchScript and is reported as a mismatch.
  EXPECT_NE(messageOf<lats::ModelMismatchError>([&] {
              op->encode(torch::rand({1, 3, 2}), torch::Tensor());
            }).find("encode() failed"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------
// A trained native checkpoint exported with solvers/python/lats_torchscript.py (ctest fixture
// capi_model_ts: the Burgers model of the C API tests, history 2, parameter nu) loads as a
// checkpoint of "torchscript" components and computes what the native model computes.

namespace {
const std::string kNative = LATS_TEST_BINARY_DIR "/capi/model";
const std::string kExported = LATS_TEST_BINARY_DIR "/capi/model-ts";

/// max |a - b| / max(1, max |b|).
double relativeDifference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1.0, b.abs().max().item<double>());
}
}  // namespace

TEST(TorchScript, ExportedCheckpointComputesWhatTheNativeModelComputes) {
  auto native = nn::loadCheckpoint(kNative);
  auto exported = nn::loadCheckpoint(kExported);
  const auto& d = exported.description;
  EXPECT_EQ(d.encoder.type(), "torchscript");
  EXPECT_EQ(d.decoder.type(), "torchscript");
  EXPECT_EQ(d.dynamics.type(), "torchscript");
  EXPECT_EQ(d.history, 2);
  EXPECT_EQ(d.numParameters, 1);
  EXPECT_EQ(exported.model->numTokens(), native.model->numTokens());
  EXPECT_EQ(exported.metadata.mean, native.metadata.mean);
  EXPECT_EQ(exported.metadata.timeStep, native.metadata.timeStep);
  EXPECT_FALSE(exported.model->trainable());
  EXPECT_TRUE(native.model->trainable());

  torch::manual_seed(7);
  torch::NoGradGuard g;
  const auto x = torch::rand({3, 200, 1}), u = torch::randn({3, 200, 1}), p = torch::randn({3, 1});
  const auto z = native.model->encode(x, u);
  const double encode = relativeDifference(exported.model->encode(x, u), z);
  const double decode = relativeDifference(exported.model->decode(z, x), native.model->decode(z, x));
  const auto window = torch::stack({z, 0.5 * z}, 1);
  const double step = relativeDifference(exported.model->advance(window, p), native.model->advance(window, p));
  std::printf(
      "[torchscript] exported vs native, max |difference| / max(1, max |native|): encode %.2e, decode %.2e, "
      "step %.2e\n",
      encode, decode, step);
  EXPECT_LT(encode, 1e-6);
  EXPECT_LT(decode, 1e-6);
  EXPECT_LT(step, 1e-6);

  // Decoding in chunks gives the same values; a mask keeps the points it marks.
  exported.model->decoder().setChunkSize(7);
  EXPECT_TRUE(torch::equal(
      exported.model->decode(z, x.narrow(1, 0, 20)),
      torch::cat({exported.model->decode(z, x.narrow(1, 0, 7)), exported.model->decode(z, x.narrow(1, 7, 7)),
                  exported.model->decode(z, x.narrow(1, 14, 6))},
                 1)));
  auto mask = torch::zeros({3, 200}, torch::kBool);
  mask.narrow(1, 10, 50).fill_(true);
  EXPECT_TRUE(torch::allclose(exported.model->encode(x, u, mask),
                              exported.model->encode(x.narrow(1, 10, 50), u.narrow(1, 10, 50)), 1e-6, 1e-6));
  mask[0][0] = true;  // entries keeping different numbers of points: encode() has no mask
  EXPECT_NE(messageOf<lats::ModelMismatchError>([&] {
              exported.model->encode(x, u, mask);
            }).find("keep different numbers of points (50 to 51)"),
            std::string::npos);
}

TEST(TorchScript, ExportedCheckpointRefusesWhatItCannotDo) {
  auto exported = nn::loadCheckpoint(kExported);
  // No training, no saving over its own files.
  nn::DynamicsBatch batch;
  EXPECT_NE(messageOf<lats::ModelMismatchError>([&] {
              exported.model->dynamics().loss(batch);
            }).find("cannot be trained in LaTS; train it in Python"),
            std::string::npos);
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "ts-save");
  EXPECT_NE(messageOf<lats::ModelMismatchError>([&] {
              nn::saveCheckpoint(dir + "/copy", exported.model, exported.metadata);
            }).find("copy the directory it was loaded from"),
            std::string::npos);
  // A model.json that does not describe the module: the load names both sizes.
  std::string text;
  {
    std::ifstream in(kExported + "/model.json");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto at = text.find("\"latent_dim\": ");
  ASSERT_NE(at, std::string::npos);
  const auto end = text.find_first_of(",\n", at);
  std::string wrong = text.substr(0, at) + "\"latent_dim\": 3" + text.substr(end);
  const auto bad = dir + "/bad";
  ASSERT_EQ(lats::test::runCommand("mkdir -p " + bad + " && cp " + kExported + "/module.pt " + bad), 0);
  std::ofstream(bad + "/model.json") << wrong;
  auto m = messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(bad); });
  EXPECT_NE(m.find("has latent_dim = "), std::string::npos) << m;
  EXPECT_NE(m.find("but model.json describes 3"), std::string::npos) << m;
  // A module file that is missing.
  std::remove((bad + "/module.pt").c_str());
  m = messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(bad); });
  EXPECT_NE(m.find("module.pt' is missing or unreadable; model.json lists it"), std::string::npos) << m;
  // One changed byte in the module: refused by its checksum before TorchScript reads it.
  std::string module;
  {
    std::ifstream in(kExported + "/module.pt", std::ios::binary);
    module.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  module[module.size() / 2] = static_cast<char>(module[module.size() / 2] ^ 0x01);
  std::ofstream(bad + "/module.pt", std::ios::binary) << module;
  std::ofstream(bad + "/model.json") << text;
  m = messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(bad); });
  EXPECT_NE(m.find("module.pt' is corrupt: its checksum is crc32:"), std::string::npos) << m;
}

TEST(TorchScript, ModulesThatDoNotFitTheirDescriptionAreNamed) {
  const auto dir = makeModels();
  // A checkpoint around a module of the test script: 2D points, 3 components, latent 3.
  auto describe = [&](const std::string& name, const std::string& module) {
    const auto d = dir + "/" + name;
    EXPECT_EQ(lats::test::runCommand("mkdir -p " + d + " && cp " + dir + "/" + module + " " + d + "/module.pt"), 0);
    std::ofstream(d + "/model.json") << R"({"format": "lats-model", "format_version": 2,
  "config": {"spatial_dim": 2, "num_components": 3, "num_parameters": 0, "latent_dim": 3, "history": 1,
    "encoder": {"type": "torchscript", "file": "module.pt"},
    "decoder": {"type": "torchscript", "file": "module.pt"},
    "dynamics": {"type": "torchscript", "file": "module.pt"}},
  "fields": [{"name": "u", "components": ["a", "b", "c"]}], "spatial_dim": 2, "time_step": 0.1,
  "normalization": {"mean": [0, 0, 0], "std": [1, 1, 1]}, "provenance": {}})";
    return d;
  };
  // good.pt has no latent_dim: the load says which attribute is missing.
  auto m = messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(describe("no_latent", "good.pt")); });
  EXPECT_NE(m.find("lacks the integer attribute 'latent_dim'"), std::string::npos) << m;
  // wrong_tokens.pt claims 2 tokens and returns 1: the call names both shapes.
  auto cp = nn::loadCheckpoint(describe("wrong_tokens", "wrong_tokens.pt"));
  EXPECT_EQ(cp.model->numTokens(), 2);
  torch::NoGradGuard g;
  m = messageOf<lats::ModelMismatchError>([&] { cp.model->encode(torch::rand({2, 5, 2}), torch::rand({2, 5, 3})); });
  EXPECT_NE(m.find("encode() returned [2, 1, 3]; expected (2, 2, 3)"), std::string::npos) << m;
  // Its decode and step are usable; guided sampling is not offered.
  const auto z = torch::rand({1, 2, 3});
  EXPECT_TRUE(torch::allclose(cp.model->advance(z), 0.5 * z));
  EXPECT_FALSE(cp.model->dynamics().supportsGuidance());
  EXPECT_FALSE(cp.model->dynamics().stochastic());
}
