#!/usr/bin/python3
"""Figures of the `lats demo` report, drawn from the files the demo wrote.

    demo_figures.py REPORT_DIR

Reads REPORT_DIR/summary.json (paths are relative to REPORT_DIR), loss.csv, the rollout
errors and trajectories, and the assimilation scores; writes loss.png, error_vs_time.png,
snapshots.png and assimilation.png into REPORT_DIR. Needs Debian's python3-matplotlib and
python3-h5py. Each PNG is written under a temporary name and renamed.
"""
import csv
import json
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402


def save(fig, path):
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, path)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def loss_figure(report):
    rows = read_csv(os.path.join(report, "loss.csv"))
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    offset = 0
    for stage in ("autoencoder", "dynamics"):
        vals = [float(r["loss"]) for r in rows if r["stage"] == stage]
        if not vals:
            continue
        window = max(1, len(vals) // 100)
        smooth = [sum(vals[max(0, i - window + 1): i + 1]) / len(vals[max(0, i - window + 1): i + 1])
                  for i in range(len(vals))]
        steps = range(offset + 1, offset + len(vals) + 1)
        ax.semilogy(steps, vals, alpha=0.25, lw=0.6)
        ax.semilogy(steps, smooth, lw=1.5, label=f"{stage} (mean of {window} steps)",
                    color=ax.lines[-1].get_color())
        offset += len(vals)
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.set_title("Training loss")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    save(fig, os.path.join(report, "loss.png"))


def error_figure(report, summary):
    rows = read_csv(os.path.join(report, "..", "rollout", "errors.csv"))
    t = [float(r["time"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    notes = []
    for name in rows[0].keys():
        if name == "time":
            continue
        values = [float(r[name]) for r in rows][1:]
        if max(values) < 1e-10:  # the classical stepper reproduces its own reference: off the scale
            notes.append(f"{name}: below {max(max(values), 1e-300):.0e} (not drawn)")
            continue
        style = ":" if name == "persistence" else "-"
        ax.plot(t[1:], values, style, marker="o", ms=3, label=name)
    if notes:
        ax.plot([], [], " ", label="; ".join(notes))
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("relative L2 error")
    ax.set_title(f"Rollout error against the classical reference ({summary['equation']})")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    save(fig, os.path.join(report, "error_vs_time.png"))


def cells(f):
    offsets = f["cells/offsets"][()]
    vertices = f["cells/vertices"][()][:, :2]
    return [vertices[offsets[i]: offsets[i + 1]] for i in range(len(offsets) - 1)]


def snapshot_figure(report, summary):
    with h5py.File(os.path.join(report, summary["test_dataset"]), "r") as f:
        polys = cells(f)
        truth = f["fields"][0, -1, :, 0]
        t = f["times"][-1]
    panels = [("reference (classical)", truth)]
    for mode in ("surrogate", "hybrid"):
        entry = summary["rollout"].get(mode)
        if entry:
            with h5py.File(os.path.join(report, entry["file"]), "r") as f:
                panels.append((mode, f["fields"][0, -1, :, 0]))
    if len(panels) > 1:
        panels.append((f"{panels[1][0]} - reference", panels[1][1] - truth))
    lo, hi = float(truth.min()), float(truth.max())
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.4))
    for ax, (title, values) in zip(axes, panels):
        is_error = title.endswith("reference")
        if is_error:
            m = float(abs(values).max()) or 1.0
            pc = PolyCollection(polys, array=values, cmap="RdBu_r", edgecolors="face", linewidths=0.2)
            pc.set_clim(-m, m)
        else:
            pc = PolyCollection(polys, array=values, cmap="viridis", edgecolors="face", linewidths=0.2)
            pc.set_clim(lo, hi)
        ax.add_collection(pc)
        ax.autoscale_view()
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(pc, ax=ax, fraction=0.046, pad=0.03)
    fig.suptitle(f"held-out trajectory 0 at t = {t:g} on {summary['cells']} cells", fontsize=10)
    save(fig, os.path.join(report, "snapshots.png"))


def assimilation_figure(report, summary):
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    for method, entry in summary["assimilation"].items():
        rows = read_csv(os.path.join(report, entry["scores"]))
        t = [float(r["time"]) for r in rows]
        line, = ax.plot(t, [float(r["rmse"]) for r in rows], "-", marker="o", ms=3, label=f"{method} RMSE")
        spread = [float(r["spread"]) for r in rows]
        if any(s > 0 for s in spread):
            ax.plot(t, spread, "--", color=line.get_color(), label=f"{method} spread")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("RMSE / spread")
    ax.set_title("Assimilation of sparse noisy observations")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    save(fig, os.path.join(report, "assimilation.png"))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: demo_figures.py REPORT_DIR")
    report = sys.argv[1]
    with open(os.path.join(report, "summary.json")) as f:
        summary = json.load(f)
    loss_figure(report)
    error_figure(report, summary)
    snapshot_figure(report, summary)
    assimilation_figure(report, summary)
    print(f"demo_figures: wrote loss.png, error_vs_time.png, snapshots.png, assimilation.png in {report}")


if __name__ == "__main__":
    main()
