#!/usr/bin/env bash
# PETSc's own TS tutorials, built unmodified against PETSc alone, run with
# `-dll_append liblats.so -ts_type lats -lats_classical_ts_type X` must reproduce `-ts_type X`
# (final solutions within 1e-12 relative), on 1 and 2 ranks:
#   ex13 (DMDA, 2D heat, RHS function + Jacobian): rk (adaptive), beuler (implicit);
#   ex45 (DMPlex, FEM heat): euler (explicit), beuler (implicit, LU);
# and two TS objects in one program (two_ts.c) configured apart through their options
# prefixes (-a_lats_*, -b_lats_*), each equal to the plain integrator it wraps.
#   ts_plugin_test.sh <liblats.so> <scratch-dir> <source-dir>
set -euo pipefail
lib=$1 scratch=$2 src=$3
tutorials=/usr/share/petsc/3.18/share/petsc/examples/src/ts/tutorials
[ -f "$tutorials/ex13.c" ] || { echo "missing $tutorials (Debian package libpetsc3.18-dev-examples; scripts/install-deps.sh installs it)"; exit 1; }
rm -rf "$scratch"; mkdir -p "$scratch"; cd "$scratch"
# read(path): the values of a Vec written by -ts_view_solution binary:path (the Python blocks
# below run in this directory and import it).
cat > petsc_vec.py <<'PY'
import numpy as np
def read(p):
    b = open(p, "rb").read()
    cid, n = np.frombuffer(b[:8], ">i4")
    assert cid == 1211214, f"{p}: not a PETSc binary Vec"
    return np.frombuffer(b[8:8 + 8 * n], ">f8")
PY
for ex in ex13 ex45; do
  cp "$tutorials/$ex.c" .
  mpicc -O2 "$ex.c" -o "$ex" $(pkg-config --cflags --libs petsc) -lm
done
compare() {  # compare A B: max |a - b| / max |a| <= 1e-12
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, numpy as np
from petsc_vec import read
a, b = read(sys.argv[1]), read(sys.argv[2])
rel = np.abs(a - b).max() / np.abs(a).max()
print(f"  {len(a)} values, max relative difference {rel:.2e}")
sys.exit(0 if len(a) == len(b) and rel <= 1e-12 else 1)
PY
}
run() {  # run NP EXAMPLE TYPE ARGS...
  np=$1 ex=$2 type=$3; shift 3
  mpiexec -n "$np" --oversubscribe ./"$ex" "$@" -ts_type "$type" -ts_view_solution binary:ref.bin > ref.log 2>&1
  mpiexec -n "$np" --oversubscribe ./"$ex" "$@" -dll_append "$lib" -ts_type lats -lats_classical_ts_type "$type" \
    -ts_view_solution binary:lats.bin -ts_view > lats.log 2>&1 || { cat lats.log; exit 1; }
  grep -q "type: lats" lats.log
  echo "$ex -ts_type $type on $np rank(s):"
  compare ref.bin lats.bin
}
plex="-dm_plex_simplex 0 -sol_type quadratic_linear -dm_refine 3 -temp_petscspace_degree 1"
for np in 1 2; do
  run "$np" ex13 rk -ts_max_steps 20
  run "$np" ex13 beuler -ts_max_steps 5
  run "$np" ex45 euler $plex -explicit -ts_max_steps 4 -ts_dt 1e-4
  run "$np" ex45 beuler $plex -ts_max_steps 5 -ts_dt 0.1 -pc_type lu
