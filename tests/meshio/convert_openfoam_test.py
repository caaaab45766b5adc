#!/usr/bin/python3
"""`lats convert` on a real OpenFOAM case, checked against OpenFOAM's own files with h5py.

Runs the icoFoam lid-driven cavity tutorial from Debian's openfoam-examples (blockMesh,
icoFoam, then postProcess -func writeCellCentres for OpenFOAM's own cell centres), converts
the case with `lats convert` on RANKS ranks, and compares:
  - times with the time directories (0, 0.1, ..., 0.5: all of them, 0 included);
  - points with OpenFOAM's cell centres C (x, y; the case is one cell thick, so 2D);
  - cell volumes with the 0.1 x 0.1 x 0.01 box split in 400 cells;
  - U_x, U_y, U_z and p at every time with the ASCII internalField values;
and that an unknown field name fails with a message naming the available fields and leaves
no output behind.

usage: convert_openfoam_test.py LATS MPIEXEC RANKS WORKDIR
"""
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np

lats, mpiexec, ranks, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
TUTORIAL = "/usr/share/doc/openfoam-examples/examples/incompressible/icoFoam/cavity/cavity"
BASHRC = "/usr/share/openfoam/etc/bashrc"
if not os.path.isdir(TUTORIAL) or not os.path.exists(BASHRC):
    sys.exit("OpenFOAM is not installed (packages openfoam, openfoam-examples); run scripts/install-deps.sh")

shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
case = os.path.join(work, "cavity")
shutil.copytree(TUTORIAL, case)
# Gzipped tutorial files (some Debian versions compress them): unpack in place.
for root, _, files in os.walk(case):
    for name in files:
        if name.endswith(".gz"):
            subprocess.run(["gunzip", os.path.join(root, name)], check=True)
script = f"""source {BASHRC} >/dev/null 2>&1
cd {case}
blockMesh > log.blockMesh 2>&1 || {{ tail log.blockMesh; exit 1; }}
icoFoam > log.icoFoam 2>&1 || {{ tail log.icoFoam; exit 1; }}
postProcess -func writeCellCentres -time 0 > log.postProcess 2>&1 || {{ tail log.postProcess; exit 1; }}
"""
subprocess.run(["bash", "-c", script], check=True)


def internal_field(path, n):
    """The internalField of an ASCII OpenFOAM field file as an (n, k) array."""
    text = open(path).read()
    m = re.search(r"internalField\s+uniform\s+(\([^)]*\)|[-+0-9.eE]+)\s*;", text)
    if m:
        v = [float(x) for x in m.group(1).strip("()").split()]
        return np.tile(np.array(v), (n, 1))
    m = re.search(r"internalField\s+nonuniform\s+List<(\w+)>\s*(\d+)\s*\((.*?)\)\s*;", text, re.S)
    assert m, f"cannot parse internalField of {path}"
    count = int(m.group(2))
    assert count == n, (path, count, n)
    body = m.group(3).replace("(", " ").replace(")", " ")
    return np.array([float(x) for x in body.split()]).reshape(n, -1)


times = sorted((d for d in os.listdir(case) if re.fullmatch(r"[0-9.]+", d)), key=float)
assert len(times) == 6, times
out = os.path.join(work, "cavity.h5")
cmd = [mpiexec, "--oversubscribe", "-n", str(ranks), lats, "convert", "-lats_convert_input", case,
       "-lats_convert_output", out, "-lats_convert_fields", "U,p"]
subprocess.run(cmd, check=True)

N = 400
centres = internal_field(os.path.join(case, "0", "C"), N)
with h5py.File(out, "r") as f:
    a = f.attrs
    assert a["state"] == "final" and a["equation"] == "imported:openfoam" and a["dimension"] == 2, dict(a)
    assert list(a["components"]) == ["U_x", "U_y", "U_z", "p"], list(a["components"])
    assert f["fields"].shape == (1, len(times), N, 4), f["fields"].shape
    assert f["complete"][()].all()
    # the cells for ParaView: 400 hexahedra (VTK type 12) of 8 vertices each
    assert (f["cells/types"][()] == 12).all() and f["cells/vertices"].shape == (8 * N, 3)
    np.testing.assert_array_equal(f["times"][()], [float(t) for t in times])
    points = f["points"][()]
    # VTK's OpenFOAM reader hands values over in single precision: compare to 1e-6 relative.
    np.testing.assert_allclose(points[:, :2], centres[:, :2], rtol=0, atol=1e-7 * 0.1)
    vol = f["cell_volumes"][()]
    # (volumes come from single-precision vertex coordinates: 1e-5 relative per cell)
    np.testing.assert_allclose(vol, 0.1 * 0.1 * 0.01 / N, rtol=1e-5)
    assert abs(vol.sum() - 1e-4) < 1e-6 * 1e-4, vol.sum()
    worst = 0.0
    for ti, t in enumerate(times):
        U = internal_field(os.path.join(case, t, "U"), N)
        p = internal_field(os.path.join(case, t, "p"), N)
        want = np.hstack([U, p])
        got = f["fields"][0, ti]
        scale = np.maximum(np.abs(want).max(axis=0), 1e-30)
        err = (np.abs(got - want) / scale).max()
        worst = max(worst, err)
        assert err < 1e-6, (t, err)
    # the flow moves: the last time differs from the first
    assert np.abs(f["fields"][0, -1, :, 0]).max() > 0.1
print(f"cavity: {len(times)} times, {N} cells, max relative difference to OpenFOAM's files {worst:.2e}")

# An unknown field: one clear error, non-zero exit, no output left.
bad = os.path.join(work, "bad.h5")
r = subprocess.run([mpiexec, "--oversubscribe", "-n", str(ranks), lats, "convert", "-lats_convert_input", case,
                    "-lats_convert_output", bad, "-lats_convert_fields", "U,pp"], capture_output=True, text=True)
assert r.returncode != 0
assert "no field 'pp'" in r.stderr and "Did you mean 'p'?" in r.stderr and "available: " in r.stderr, r.stderr
assert not os.path.exists(bad)
# An existing output without -lats_convert_overwrite is refused; with it, replaced.
r = subprocess.run(cmd, capture_output=True, text=True)
assert r.returncode != 0 and "-lats_convert_overwrite" in r.stderr, r.stderr
subprocess.run(cmd + ["-lats_convert_overwrite", "true"], check=True, capture_output=True)
print("errors: unknown field and existing output refused with clear messages")
