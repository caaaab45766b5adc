#include <gtest/gtest.h>
#include <torch/torch.h>

#include <torch/serialize.h>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "lats/core/error.hpp"
#include "lats/core/mesh.hpp"
#include "lats/solvers/neural/checkpoint.hpp"
#include "test_support.hpp"
#include "tiny_model.hpp"

namespace nn = lats::solvers::neural;
using lats::test::messageOf;

namespace {
nn::ModelDescription smallDescription(const std::string& dynamics = "diffusion") {
  auto d = lats::test::tinyModel(dynamics);
  d.spatialDim = 2;
  d.numComponents = 3;
  d.numParameters = 2;
  d.latentDim = 8;
  d.set("encoder.num_frequencies", std::int64_t{4}).set("decoder.num_frequencies", std::int64_t{4});
  return d;
}
nn::ModelMetadata smallMetadata() {
  nn::ModelMetadata m;
  m.fields = {{"h", {"h"}}, {"hu", {"hu_x", "hu_y"}}};
  m.spatialDim = 2;
  m.mean = {1.0, 0.0, 0.0};
  m.std = {0.5, 0.2, 0.2};
  m.parameterMean = {0.0, 0.0};
  m.parameterStd = {1.0, 1.0};
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
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}
std::map<std::string, torch::Tensor> readExpected(const std::string& path) {
  const auto bytes = slurp(path);
  const auto value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  std::map<std::string, torch::Tensor> out;
  for (const auto& e : value.toGenericDict()) out[e.key().toStringRef()] = e.value().toTensor();
  return out;
}
}  // namespace

TEST(Checkpoint, RoundTripGivesIdenticalModel) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "ckpt") + "/model";
  torch::manual_seed(1);
  nn::LatentModel model(smallDescription());
  nn::saveCheckpoint(dir, model, smallMetadata());
  auto cp = nn::loadCheckpoint(dir);
  EXPECT_TRUE(cp.description == model->description());
  EXPECT_EQ(cp.description.dynamics.type(), "diffusion");
  EXPECT_EQ(cp.description.dynamics.text("sampler"), "refine");
  EXPECT_EQ(cp.description.encoder.integer("num_tokens"), 4);
  EXPECT_EQ(cp.metadata.fields.size(), 2u);
  EXPECT_EQ(cp.metadata.fields[1].components[1], "hu_y");
  EXPECT_EQ(cp.metadata.std[0], 0.5);
  EXPECT_EQ(cp.metadata.provenance.at("dataset"), "sw.h5");
  EXPECT_FALSE(cp.metadata.provenance.at("lats_version").empty());
  // model.json holds one block per component.
  const auto text = slurp(dir + "/model.json");
  EXPECT_NE(text.find("\"format_version\": 2"), std::string::npos);
  EXPECT_NE(text.find("\"type\": \"cross_attention\""), std::string::npos);
  EXPECT_NE(text.find("\"type\": \"local_field\""), std::string::npos);
  model->eval();
  torch::NoGradGuard g;
  auto x = torch::rand({2, 50, 2}), u = torch::randn({2, 50, 3}), p = torch::rand({2, 2});
  auto z = model->encode(x, u);
  EXPECT_TRUE(torch::equal(cp.model->encode(x, u), z));
  EXPECT_TRUE(torch::equal(cp.model->decode(z, x), model->decode(z, x)));
  EXPECT_TRUE(torch::equal(cp.model->advance(z, p, {9, 10}), model->advance(z, p, {9, 10})));
  EXPECT_FALSE(torch::equal(model->advance(z, p, {9, 10}), model->advance(z, p, {11, 12})));
}

// Checkpoints written by the code before the component registries (format 1, made by
// tests/data/checkpoints/make_v1_fixture.cpp at commit 321d039) load and give bit-identical
// outputs: encoding, decoding, the deterministic step, diffusion samples per stream.
TEST(Checkpoint, FormatOneCheckpointsGiveTheSameOutputsBitForBit) {
  const std::string root = std::string(LATS_TEST_SOURCE_DIR) + "/data/checkpoints/";
  for (const std::string name : {"v1_deterministic", "v1_diffusion", "v1_diffusion_history2"}) {
    SCOPED_TRACE(name);
    auto cp = nn::loadCheckpoint(root + name);
    const auto e = readExpected(root + name + "/expected.pt");
    torch::NoGradGuard g;
    const auto z = cp.model->encode(e.at("coords"), e.at("values"));
    EXPECT_TRUE(torch::equal(z, e.at("latent")));
    EXPECT_TRUE(torch::equal(cp.model->decode(e.at("latent"), e.at("coords")), e.at("decoded")));
    if (name == "v1_deterministic") {
      EXPECT_EQ(cp.description.dynamics.type(), "deterministic");
      EXPECT_EQ(cp.description.decoder.integer("depth"), 1);
      EXPECT_TRUE(torch::equal(cp.model->advance(e.at("window"), e.at("parameters")), e.at("step")));
    } else {
      // The refiner of a format-1 model is conditioned on the last state of the window.
      EXPECT_EQ(cp.description.dynamics.integer("conditioning"), 1);
      EXPECT_TRUE(torch::equal(cp.model->advance(e.at("window"), e.at("parameters"), {9, 10}), e.at("samples")));
      // Its unused transformer is gone: every tensor of the model is the encoder's,
      // bottleneck's, decoder's or the refiner's (now "dynamics.").
      for (const auto& p : cp.model->named_parameters()) EXPECT_EQ(p.key().find("refiner."), std::string::npos);
    }
  }
}