done
# Two TS objects in one program, configured apart through their options prefixes (a_, b_):
# each lats TS equals the plain PETSc integrator it wraps (the inner TS reads
# -X_lats_classical_ts_*), and -help lists the TS's LaTS options under its prefix.
cp "$src/tests/petsc/two_ts.c" .
mpicc -O2 two_ts.c -o two_ts $(pkg-config --cflags --libs petsc) -lm
for np in 1 2; do
  mpiexec -n "$np" --oversubscribe ./two_ts -suffix ref -a_ts_type rk -a_ts_rk_type 4 -b_ts_type euler > two.log 2>&1 \
    || { cat two.log; exit 1; }
  mpiexec -n "$np" --oversubscribe ./two_ts -suffix lats -dll_append "$lib" \
    -a_ts_type lats -a_lats_classical_ts_type rk -a_lats_classical_ts_rk_type 4 \
    -b_ts_type lats -b_lats_classical_ts_type euler -a_ts_view > two.log 2>&1 || { cat two.log; exit 1; }
  grep -q "options -a_lats_\*" two.log
  grep -q "type: rk" two.log && grep -q "RK type 4" two.log
  echo "two_ts on $np rank(s): a_ (rk 4) and b_ (euler) through lats:"
  compare a_ref.bin a_lats.bin
  compare b_ref.bin b_lats.bin
  # The two integrators differ, so each TS really read its own prefix.
  ! compare a_lats.bin b_lats.bin > /dev/null
done
./two_ts -suffix help -dll_append "$lib" -a_ts_type lats -b_ts_type lats -help > help.log 2>&1 || { cat help.log; exit 1; }
grep -q -- "-a_lats_mode" help.log && grep -q -- "-b_lats_hybrid_surrogate_steps" help.log
echo "  -help lists -a_lats_mode and -b_lats_hybrid_surrogate_steps"
# A host that changes its solution between steps (two_ts -reset_step 3 writes the initial
# values back after step 3): the TS type sees it in the Vec's object state (no checksum pass)
# and encodes afresh, so 6 surrogate steps with the reset end where 3 steps without it end,
# bit for bit; -ts_view counts the change. (The Burgers model of the C API tests, on the
# unit interval: the a_ TS's 64 points.)
capi_model=$(dirname "$lib")/../tests/capi/model
for steps in 6 3; do
  reset=""; [ "$steps" = 6 ] && reset="-reset_step 3"
  # shellcheck disable=SC2086
  ./two_ts -suffix reset$steps -dll_append "$lib" -a_ts_type lats -a_lats_mode surrogate -a_lats_model "$capi_model" \
    -a_lats_surrogate_parameters nu=0.02 -a_ts_max_time 10 -a_ts_max_steps $steps -a_ts_view $reset > reset.log 2>&1 \
    || { cat reset.log; exit 1; }
  changes=0; [ "$steps" = 6 ] && changes=1
  grep -q "stepper surrogate: steps $steps, host_changes $changes" reset.log || { cat reset.log; exit 1; }
done
/usr/bin/python3 - <<'PY'
import numpy as np
from petsc_vec import read
a, b = read("a_reset6.bin"), read("a_reset3.bin")
print(f"  two_ts: host reset after step 3 of 6 = 3 steps from the start: max difference {np.abs(a - b).max():.1e}")
assert np.array_equal(a, b) and np.abs(a).max() > 0
PY
# A misspelled LaTS option of a PETSc host is an error before the first step, with the
# closest name under the TS's prefix (2 ranks; with a prefix, and without on ex13).
refused() {  # refused "EXPECTED MESSAGE" COMMAND...: the command fails and says so
  want=$1; shift
  if mpiexec -n 2 --oversubscribe "$@" > bad.log 2>&1; then echo "accepted: $*"; cat bad.log; exit 1; fi
  grep -q -- "$want" bad.log || { cat bad.log; exit 1; }
}
refused "unknown option -a_lats_mdoe. Did you mean -a_lats_mode?" ./two_ts -suffix bad -dll_append "$lib" \
  -a_ts_type lats -a_lats_mdoe surrogate
refused "unknown option -lats_mdoe. Did you mean -lats_mode?" ./ex13 -dll_append "$lib" -ts_type lats \
  -lats_mdoe surrogate -ts_max_steps 2
echo "  misspelled -a_lats_mdoe (two_ts) and -lats_mdoe (ex13) are refused with the closest name"
refused "surrogate stepper: no model; give the checkpoint directory" ./ex13 -dll_append "$lib" -ts_type lats \
  -lats_mode surrogate -ts_max_steps 2
