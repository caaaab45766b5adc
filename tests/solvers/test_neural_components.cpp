#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/solvers/neural/neural.hpp"
#include "test_support.hpp"

namespace nn = lats::solvers::neural;
using lats::test::messageOf;

namespace {
double maxAbs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

// Naive reference attention in the test, independent of the implementation's chunking.
torch::Tensor naiveAttention(nn::AttentionImpl& a, const torch::Tensor& q, const torch::Tensor& k,
                             const torch::Tensor& v, const torch::Tensor& bias) {
  auto params = a.named_parameters();
  const int64_t H = a.options().numHeads(), Dh = a.options().headDim();
  auto split = [&](const torch::Tensor& x) { return x.view({x.size(0), x.size(1), H, Dh}).transpose(1, 2); };
  auto Q = split(torch::matmul(q, params["to_q.weight"].t()));
  auto K = split(torch::matmul(k, params["to_k.weight"].t()));
  auto V = split(torch::matmul(v, params["to_v.weight"].t()));
  auto logits = torch::matmul(Q, K.transpose(-2, -1)) / std::sqrt(static_cast<double>(Dh));
  if (bias.defined()) logits = logits + bias;
  auto out = torch::matmul(torch::softmax(logits, -1), V).transpose(1, 2).reshape({q.size(0), q.size(1), H * Dh});
  return torch::matmul(out, params["to_out.weight"].t()) + params["to_out.bias"];
}
}  // namespace

TEST(FourierFeatures, SinCosOfLogSpacedFrequencies) {
  nn::FourierFeatures ff(nn::FourierFeaturesOptions(2, 3));
  EXPECT_EQ(ff->outputDim(), 2 + 2 * 2 * 3);
  auto x = torch::tensor({{0.25, -0.5}}, torch::kFloat64);
  auto y = ff(x);
  ASSERT_EQ(y.sizes(), (torch::IntArrayRef{1, 14}));
  // Layout: [x, sin(x_d * f_k) for d, k (d-major), cos(...)].
  EXPECT_DOUBLE_EQ(y[0][0].item<double>(), 0.25);
  EXPECT_NEAR(y[0][2 + 1].item<double>(), std::sin(0.25 * M_PI * 2), 1e-6);      // d=0, k=1
  EXPECT_NEAR(y[0][2 + 6 + 5].item<double>(), std::cos(-0.5 * M_PI * 4), 1e-6);  // cos, d=1, k=2
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              ff(torch::zeros({4, 3}));
            }).find("2 components"),
            std::string::npos);
}

TEST(Attention, MatchesNaiveSoftmaxAttentionAndChunkingChangesNothing) {
  torch::manual_seed(1);
  nn::Attention whole(nn::AttentionOptions(8, 6, 2, 4).valueDim(5));
  whole->to(torch::kFloat64);
  auto q = torch::randn({2, 3, 8}, torch::kFloat64), k = torch::randn({2, 37, 6}, torch::kFloat64),
       v = torch::randn({2, 37, 5}, torch::kFloat64);
  auto bias = torch::randn({2, 1, 3, 37}, torch::kFloat64);
  auto ref = naiveAttention(*whole, q, k, v, bias);
  EXPECT_LT(maxAbs(whole(q, k, v, bias) - ref), 1e-12);
  // Same weights, keys in chunks of 5 (online softmax): identical up to round-off.
  nn::Attention chunked(nn::AttentionOptions(8, 6, 2, 4).valueDim(5).chunkSize(5));
  chunked->to(torch::kFloat64);
  torch::NoGradGuard g;
  for (auto& p : chunked->named_parameters()) p.value().copy_(whole->named_parameters()[p.key()]);
  EXPECT_LT(maxAbs(chunked(q, k, v, bias) - ref), 1e-12);
}

TEST(Attention, MinusInfinityBiasMasksKeys) {
  torch::manual_seed(2);
  nn::Attention a(nn::AttentionOptions(4, 4, 1, 4).chunkSize(3));
  a->to(torch::kFloat64);
  auto q = torch::randn({1, 2, 4}, torch::kFloat64), k = torch::randn({1, 10, 4}, torch::kFloat64),
       v = torch::randn({1, 10, 4}, torch::kFloat64);
  auto bias = torch::zeros({1, 1, 1, 10}, torch::kFloat64);
  bias.narrow(-1, 0, 4).fill_(-std::numeric_limits<double>::infinity());  // a whole chunk and more masked
  auto masked = a(q, k, v, bias);
  auto kept = a(q, k.narrow(1, 4, 6), v.narrow(1, 4, 6));
  EXPECT_LT(maxAbs(masked - kept), 1e-12);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              a(q, torch::zeros({1, 0, 4}), torch::zeros({1, 0, 4}));
            }).find("at least one key"),
            std::string::npos);
}

