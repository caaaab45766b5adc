#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "lats/core/error.hpp"
#include "lats/core/mesh.hpp"
#include "lats/solvers/neural/checkpoint.hpp"
#include "test_support.hpp"

namespace nn = lats::solvers::neural;
using lats::test::messageOf;

namespace {
nn::LatentModelConfig smallConfig() {
  nn::LatentModelConfig c;
  c.spatialDim = 2;
  c.numComponents = 3;
  c.numTokens = 4;
  c.tokenDim = 16;
  c.latentDim = 8;
  c.numHeads = 2;
  c.numFrequencies = 4;
  c.decoderHidden = 16;
  c.dynamicsDim = 16;
  c.dynamicsDepth = 1;
  c.numParameters = 2;
  c.dynamics = "diffusion";
  return c;
}
nn::ModelMetadata smallMetadata() {
  nn::ModelMetadata m;
  m.fields = {{"h", {"h"}}, {"hu", {"hu_x", "hu_y"}}};
  m.spatialDim = 2;
  m.mean = {1.0, 0.0, 0.0};
  m.std = {0.5, 0.2, 0.2};
  m.provenance = {{"dataset", "sw.h5"}, {"seed", "7"}};
  return m;
}
std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void spit(const std::string& p, const std::string& s) { std::ofstream(p) << s; }
}  // namespace

TEST(Checkpoint, RoundTripGivesIdenticalModel) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "ckpt") + "/model";
  torch::manual_seed(1);
  nn::LatentModel model(smallConfig());
  nn::saveCheckpoint(dir, model, smallMetadata());
  auto cp = nn::loadCheckpoint(dir);
  EXPECT_TRUE(cp.config == smallConfig());
  EXPECT_EQ(cp.metadata.fields.size(), 2u);
  EXPECT_EQ(cp.metadata.fields[1].components[1], "hu_y");
  EXPECT_EQ(cp.metadata.std[0], 0.5);
  EXPECT_EQ(cp.metadata.provenance.at("dataset"), "sw.h5");
  EXPECT_FALSE(cp.metadata.provenance.at("lats_version").empty());
  model->eval();
  torch::NoGradGuard g;
  auto x = torch::rand({2, 50, 2}), u = torch::randn({2, 50, 3}), p = torch::rand({2, 2});
  auto z = model->encode(x, u);
  EXPECT_TRUE(torch::equal(cp.model->encode(x, u), z));
  EXPECT_TRUE(torch::equal(cp.model->decode(z, x), model->decode(z, x)));
  EXPECT_TRUE(torch::equal(cp.model->step(z, p), model->step(z, p)));
  EXPECT_TRUE(torch::equal(cp.model->refiner()->sample(z, 2, 9, p), model->refiner()->sample(z, 2, 9, p)));
}

TEST(Checkpoint, DecoderTokenBlocksRoundTripAndOlderFilesHaveNone) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "ckpt") + "/deep";
  auto deep = smallConfig();
  deep.decoderDepth = 2;
  torch::manual_seed(3);
  nn::LatentModel model(deep);
  nn::saveCheckpoint(dir, model, smallMetadata());
  auto cp = nn::loadCheckpoint(dir);
  EXPECT_EQ(cp.config.decoderDepth, 2);
  EXPECT_FALSE(cp.config.sameAutoencoder(smallConfig()));
  model->eval();
  torch::NoGradGuard g;
  auto x = torch::rand({2, 50, 2}), z = torch::randn({2, 4, 8});
  EXPECT_TRUE(torch::equal(cp.model->decode(z, x), model->decode(z, x)));
  // A model.json written before the decoder had token blocks has no decoder_depth: none.
  const auto old = lats::test::sharedTempDir(MPI_COMM_SELF, "ckpt") + "/shallow";
  nn::LatentModel shallow(smallConfig());
  nn::saveCheckpoint(old, shallow, smallMetadata());
  auto text = slurp(old + "/model.json");
  const auto at = text.find("\"decoder_depth\"");
  ASSERT_NE(at, std::string::npos);
  text.erase(at, text.find('\n', at) + 1 - at);
  spit(old + "/model.json", text);
  auto loaded = nn::loadCheckpoint(old);
  EXPECT_EQ(loaded.config.decoderDepth, 0);
  shallow->eval();
  EXPECT_TRUE(torch::equal(loaded.model->decode(z, x), shallow->decode(z, x)));
}

