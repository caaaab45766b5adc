// Native training: exact resume, rank-count independence, discretisation invariance
// (trained on full meshes, reconstructs from half the points), and bad input.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "lats/core/comm.hpp"
#include "lats/core/error.hpp"
#include "lats/core/random.hpp"
#include "lats/meshio/dataset.hpp"
#include "lats/meshio/plex_mesh.hpp"
#include "lats/solvers/neural/checkpoint.hpp"
#include "lats/solvers/neural/trainer.hpp"
#include "test_support.hpp"
#include "tiny_model.hpp"

namespace nn = lats::solvers::neural;

namespace {

constexpr int kPoints = 48, kTimes = 6, kTrajectories = 10;

/// Travelling waves u(x, t) = sin(2 pi (x - c t) + phi) + 0.3 cos(4 pi (x - c t)) on an
/// irregular 1D point set, c and phi per trajectory.
double wave(double x, double t, double c, double phi) {
  const double s = x - c * t;
  return std::sin(2 * M_PI * s + phi) + 0.3 * std::cos(4 * M_PI * s);
}

std::vector<double> pointsX() {
  std::vector<double> x(kPoints);
  lats::SplitMix64 rng(5);
  for (int i = 0; i < kPoints; ++i) x[i] = (i + 0.8 * rng.uniform() - 0.4 + 0.5) / kPoints;
  return x;
}

std::pair<double, double> trajectoryParameters(int m) {
  lats::SplitMix64 rng(11, static_cast<std::uint64_t>(m));
  return {rng.uniform(-1.0, 1.0), rng.uniform(0.0, 2 * M_PI)};
}

/// Writes the dataset with one rank (the others wait) and returns its path on every rank.
std::string makeDataset(const std::string& dir, int components = 1) {
  const std::string path = dir + "/waves.h5";
  if (lats::Comm().rank() == 0) {
    lats::meshio::DatasetHeader h;
    h.equation = "waves";
    h.components = components == 1 ? std::vector<std::string>{"u"} : std::vector<std::string>{"u", "v"};
    h.parameterNames = {"c"};
    h.numTrajectories = kTrajectories;
    for (int t = 0; t < kTimes; ++t) h.times.push_back(0.05 * t);
    const auto x = pointsX();
    auto mesh = lats::MeshBuilder(MPI_COMM_SELF, 1).coordinates(x).build();
    lats::meshio::DatasetWriter w(path, h, *mesh);
    for (int m = 0; m < kTrajectories; ++m) {
      const auto [c, phi] = trajectoryParameters(m);
      for (int t = 0; t < kTimes; ++t) {
        std::vector<double> v;
        for (int i = 0; i < kPoints; ++i)
          for (int k = 0; k < components; ++k) v.push_back((k + 1) * wave(x[i], h.times[t], c, phi));
        w.writeSnapshotLocal(m, t, v.data());
      }
      w.writeParameters(m, {c});
      w.markComplete(m);
    }
    w.finish();
  }
  lats::Comm().barrier();
  return path;
}

nn::TrainerSettings smallSettings(const std::string& dataset, const std::string& output) {
  nn::TrainerSettings s;
  s.dataset = dataset;
  s.output = output;
  s.autoencoderSteps = 80;
  s.dynamicsSteps = 20;
  s.batchSize = 4;
  s.learningRate = 3e-3;
  s.warmupSteps = 5;
  s.validateEvery = 10;
  s.checkpointEvery = 10;
  s.validation = 0.2;
  s.progress = false;
  s.seed = 3;
  s.model = lats::test::tinyModel();
  s.model.set("latent_dim", std::int64_t{4})
      .set("encoder.num_frequencies", std::int64_t{4})
      .set("decoder.num_frequencies", std::int64_t{4});
  return s;
}

double maxRelativeDifference(const std::string& a, const std::string& b) {
  const auto ca = nn::loadCheckpoint(a), cb = nn::loadCheckpoint(b);
  auto pb = cb.model->named_parameters();
  double worst = 0.0;
  for (const auto& p : ca.model->named_parameters()) {
    const auto& q = pb[p.key()];
    // relative difference of each weight tensor (Frobenius norms), the largest over tensors
    const double scale = std::max(p.value().norm().item<double>(), 1e-12);
    worst = std::max(worst, (p.value() - q).norm().item<double>() / scale);
  }
  return worst;
}

}  // namespace

