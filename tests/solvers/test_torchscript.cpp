#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>

#include "lats/core/error.hpp"
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