TEST(Encoder, InvariantToPointOrderAndIgnoresMaskedPoints) {
  torch::manual_seed(3);
  nn::CrossAttentionEncoder enc(nn::CrossAttentionEncoderOptions(2, 1).numTokens(8).tokenDim(32).numHeads(4));
  enc->to(torch::kFloat64);
  enc->eval();
  auto x = torch::rand({2, 100, 2}, torch::kFloat64), u = torch::randn({2, 100, 1}, torch::kFloat64);
  auto z = enc(x, u);
  ASSERT_EQ(z.sizes(), (torch::IntArrayRef{2, 8, 32}));
  auto perm = torch::randperm(100);
  EXPECT_LT(maxAbs(enc(x.index_select(1, perm), u.index_select(1, perm)) - z), 1e-12);
  // 20 junk points, masked out, change nothing.
  auto xj = torch::cat({x, torch::rand({2, 20, 2}, torch::kFloat64) * 5}, 1);
  auto uj = torch::cat({u, torch::randn({2, 20, 1}, torch::kFloat64) * 100}, 1);
  auto mask = torch::cat({torch::ones({2, 100}, torch::kBool), torch::zeros({2, 20}, torch::kBool)}, 1);
  EXPECT_LT(maxAbs(enc(xj, uj, mask) - z), 1e-12);
  // Embedding and attending in chunks of 13 points gives the same tokens, masks included.
  nn::CrossAttentionEncoder chunked(
      nn::CrossAttentionEncoderOptions(2, 1).numTokens(8).tokenDim(32).numHeads(4).chunkSize(13));
  chunked->to(torch::kFloat64);
  chunked->eval();
  {
    torch::NoGradGuard g;
    for (auto& p : chunked->named_parameters()) p.value().copy_(enc->named_parameters()[p.key()]);
  }
  EXPECT_LT(maxAbs(chunked(x, u) - z), 1e-12);
  EXPECT_LT(maxAbs(chunked(xj, uj, mask) - z), 1e-12);
  // A different subset of the same field gives different (but finite) tokens.
  auto zs = enc(x.narrow(1, 0, 50), u.narrow(1, 0, 50));
  EXPECT_TRUE(torch::isfinite(zs).all().item<bool>());
  EXPECT_GT(maxAbs(zs - z), 1e-6);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              enc(x, torch::zeros({2, 99, 1}, torch::kFloat64));
            }).find("to match the coordinates"),
            std::string::npos);
}

TEST(Bottleneck, KlMatchesTheAnalyticFormulaAndSamplingIsSeeded) {
  nn::VariationalBottleneck vb(nn::VariationalBottleneckOptions(4, 3));
  vb->to(torch::kFloat64);
  auto x = torch::randn({5, 4}, torch::kFloat64);
  auto out = vb(x, false);
  EXPECT_TRUE(torch::equal(out.latent, out.mean));
  // KL of N(m, s^2) against N(0, 1) per entry: 0.5 (m^2 + s^2 - 1 - log s^2), averaged.
  auto m = out.mean, lv = out.logVariance;
  auto expected = (0.5 * (m.pow(2) + lv.exp() - 1 - lv)).mean().item<double>();
  EXPECT_NEAR(out.kl().item<double>(), expected, 1e-14);
  torch::manual_seed(42);
  auto a = vb(x, true).latent;
  torch::manual_seed(42);
  auto b = vb(x, true).latent;
  EXPECT_TRUE(torch::equal(a, b));
  // Sample statistics: 20000 draws of one input match mean and standard deviation.
  torch::NoGradGuard g;
  auto one = x.narrow(0, 0, 1).expand({20000, 4});
  auto s = vb(one, true);
  auto sd = torch::exp(0.5 * s.logVariance[0]);
  EXPECT_LT(maxAbs((s.latent.mean(0) - s.mean[0]) / sd), 0.05);
  EXPECT_LT(maxAbs(s.latent.std(0) / sd - 1), 0.05);
}