echo "  -lats_mode surrogate without -lats_model says what is missing"
# -lats_record writes the host's trajectory as a LaTS dataset: ex13 (DMDA points), every
# 4th of 20 steps, last snapshot = the final solution; ex45 (DMPlex, P1 values on the free
# vertices) whose exact solution x^2 + y^2 + 2t the recorded values match at the recorded points.
for np in 1 2; do
  rm -f rec.h5 rec.xmf
  mpiexec -n "$np" --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -ts_max_steps 20 -lats_record rec.h5 \
    -lats_record_every 4 -ts_view_solution binary:final.bin > rec.log 2>&1 || { cat rec.log; exit 1; }
  /usr/bin/python3 - <<'PY'
import h5py, numpy as np
from petsc_vec import read
final = read("final.bin")
f = h5py.File("rec.h5", "r")
assert f["fields"].shape == (1, 6, 64, 1), f["fields"].shape
assert np.array_equal(f["fields"][0, -1, :, 0], final)
print("  ex13 -lats_record: 6 snapshots, the last equals the final solution")
PY
  rm -f rec.h5 rec.xmf
  mpiexec -n "$np" --oversubscribe ./ex45 $plex -ts_max_steps 5 -ts_dt 0.1 -pc_type lu -dll_append "$lib" -ts_type lats \
    -lats_classical_ts_type beuler -lats_record rec.h5 > rec.log 2>&1 || { cat rec.log; exit 1; }
  /usr/bin/python3 - <<'PY'
import h5py, numpy as np
f = h5py.File("rec.h5", "r")
u, p, t = f["fields"][0, :, :, 0], f["points"][()], f["times"][()]
err = max(np.abs(u[j] - (p[:, 0] ** 2 + p[:, 1] ** 2 + 2 * t[j])).max() for j in range(len(t)))
print(f"  ex45 -lats_record: {u.shape[1]} vertices x {len(t)} snapshots, max |u - (x^2 + y^2 + 2t)| = {err:.1e}")
assert u.shape == (6, 225) and err < 1e-12
PY
done
# The whole loop on ex13: record a classical run (fixed step), train a small model on it,
# run the unmodified program with -lats_mode surrogate; the final state stays within 10 %
# (relative L2) of the classical run, and 2 ranks give 1 rank's result.
lats_cli=$(dirname "$lib")/../apps/lats
rm -rf loop.h5 loop.xmf loop-model
./ex13 -dll_append "$lib" -ts_type lats -lats_classical_ts_type rk -lats_classical_ts_adapt_type none -ts_dt 0.001 \
  -ts_max_steps 40 -lats_record loop.h5 -lats_record_every 2 -ts_view_solution binary:classical.bin > loop.log 2>&1 \
  || { cat loop.log; exit 1; }
"$lats_cli" train -lats_train_dataset loop.h5 -lats_train_output loop-model -lats_train_autoencoder_steps 1500 \
  -lats_train_dynamics_steps 800 -lats_train_batch 8 -lats_train_lr 3e-3 -lats_train_validation 0 -lats_model_tokens 8 \
  -lats_model_token_dim 32 -lats_model_dynamics_dim 32 -lats_model_dynamics_depth 2 -lats_train_progress false \
  -lats_threads 1 > train.log 2>&1 || { cat train.log; exit 1; }
for np in 1 2; do
  mpiexec -n "$np" --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode surrogate -lats_model loop-model \
    -ts_dt 0.002 -ts_max_steps 20 -ts_view_solution binary:surrogate$np.bin -lats_threads 1 -ts_view > s.log 2>&1 \
    || { cat s.log; exit 1; }
  # The host never wrote into its solution between steps: no fresh encoding.
  grep -q "stepper surrogate: steps 20, host_changes 0" s.log || { cat s.log; exit 1; }
