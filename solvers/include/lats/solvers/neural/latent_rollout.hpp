#pragma once
/// \file latent_rollout.hpp
/// A trained latent model applied to a host's mesh and state: encode the state's fields
/// (exactly, with the mesh partitioned over ranks), advance in latent space any number of
/// steps, decode on each rank's own entities. The latent state (and its history window)
/// lives here between steps; an ensemble of seeded members is one object. This header
/// keeps torch out of its users (the surrogate and hybrid steppers in coupling/).

#include <mpi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lats/core/mesh.hpp"
#include "lats/core/state.hpp"

namespace lats::solvers::neural {

/// What a checkpoint says about how to use it.
struct RolloutInfo {
  std::string checkpoint;
  int spatialDim = 0;
  std::vector<std::string> fieldNames;      ///< fields the model reads and writes, in order
  std::vector<int> fieldComponents;         ///< components of each
  std::vector<std::string> parameterNames;  ///< PDE parameters the dynamics needs (may be empty)
  std::int64_t history = 1;                 ///< latent states the dynamics sees
  double timeStep = 0.0;                    ///< time between the model's steps (0: not recorded)
  std::string dynamics;                     ///< registered type of the dynamics ("deterministic", "diffusion", ...)
  bool stochastic = false;                  ///< whether ensemble members draw different samples
  bool guidance = false;                    ///< whether advanceGuided() is available
  std::int64_t numTokens = 0, latentDim = 0;
};

/// Sparse observations that steer the next latent step of a diffusion model (reconstruction
/// guidance): sensor coordinates (physical), the flat component each sensor sees (fields in
/// RolloutInfo order, their components in turn), the observed values and noise.
struct GuidanceTarget {
  std::vector<double> coordinates;  ///< sensors x spatialDim
  std::vector<int> components;      ///< per sensor
  std::vector<double> values;       ///< per sensor
  std::vector<double> noiseStd;     ///< per sensor, positive
  /// Weight of the denoiser's own uncertainty: the likelihood's variance at noise level k is
  /// noise^2 + gamma (sigma_k / alpha_k)^2 (in normalised units).
  double gamma = 1.0;
  /// Standard deviation of the model error per latent value (0: none). With it, each guided
  /// sample is followed by a latent-space variational analysis: the state that minimises
  /// the observation misfit plus |z - sample|^2 / (2 modelError^2), found with L-BFGS in at
  /// most `corrections` iterations. A denoiser that is confident about a wrong forecast
  /// hardly yields to guidance alone; this is the knob that lets observations win.
  double modelError = 0.0;
  int corrections = 20;
};

class LatentRollout {
 public:
  /// Loads the checkpoint on every rank of `comm` (a FileFormatError on one rank fails all).
  LatentRollout(MPI_Comm comm, const std::string& checkpointDir);
  ~LatentRollout();
  LatentRollout(const LatentRollout&) = delete;
  LatentRollout& operator=(const LatentRollout&) = delete;

  const RolloutInfo& info() const;

  /// Values of the PDE parameters the model is conditioned on; every name in
  /// info().parameterNames is required (ConfigurationError naming the missing or unknown
  /// ones, with a suggestion). Not needed for a model without parameters.
  void setParameters(const std::map<std::string, double>& values);
  /// Ensemble size (default 1) and seed of the stochastic (diffusion) dynamics: member i at
  /// step s draws from the stream (seed, i, s), so members and steps are reproducible.
  /// Deterministic dynamics give identical members. Resets the latent state.
  void setEnsemble(std::int64_t members, std::uint64_t seed);
  std::int64_t members() const;
  /// Points per chunk of the encoder and decoder (-1: keep the checkpoint's; 0: all at
  /// once). Bounds memory on large meshes; the results do not depend on it.
  void setChunkSizes(std::int64_t encoderPoints, std::int64_t decoderPoints);

  /// Checks that `mesh` and `state` fit the model (spatial dimension, field names and
  /// components: ModelMismatchError saying which differs) and remembers the mesh's owned
  /// entities as the points to encode from and decode at. Collective.
  void bind(std::shared_ptr<const Mesh> mesh, const State& state);
  bool isBound() const;

