#!/bin/sh
# Accuracy of natively trained latent models on datasets made by `lats generate`, in the
# seeds' benchmark setups (doc/neural.md, "Accuracy"). For each case: a training and a test
# dataset (different seeds, so the test initial conditions and parameters are unseen), then
# `lats train` with the test set evaluated after training. Reconstruction and rollout
# relative MSE (physical units, whole horizon) are printed by `lats train` as
# "test ...: relative MSE reconstruction X, rollout Y".
#
#   bench/neural_accuracy.sh [advection|combined|gray_scott|gray_scott_diffusion|gray_scott_continued|gray_scott_wide|gray_scott_deep|gray_scott_more|gray_scott_more_flat|all]
#
# Every model: deterministic latent dynamics with a history of 2 states, trained on full
# meshes (point fraction 1) with 2-step unrolled dynamics, batch and steps as below.
#
# Environment: LATS (the lats binary, default build/release/apps/lats), OUT (work
# directory, default build/accuracy), RANKS (MPI ranks for training, default 1), THREADS
# (torch threads per rank, default 0: cores / ranks), SCALE
# (multiplies the optimisation steps, default 1; 0.1 for a quick look). Reruns reuse the
# datasets and resume or skip finished training (delete $OUT to start over).
set -eu
LATS=${LATS:-build/release/apps/lats}
OUT=${OUT:-build/accuracy}
RANKS=${RANKS:-1}
THREADS=${THREADS:-0}
SCALE=${SCALE:-1}
case_name=${1:-all}
mkdir -p "$OUT"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

steps() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); if (v < 1) v = 1; print v }'; }

# generate NAME TRAJECTORIES SEED OPTIONS...
generate() {
  name=$1 n=$2 seed=$3
  shift 3
  "$LATS" generate -lats_generate_output "$OUT/$name.h5" -lats_generate_trajectories "$n" \
    -lats_generate_seed "$seed" -lats_generate_progress false "$@"
}

# train CASE AE_STEPS DYN_STEPS OPTIONS...: on CASE's datasets, or DATA's when DATA is set
# (and TEST_DATA's test set when that is set)
train() {
  name=$1 ae=$(steps "$2") dyn=$(steps "$3") data=${DATA:-$1}
  test_data=${TEST_DATA:-$data}
  shift 3
  start=$(date +%s)
  mpiexec --oversubscribe -n "$RANKS" "$LATS" train -lats_train_dataset "$OUT/$data-train.h5" \
    -lats_train_test_dataset "$OUT/$test_data-test.h5" -lats_train_output "$OUT/$name-model" \
    -lats_train_autoencoder_steps "$ae" -lats_train_dynamics_steps "$dyn" -lats_train_progress true \
    -lats_train_point_fraction 1 -lats_train_unroll 2 -lats_threads "$THREADS" "$@" |
    tee "$OUT/$name.log"
  echo "$name: training wall time $(($(date +%s) - start)) s on $RANKS rank(s)" | tee -a "$OUT/$name.log"
}

advection() {
  # u_t + v u_x = 0 on the periodic unit interval, 128 regular cells, speed v in [-5, 5],
  # 20 saved steps to t = 0.5.
  common="-lats_equation advection_diffusion -lats_mesh interval -lats_mesh_cells 128 -lats_mesh_jitter 0
    -lats_generate_ranges vx=-5:5,vy=0:0,nu=0:0 -lats_generate_snapshots 20 -lats_generate_final_time 0.5"
  # shellcheck disable=SC2086
  generate advection-train 1024 1 $common
  # shellcheck disable=SC2086
  generate advection-test 64 2 $common
  train advection 15000 15000 -lats_model_history 2 -lats_model_tokens 16 -lats_train_batch 32
}

combined() {
  # u_t + (a u^2 - b u_x + c u_xx)_x = 0 on a periodic interval of length 16, 128 regular
  # cells, (a, b, c) from [0, 3] x [0, 0.4] x [0, 1], 20 saved steps to t = 4 (unforced).
  common="-lats_equation combined -lats_mesh interval -lats_mesh_cells 128 -lats_mesh_jitter 0 -lats_mesh_length 16
    -lats_generate_ranges forcing_seed=0:0 -lats_generate_snapshots 20 -lats_generate_final_time 4"
  # shellcheck disable=SC2086
  generate combined-train 1024 1 $common
  # shellcheck disable=SC2086
  generate combined-test 64 2 $common
  train combined 15000 15000 -lats_model_history 2 -lats_model_tokens 16 -lats_train_batch 32
}

gray_scott() {
  # Gray-Scott on an irregular periodic triangulation of the unit square with 1058 cells
  # (about 32 x 32 points), feed/kill/diffusivities sampled, 20 saved steps to t = 400.
  common="-lats_equation gray_scott -lats_mesh_cells 23 -lats_generate_snapshots 20 -lats_generate_final_time 400"
  # shellcheck disable=SC2086
  generate gray_scott-train 256 1 $common
  # shellcheck disable=SC2086
  generate gray_scott-test 32 2 $common
  train gray_scott 8000 3000 -lats_model_history 2 -lats_model_tokens 32 -lats_train_batch 8 -lats_train_validate_every 250
}