done
# A broken model (the testing hook -lats_surrogate_fault) is caught within the step on every
# rank: the surrogate-only run stops with a diverged converged reason and says why (exit 0 with
# -ts_error_if_step_fails false, PETSc's step-failure error otherwise), its solution the last
# good state (that of a clean 4-step run, bit for bit); the hybrid (default schedule policy) takes that step classically and finishes.
mpiexec -n 2 --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode surrogate -lats_model loop-model \
  -ts_dt 0.002 -ts_max_steps 4 -lats_threads 1 -ts_view_solution binary:good4.bin > good4.log 2>&1 \
  || { cat good4.log; exit 1; }
for fault in decoded:inf:5 latent:nan:5 decoded:huge:5; do
  mpiexec -n 2 --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode surrogate -lats_model loop-model \
    -ts_dt 0.002 -ts_max_steps 20 -lats_threads 1 -lats_surrogate_fault "$fault" -ts_error_if_step_fails false \
    -ts_view_solution binary:broken.bin > broken.log 2>&1 || { cat broken.log; exit 1; }
  grep -q "TS lats: step 4 at t = 0.008 failed: the " broken.log || { cat broken.log; exit 1; }
  if mpiexec -n 2 --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode surrogate -lats_model loop-model \
    -ts_dt 0.002 -ts_max_steps 20 -lats_threads 1 -lats_surrogate_fault "$fault" > broken2.log 2>&1; then
    echo "a broken model's run exited 0 with -ts_error_if_step_fails true"; cat broken2.log; exit 1
  fi
  grep -q "TS lats: step 4 at t = 0.008 failed: the " broken2.log || { cat broken2.log; exit 1; }
  mpiexec -n 2 --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode hybrid -lats_model loop-model \
    -lats_classical_ts_type rk -lats_classical_ts_adapt_type none -ts_dt 0.002 -ts_max_steps 20 -lats_threads 1 \
    -lats_surrogate_fault "$fault" -ts_view -ts_view_solution binary:brokenh.bin > brokenh.log 2>&1 \
    || { cat brokenh.log; exit 1; }
  grep -q "rollbacks 1" brokenh.log || { cat brokenh.log; exit 1; }
  /usr/bin/python3 - <<'PY'
import numpy as np
from petsc_vec import read
s, h, good = read("broken.bin"), read("brokenh.bin"), read("good4.bin")
assert np.array_equal(s, good), "the stopped run's solution is not the last good state"
assert np.isfinite(h).all()
PY
  echo "  -lats_surrogate_fault $fault: surrogate stops at step 4 with the reason and the last good state, hybrid falls back once and finishes, all values finite"
done
# Assimilation in the plugin: sensors at 8 of the 64 points read the classical run (loop.h5)
# every 0.002; an 8-member LETKF of surrogates must end closer to the classical state than the
# free surrogate run.
/usr/bin/python3 - <<'PY'
import h5py
f = h5py.File("loop.h5", "r")
u, p, t = f["fields"][0, :, :, 0], f["points"][()], f["times"][()]
with open("obs.csv", "w") as out:
    out.write("time,x,y,component,value,noise_std\n")
    for j in range(1, len(t)):
        for i in range(3, 64, 8):
            out.write(f"{t[j]!r},{p[i, 0]!r},{p[i, 1]!r},u,{u[j, i]!r},0.01\n")
PY
mpiexec -n 2 --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode surrogate -lats_model loop-model \
  -ts_dt 0.002 -ts_max_steps 20 -ts_view_solution binary:da.bin -lats_threads 1 -lats_obs obs.csv \
  -lats_ensemble_size 8 -lats_da_init_spread 0.2 > da.log 2>&1 || { cat da.log; exit 1; }