TEST(Checkpoint, DecoderTokenBlocksRoundTripAndOlderFilesHaveNone) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "ckpt") + "/deep";
  auto deep = smallDescription();
  deep.set("decoder.depth", std::int64_t{2});
  torch::manual_seed(3);
  nn::LatentModel model(deep);
  nn::saveCheckpoint(dir, model, smallMetadata());
  auto cp = nn::loadCheckpoint(dir);
  EXPECT_EQ(cp.description.decoder.integer("depth"), 2);
  EXPECT_FALSE(cp.description.sameAutoencoder(nn::LatentModel(smallDescription())->description()));
  model->eval();
  torch::NoGradGuard g;
  auto x = torch::rand({2, 50, 2}), z = torch::randn({2, 4, 8});
  EXPECT_TRUE(torch::equal(cp.model->decode(z, x), model->decode(z, x)));
  // A model.json written before the decoder had token blocks has no decoder depth: none.
  const auto old = lats::test::sharedTempDir(MPI_COMM_SELF, "ckpt") + "/shallow";
  nn::LatentModel shallow(smallDescription());
  nn::saveCheckpoint(old, shallow, smallMetadata());
  auto text = slurp(old + "/model.json");
  const auto at = text.find("\"depth\": 0");
  ASSERT_NE(at, std::string::npos);
  text.erase(at, text.find('\n', at) + 1 - at);
  spit(old + "/model.json", text);
  auto loaded = nn::loadCheckpoint(old);
  EXPECT_EQ(loaded.description.decoder.integer("depth"), 0);
  shallow->eval();
  EXPECT_TRUE(torch::equal(loaded.model->decode(z, x), shallow->decode(z, x)));
}

TEST(Checkpoint, ComponentDescriptionsAreCheckedWithClearMessages) {
  const auto base = lats::test::sharedTempDir(MPI_COMM_SELF, "ckpt");
  const auto dir = base + "/described";
  torch::manual_seed(4);
  nn::LatentModel model(smallDescription());
  nn::saveCheckpoint(dir, model, smallMetadata());
  const std::string good = slurp(dir + "/model.json");
  auto messageFor = [&](const std::string& text) {
    spit(dir + "/model.json", text);
    return messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(dir); });
  };
  auto msg = messageFor(replaced(good, "\"type\": \"diffusion\"", "\"type\": \"difusion\""));
  EXPECT_NE(msg.find("unknown latent dynamics 'difusion'. Did you mean 'diffusion'?"), std::string::npos) << msg;
  msg = messageFor(replaced(good, "\"num_tokens\": 4", "\"num_tokens\": 0"));
  EXPECT_NE(msg.find("'num_tokens' is 0; it must be finite and in [1, 4096] (option -lats_model_tokens"),
            std::string::npos)
      << msg;
  msg = messageFor(replaced(good, "\"sampler\": \"refine\"", "\"sampler\": 3"));
  EXPECT_NE(msg.find("'sampler' is an integer ('3'); expected a text"), std::string::npos) << msg;
  msg = messageFor(replaced(good, "\"num_tokens\": 4", "\"num_tokenz\": 4"));
  EXPECT_NE(msg.find("has no hyper-parameter 'num_tokenz'. Did you mean 'num_tokens'?"), std::string::npos) << msg;
  msg = messageFor(replaced(good, "\"sampler\": \"refine\"", "\"sampler\": \"hune\""));
  EXPECT_NE(msg.find("unknown sampler 'hune'. Did you mean 'heun'?"), std::string::npos) << msg;
  msg = messageFor(replaced(good, "\"num_heads\": 2", "\"num_heads\": 0"));
  EXPECT_NE(msg.find("'num_heads' is 0; it must be finite and in [1, 256]"), std::string::npos) << msg;
  msg = messageFor(replaced(good, "\"hidden\": 16,", ""));
  EXPECT_NE(msg.find("decoder 'local_field' lacks the hyper-parameter 'hidden'"), std::string::npos) << msg;
  msg = messageFor(replaced(good, "\"sampler\": \"refine\"", "\"sampler\": [1]"));
  EXPECT_NE(msg.find("'dynamics.sampler' is array; expected a number or text"), std::string::npos) << msg;
  msg = messageFor(replaced(good, "\"num_components\": 3", "\"num_components\": 2"));
  EXPECT_NE(msg.find("is inconsistent: the model takes 2D points with 2 components, the fields list 3"),
            std::string::npos)
      << msg;
  spit(dir + "/model.json", good);
  EXPECT_NO_THROW(nn::loadCheckpoint(dir));
}

