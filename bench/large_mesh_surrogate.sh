#!/usr/bin/env bash
# The surrogate against the PETSc solver that made its training data, on a large mesh
# (doc/performance.md, "Surrogate speed on 16200 cells"): the demo's problem (advection-
# diffusion of smooth random fields, velocity (1, 0.5), viscosity 0.01) on 90 x 90 x 2 = 16200
# jittered periodic triangles; 48 training and 4 held-out trajectories of 20 steps to t = 1;
# each autoencoder sample on 2048 random mesh points (-lats_train_points); then lats rollout
# (classical, surrogate, hybrid 4+1; one run, with the trajectories for ParaView in
# $OUT/rollout) from the held-out initial states.
#
#   bench/large_mesh_surrogate.sh            # about 25 min data + 125 min training on 2 cores
#
# Environment: LATS (default build/release/apps/lats), OUT (default build/large), RANKS
# (default 2), CELLS (cells per side, default 90). Reruns resume the dataset files and the
# training, and skip what is finished.
set -eu
LATS=${LATS:-build/release/apps/lats}
OUT=${OUT:-build/large}
RANKS=${RANKS:-2}
CELLS=${CELLS:-90}
mkdir -p "$OUT"
run() { OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpiexec --oversubscribe -n "$RANKS" "$LATS" "$@"; }

mesh="-lats_equation advection_diffusion -lats_mesh_cells $CELLS -lats_ic grf -lats_ic_modes 2 -lats_threads 1"
data="$mesh -lats_generate_snapshots 20 -lats_generate_final_time 1 -lats_generate_sample_parameters false"
# shellcheck disable=SC2086
run generate $data -lats_generate_trajectories 4 -lats_generate_seed 2 -lats_generate_output "$OUT/test.h5"
# shellcheck disable=SC2086
run generate $data -lats_generate_trajectories 48 -lats_generate_seed 1 -lats_generate_output "$OUT/train.h5"
# stage MODEL LOG OPTIONS...: trains $OUT/MODEL once (a MODEL.done file marks it finished;
# an interrupted stage resumes) with the options every stage shares and OPTIONS.
stage() {
  model=$1 log=$2
  shift 2
  [ -f "$OUT/$model.done" ] && return 0
  run train -lats_train_dataset "$OUT/train.h5" -lats_train_test_dataset "$OUT/test.h5" -lats_train_output "$OUT/$model" \
    -lats_train_unroll 4 -lats_train_batch 8 -lats_train_points 2048 -lats_train_point_fraction 1 \
    -lats_train_validation 0.05 -lats_train_checkpoint_every 1000 -lats_model_tokens 16 -lats_threads 1 "$@" |
    tee "$OUT/$log"
  touch "$OUT/$model.done"
}
stage model train.log -lats_train_autoencoder_steps 24000 -lats_train_dynamics_steps 6000 -lats_train_validate_every 2000
# 10000 + 4000 more steps from those weights at half the learning rate.
stage model-continued train-continued.log -lats_train_init "$OUT/model" -lats_train_autoencoder_steps 10000 \
  -lats_train_dynamics_steps 4000 -lats_train_lr 5e-4 -lats_train_warmup 200 -lats_train_validate_every 2000
# 20000 + 12000 more steps from the continued weights at 3e-4.
stage model-long train-long.log -lats_train_init "$OUT/model-continued" -lats_train_autoencoder_steps 20000 \
  -lats_train_dynamics_steps 12000 -lats_train_lr 3e-4 -lats_train_warmup 200 -lats_train_validate_every 4000
# 24000 more dynamics steps on model-long's autoencoder (its rollout error was mostly the
# latent dynamics': test reconstruction 7.0e-4, rollout 2.9e-3 relative MSE).
stage model-dynamics train-dynamics.log -lats_train_init "$OUT/model-long" -lats_train_autoencoder_steps 0 \
  -lats_train_dynamics_steps 24000 -lats_train_lr 3e-4 -lats_train_warmup 200 -lats_train_validate_every 4000
for model in model model-continued model-long model-dynamics; do
  # shellcheck disable=SC2086
  run rollout $mesh -lats_rollout_model "$OUT/$model" -lats_rollout_dataset "$OUT/test.h5" \
    -lats_rollout_trajectories all -lats_rollout_repeats 1 -lats_rollout_output "$OUT/rollout-$model" |
    tee "$OUT/rollout-$model.log"
done
