#!/usr/bin/env bash
# Twin experiments for doc/assimilation.md: truth from the classical solver on a 2D
# irregular periodic mesh, sparse noisy observations, and the free surrogate run vs the LETKF
# with classical members vs the LETKF with surrogate members vs guided sampling.
#
#   bench/twin_experiment.sh [advection|gray_scott|smooth|large_model|all]
#
# advection: advection-diffusion on 1058 triangles with sampled velocity and viscosity; the
# script generates its data and trains a deterministic and a diffusion surrogate (about 40 min
# of one core). gray_scott: reuses the Gray-Scott models of bench/neural_accuracy.sh
# (build/accuracy/gray_scott-model and gray_scott-diffusion-model, see doc/neural.md).
#
# smooth: the demo's problem (advection-diffusion of smooth random fields with fixed velocity
# and viscosity) on CELLS x CELLS x 2 triangles (default 32: 2048 cells), with the demo's
# training settings; free run vs LETKF with classical, surrogate and latent-space members.
#
# large_model: the same problem on 2048 cells with the 16200-cell model of
# bench/large_mesh_surrogate.sh (LARGE_MODEL, default build/large/model-dynamics; the model was
# trained on 2048-point subsets of the large mesh, so it reads this mesh's 2048 cells as
# another subset); inflation INFLATION (default 1.5) for both member kinds; guided sampling
# with a diffusion dynamics trained on its autoencoder (about 5 min on 2 ranks, once). Not
# part of all.
#
# Environment: LATS (default build/release/apps/lats), OUT (default build/twin), THREADS
# (torch threads, default 1), MEMBERS (ensemble size, default 32).
set -eu
LATS=${LATS:-build/release/apps/lats}
OUT=${OUT:-build/twin}
THREADS=${THREADS:-1}
MEMBERS=${MEMBERS:-32}
case_name=${1:-all}
mkdir -p "$OUT"

advection() {
  mesh="-lats_equation advection_diffusion -lats_mesh_cells 23"
  common="$mesh -lats_generate_ranges vx=-1:1,vy=-1:1,nu=0.001:0.005 -lats_generate_snapshots 20
    -lats_generate_final_time 1 -lats_generate_progress false"
  # shellcheck disable=SC2086
  "$LATS" generate $common -lats_generate_output "$OUT/advection-train.h5" -lats_generate_trajectories 256 \
    -lats_generate_seed 1
  # shellcheck disable=SC2086
  "$LATS" generate $common -lats_generate_output "$OUT/advection-test.h5" -lats_generate_trajectories 32 \
    -lats_generate_seed 2
  train="-lats_train_dataset $OUT/advection-train.h5 -lats_train_test_dataset $OUT/advection-test.h5
    -lats_train_point_fraction 1 -lats_train_batch 8 -lats_train_validate_every 500 -lats_train_progress true
    -lats_model_tokens 32 -lats_threads $THREADS"
  # Reruns resume or skip finished trainings (the .done files mark them).
  if [ ! -f "$OUT/advection-model.done" ]; then
    # shellcheck disable=SC2086
    "$LATS" train $train -lats_train_output "$OUT/advection-model" -lats_train_autoencoder_steps 5000 \
      -lats_train_dynamics_steps 3000 -lats_train_unroll 2 | tee "$OUT/advection-train.log"
    touch "$OUT/advection-model.done"
  fi
  if [ ! -f "$OUT/advection-diffusion-model.done" ]; then
    # The diffusion dynamics on the trained autoencoder.
    rm -rf "$OUT/advection-diffusion-model"
    mkdir -p "$OUT/advection-diffusion-model"
    cp "$OUT/advection-model/model.json" "$OUT/advection-model/weights.pt" "$OUT/advection-diffusion-model/"
    # shellcheck disable=SC2086
    "$LATS" train $train -lats_train_output "$OUT/advection-diffusion-model" -lats_train_stages dynamics \
      -lats_train_dynamics_steps 3000 -lats_model_dynamics diffusion | tee "$OUT/advection-diffusion-train.log"
    touch "$OUT/advection-diffusion-model.done"
  fi
  # shellcheck disable=SC2086
  "$LATS" assimilate $mesh -lats_twin_model "$OUT/advection-model" \
    -lats_twin_guided_model "$OUT/advection-diffusion-model" -lats_twin_steps 20 -lats_twin_noise 0.02 \
    -lats_ensemble_size "$MEMBERS" -lats_da_localisation 0.1 -lats_da_inflation 1.1 \
    -lats_da_guidance_model_error 1 -lats_threads "$THREADS" -lats_twin_output "$OUT/advection" |
    tee "$OUT/advection-twin.log"
}