TEST(ModelDescription, SizesPathsAndTypesAreChecked) {
  auto d = lats::test::tinyModel();
  d.history = 0;
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] {
              nn::LatentModel m(d);
            }).find("history 0 is outside [1, 64] (-lats_model_history)"),
            std::string::npos);
  d = lats::test::tinyModel();
  d.latentDim = 5000;
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] {
              nn::LatentModel m(d);
            }).find("latent dimension 5000 is outside [1, 4096] (-lats_model_latent_dim)"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] {
              d.set("encodr.num_tokens", std::int64_t{3});
            }).find("no component 'encodr'. Did you mean 'encoder'?"),
            std::string::npos);
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] {
              d.setType("dynamics", "diffuson");
            }).find("unknown latent dynamics 'diffuson'. Did you mean 'diffusion'?"),
            std::string::npos);
  // Conditioning on more states than the window holds.
  d = lats::test::tinyModel("diffusion");
  d.set("dynamics.conditioning", std::int64_t{3});
  EXPECT_NE(messageOf<lats::ConfigurationError>([&] {
              nn::LatentModel m(d);
            }).find("conditioning on 3 states of a window of 1"),
            std::string::npos);
  // Equal descriptions compare equal; run-time chunk sizes are not architecture.
  auto a = lats::test::tinyModel(), b = a;
  b.set("encoder.chunk", std::int64_t{64});
  EXPECT_TRUE(a.sameArchitecture(b));
  EXPECT_FALSE(a == b);
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  b.set("encoder.num_tokens", std::int64_t{5});
  EXPECT_FALSE(a.sameAutoencoder(b));
  EXPECT_NE(a.fingerprint(), b.fingerprint());
}

TEST(Checkpoint, WeightsAreReadableByPyTorch) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "ckpt") + "/model";
  torch::manual_seed(2);
  nn::LatentModel model(smallDescription());
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
  nn::LatentModel model(smallDescription());
  nn::saveCheckpoint(dir, model, smallMetadata());
  const std::string good = slurp(dir + "/model.json");

  EXPECT_NE(messageOf<lats::FileFormatError>([&] {
              nn::loadCheckpoint(base + "/nothing");
            }).find("cannot open '" + base + "/nothing/model.json'"),
            std::string::npos);
  spit(dir + "/model.json", good.substr(0, good.size() / 2));  // truncated
  EXPECT_NE(messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(dir); }).find("is not valid JSON"),
            std::string::npos);
  spit(dir + "/model.json", replaced(good, "\"format_version\": 2", "\"format_version\": 3"));
  EXPECT_NE(messageOf<lats::FileFormatError>([&] {
              nn::loadCheckpoint(dir);
            }).find("has format version 3, this LaTS reads versions 1 to 2"),
            std::string::npos);
  std::string wider = good;
  wider.replace(wider.find("\"token_dim\": 16"), 15, "\"token_dim\": 32");
  spit(dir + "/model.json", wider);
  const auto shapeMsg = messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(dir); });
  EXPECT_NE(shapeMsg.find("but the configuration in model.json needs"), std::string::npos) << shapeMsg;
  spit(dir + "/model.json", good);
  const std::string weights = slurp(dir + "/weights.pt");
  // model.json records the weights' checksum: a truncation or one flipped byte is refused
  // before the weights are read, naming the file.
  spit(dir + "/weights.pt", weights.substr(0, weights.size() / 3));
  auto corrupt = messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(dir); });
  EXPECT_NE(corrupt.find("'" + dir + "/weights.pt' is corrupt: its checksum is crc32:"), std::string::npos) << corrupt;
  std::string flipped = weights;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x10);
  spit(dir + "/weights.pt", flipped);
  corrupt = messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(dir); });
  EXPECT_NE(corrupt.find("is corrupt"), std::string::npos) << corrupt;
  EXPECT_NE(corrupt.find("restore it or train again"), std::string::npos) << corrupt;
  // A checkpoint written before checksums existed still loads; its truncated weights are
  // caught by the reader.
  const auto at = good.find("\"checksums\"");
  ASSERT_NE(at, std::string::npos);
  // (keys are sorted: "config" follows "checksums")
  spit(dir + "/model.json", good.substr(0, at) + good.substr(good.find("\"config\"")));
  spit(dir + "/weights.pt", weights);
  EXPECT_NO_THROW(nn::loadCheckpoint(dir));
  spit(dir + "/weights.pt", weights.substr(0, weights.size() / 3));
  EXPECT_NE(messageOf<lats::FileFormatError>([&] { nn::loadCheckpoint(dir); }).find("truncated or corrupt"),
            std::string::npos);
  spit(dir + "/model.json", good);
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