grep -q "letkf analysis 20 at t = 0.04" da.log || { cat da.log; exit 1; }
/usr/bin/python3 - <<'PY'
import numpy as np
from petsc_vec import read
c, s1, s2 = read("classical.bin"), read("surrogate1.bin"), read("surrogate2.bin")
err = np.linalg.norm(s1 - c) / np.linalg.norm(c)
ranks = np.abs(s2 - s1).max() / np.abs(s1).max()
print(f"  ex13 record -> train -> surrogate: relative L2 error at t = 0.04 {err:.3f} (bound 0.1); 2 vs 1 rank {ranks:.1e}")
assert err < 0.1 and ranks < 1e-5
a = read("da.bin")
free, da = err, np.linalg.norm(a - c) / np.linalg.norm(c)
print(f"  ex13 surrogate + LETKF (8 members, 8 sensors): relative L2 error at t = 0.04 {da:.4f}, free run {free:.4f}")
assert da < free
PY
# Hybrid mode: 3 model steps, then 1 step of the inner TS (rk, fixed step), repeated; the
# surrogate restarts from the host's classical state, so the error stays below the pure
# surrogate run's; 2 ranks give 1 rank's result.
for np in 1 2; do
  mpiexec -n "$np" --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode hybrid -lats_model loop-model \
    -lats_hybrid_surrogate_steps 3 -lats_hybrid_classical_steps 1 -lats_classical_ts_type rk \
    -lats_classical_ts_adapt_type none -ts_dt 0.002 -ts_max_steps 20 -ts_view -ts_view_solution binary:hybrid$np.bin \
    -lats_threads 1 > h.log 2>&1 || { cat h.log; exit 1; }
  grep -q "stepper hybrid: fast_steps 15, reference_steps 5, rollbacks 0, switches 9" h.log || { cat h.log; exit 1; }
  grep -q "hybrid: surrogate -> classical at step 3" h.log || { cat h.log; exit 1; }
done
/usr/bin/python3 - <<'PY'
import numpy as np
from petsc_vec import read
c, s, h1, h2 = read("classical.bin"), read("surrogate1.bin"), read("hybrid1.bin"), read("hybrid2.bin")
es, eh = (np.linalg.norm(x - c) / np.linalg.norm(c) for x in (s, h1))
ranks = np.abs(h2 - h1).max() / np.abs(h1).max()
print(f"  ex13 hybrid 3+1: relative L2 error at t = 0.04 {eh:.4f} (surrogate alone {es:.4f}); 2 vs 1 rank {ranks:.1e}")
assert eh < 0.1 and eh < es and ranks < 1e-5
PY
# The trained model exported as TorchScript (solvers/python/lats_torchscript.py) runs in the
# TS type like the native one: surrogate, hybrid (error control) and LETKF modes, 1 and 2 ranks,
# the same final solution as the native model to float32 round-off.
/usr/bin/python3 "$src/solvers/python/lats_torchscript.py" loop-model loop-model-ts > export.log 2>&1 \
  || { cat export.log; exit 1; }
for np in 1 2; do
  mpiexec -n "$np" --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode surrogate \
    -lats_model loop-model-ts -ts_dt 0.002 -ts_max_steps 20 -ts_view_solution binary:ts-surrogate$np.bin \
    -lats_threads 1 > ts.log 2>&1 || { cat ts.log; exit 1; }
  mpiexec -n "$np" --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode hybrid -lats_model loop-model-ts \
    -lats_hybrid_surrogate_steps 3 -lats_hybrid_classical_steps 1 -lats_classical_ts_type rk \
    -lats_classical_ts_adapt_type none -ts_dt 0.002 -ts_max_steps 20 -ts_view_solution binary:ts-hybrid$np.bin \
    -lats_threads 1 > ts.log 2>&1 || { cat ts.log; exit 1; }
done
mpiexec -n 2 --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode surrogate -lats_model loop-model-ts \
  -ts_dt 0.002 -ts_max_steps 20 -ts_view_solution binary:ts-da.bin -lats_threads 1 -lats_obs obs.csv \
  -lats_ensemble_size 8 -lats_da_init_spread 0.2 > ts.log 2>&1 || { cat ts.log; exit 1; }
grep -q "letkf analysis 20 at t = 0.04" ts.log || { cat ts.log; exit 1; }
/usr/bin/python3 - <<'PY'
import numpy as np
from petsc_vec import read
worst = 0.0
for native, imported in [("surrogate1", "ts-surrogate1"), ("surrogate2", "ts-surrogate2"), ("hybrid1", "ts-hybrid1"),
                         ("hybrid2", "ts-hybrid2"), ("da", "ts-da")]:
    a, b = read(native + ".bin"), read(imported + ".bin")
    rel = np.abs(a - b).max() / np.abs(a).max()
    print(f"  ex13 {native}: TorchScript export vs native model, max relative difference {rel:.1e}")
    worst = max(worst, rel)