gray_scott() {
  models=${GS_MODELS:-build/accuracy}
  "$LATS" assimilate -lats_equation gray_scott -lats_mesh_cells 23 -lats_twin_model "$models/gray_scott-model" \
    -lats_twin_guided_model "$models/gray_scott-diffusion-model" -lats_twin_steps 20 -lats_twin_noise 0.01 \
    -lats_ensemble_size "$MEMBERS" -lats_da_localisation 0.05 -lats_da_inflation 1.1 \
    -lats_da_guidance_model_error 1 -lats_threads "$THREADS" -lats_twin_output "$OUT/gray_scott" |
    tee "$OUT/gray_scott-twin.log"
}

smooth() {
  cells=${CELLS:-32}
  mesh="-lats_equation advection_diffusion -lats_mesh_cells $cells -lats_ic grf -lats_ic_modes 2"
  common="$mesh -lats_generate_snapshots 20 -lats_generate_final_time 1 -lats_generate_sample_parameters false
    -lats_generate_progress false"
  # shellcheck disable=SC2086
  "$LATS" generate $common -lats_generate_output "$OUT/smooth$cells-train.h5" -lats_generate_trajectories 96 \
    -lats_generate_seed 1
  # shellcheck disable=SC2086
  "$LATS" generate $common -lats_generate_output "$OUT/smooth$cells-test.h5" -lats_generate_trajectories 8 \
    -lats_generate_seed 2
  # shellcheck disable=SC2086
  "$LATS" train -lats_train_dataset "$OUT/smooth$cells-train.h5" -lats_train_test_dataset "$OUT/smooth$cells-test.h5" \
    -lats_train_output "$OUT/smooth$cells-model" -lats_train_autoencoder_steps 7000 -lats_train_dynamics_steps 3000 \
    -lats_train_unroll 2 -lats_train_batch 8 -lats_train_point_fraction 1 -lats_train_validate_every 1000 \
    -lats_model_tokens 16 -lats_threads "$THREADS" | tee "$OUT/smooth$cells-train.log"
  # shellcheck disable=SC2086
  "$LATS" assimilate $mesh -lats_twin_model "$OUT/smooth$cells-model" -lats_twin_sample_parameters false \
    -lats_twin_steps 20 -lats_twin_noise 0.02 -lats_ensemble_size "$MEMBERS" -lats_da_localisation 0.2 \
    -lats_da_inflation 1.1 -lats_twin_methods free,enkf_classical,enkf_surrogate,enkf_latent -lats_threads "$THREADS" \
    -lats_twin_output "$OUT/smooth$cells" | tee "$OUT/smooth$cells-twin.log"
}

large_model() {
  model=${LARGE_MODEL:-build/large/model-dynamics}
  inflation=${INFLATION:-1.5}
  [ -f "$model/model.json" ] || {
    echo "twin_experiment.sh: no model in '$model'; run bench/large_mesh_surrogate.sh first or set LARGE_MODEL" >&2
    exit 2
  }
  # Guided sampling needs diffusion dynamics: trained once on the model's autoencoder and the
  # 16200-cell training data (2 ranks), with the large script's training options.
  data=$(dirname "$model")
  if [ ! -f "$OUT/large_model-diffusion.done" ]; then
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpiexec --oversubscribe -n 2 "$LATS" train \
      -lats_train_dataset "$data/train.h5" -lats_train_test_dataset "$data/test.h5" \
      -lats_train_output "$OUT/large_model-diffusion" -lats_train_init "$model" -lats_train_stages dynamics \
      -lats_model_dynamics diffusion -lats_train_dynamics_steps 4000 -lats_train_lr 3e-4 -lats_train_warmup 200 \
      -lats_train_unroll 4 -lats_train_batch 8 -lats_train_points 2048 -lats_train_point_fraction 1 \
      -lats_train_validation 0.05 -lats_train_validate_every 1000 -lats_model_tokens 16 -lats_threads 1 |
      tee "$OUT/large_model-diffusion-train.log"
    touch "$OUT/large_model-diffusion.done"
  fi
  "$LATS" assimilate -lats_equation advection_diffusion -lats_mesh_cells 32 -lats_ic grf -lats_ic_modes 2 \
    -lats_twin_model "$model" -lats_twin_guided_model "$OUT/large_model-diffusion" \
    -lats_da_guidance_model_error 1 -lats_twin_sample_parameters false -lats_twin_steps 20 -lats_twin_noise 0.02 \
    -lats_ensemble_size "$MEMBERS" -lats_da_localisation 0.2 -lats_da_inflation "$inflation" \
    -lats_twin_methods free,enkf_classical,enkf_surrogate,enkf_latent,guided -lats_threads "$THREADS" \
    -lats_twin_output "$OUT/large_model" | tee "$OUT/large_model-twin.log"
}

case $case_name in
  advection) advection ;;
  gray_scott) gray_scott ;;
  smooth) smooth ;;
  large_model) large_model ;;
  all) advection; gray_scott; smooth ;;
  *) echo "twin_experiment.sh: unknown case '$case_name'; expected advection, gray_scott, smooth, large_model or all" >&2; exit 2 ;;
esac
