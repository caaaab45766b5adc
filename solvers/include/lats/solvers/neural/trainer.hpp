#pragma once
/// \file trainer.hpp
/// Native training of a LatentModel from a trajectory dataset (lats/meshio/dataset.hpp),
/// staged as in AROMA: (1) the autoencoder (encoder, bottleneck, decoder) on snapshots,
/// each sample encoded from a random subset of the points and decoded at all of them, so
/// the model learns to be independent of the discretisation; (2) the latent dynamics (and
/// the diffusion refiner) on the latents of the frozen autoencoder. AdamW, linear warm-up
/// then cosine decay, gradient clipping, EMA weights (what the checkpoints hold), a
/// validation split, a progress line on rank 0, periodic checkpoints and exact resume.
/// Data-parallel over MPI: every rank takes a slice of each global batch and the gradients
/// are summed, so the weights do not depend on the rank count. `lats train` is the
/// command-line face. Headers outside solvers/neural never see torch: this one doesn't.

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lats/solvers/neural/model_description.hpp"

namespace lats::solvers::neural {

struct TrainerSettings {
  std::string dataset;                ///< training data (-lats_train_dataset)
  std::string output = "lats_model";  ///< checkpoint directory; training state in <output>/training
  std::string stages = "all";         ///< all, autoencoder or dynamics
  std::int64_t autoencoderSteps = 2000;
  std::int64_t dynamicsSteps = 2000;
  std::int64_t batchSize = 16;  ///< global batch, split over the ranks
  double learningRate = 1e-3;
  double weightDecay = 1e-4;
  std::int64_t warmupSteps = 100;
  double clipNorm = 1.0;       ///< gradient norm clipping (0: off)
  double emaDecay = 0.999;     ///< EMA of the weights (0: off)
  double validation = 0.1;     ///< fraction of complete trajectories held out (at least one when > 0)
  double pointFraction = 0.5;  ///< each sample is encoded from a random fraction in [this, 1] of the points
  /// Points per autoencoder sample (0: the whole mesh): a random subset of this many mesh
  /// points, encoded from a fraction in [pointFraction, 1] of them and decoded at all of
  /// them. Makes training on large meshes affordable; inference still uses every point.
  std::int64_t samplePoints = 0;
  /// Checkpoint directory whose weights start the training (fine-tuning, or more steps with
  /// a new schedule); empty: random initialisation. Its autoencoder must have the -lats_model_
  /// options' architecture; its dynamics are taken too when they match as well.
  std::string init;
  double klWeight = 1e-5;
  std::int64_t unroll = 1;  ///< latent steps per dynamics sample (autoregressive training)
  std::int64_t validateEvery = 200;
  std::int64_t checkpointEvery = 500;
  /// Stop (after writing a checkpoint) once this many steps ran in this call; 0: train to
  /// the end. For time-limited batch jobs: the next call resumes.
  std::int64_t stopAfter = 0;
  std::uint64_t seed = 1;
  bool progress = true;
  /// The architecture (the sizes the data fixes are filled in by the trainer).
  ModelDescription model = ModelDescription::defaults();
  std::string commandLine;

  /// From -lats_train_* and -lats_model_* options.
  static TrainerSettings fromOptions();
};

/// Relative MSE, sum_i |pred_i - true_i|^2 / sum_i |true_i|^2 per snapshot, averaged.
struct Accuracy {
  double reconstruction = 0.0;        ///< autoencoder: every snapshot encoded and decoded
  double rollout = 0.0;               ///< encode the first snapshot, step through the whole horizon
  std::vector<double> rolloutByTime;  ///< per snapshot time (index 0 is the initial reconstruction)
  std::int64_t trajectories = 0;
};

struct TrainingReport {
  std::string checkpoint;
  std::vector<double> autoencoderLoss;  ///< per step (mean over the global batch)
  std::vector<double> dynamicsLoss;
  std::vector<std::int64_t> validationSteps;  ///< global step of each validation
  std::vector<double> validationLoss;         ///< relative MSE: reconstruction in stage 1, rollout in stage 2
  std::int64_t resumedAt = 0;                 ///< global step the run resumed from (0: fresh)
  bool finished = false;                      ///< every stage ran to the end
  double seconds = 0.0;                       ///< wall time of this call
  Accuracy validationAccuracy;                ///< of the final model on the validation split
};

/// Trains (or resumes) as `settings` says. A finished training with the same settings
/// returns its report without training again; other settings in an existing
/// <output>/training are a ConfigurationError saying what differs. Collective over `comm`.
TrainingReport trainModel(MPI_Comm comm, const TrainerSettings& settings);

/// Accuracy of the checkpoint `checkpointDir` on the complete trajectories of `dataset`
/// (all of them, or `trajectories`). Collective (the trajectories are split over ranks).
Accuracy evaluateModel(MPI_Comm comm, const std::string& checkpointDir, const std::string& dataset,
                       const std::vector<std::int64_t>& trajectories = {});

}  // namespace lats::solvers::neural
