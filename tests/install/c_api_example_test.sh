#!/usr/bin/env bash
# The OpenFOAM-style C host (examples/02_c_api_host) built against an installed LaTS: a gmsh
# L-shape mesh, training data from LaTS's advection_diffusion solver on it, a small model,
# then the host alternating its own steps with surrogate steps on 2 ranks.
#   c_api_example_test.sh <lats-build-dir> <source-dir> <scratch-dir>
set -euo pipefail
build=$1 src=$2 scratch=$3
lats="$build/apps/lats"
rm -rf "$scratch"
mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" > "$scratch/install.log"
cmake -S "$src/examples/02_c_api_host" -B "$scratch/example-build" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$scratch/configure.log" 2>&1 || { cat "$scratch/configure.log"; exit 1; }
cmake --build "$scratch/example-build" > "$scratch/build.log" 2>&1 || { cat "$scratch/build.log"; exit 1; }
gmsh -2 -format msh22 -setnumber h 0.08 "$src/meshio/share/meshes/l_shape.geo" -o "$scratch/l_shape.msh" > "$scratch/gmsh.log"
"$lats" generate -lats_equation advection_diffusion -lats_mesh "$scratch/l_shape.msh" -lats_generate_trajectories 12 \
  -lats_generate_snapshots 8 -lats_generate_final_time 0.4 -lats_generate_sample_parameters false \
  -lats_generate_output "$scratch/data.h5" -lats_generate_progress false
"$lats" train -lats_train_dataset "$scratch/data.h5" -lats_train_output "$scratch/model" \
  -lats_train_autoencoder_steps 150 -lats_train_dynamics_steps 60 -lats_train_batch 8 -lats_model_tokens 8 \
  -lats_model_token_dim 32 -lats_model_dynamics_dim 32 -lats_model_dynamics_depth 2 -lats_train_progress false \
  -lats_threads 1
cd "$scratch/example-build"
out=$(mpiexec -n 2 --oversubscribe ./example_02 "$scratch/l_shape.msh" "$scratch/model" 12 2 2 -lats_threads 1)
echo "$out"
echo "$out" | grep -q "6 own + 6 surrogate steps to t = 0.6 on 2 rank(s)"
echo "c api example test passed"