TEST(Trainer, InterruptedRunsResumeToTheUninterruptedLossCurve) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "trainer_resume");
  const auto data = makeDataset(dir);
  const auto full = nn::trainModel(MPI_COMM_WORLD, smallSettings(data, dir + "/full"));
  ASSERT_TRUE(full.finished);
  ASSERT_EQ(full.autoencoderLoss.size(), 80u);
  ASSERT_EQ(full.dynamicsLoss.size(), 20u);
  EXPECT_EQ(full.validationSteps, (std::vector<std::int64_t>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}));
  for (double v : full.validationLoss) EXPECT_TRUE(std::isfinite(v));
  // Three pieces: stop inside stage 1, stop inside stage 2, then to the end.
  auto s = smallSettings(data, dir + "/pieces");
  s.stopAfter = 47;
  auto r = nn::trainModel(MPI_COMM_WORLD, s);
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(r.autoencoderLoss.size(), 47u);
  s.stopAfter = 21;
  r = nn::trainModel(MPI_COMM_WORLD, s);
  EXPECT_EQ(r.resumedAt, 47);
  EXPECT_FALSE(r.finished);
  s.stopAfter = 0;
  r = nn::trainModel(MPI_COMM_WORLD, s);
  EXPECT_EQ(r.resumedAt, 68);
  ASSERT_TRUE(r.finished);
  ASSERT_EQ(r.autoencoderLoss.size(), full.autoencoderLoss.size());
  ASSERT_EQ(r.dynamicsLoss.size(), full.dynamicsLoss.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < full.autoencoderLoss.size(); ++i)
    worst = std::max(worst, std::abs(r.autoencoderLoss[i] - full.autoencoderLoss[i]) / full.autoencoderLoss[i]);
  for (std::size_t i = 0; i < full.dynamicsLoss.size(); ++i)
    worst = std::max(worst, std::abs(r.dynamicsLoss[i] - full.dynamicsLoss[i]) / full.dynamicsLoss[i]);
  std::printf("[resume] largest relative difference of the loss curves %.3e\n", worst);
  EXPECT_LT(worst, 1e-6);
  EXPECT_LT(maxRelativeDifference(dir + "/full", dir + "/pieces"), 1e-6);
  // The training actually trains: both losses fall (means of the first and last 5 steps).
  auto mean5 = [](const std::vector<double>& v, bool last) {
    double sum = 0.0;
    for (std::size_t i = 0; i < 5; ++i) sum += last ? v[v.size() - 1 - i] : v[i];
    return sum / 5.0;
  };
  std::printf("[resume] autoencoder loss %.3e -> %.3e, dynamics loss %.3e -> %.3e\n",
              mean5(full.autoencoderLoss, false), mean5(full.autoencoderLoss, true), mean5(full.dynamicsLoss, false),
              mean5(full.dynamicsLoss, true));
  // (stage 1 leaves its initial plateau slowly in 80 steps; the subset test below trains it
  // to a relative MSE below 0.1)
  EXPECT_LT(mean5(full.autoencoderLoss, true), 0.98 * mean5(full.autoencoderLoss, false));
  EXPECT_LT(mean5(full.dynamicsLoss, true), 0.8 * mean5(full.dynamicsLoss, false));
  // A finished run is not trained again.
  r = nn::trainModel(MPI_COMM_WORLD, s);
  EXPECT_EQ(r.resumedAt, 100);
  EXPECT_TRUE(r.finished);
}

TEST(Trainer, TheRankCountDoesNotChangeTheWeights) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "trainer_ranks");
  const auto data = makeDataset(dir);
  nn::trainModel(MPI_COMM_WORLD, smallSettings(data, dir + "/all_ranks"));
  // The same global batch on one rank (rank 0 alone).
  if (lats::Comm().rank() == 0) nn::trainModel(MPI_COMM_SELF, smallSettings(data, dir + "/one_rank"));
  lats::Comm().barrier();
  const double d = maxRelativeDifference(dir + "/all_ranks", dir + "/one_rank");
  std::printf("[ranks] %d ranks vs 1: largest relative weight difference %.3e\n", lats::Comm().size(), d);
  EXPECT_LT(d, 1e-5);
}