TEST(Decoder, AnswersAtAnyPointsAndPointsAreIndependent) {
  torch::manual_seed(4);
  nn::LocalFieldDecoder dec(nn::LocalFieldDecoderOptions(2, 16, 3).hiddenDim(32));
  dec->to(torch::kFloat64);
  auto z = torch::randn({2, 8, 16}, torch::kFloat64), x = torch::rand({2, 40, 2}, torch::kFloat64);
  auto y = dec(z, x);
  ASSERT_EQ(y.sizes(), (torch::IntArrayRef{2, 40, 3}));
  auto idx = torch::tensor({3, 17, 39, 0});
  EXPECT_LT(maxAbs(dec(z, x.index_select(1, idx)) - y.index_select(1, idx)), 1e-12);
  // Decoding in chunks of 7 query points gives the same values.
  nn::LocalFieldDecoder chunked(nn::LocalFieldDecoderOptions(2, 16, 3).hiddenDim(32).chunkSize(7));
  chunked->to(torch::kFloat64);
  {
    torch::NoGradGuard g;
    for (auto& p : chunked->named_parameters()) p.value().copy_(dec->named_parameters()[p.key()]);
  }
  EXPECT_LT(maxAbs(chunked(z, x) - y), 1e-12);
  EXPECT_NE(messageOf<lats::DimensionMismatchError>([&] {
              dec(torch::randn({2, 8, 15}), x);
            }).find("tokens must be"),
            std::string::npos);
}

TEST(Decoder, TokenBlocksMixTokensAndKeepTheQueriesIndependent) {
  torch::manual_seed(11);
  auto z = torch::randn({2, 6, 16}, torch::kFloat64), x = torch::rand({2, 30, 2}, torch::kFloat64);
  // One block: permuting the tokens permutes its output; changing token 0 changes the others.
  nn::SelfAttentionBlock block(nn::SelfAttentionBlockOptions(16).numHeads(4));
  block->to(torch::kFloat64);
  auto perm = torch::tensor({3, 0, 5, 1, 4, 2});
  auto y = block(z);
  EXPECT_LT(maxAbs(block(z.index_select(1, perm)) - y.index_select(1, perm)), 1e-12);
  auto z2 = z.clone();
  z2.select(1, 0).add_(torch::randn({2, 16}, torch::kFloat64));  // not a constant: LayerNorm removes those
  EXPECT_GT(maxAbs(block(z2).narrow(1, 1, 5) - y.narrow(1, 1, 5)), 1e-3);
  EXPECT_NE(messageOf<lats::ConfigurationError>([] {
              nn::SelfAttentionBlock(nn::SelfAttentionBlockOptions(10));
            }).find("multiple of numHeads"),
            std::string::npos);
  // The decoder with two blocks: invariant to the order of the tokens, queries independent
  // of each other and of the chunking.
  nn::LocalFieldDecoder dec(nn::LocalFieldDecoderOptions(2, 16, 3).hiddenDim(32).depth(2));
  dec->to(torch::kFloat64);
  auto u = dec(z, x);
  EXPECT_LT(maxAbs(dec(z.index_select(1, perm), x) - u), 1e-12);
  auto idx = torch::tensor({29, 4, 11});
  EXPECT_LT(maxAbs(dec(z, x.index_select(1, idx)) - u.index_select(1, idx)), 1e-12);
  nn::LocalFieldDecoder chunked(nn::LocalFieldDecoderOptions(2, 16, 3).hiddenDim(32).depth(2).chunkSize(7));
  chunked->to(torch::kFloat64);
  {
    torch::NoGradGuard g;
    for (auto& p : chunked->named_parameters()) p.value().copy_(dec->named_parameters()[p.key()]);
  }
  EXPECT_LT(maxAbs(chunked(z, x) - u), 1e-12);
  // The blocks are used: without them (same other weights) the values differ.
  nn::LocalFieldDecoder flat(nn::LocalFieldDecoderOptions(2, 16, 3).hiddenDim(32));
  flat->to(torch::kFloat64);
  {
    torch::NoGradGuard g;
    for (auto& p : flat->named_parameters()) p.value().copy_(dec->named_parameters()[p.key()]);
  }
  EXPECT_GT(maxAbs(flat(z, x) - u), 1e-3);
  EXPECT_EQ(dec->named_parameters().size(), flat->named_parameters().size() + 2 * 13);
  EXPECT_NE(messageOf<lats::ConfigurationError>([] {
              nn::LocalFieldDecoder(nn::LocalFieldDecoderOptions(2, 16, 3).hiddenDim(32).depth(-1));
            }).find("depth must be >= 0, got -1"),
            std::string::npos);
}