  /// Encodes `state` (owned entities of every rank) and makes it the whole history window
  /// (a cold start: the window holds `history` copies of it). Collective.
  void reset(const State& state);
  /// Encodes one state per member (members() of them, owned entities of every rank) and makes
  /// each member's whole history window its own state (a cold start per member): an ensemble
  /// whose members differ, e.g. after an ensemble Kalman analysis. Collective.
  void resetMembers(const std::vector<const State*>& states);
  /// Encodes `state` and appends it to the history window (the oldest entry drops out):
  /// hosts that computed the previous states themselves (a hybrid run) give the dynamics a
  /// true history this way. Collective.
  void push(const State& state);
  /// Whether reset() has been called since bind().
  bool hasLatent() const;

  /// Advances every member `steps` latent steps (not collective: every rank computes the
  /// same latent state; nothing is exchanged).
  void advance(std::int64_t steps = 1);
  /// One latent step of every member sampled with reconstruction guidance: at every
  /// denoising level the denoised estimate is moved along the gradient of the observation
  /// log-likelihood, taken through the denoiser and the decoder at the sensor coordinates.
  /// The members' seeded noise is that of advance(), so without observations (or with huge
  /// noise) the result is advance()'s. Diffusion dynamics only (ModelMismatchError
  /// otherwise). Not collective: every rank computes the same latent state.
  void advanceGuided(const GuidanceTarget& target);
  /// Latent steps taken since the last reset()/push().
  std::int64_t stepsSinceEncode() const;
  /// What makes the latent state unusable, or "" when every value of every member is finite
  /// and at most `bound` times the largest magnitude of the last encoded state (at least 1)
  /// in magnitude (`bound` 0: finiteness only). Not collective (every rank holds the same
  /// latent state).
  std::string latentProblem(double bound) const;
  /// Remembers the latent state (window, counters) / goes back to it (rollback).
  void save();
  void restore();

  /// Writes the mean over the members, decoded at the owned entities, into the model's
  /// fields of `state` (ghost entries are left alone). Not collective.
  void decode(State& state) const;
  /// decode(), unless a decoded value on any rank is non-finite or, normalised by the
  /// training data's mean and standard deviation, larger than `bound` in magnitude (`bound`
  /// 0: finiteness only): then nothing is written and every rank returns the same reason
  /// ("" on success). Collective.
  std::string decodeChecked(State& state, double bound) const;
  /// Testing hook: corrupts the latent state now (`where` "latent") or the values of the
  /// next decode on the last rank (`where` "decoded") with one value of `kind` "nan", "inf"
  /// or "huge" (1e30), as a broken model would. InvalidValueError for anything else.
  void injectFault(const std::string& where, const std::string& kind);
  /// Member `member` decoded at the owned entities, (owned x total components) row-major.
  std::vector<double> decodeMember(std::int64_t member) const;
  /// Values per member of the latent state (the whole history window): history x tokens x
  /// latent dimension.
  std::int64_t latentSize() const;
  /// The members' latent windows, (members x latentSize()) row-major, as doubles.
  std::vector<double> latentState() const;
  /// Replaces the members' latent windows (members x latentSize()), e.g. after an ensemble
  /// analysis in latent space. Non-finite values are an InvalidValueError.
  void setLatentState(const std::vector<double>& values);
  /// Every member's current latent state decoded at arbitrary points (physical coordinates,
  /// points x spatialDim), component `components[p]` (flat index) at point p: (members x
  /// points) row-major. Not collective.
  std::vector<double> decodeAt(const std::vector<double>& coordinates, const std::vector<int>& components) const;
  /// The decoded mean of the members' latent states (not the mean of the decoded members)
  /// into the model's fields of `state` at the owned entities: one decode for the ensemble.
  void decodeMeanLatent(State& state) const;
  /// Every member decoded at the owned entities, (members x owned x total components)
  /// row-major, in one batched decode. Not collective.
  std::vector<double> decodeMembers() const;
  /// Standard deviation over the members at the owned entities, row-major like
  /// decodeMember (zeros for one member).
  std::vector<double> spread() const;

 private:
  std::string decodeInto(State& state, bool check, double bound) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lats::solvers::neural
