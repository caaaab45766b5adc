"""The XDMF sidecar read by ParaView's own XDMF reader (pvpython; Debian's VTK 9.1 has no
XDMF module, ParaView 5.11 has): for a dataset from `lats generate` with cells (2D
triangles, cell-centred values), every snapshot of every trajectory the sidecar exposes
equals what h5py reads from /fields, bit for bit.

    pvpython --force-offscreen-rendering xdmf_paraview_test.py LATS_CLI SCRATCH_DIR
"""
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
from paraview import servermanager as sm
from paraview.simple import XDMFReader
from vtk.numpy_interface import dataset_adapter as dsa

lats, scratch = sys.argv[1], sys.argv[2]
shutil.rmtree(scratch, ignore_errors=True)
os.makedirs(scratch)
path = os.path.join(scratch, "gs.h5")
subprocess.run([lats, "generate", "-lats_equation", "gray_scott", "-lats_mesh_cells", "6",
                "-lats_generate_trajectories", "3", "-lats_generate_snapshots", "4",
                "-lats_generate_final_time", "20", "-lats_generate_output", path,
                "-lats_generate_progress", "false"], check=True, capture_output=True)

f = h5py.File(path, "r")
fields = f["fields"][()]  # (M, T, N, C)
M, T, N, C = fields.shape
components = [c.decode() if isinstance(c, bytes) else c for c in f.attrs["components"]]
times = f["times"][()]

reader = XDMFReader(FileNames=[path[:-3] + ".xmf"])
reader.UpdatePipelineInformation()
assert np.allclose(list(reader.TimestepValues), times), (reader.TimestepValues, times)
checked = 0
for t, time in enumerate(times):
    reader.UpdatePipeline(time)
    grid = dsa.WrapDataObject(sm.Fetch(reader))
    assert grid.GetNumberOfCells() == N, (grid.GetNumberOfCells(), N)
    for m in range(M):
        for c, name in enumerate(components):
            values = np.asarray(grid.CellData[f"{name}_{m}"])
            assert values.shape == (N,), (name, values.shape)
            assert np.array_equal(values, fields[m, t, :, c]), (m, t, name, np.abs(values - fields[m, t, :, c]).max())
            checked += 1
print(f"xdmf: ParaView's XDMF reader gives the h5py values for {checked} arrays "
      f"({M} trajectories x {T} times x {C} components, {N} triangles)")