TEST(DiTBlock, IdentityAtInitialisationThenConditioned) {
  torch::manual_seed(5);
  nn::DiTBlock block(nn::DiTBlockOptions(16, 8).numHeads(4));
  block->to(torch::kFloat64);
  auto x = torch::randn({2, 5, 16}, torch::kFloat64);
  auto c = nn::sinusoidalEmbedding(torch::tensor({0.1, 0.7}, torch::kFloat64), 8);
  EXPECT_LT(maxAbs(block(x, c) - x), 1e-15);
  {
    torch::NoGradGuard g;
    for (auto& p : block->named_parameters())
      if (p.key().rfind("modulation.", 0) == 0) p.value().normal_(0, 0.1);
  }
  auto y1 = block(x, c);
  auto c2 = nn::sinusoidalEmbedding(torch::tensor({0.9, 0.2}, torch::kFloat64), 8);
  EXPECT_GT(maxAbs(y1 - x), 1e-3);
  EXPECT_GT(maxAbs(block(x, c2) - y1), 1e-4);
  auto e = nn::sinusoidalEmbedding(torch::tensor({0.0}, torch::kFloat64), 6);
  EXPECT_DOUBLE_EQ(e[0][0].item<double>(), 1.0);  // cos(0)
  EXPECT_DOUBLE_EQ(e[0][3].item<double>(), 0.0);  // sin(0)
}

