#!/usr/bin/python3
"""`lats demo -lats_demo_size small` end to end, as CI runs it, and the rollout/bench verbs.

    demo_test.py LATS MPIEXEC WORKDIR

Checks: every stage ran and the report exists with its four figures (real PNG files that
index.html and index.md show); every number in summary.json is finite; the classical
rollout reproduces the dataset that the same solver made (1e-10); the surrogate beats
persistence; the classical-member EnKF beats the free run; ParaView files exist and the
XDMF files point at their HDF5 files; a rerun reuses the data and the training and gives
the same numbers; `lats rollout` on 1 rank gives the demo's (2-rank) errors; bad input
gives one clear line.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys

lats, mpiexec, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
out = os.path.join(work, "demo")
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(args, ranks=2, expect=0, extra_env=None):
    cmd = [mpiexec, "-n", str(ranks), "--oversubscribe", lats] + args
    p = subprocess.run(cmd, env=dict(env, **(extra_env or {})), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    if p.returncode != expect:
        print(p.stdout)
        sys.exit(f"{' '.join(cmd)}: exit code {p.returncode}, expected {expect}")
    return p.stdout


demo = ["demo", "-lats_demo_size", "small", "-lats_demo_output", out, "-lats_threads", "1"]
first = run(demo)
for k in range(1, 6):
    check(f"[demo] stage {k}/5" in first, f"stage {k} ran")
check("ETA" in first, "long stages print an ETA")
report = os.path.join(out, "report")
summary = json.load(open(os.path.join(report, "summary.json")))


def numbers(x, path="summary"):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from numbers(v, f"{path}.{k}")
    elif isinstance(x, (int, float)) or x is None:
        yield path, x


bad = [p for p, v in numbers(summary) if v is None or not math.isfinite(v)]
check(not bad, f"every number in summary.json is finite ({len(list(numbers(summary)))} numbers; bad: {bad})")
ro = summary["rollout"]
check(ro["classical"]["final_error"] < 1e-10,
      f"classical rollout reproduces the dataset: {ro['classical']['final_error']:.2e} < 1e-10")
check(ro["surrogate"]["final_error"] < ro["persistence"]["final_error"],
      f"surrogate error {ro['surrogate']['final_error']:.3f} below persistence {ro['persistence']['final_error']:.3f}")
for mode in ("surrogate", "hybrid"):
    # Decoding only at the end must not change the latent trajectory, only the cost.
    check(ro[mode]["read_at_end_difference"] == 0,
          f"{mode}: the end state read only at the end equals the one read every snapshot "
          f"({ro[mode]['read_at_end_difference']:.1e})")
check(ro["surrogate"]["final_error"] < 1.5, f"surrogate error {ro['surrogate']['final_error']:.3f} below 1.5")
da = summary["assimilation"]
check(da["enkf_classical"]["rmse"] < da["free"]["rmse"],
      f"classical-member EnKF RMSE {da['enkf_classical']['rmse']:.3f} below the free run's {da['free']['rmse']:.3f}")

html = open(os.path.join(report, "index.html")).read()
md = open(os.path.join(report, "index.md")).read()
for png in ("loss.png", "error_vs_time.png", "snapshots.png", "assimilation.png"):
    path = os.path.join(report, png)
    ok = os.path.exists(path) and open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(path) > 5000
    check(ok and f'src="{png}"' in html and f"]({png})" in md, f"{png} is a PNG shown by index.html and index.md")
check("<table>" in html and html.count("<tr>") >= 8, "index.html has the rollout and assimilation tables")

for mode in ("classical", "surrogate", "hybrid"):
    xmf = os.path.join(out, "rollout", mode + ".xmf")
    check(os.path.exists(xmf) and f"{mode}.h5:/fields" in open(xmf).read(), f"rollout/{mode}.xmf points at {mode}.h5")
    check(os.path.exists(os.path.join(out, "rollout", mode + "_final.pvtu")), f"rollout/{mode}_final.pvtu exists")
check(os.path.exists(os.path.join(out, "data", "test.xmf")), "data/test.xmf exists")

# A rerun reuses the datasets and the finished training, and gives the same numbers.
second = run(demo)
check(second.count("is already complete") == 2, "rerun: both datasets are reused, no trajectory generated again")
m = re.search(r"resuming \S+ at step (\d+) of (\d+)", second)
check(m is not None and m.group(1) == m.group(2), "rerun: the finished training is reused, not repeated")
again = json.load(open(os.path.join(report, "summary.json")))
check(abs(again["rollout"]["surrogate"]["final_error"] - ro["surrogate"]["final_error"]) < 1e-12,
      "rerun: the same surrogate error")

# lats rollout on 1 rank on the demo's files: the 2-rank demo's errors.
mesh = ["-lats_equation", "advection_diffusion", "-lats_mesh_cells", "8"]
r1 = os.path.join(work, "rollout-np1")
text = run(["rollout", "-lats_rollout_model", os.path.join(out, "model"), "-lats_rollout_dataset",
            os.path.join(out, "data", "test.h5"), "-lats_rollout_trajectories", "all", "-lats_rollout_output", r1,
            "-lats_threads", "1"] + mesh, ranks=1)
check("| surrogate |" in text and "| hybrid |" in text, "lats rollout prints the table")


def errors(path):
    rows = [line.strip().split(",") for line in open(path)][1:]
    return [[float(v) for v in row] for row in rows]


e1, e2 = errors(os.path.join(r1, "errors.csv")), errors(os.path.join(out, "rollout", "errors.csv"))
diff = max(abs(a - b) for r, s in zip(e1, e2) for a, b in zip(r, s))
check(len(e1) == len(e2) and diff < 1e-5, f"lats rollout on 1 rank = the demo on 2 ranks (max difference {diff:.1e})")
text = run(["bench", "-lats_rollout_model", os.path.join(out, "model"), "-lats_rollout_dataset",
            os.path.join(out, "data", "test.h5"), "-lats_bench_repeats", "2", "-lats_threads", "1",
            "-lats_rollout_output", os.path.join(work, "bench")] + mesh, ranks=1)
check("fastest of 2 runs" in text and "speed-up" in text, "lats bench prints the speed table")
check("read at the end only" in text, "lats bench also times reading the state at the end only")
check(os.path.exists(os.path.join(work, "bench", "rollout.md")), "lats bench writes -lats_rollout_output like rollout")

# lats assimilate on 2 ranks with the demo's model (its mesh line is collective: this hung once).
twin = os.path.join(work, "twin")
text = run(["assimilate", "-lats_twin_model", os.path.join(out, "model"), "-lats_twin_sample_parameters", "false",
            "-lats_twin_fractions", "0.05", "-lats_twin_steps", "2", "-lats_twin_methods", "free,enkf_classical",
            "-lats_ensemble_size", "4", "-lats_twin_output", twin, "-lats_ic", "grf", "-lats_ic_modes", "2",
            "-lats_threads", "1"] + mesh)
check("| enkf_classical |" in text and os.path.exists(os.path.join(twin, "twin.md")),
      "lats assimilate on 2 ranks prints and writes its table")

# Bad input: one clear line and a non-zero exit code.
err = run(["demo", "-lats_demo_size", "huge"], ranks=1, expect=2)
check("huge" in err and "small" in err, "demo: an unknown size names the choices")
err = run(["rollout"] + mesh, ranks=1, expect=2)
check("-lats_rollout_dataset" in err, "rollout without a dataset says which option to give")
err = run(["rollout", "-lats_rollout_dataset", os.path.join(out, "data", "test.h5"), "-lats_mesh_cells", "9",
           "-lats_equation", "advection_diffusion"], ranks=1, expect=2)
check("mesh" in err and "points" in err, "rollout on another mesh says the dataset's and the mesh's sizes")
err = run(["rollout", "-lats_rollout_dataset", os.path.join(out, "data", "test.h5"), "-lats_rollout_modes",
           "surogate"] + mesh, ranks=1, expect=2)
check("Did you mean surrogate" in err or "did you mean" in err.lower(), "an unknown mode gets a suggestion")

test_h5 = os.path.join(out, "data", "test.h5")
err = run(["rollout", "-lats_rollout_dataset", test_h5, "-lats_rollout_trajectories", "99"] + mesh, ranks=1, expect=2)
check("trajectory 99" in err and "does not exist" in err, "rollout: a trajectory the dataset lacks is named")
err = run(["rollout", "-lats_rollout_dataset", test_h5, "-lats_rollout_trajectories", "0,x"] + mesh, ranks=1, expect=2)
check("'x' is not a trajectory index" in err, "rollout: a malformed trajectory list names the item")
err = run(["rollout", "-lats_rollout_dataset", test_h5, "-lats_rollout_repeats", "0"] + mesh, ranks=1, expect=2)
check("-lats_rollout_repeats 0 must be at least 1" in err, "rollout: repeats below 1 are refused")
# A dataset whose snapshots are not evenly spaced (one time moved): refused with both times.
import h5py  # noqa: E402 (Debian's python3-h5py, as the figure script)

uneven = os.path.join(work, "uneven.h5")
shutil.copy(test_h5, uneven)
with h5py.File(uneven, "r+") as f:
    f["times"][3] = f["times"][3] + 0.01
err = run(["rollout", "-lats_rollout_dataset", uneven] + mesh, ranks=1, expect=2)
check("unevenly spaced snapshots" in err and "one step per snapshot interval" in err,
      "rollout: unevenly spaced snapshots are refused")
err = run(["demo", "-lats_demo_size", "small", "-lats_demo_train_trajectories", "-1"], ranks=1, expect=2)
check("must be positive" in err, "demo: a negative trajectory count is refused")
# Reused files made with other settings: one error that names -lats_demo_fresh, on both ranks.
err = run(demo + ["-lats_mesh_cells", "9"], expect=2)
check("other settings" in err and "-lats_demo_fresh" in err, "demo: changed settings against reused files name the fix")
# A figure script that cannot run: the report is written, the run fails and says why.
err = run(demo, expect=2, extra_env={"LATS_DEMO_FIGURES": os.path.join(work, "missing.py")})
check("without figures" in err and "figure script failed" in err, "demo: a failing figure script is an error")
check(os.path.exists(os.path.join(report, "index.html")), "demo: the report is still written without figures")

if failures:
    sys.exit(f"{len(failures)} check(s) failed: {failures}")
print("all demo checks passed")