gray_scott_diffusion() {
  # AROMA's diffusion refiner as the latent dynamics (4000 steps) on gray_scott's autoencoder
  # (after gray_scott, whose model and data it uses); the test scores sample the refiner as
  # the surrogate stepper does. Its output is the guided model of twin_experiment.sh gray_scott.
  rm -rf "$OUT/gray_scott-diffusion-model"
  mkdir -p "$OUT/gray_scott-diffusion-model"
  cp "$OUT/gray_scott-model/model.json" "$OUT/gray_scott-model/weights.pt" "$OUT/gray_scott-diffusion-model/"
  DATA=gray_scott train gray_scott-diffusion 8000 4000 -lats_train_stages dynamics -lats_model_dynamics diffusion \
    -lats_model_history 2 -lats_model_tokens 32 -lats_train_batch 8 -lats_train_validate_every 1000
}

gray_scott_continued() {
  # 8000 + 4000 more steps from gray_scott's weights (-lats_train_init), peak learning rate
  # 5e-4 (the first run's autoencoder validation error had levelled off as its rate decayed).
  start=$(date +%s)
  mpiexec --oversubscribe -n "$RANKS" "$LATS" train -lats_train_dataset "$OUT/gray_scott-train.h5" \
    -lats_train_test_dataset "$OUT/gray_scott-test.h5" -lats_train_output "$OUT/gray_scott-model-continued" \
    -lats_train_init "$OUT/gray_scott-model" -lats_train_autoencoder_steps "$(steps 8000)" \
    -lats_train_dynamics_steps "$(steps 4000)" -lats_train_lr 5e-4 -lats_train_warmup 100 -lats_train_progress true \
    -lats_train_point_fraction 1 -lats_train_unroll 2 -lats_threads "$THREADS" -lats_model_history 2 \
    -lats_model_tokens 32 -lats_train_batch 8 -lats_train_validate_every 1000 | tee "$OUT/gray_scott-continued.log"
  echo "gray_scott_continued: training wall time $(($(date +%s) - start)) s on $RANKS rank(s)" |
    tee -a "$OUT/gray_scott-continued.log"
}

gray_scott_wide() {
  # A larger autoencoder on gray_scott's data (the continued run's validation error had
  # levelled off): 64 tokens and a decoder twice as wide, from scratch.
  DATA=gray_scott train gray_scott-wide 10000 4000 -lats_model_history 2 -lats_model_tokens 64 \
    -lats_model_decoder_hidden 128 -lats_train_batch 8 -lats_train_validate_every 1000
}

gray_scott_deep() {
  # gray_scott's autoencoder (32 tokens) with two self-attention blocks over the tokens in the
  # decoder (-lats_model_decoder_depth 2, AROMA's latent processing), from scratch.
  DATA=gray_scott train gray_scott-deep 10000 4000 -lats_model_history 2 -lats_model_tokens 32 \
    -lats_model_decoder_depth 2 -lats_train_batch 8 -lats_train_validate_every 1000
}

gray_scott_more() {
  # Four times gray_scott's training data (1024 trajectories; the first 256 are gray_scott's,
  # same seed) and the gray_scott_deep model on it, tested on gray_scott's test set.
  mpiexec --oversubscribe -n "$RANKS" "$LATS" generate -lats_equation gray_scott -lats_mesh_cells 23 \
    -lats_generate_snapshots 20 -lats_generate_final_time 400 -lats_generate_trajectories 1024 \
    -lats_generate_seed 1 -lats_generate_parallel trajectories -lats_generate_progress false \
    -lats_generate_output "$OUT/gray_scott-more-train.h5"
  DATA=gray_scott-more TEST_DATA=gray_scott train gray_scott-more 10000 4000 -lats_model_history 2 \
    -lats_model_tokens 32 -lats_model_decoder_depth 2 -lats_train_batch 8 -lats_train_validate_every 1000
}

gray_scott_more_flat() {
  # gray_scott_more without the decoder's token blocks (after gray_scott_more, whose data it uses).
  DATA=gray_scott-more TEST_DATA=gray_scott train gray_scott-more-flat 10000 4000 -lats_model_history 2 \
    -lats_model_tokens 32 -lats_train_batch 8 -lats_train_validate_every 1000
}

case $case_name in
  advection) advection ;;
  combined) combined ;;
  gray_scott) gray_scott ;;
  gray_scott_diffusion) gray_scott_diffusion ;;
  gray_scott_continued) gray_scott_continued ;;
  gray_scott_wide) gray_scott_wide ;;
  gray_scott_deep) gray_scott_deep ;;
  gray_scott_more) gray_scott_more ;;
  gray_scott_more_flat) gray_scott_more_flat ;;
  all) advection; combined; gray_scott ;;
  *)
    echo "neural_accuracy.sh: unknown case '$case_name'; expected advection, combined, gray_scott," \
      "gray_scott_continued, gray_scott_wide, gray_scott_deep, gray_scott_more, gray_scott_more_flat or all" >&2
    exit 2
    ;;
esac