TEST(Components, OverfitASmallBatch) {
  // Encoder + bottleneck (means) + decoder reconstruct 4 fixed 1D functions on 64 points.
  torch::manual_seed(6);
  nn::CrossAttentionEncoder enc(nn::CrossAttentionEncoderOptions(1, 1).numTokens(8).tokenDim(32).numHeads(4));
  nn::VariationalBottleneck vb(nn::VariationalBottleneckOptions(32, 8));
  nn::LocalFieldDecoder dec(nn::LocalFieldDecoderOptions(1, 8, 1).hiddenDim(32));
  auto x = torch::linspace(0, 1, 64).view({1, 64, 1}).expand({4, 64, 1});
  auto k = torch::tensor({1.0, 2.0, 3.0, 4.0}).view({4, 1, 1});
  auto u = torch::sin(2 * M_PI * k * x) + 0.5 * torch::cos(2 * M_PI * x);
  std::vector<torch::Tensor> params;
  for (auto* m : std::vector<torch::nn::Module*>{enc.get(), vb.get(), dec.get()})
    for (auto& p : m->parameters()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(3e-3));
  // Cosine decay of the learning rate: the final loss is then a converged value, not a
  // point on Adam's oscillation at a fixed rate (which depends on round-off, e.g. the BLAS).
  const int steps = 1000;
  double first = 0, last = 0;
  for (int it = 0; it < steps; ++it) {
    for (auto& group : opt.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(3e-3 * 0.5 * (1 + std::cos(M_PI * it / steps)));
    opt.zero_grad();
    auto y = dec(vb(enc(x, u), false).latent, x);
    auto loss = torch::mse_loss(y, u);
    loss.backward();
    opt.step();
    if (it == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  const double rel = last / u.pow(2).mean().item<double>();
  std::printf("[overfit] mse %.3e -> %.3e, relative mse %.3e after %d Adam steps\n", first, last, rel, steps);
  EXPECT_LT(rel, 1e-3);
}

TEST(Components, SaveLoadRoundTripGivesIdenticalOutputs) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_SELF, "nn");
  torch::manual_seed(7);
  nn::CrossAttentionEncoder a(nn::CrossAttentionEncoderOptions(2, 2).numTokens(4).tokenDim(16));
  torch::save(a, dir + "/enc.pt");
  torch::manual_seed(8);
  nn::CrossAttentionEncoder b(nn::CrossAttentionEncoderOptions(2, 2).numTokens(4).tokenDim(16));
  auto x = torch::rand({1, 30, 2}), u = torch::randn({1, 30, 2});
  EXPECT_GT(maxAbs(a(x, u) - b(x, u)), 1e-4);
  torch::load(b, dir + "/enc.pt");
  EXPECT_TRUE(torch::equal(a(x, u), b(x, u)));
  // Submodule names are the checkpoint keys.
  auto names = b->named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "attention.to_q.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "queries"), names.end());
}

TEST(DistributedEncoding, EveryRankGetsTheSingleRankTokens) {
  const lats::Comm comm;
  torch::manual_seed(9);  // same weights and same global points on every rank
  nn::CrossAttentionEncoder enc(nn::CrossAttentionEncoderOptions(2, 1).numTokens(8).tokenDim(32));
  enc->to(torch::kFloat64);
  auto x = torch::rand({2, 301, 2}, torch::kFloat64), u = torch::randn({2, 301, 1}, torch::kFloat64);
  torch::Tensor single;
  {
    torch::NoGradGuard g;
    single = enc(x, u);
  }
  // Unequal contiguous partitions; with 2 ranks, rank 0 gets 200 points, rank 1 the rest.
  const int64_t n = 301, r = comm.rank(), p = comm.size();
  const int64_t begin = p == 1 ? 0 : (r == 0 ? 0 : 200), end = p == 1 ? n : (r == 0 ? 200 : n);
  auto tokens =
      nn::encodeDistributed(*enc, x.narrow(1, begin, end - begin), u.narrow(1, begin, end - begin), MPI_COMM_WORLD);
  const double rel = maxAbs(tokens - single) / maxAbs(single);
  EXPECT_LT(rel, 1e-10) << "relative difference " << rel;
  // A rank with no points at all still takes part.
  auto empty =
      nn::encodeDistributed(*enc, r == 0 ? x : x.narrow(1, 0, 0), r == 0 ? u : u.narrow(1, 0, 0), MPI_COMM_WORLD);
  EXPECT_LT(maxAbs(empty - single) / maxAbs(single), 1e-10);
  // A shape error on one rank fails every rank.
  auto bad = r == p - 1 ? torch::zeros({2, 3, 2}, torch::kFloat64) : u.narrow(1, 0, 3);
  const auto msg = messageOf<lats::DimensionMismatchError>(
      [&] { nn::encodeDistributed(*enc, x.narrow(1, 0, 3), bad, MPI_COMM_WORLD); });
  EXPECT_NE(msg.find("encoder: values must be"), std::string::npos) << msg;
}

TEST(ComponentRegistries, EncodersAndDecodersAreBuiltByNameFromTheirDescriptions) {
  nn::ModelShape shape;
  shape.spatialDim = 2;
  shape.numComponents = 3;
  shape.latentDim = 8;
  EXPECT_EQ(nn::encoders().names(), (std::vector<std::string>{"cross_attention", "torchscript"}));
  EXPECT_EQ(nn::decoders().names(), (std::vector<std::string>{"local_field", "torchscript"}));
  auto ec = nn::encoders().defaults("cross_attention").set("num_tokens", std::int64_t{6});
  auto enc = nn::encoders().create(ec, shape);
  EXPECT_EQ(enc->numTokens(), 6);
  EXPECT_TRUE(enc->config() == ec);
  auto dc = nn::decoders().defaults("local_field").set("depth", std::int64_t{1});
  auto dec = nn::decoders().create(dc, shape);
  EXPECT_TRUE(dec->config() == dc);
  torch::NoGradGuard g;
  auto x = torch::rand({1, 30, 2}), u = torch::randn({1, 30, 3});
  EXPECT_EQ(dec->forward(torch::randn({1, 6, 8}), x).sizes(), (torch::IntArrayRef{1, 30, 3}));
  // The chunk size is a run-time setting: the result does not depend on it.
  const auto whole = enc->forward(x, u);
  enc->setChunkSize(7);
  EXPECT_TRUE(torch::allclose(enc->forward(x, u), whole, 1e-5, 1e-6));
  EXPECT_TRUE(ec.equals(enc->config(), nn::encoders().entry("cross_attention").schema, true));
  EXPECT_FALSE(ec.equals(enc->config(), nn::encoders().entry("cross_attention").schema, false));
  EXPECT_NE(lats::test::messageOf<lats::ConfigurationError>([&] {
              nn::encoders().create(nn::ComponentConfig("cross_atention"), shape);
            }).find("unknown encoder 'cross_atention'. Did you mean 'cross_attention'?"),
            std::string::npos);
  EXPECT_NE(lats::test::messageOf<lats::ConfigurationError>([&] {
              nn::decoders().create(nn::decoders().defaults("local_field").set("hidden", std::int64_t{-3}), shape);
            }).find("'hidden' is -3; it must be finite and in [1, 4096] (option -lats_model_decoder_hidden"),
            std::string::npos);
}