assert worst < 1e-5
PY
# The same loop on ex45 (DMPlex, P1 values on the 225 free vertices, implicit): record 40
# beuler steps of 0.01 (every 2nd), train on the recording, then the unmodified ex45 in
# surrogate and hybrid 3+1 mode (steps of 0.02) against the classical run on the same ranks
# (a DMPlex Vec's order depends on the partition, so each rank count has its own reference).
rm -rf loop45.h5 loop45.xmf loop45-model
for np in 1 2; do
  rec=""; [ "$np" = 1 ] && rec="-lats_record loop45.h5 -lats_record_every 2"
  # shellcheck disable=SC2086
  mpiexec -n "$np" --oversubscribe ./ex45 $plex -ts_max_steps 40 -ts_dt 0.01 -pc_type lu -dll_append "$lib" \
    -ts_type lats -lats_classical_ts_type beuler $rec -ts_view_solution binary:classical45_$np.bin > c45.log 2>&1 \
    || { cat c45.log; exit 1; }
done
"$lats_cli" train -lats_train_dataset loop45.h5 -lats_train_output loop45-model -lats_train_autoencoder_steps 1500 \
  -lats_train_dynamics_steps 800 -lats_train_batch 8 -lats_train_lr 3e-3 -lats_train_validation 0 -lats_model_tokens 8 \
  -lats_model_token_dim 32 -lats_model_dynamics_dim 32 -lats_model_dynamics_depth 2 -lats_train_progress false \
  -lats_threads 1 > train45.log 2>&1 || { cat train45.log; exit 1; }
for mode in surrogate hybrid; do
  for np in 1 2; do
    # shellcheck disable=SC2086
    mpiexec -n "$np" --oversubscribe ./ex45 $plex -ts_max_steps 20 -ts_dt 0.02 -pc_type lu -dll_append "$lib" \
      -ts_type lats -lats_mode $mode -lats_model loop45-model -lats_classical_ts_type beuler \
      -lats_hybrid_surrogate_steps 3 -lats_hybrid_classical_steps 1 -lats_threads 1 \
      -ts_view_solution binary:${mode}45_$np.bin > m45.log 2>&1 || { cat m45.log; exit 1; }
  done
done
/usr/bin/python3 - <<'PY'
import numpy as np
from petsc_vec import read
err = {}
for m in ("surrogate", "hybrid"):
    for np_ in (1, 2):
        c, x = read(f"classical45_{np_}.bin"), read(f"{m}45_{np_}.bin")
        err[m, np_] = np.linalg.norm(x - c) / np.linalg.norm(c)
    print(f"  ex45 record -> train -> {m}: relative L2 error at t = 0.4 {err[m, 1]:.2e} (1 rank), "
          f"{err[m, 2]:.2e} (2 ranks)")