namespace {

/// Settings of the reconstruction tests: the autoencoder only, 400 steps.
nn::TrainerSettings reconstructionSettings(const std::string& data, const std::string& output) {
  auto s = smallSettings(data, output);
  s.autoencoderSteps = 400;
  s.dynamicsSteps = 0;
  s.pointFraction = 1.0;  // encode from every point of a sample
  s.validateEvery = 400;
  s.checkpointEvery = 400;
  s.model.set("encoder.token_dim", std::int64_t{32})
      .set("latent_dim", std::int64_t{8})
      .set("encoder.num_tokens", std::int64_t{8})
      .set("decoder.hidden", std::int64_t{32});
  return s;
}

/// Mean relative MSE (normalised units) over every snapshot of the waves, encoded from all
/// points and from a random half, decoded at all points.
std::pair<double, double> reconstructionErrors(const std::string& model) {
  auto ck = nn::loadCheckpoint(model);
  ck.model->eval();
  torch::NoGradGuard g;
  const auto x = pointsX();
  auto coords = torch::empty({1, kPoints, 1}), values = torch::empty({1, kPoints, 1});
  double sumFull = 0.0, sumHalf = 0.0;
  int count = 0;
  for (int m = 0; m < kTrajectories; ++m) {
    const auto [c, phi] = trajectoryParameters(m);
    for (int t = 0; t < kTimes; ++t) {
      for (int i = 0; i < kPoints; ++i) {
        coords[0][i][0] = (x[i] - ck.metadata.coordOffset[0]) / ck.metadata.coordScale[0];
        values[0][i][0] = (wave(x[i], 0.05 * t, c, phi) - ck.metadata.mean[0]) / ck.metadata.std[0];
      }
      auto relErr = [&](const torch::Tensor& z) {
        const auto rec = ck.model->decode(z, coords);
        return ((rec - values).pow(2).sum() / values.pow(2).sum()).item<double>();
      };
      sumFull += relErr(ck.model->encode(coords, values));
      const auto half = torch::tensor(lats::meshio::subsamplePoints(kPoints, kPoints / 2, 100 * m + t));
      sumHalf += relErr(ck.model->encode(coords.index_select(1, half), values.index_select(1, half)));
      ++count;
    }
  }
  return {sumFull / count, sumHalf / count};
}

}  // namespace

TEST(Trainer, TrainedOnFullMeshesReconstructsFromHalfThePoints) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "trainer_subset");
  const auto s = reconstructionSettings(makeDataset(dir), dir + "/model");
  ASSERT_TRUE(nn::trainModel(MPI_COMM_WORLD, s).finished);
  const auto [full, half] = reconstructionErrors(dir + "/model");
  std::printf("[subset] relative MSE (normalised units) from all points %.3e, from a random half %.3e (ratio %.2f)\n",
              full, half, half / full);
  EXPECT_LT(full, 0.1) << "the autoencoder did not learn the waves";
  EXPECT_LT(half, 2.0 * full);
}

// -lats_train_points: every sample sees a random third of the mesh (encoded and decoded
// there); the model still learns the whole field, close to one trained on every point.
TEST(Trainer, SamplesOfAThirdOfThePointsLearnTheWholeField) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "trainer_points");
  const auto data = makeDataset(dir);
  auto s = reconstructionSettings(data, dir + "/all");
  s.autoencoderSteps = s.validateEvery = s.checkpointEvery = 1000;
  ASSERT_TRUE(nn::trainModel(MPI_COMM_WORLD, s).finished);
  s.output = dir + "/third";
  s.samplePoints = kPoints / 3;
  ASSERT_TRUE(nn::trainModel(MPI_COMM_WORLD, s).finished);
  const double all = reconstructionErrors(dir + "/all").first, third = reconstructionErrors(dir + "/third").first;
  std::printf("[points] relative MSE at every point: trained on every point %.3e, on %d of %d per sample %.3e\n", all,
              kPoints / 3, kPoints, third);
  EXPECT_LT(third, 0.1) << "trained on point subsets, the autoencoder did not learn the waves";
  EXPECT_LT(third, 3.0 * all);
}

// -lats_train_init: a run of dynamics steps only that starts from a checkpoint keeps its
// autoencoder exactly and moves its dynamics on; another architecture is refused by name.
TEST(Trainer, StartsFromTheWeightsOfACheckpoint) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "trainer_init");
  const auto data = makeDataset(dir);
  auto s = smallSettings(data, dir + "/first");
  ASSERT_TRUE(nn::trainModel(MPI_COMM_WORLD, s).finished);
  auto t = smallSettings(data, dir + "/more");
  t.init = dir + "/first";
  t.autoencoderSteps = 0;
  t.dynamicsSteps = 10;
  ASSERT_TRUE(nn::trainModel(MPI_COMM_WORLD, t).finished);
  // Largest weight differences of the autoencoder and of the dynamics between two checkpoints.
  auto differences = [&](const std::string& other) {
    const auto a = nn::loadCheckpoint(dir + "/first"), b = nn::loadCheckpoint(other);
    auto pb = b.model->named_parameters();
    double autoencoder = 0.0, dynamics = 0.0;
    for (const auto& p : a.model->named_parameters()) {
      const double d = (p.value() - pb[p.key()]).abs().max().item<double>();
      const bool ae = p.key().rfind("encoder.", 0) == 0 || p.key().rfind("bottleneck.", 0) == 0 ||
                      p.key().rfind("decoder.", 0) == 0;
      (ae ? autoencoder : dynamics) = std::max(ae ? autoencoder : dynamics, d);
    }
    return std::make_pair(autoencoder, dynamics);
  };
  const auto [autoencoder, dynamics] = differences(dir + "/more");
  EXPECT_EQ(autoencoder, 0.0) << "the autoencoder of the checkpoint was not taken over exactly";
  EXPECT_GT(dynamics, 0.0) << "the dynamics did not train";
  // A dynamics-only training into a new directory takes the autoencoder from the checkpoint.
  auto u = smallSettings(data, dir + "/dynamics-only");
  u.init = dir + "/first";
  u.stages = "dynamics";
  u.dynamicsSteps = 10;
  ASSERT_TRUE(nn::trainModel(MPI_COMM_WORLD, u).finished);
  const auto [autoencoderOnly, dynamicsOnly] = differences(dir + "/dynamics-only");
  EXPECT_EQ(autoencoderOnly, 0.0) << "-lats_train_stages dynamics did not keep -lats_train_init's autoencoder";
  EXPECT_GT(dynamicsOnly, 0.0) << "the dynamics did not train";
  t.output = dir + "/other";
  t.model.set("encoder.token_dim", std::int64_t{32});
  const auto m = lats::test::messageOf<lats::ConfigurationError>([&] { nn::trainModel(MPI_COMM_WORLD, t); });
  EXPECT_NE(m.find("-lats_train_init " + dir + "/first: its autoencoder differs"), std::string::npos) << m;
  t.init = dir + "/nowhere";
  const auto none = lats::test::messageOf<lats::ConfigurationError>([&] { nn::trainModel(MPI_COMM_WORLD, t); });
  EXPECT_NE(none.find("-lats_train_init " + dir + "/nowhere: no checkpoint there"), std::string::npos) << none;
}

