#!/usr/bin/python3
"""Recording a PETSc host's run (-lats_record) only watches it, and survives SIGKILL.

1. PETSc's own tutorials, built unmodified, at 1, 2 and 3 ranks: ex11 (finite-volume
   shallow water on a 25 x 25 DMPlex with ghost cells, rk), ex13 (DMDA heat, adaptive rk) and
   ex45 (DMPlex FEM heat, beuler, CG + Jacobi). The final solution of `-ts_type lats
   -lats_record` equals the same run without `-lats_record` bit for bit, and the plain TS
   type's run. The DMPlex programs run with `-petscpartitioner_type simple`, and ex45 without
   parallel LU: with Debian's default partitioner (PT-Scotch) ex11 alone, without LaTS, gives
   different solutions from run to run on 2 ranks, and so does ex45 with `-pc_type lu`
   (MUMPS) on 3 ranks, so no comparison of two runs could tell.
2. ex13 recording every step, killed with SIGKILL at random moments (at least 5 kills, at
   least 2 of them into an in-progress recording): the file always opens; an unfinished one
   holds a prefix of the uninterrupted recording, bit for bit, and `lats info` calls it an
   unfinished recording; re-running the same command continues it, and the finished file
   equals the uninterrupted recording bit for bit. A rerun that starts at a time the
   recording does not hold is refused, saying so.

usage: record_test.py LIBLATS LATS MPIEXEC WORKDIR
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"  # read the recording while the host writes it
import h5py  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from kill_trials import run_or_kill  # noqa: E402

lib, lats, mpiexec, work = [os.path.abspath(a) if os.path.exists(a) else a for a in sys.argv[1:5]]
TUTORIALS = "/usr/share/petsc/3.18/share/petsc/examples/src/ts/tutorials"
if not os.path.exists(os.path.join(TUTORIALS, "ex13.c")):
    sys.exit(f"missing {TUTORIALS} (Debian package libpetsc3.18-dev-examples; scripts/install-deps.sh installs it)")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
os.chdir(work)
flags = subprocess.run(["pkg-config", "--cflags", "--libs", "petsc"], check=True, capture_output=True,
                       text=True).stdout.split()
for ex in ("ex11", "ex13", "ex45"):
    shutil.copy(os.path.join(TUTORIALS, ex + ".c"), ".")
    subprocess.run(["mpicc", "-O2", ex + ".c", "-o", ex] + flags + ["-lm"], check=True)


def vec(path):
    """The values of a Vec written by -ts_view_solution binary:path."""
    b = open(path, "rb").read()
    cid, n = np.frombuffer(b[:8], ">i4")
    assert cid == 1211214, f"{path}: not a PETSc binary Vec"
    return np.frombuffer(b[8:8 + 8 * n], ">f8")


def run(np_, args, log, check=True):
    cmd = [mpiexec, "--oversubscribe", "-n", str(np_)] + args
    with open(log, "w") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
    if check and rc != 0:
        sys.stdout.write(open(log).read())
        raise SystemExit(f"failed ({rc}): {' '.join(cmd)}")
    return rc


# 1. Recording leaves the host's run bit for bit as it is.
ex11 = ["-physics", "sw", "-sw_riemann", "hll", "-bc_wall", "1,2,3,4", "-ufv_cfl", "0.5", "-petscfv_type",
        "leastsquares", "-petsclimiter_type", "sin", "-grid_bounds", "0,5,0,5", "-dm_plex_simplex", "0",
        "-dm_plex_box_faces", "25,25", "-ts_max_steps", "20", "-ts_adapt_type", "none", "-petscpartitioner_type",
        "simple"]
plex = ["-dm_plex_simplex", "0", "-sol_type", "quadratic_linear", "-dm_refine", "3", "-temp_petscspace_degree", "1"]
cases = [
    ("ex11", ex11, "rk", ["-lats_classical_ts_adapt_type", "none"]),
    ("ex13", ["-ts_max_steps", "20"], "rk", []),
    ("ex45", plex + ["-ts_max_steps", "5", "-ts_dt", "0.1", "-pc_type", "jacobi", "-ksp_rtol", "1e-12",
                     "-petscpartitioner_type", "simple"], "beuler", []),
]
for ex, args, ts_type, inner in cases:
    for np_ in (1, 2, 3):
        run(np_, ["./" + ex] + args + ["-ts_type", ts_type, "-ts_view_solution", "binary:plain.bin"], "plain.log")
        lats_args = ["./" + ex] + args + ["-dll_append", lib, "-ts_type", "lats", "-lats_classical_ts_type", ts_type]
        lats_args += inner
        run(np_, lats_args + ["-ts_view_solution", "binary:lats.bin"], "lats.log")
        for f in ("rec.h5", "rec.xmf"):
            if os.path.exists(f):
                os.remove(f)
        run(np_, lats_args + ["-lats_record", "rec.h5", "-ts_view_solution", "binary:rec.bin"], "rec.log")
        plain, unwatched, watched = vec("plain.bin"), vec("lats.bin"), vec("rec.bin")
        assert watched.tobytes() == unwatched.tobytes(), f"{ex} on {np_} ranks: recording changed the solution"
        with h5py.File("rec.h5", "r") as f:
            snapshots = f["fields"].shape[1]
            assert f.attrs["state"] == "final" and snapshots >= 2
        diff = np.abs(plain - watched).max()
        print(f"{ex} ({ts_type}) on {np_} rank(s): {len(watched)} values, with -lats_record == without bit for bit "
              f"({snapshots} snapshots recorded); max |plain -ts_type {ts_type} - lats| = {diff:.1e}")
        assert plain.tobytes() == watched.tobytes(), f"{ex} on {np_} ranks: -ts_type lats differs from {ts_type}"

# 2. SIGKILL at random moments: what was recorded stays, and the same command continues it.
host = ["./ex13", "-da_grid_x", "96", "-da_grid_y", "96", "-ts_max_steps", "20000", "-ts_dt", "2e-6",
        "-dll_append", lib, "-ts_type", "lats", "-lats_classical_ts_type", "rk", "-lats_classical_ts_adapt_type",
        "none", "-lats_record_every", "20"]
ranks = 2


def record(out):
    return [mpiexec, "--oversubscribe", "-n", str(ranks)] + host + ["-lats_record", out]


def fresh(path):
    for p in (path, path[:-3] + ".xmf", path + ".creating", path + ".growing", path + ".finishing"):
        if os.path.exists(p):
            os.remove(p)


def recorded(path):
    """Snapshots in a recording being written (None before it exists, -1 once finished)."""
    try:
        with h5py.File(path, "r") as f:
            return int(f["recorded"][0]) if "recorded" in f else -1
    except (OSError, KeyError):
        return None


# The reference run, watched: when its recording starts and when it holds every snapshot.
ref = "uninterrupted.h5"
fresh(ref)
t0 = time.time()
process = subprocess.Popen(record(ref), start_new_session=True, stdout=subprocess.DEVNULL)
first = last = None
while process.poll() is None:
    n = recorded(ref)
    if n is not None and n > 0 and first is None:
        first = time.time() - t0
    if n is not None and (n == 1001 or n < 0) and last is None:
        last = time.time() - t0
    time.sleep(0.01)
assert process.returncode == 0 and first is not None and last is not None, (process.returncode, first, last)
with h5py.File(ref, "r") as f:
    assert f.attrs["state"] == "final"
    ref_fields, ref_times = f["fields"][()], f["times"][()]
assert ref_fields.shape == (1, 1001, 96 * 96, 1), ref_fields.shape
print(f"uninterrupted recording: {ref_fields.shape[1]} snapshots x {ref_fields.shape[2]} points; the first written "
      f"{first:.2f} s and the last {last:.2f} s after the start")

out = "killed.h5"
fresh(out)
rng = random.Random(int(os.environ.get("LATS_KILL_SEED", "2026")))
kills, attempts, partial = 0, 0, 0
while kills < 5 or partial < 2:
    attempts += 1
    assert attempts < 40, f"after {attempts} runs only {partial} kills hit an in-progress recording"
    delay = rng.uniform(first, last + 0.1)
    if not run_or_kill(record(out), delay, out, "a continued recording"):
        fresh(out)  # finished before the kill: start over to get another interruption
        continue
    kills += 1
    with h5py.File(out, "r") as f:  # must open, whatever the moment of the kill
        assert f.attrs["lats_format"] == "lats-trajectories"
        if f.attrs["state"] == "in_progress":
            n = int(f["recorded"][0])
            assert np.array_equal(f["times"][:n], ref_times[:n]), "recorded times differ"
            assert np.array_equal(f["fields"][:, :n], ref_fields[:, :n]), "recorded snapshots differ"
            partial += n > 0
            state = f"unfinished recording of {n} snapshots, equal to the uninterrupted run's first {n}"
        else:
            assert np.array_equal(f["fields"][()], ref_fields), "a finished file differs"
            state = "finished"
    if state != "finished":
        info = subprocess.run([mpiexec, "-n", "1", lats, "info", "-lats_info_path", out], check=True,
                              capture_output=True, text=True).stdout
        assert "an unfinished recording" in info and f"x {n} snapshots" in info, info
    print(f"kill {kills} {delay:.2f} s after the start: {state}")
subprocess.run(record(out), check=True, stdout=subprocess.DEVNULL)
with h5py.File(out, "r") as f:
    assert f.attrs["state"] == "final"
    assert np.array_equal(f["fields"][()], ref_fields) and np.array_equal(f["times"][()], ref_times)
print(f"{kills} kills ({partial} into an unfinished recording), continued to the end: equal to the uninterrupted "
      "recording bit for bit")

# A rerun that starts at a time the unfinished recording does not hold is refused.
fresh(out)
process = subprocess.Popen(record(out), start_new_session=True, stdout=subprocess.DEVNULL)
while (recorded(out) or 0) < 3:
    time.sleep(0.01)
os.killpg(process.pid, signal.SIGKILL)
process.wait()
subprocess.run(["pkill", "-9", "-f", out], check=False)
rc = run(ranks, host + ["-ts_init_time", "0.5", "-lats_record", out], "moved.log", check=False)
log = open("moved.log").read()
assert rc != 0 and "and the host now starts at t = 0.5, which is not one of them" in log, log
print("a host restarted at a time the recording does not hold is refused with the recorded range")