assert err["surrogate", 1] < 0.02 and err["hybrid", 1] < err["surrogate", 1]
assert all(abs(err[m, 2] - err[m, 1]) <= 1e-3 * err[m, 1] for m in ("surrogate", "hybrid"))
PY
# Every trust policy through the TS type, the inner TS being the reference part. Error
# control with a residual tolerance no model meets: every model step is compared with the
# inner TS from the same state, rejected and replaced by that step (two inner steps of the
# host's 0.001 per model step of 0.002), so the run is the classical one bit for bit; with
# loose tolerances every model step is kept and the run is the surrogate's bit for bit.
for np in 1 2; do
  mpiexec -n "$np" --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode hybrid -lats_model loop-model \
    -lats_hybrid_policy error -lats_hybrid_residual_every 1 -lats_hybrid_residual_tol 1e-12 \
    -lats_hybrid_fallback_steps 2 -lats_classical_ts_type rk -lats_classical_ts_adapt_type none -ts_dt 0.001 \
    -ts_max_steps 20 -ts_view -ts_view_solution binary:strict$np.bin -lats_threads 1 > e.log 2>&1 \
    || { cat e.log; exit 1; }
  grep -q "stepper hybrid: fast_steps 0, reference_steps 20, rollbacks 10" e.log || { cat e.log; exit 1; }
  grep -q "hybrid: surrogate -> classical at step 0, t = 0: a classical step from the same state differs by" e.log \
    || { cat e.log; exit 1; }
  mpiexec -n "$np" --oversubscribe ./ex13 -dll_append "$lib" -ts_type lats -lats_mode hybrid -lats_model loop-model \
    -lats_hybrid_policy error -lats_hybrid_bound_tol 0 -ts_dt 0.002 -ts_max_steps 20 -ts_view \
    -ts_view_solution binary:loose$np.bin -lats_threads 1 > e.log 2>&1 || { cat e.log; exit 1; }
  grep -q "stepper hybrid: fast_steps 20, reference_steps 0, rollbacks 0" e.log || { cat e.log; exit 1; }
done
/usr/bin/python3 - <<'PY'
import numpy as np
from petsc_vec import read
c = read("classical.bin")
for np_ in (1, 2):
    s, strict, loose = read(f"surrogate{np_}.bin"), read(f"strict{np_}.bin"), read(f"loose{np_}.bin")
    ds, dl = np.abs(strict - c).max(), np.abs(loose - s).max()
    print(f"  ex13 hybrid error control, {np_} rank(s): strict - classical {ds:.1e}, loose - surrogate {dl:.1e}")
    assert ds == 0 and dl == 0
PY
if ./ex13 -dll_append "$lib" -ts_type lats -lats_mode hybrid -lats_model loop-model -lats_hybrid_surrogate_steps 0 \
  -lats_hybrid_classical_steps 0 -ts_max_steps 2 -lats_threads 1 > bad.log 2>&1; then
  echo "a hybrid schedule of no steps was accepted"; exit 1
fi
grep -q "expected counts >= 0, not both 0" bad.log || { cat bad.log; exit 1; }
if ./ex13 -dll_append "$lib" -ts_type lats -lats_mode hybrid -lats_model loop-model -lats_obs obs.csv \
  -ts_max_steps 2 -lats_threads 1 > bad.log 2>&1; then
  echo "hybrid mode with -lats_obs should fail"; exit 1
fi
grep -q "use -lats_mode surrogate" bad.log || { cat bad.log; exit 1; }
if ./ex13 -dll_append "$lib" -ts_type lats -lats_obs obs.csv -ts_max_steps 2 > bad.log 2>&1; then
  echo "classical mode with -lats_obs should fail"; exit 1
fi
grep -q "use -lats_mode surrogate" bad.log || { cat bad.log; exit 1; }
# -lats_view prints the configuration.
./ex13 -dll_append "$lib" -ts_type lats -lats_classical_ts_type rk -lats_view -ts_max_steps 2 > view.log 2>&1
grep -q "TS lats: mode classical, classical steps by TS type rk" view.log || { cat view.log; exit 1; }
grep -q "classical_ts_type" view.log || { cat view.log; exit 1; }
# Bad recording settings are one clear error.
if ./ex13 -dll_append "$lib" -ts_type lats -lats_record r.h5 -lats_record_every 0 -ts_max_steps 2 > bad.log 2>&1; then
  echo "-lats_record_every 0 was accepted"; exit 1
fi
grep -q "lats_record_every 0; expected >= 1" bad.log || { cat bad.log; exit 1; }
# A mode LaTS does not have is one clear error.
if ./ex13 -dll_append "$lib" -ts_type lats -lats_mode surrogat -ts_max_steps 2 > bad.log 2>&1; then
  echo "an unknown -lats_mode was accepted"; exit 1
fi
grep -q "lats_mode" bad.log || { cat bad.log; exit 1; }
echo "ts plugin test passed"