TEST(Trainer, BadInputGivesClearErrors) {
  const auto dir = lats::test::sharedTempDir(MPI_COMM_WORLD, "trainer_bad");
  const auto data = makeDataset(dir);
  auto s = smallSettings(dir + "/missing.h5", dir + "/m");
  auto m = lats::test::messageOf<lats::FileFormatError>([&] { nn::trainModel(MPI_COMM_WORLD, s); });
  EXPECT_NE(m.find("missing.h5: no such file"), std::string::npos) << m;
  s = smallSettings("", dir + "/m");
  m = lats::test::messageOf<lats::ConfigurationError>([&] { nn::trainModel(MPI_COMM_WORLD, s); });
  EXPECT_NE(m.find("-lats_train_dataset"), std::string::npos) << m;
  s = smallSettings(data, dir + "/m");
  s.samplePoints = -5;
  m = lats::test::messageOf<lats::ConfigurationError>([&] { nn::trainModel(MPI_COMM_WORLD, s); });
  EXPECT_NE(m.find("-lats_train_points -5 is negative"), std::string::npos) << m;
  // Other settings on an existing run: named.
  s = smallSettings(data, dir + "/m");
  s.stopAfter = 5;
  nn::trainModel(MPI_COMM_WORLD, s);
  s.learningRate = 1e-2;
  m = lats::test::messageOf<lats::ConfigurationError>([&] { nn::trainModel(MPI_COMM_WORLD, s); });
  EXPECT_NE(m.find("lr is 0.0030000000000000001 in the stored run, 0.01 now"), std::string::npos) << m;
  // A non-finite field value is refused with where it is, on every rank (it used to train to
  // NaN weights).
  const std::string poisoned = dir + "/poisoned.h5";
  if (lats::Comm().rank() == 0) {
    ASSERT_EQ(lats::test::runCommand("cp " + data + " " + poisoned), 0);
    const hid_t file = H5Fopen(poisoned.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t fields = H5Dopen2(file, "/fields", H5P_DEFAULT);
    const hid_t space = H5Dget_space(fields);
    const hsize_t start[4] = {3, 2, 7, 0}, count[4] = {1, 1, 1, 1};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
    const hid_t one = H5Screate_simple(4, count, nullptr);
    const double nan = std::nan("");
    EXPECT_GE(H5Dwrite(fields, H5T_NATIVE_DOUBLE, one, space, H5P_DEFAULT, &nan), 0);
    H5Sclose(one);
    H5Sclose(space);
    H5Dclose(fields);
    H5Fclose(file);
  }
  lats::Comm().barrier();
  s = smallSettings(poisoned, dir + "/poisoned-model");
  m = lats::test::messageOf<lats::InvalidValueError>([&] { nn::trainModel(MPI_COMM_WORLD, s); });
  EXPECT_NE(m.find("poisoned.h5: trajectory 3, time index 2, point 7, component 'u' is nan; training needs finite "
                   "field values"),
            std::string::npos)
      << m;
  // Evaluating on data the model does not fit.
  const auto dir2 = lats::test::sharedTempDir(MPI_COMM_WORLD, "trainer_bad2");
  const auto twoComponents = makeDataset(dir2, 2);
  m = lats::test::messageOf<lats::ModelMismatchError>(
      [&] { nn::evaluateModel(MPI_COMM_WORLD, dir + "/m", twoComponents); });
  EXPECT_NE(m.find("1D points with 2 components; the model"), std::string::npos) << m;
}
