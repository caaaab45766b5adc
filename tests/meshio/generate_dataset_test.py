#!/usr/bin/python3
"""`lats generate` end to end, from the outside, with h5py:

1. an uninterrupted run gives a dataset that reads as doc/datasets.md says (attributes,
   shapes, flags), and its XDMF sidecar's references resolve to the same values;
2. runs killed with SIGKILL at random moments (at least 5 kills) always leave a file that
   opens, re-running the same command resumes, and the final file's fields, parameters,
   times and points equal the uninterrupted run's bit for bit.

usage: generate_dataset_test.py LATS MPIEXEC RANKS WORKDIR
"""
import os
import random
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from kill_trials import run_or_kill  # noqa: E402

lats, mpiexec, ranks, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
os.makedirs(work, exist_ok=True)
ARGS = ["generate", "-lats_equation", "burgers", "-lats_generate_trajectories", "16", "-lats_generate_snapshots",
        "10", "-lats_generate_final_time", "0.3", "-lats_mesh_cells", "256", "-lats_generate_progress", "false",
        "-lats_log_level", "warning"]


def command(out):
    return [mpiexec, "--oversubscribe", "-n", str(ranks), lats] + ARGS + ["-lats_generate_output", out]


def fresh(path):
    for p in (path, path[:-3] + ".xmf", path + ".creating", path + ".finishing"):
        if os.path.exists(p):
            os.remove(p)


# 1. Reference run, read as documented.
ref = os.path.join(work, "reference.h5")
fresh(ref)
t0 = time.time()
subprocess.run(command(ref), check=True)
runtime = time.time() - t0
with h5py.File(ref, "r") as f:
    a = f.attrs
    assert a["lats_format"] == "lats-trajectories" and a["format_version"] == 1 and a["state"] == "final", dict(a)
    assert a["equation"] == "burgers" and list(a["components"]) == ["u"] and list(a["parameter_names"]) == ["nu"]
    M, T, N, C = f["fields"].shape
    assert (M, T, C) == (16, 11, 1) and N == 256, f["fields"].shape
    assert f["points"].shape == (N, 3) and f["times"].shape == (T,) and f["parameters"].shape == (M, 1)
    assert f["complete"][()].all() and np.isfinite(f["fields"][()]).all()
    assert f["fields"].chunks == (1, 1, N, C) and f["fields"].compression == "gzip"
    assert np.allclose(f["times"][()], np.linspace(0, 0.3, T))
    # XDMF: every HDF reference resolves to the values h5py reads directly.
    xdmf = ET.parse(ref[:-3] + ".xmf").getroot()
    grids = xdmf.findall("./Domain/Grid/Grid")
    assert len(grids) == T, len(grids)
    checked = 0
    for t, grid in enumerate(grids):
        assert float(grid.find("Time").get("Value")) == f["times"][t]
        geometry = grid.find("Geometry/DataItem").text.strip()
        assert geometry == "reference.h5:/cells/vertices", geometry
        assert grid.find("Topology").get("TopologyType") == "Mixed"
        assert grid.find("Topology/DataItem").text.strip() == "reference.h5:/cells/xdmf_topology"
        for attribute in grid.findall("Attribute"):
            slab, data = attribute.find("DataItem").findall("DataItem")
            start, stride, count = np.array(slab.text.split(), dtype=int).reshape(3, 4)
            assert data.text.strip() == "reference.h5:/fields" and data.get("Dimensions") == f"{M} {T} {N} {C}"
            index = tuple(slice(s, s + c * d, d) for s, d, c in zip(start, stride, count))
            values = f["fields"][index].reshape(-1)
            m = int(attribute.get("Name").rsplit("_", 1)[1])
            assert np.array_equal(values, f["fields"][m, t, :, 0]), (t, m)
            checked += 1
    assert checked == T * M, checked
    # The cells behind the points: N line cells (VTK type 3), XDMF polylines of 2 vertices,
    # each cell's midpoint the point.
    types, offsets, vertices = f["cells/types"][()], f["cells/offsets"][()], f["cells/vertices"][()]
    assert (types == 3).all() and np.array_equal(offsets, 2 * np.arange(N + 1)), (types[:4], offsets[:4])
    topology = f["cells/xdmf_topology"][()].reshape(N, 4)
    assert (topology[:, 0] == 2).all() and (topology[:, 1] == 2).all()
    assert np.array_equal(topology[:, 2:].reshape(-1), np.arange(2 * N))
    midpoints = 0.5 * (vertices[0::2] + vertices[1::2])
    assert np.abs(midpoints - f["points"][()]).max() < 1e-12
    assert ((vertices[1::2, 0] - vertices[0::2, 0]) > 0).all()
print(f"reference: {M} trajectories x {T} snapshots x {N} points in {runtime:.1f} s; XDMF: {checked} references ok")

# 2. Kill at random moments, resume, compare.
out = os.path.join(work, "killed.h5")
fresh(out)
rng = random.Random(int(os.environ.get("LATS_KILL_SEED", "2026")))
kills, attempts, partial = 0, 0, 0
# At least 5 kills, and at least 2 of them into an in-progress file: on a loaded machine
# start-up takes longer than in the reference run and early kills find no file yet.
while kills < 5 or partial < 2:
    attempts += 1
    assert attempts < 60, f"after {attempts} runs only {partial} kills hit an in-progress file"
    delay = rng.uniform(0.2 * runtime, runtime)  # the first ~20 % is MPI start-up
    if not run_or_kill(command(out), delay, out):
        fresh(out)  # finished before the kill: start over to get another interruption
        continue
    kills += 1
    state = "no file yet"
    if os.path.exists(out):
        with h5py.File(out, "r") as f:  # must open, whatever the moment of the kill
            assert f.attrs["lats_format"] == "lats-trajectories"
            state = f"{f.attrs['state']}, {int(f['complete'][()].sum())}/16 complete"
            partial += f.attrs["state"] == "in_progress"
    print(f"kill {kills} after {delay:.2f} s: {state}")
assert partial >= 2, f"only {partial} kills hit an in-progress file; make the runs longer"
subprocess.run(command(out), check=True)
with h5py.File(ref, "r") as f, h5py.File(out, "r") as g:
    assert g.attrs["state"] == "final"
    for name in ("fields", "parameters", "times", "points", "cell_volumes", "complete"):
        assert np.array_equal(f[name][()], g[name][()]), f"{name} differs from the uninterrupted run"
print(f"{kills} kills, resumed to completion: fields, parameters, times and points equal the uninterrupted run")