TEST(Checkpoint, WeightsAreReadableByPyTorch) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "ckpt") + "/model";
  torch::manual_seed(2);
  nn::LatentModel model(smallConfig());
  nn::saveCheckpoint(dir, model, smallMetadata());
  const auto params = model->named_parameters();
  const double expected = params["encoder.queries"].sum().item<double>();
  // Debian's python3-torch (scripts/install-deps.sh) reads the state dictionary.
  std::string out;
  lats::test::runCommand("/usr/bin/python3 -c \"import torch; d = torch.load('" + dir +
                             "/weights.pt'); print(len(d)); print(repr(float(d['encoder.queries'].sum())))\"",
                         &out);
  std::istringstream in(out);
  std::size_t count = 0;
  double sum = 0;
  in >> count >> sum;
  ASSERT_TRUE(static_cast<bool>(in)) << "python could not read the weights: " << out;
  EXPECT_EQ(count, params.size() + model->named_buffers().size());
  EXPECT_NEAR(sum, expected, 1e-6 * std::max(1.0, std::abs(expected)));
}

TEST(Checkpoint, BadFilesGetClearErrors) {
  const auto base = lats::test::sharedTempDir(MPI_COMM_SELF, "ckpt");
  const auto dir = base + "/model";
  torch::manual_seed(3);
  nn::LatentModel model(smallConfig());
  nn::saveCheckpoint(dir, model, smallMetadata());
  const std::string good = slurp(dir + "/model.json");

  EXPECT_NE(messageOf<lats::FileFormatError>([&] {
              nn::loadCheckpoint(base + "/nothing");
            }).find("cannot open '" + base + "/nothing/model.json'"),
            std::string::npos);
  spit(dir + "/model.json", good.substr(0, good.size() / 2));  // truncated
  EXPECT_NE(messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(dir); }).find("is not valid JSON"),
            std::string::npos);
  std::string v2 = good;
  v2.replace(v2.find("\"format_version\": 1"), 19, "\"format_version\": 2");
  spit(dir + "/model.json", v2);
  EXPECT_NE(messageOf<lats::FileFormatError>([&] {
              nn::loadCheckpoint(dir);
            }).find("has format version 2, this LaTS reads version 1"),
            std::string::npos);
  std::string wider = good;
  wider.replace(wider.find("\"token_dim\": 16"), 15, "\"token_dim\": 32");
  spit(dir + "/model.json", wider);
  const auto shapeMsg = messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(dir); });
  EXPECT_NE(shapeMsg.find("but the configuration in model.json needs"), std::string::npos) << shapeMsg;
  spit(dir + "/model.json", good);
  const std::string weights = slurp(dir + "/weights.pt");
  spit(dir + "/weights.pt", weights.substr(0, weights.size() / 3));
  EXPECT_NE(messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(dir); }).find("truncated or corrupt"),
            std::string::npos);
  auto bad = smallMetadata();
  bad.std.pop_back();
  EXPECT_NE(messageOf<lats::ModelMismatchError>([&] {
              nn::saveCheckpoint(base + "/x", model, bad);
            }).find("one mean and one std per component (3)"),
            std::string::npos);
}

TEST(Checkpoint, ValidationAgainstTheHostNamesWhatDiffers) {
  const auto meta = smallMetadata();
  auto mesh2 = lats::MeshBuilder(MPI_COMM_SELF, 2).coordinates({0.0, 0.0, 1.0, 1.0}).build();
  auto mesh1 = lats::MeshBuilder(MPI_COMM_SELF, 1).coordinates({0.0, 1.0}).build();
  lats::State ok;
  ok.add(lats::Field("h", 2, 1));
  ok.add(lats::Field("hu", 2, {"hu_x", "hu_y"}));
  EXPECT_NO_THROW(nn::validateAgainst(meta, *mesh2, ok));
  EXPECT_NE(messageOf<lats::ModelMismatchError>([&] {
              nn::validateAgainst(meta, *mesh1, ok);
            }).find("trained on a 2D domain but the mesh 'mesh' is 1D"),
            std::string::npos);
  auto named = meta;
  named.fields = {{"height", {"h"}}, {"momentum", {"mx", "my"}}};
  lats::State misnamed;
  misnamed.add(lats::Field("height", 2, 1));
  misnamed.add(lats::Field("momentun", 2, 2));
  const auto msg = messageOf<lats::ModelMismatchError>([&] { nn::validateAgainst(named, *mesh2, misnamed); });
  EXPECT_NE(msg.find("expects a field 'momentum' that the state does not have. Did you mean 'momentun'?"),
            std::string::npos)
      << msg;
  lats::State fewer;
  fewer.add(lats::Field("h", 2, 1));
  fewer.add(lats::Field("hu", 2, 1));
  EXPECT_NE(messageOf<lats::ModelMismatchError>([&] {
              nn::validateAgainst(meta, *mesh2, fewer);
            }).find("field 'hu' has 1 components (hu) but the model expects 2 (hu_x, hu_y)"),
            std::string::npos);
}
