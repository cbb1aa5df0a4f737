#!/usr/bin/env python3
"""Does the committee deviation grow where the true error grows?

Reads the per-frame deviation files that `gbnet eval --write-deviations`
wrote for each data set (OUT/devi_<set>.out: DeePMD-kit's model_devi.out
columns, then err_e = (E_pred - E_ref)/N and rmse_f) and the coverage block
of its report (OUT/eval_<set>.txt: frames outside the training coverage, the
extrapolation check of pair_style gbnet), and writes
  DEST/RESULTS.md     a table per set and Spearman rank correlations per frame
  DEST/deviation.png  deviation against true error, every frame of every set
and, from the per-frame files of `gbnet eval --write-coverage` (OUT/coverage_<set>.out,
written with margins 0: the closest distance ratio and the largest excess of
the readout's input over its trained range), the frames each extrapolation
check flags, with margins taken from held-out training frames
(OUT/coverage_heldout<k>.out: member 0 recorded on one half of train_300K,
checked on the other).
Usage: analyse.py OUT DEST
       analyse.py --split TRAIN.extxyz HALF1 HALF2   (first and second half of the frames)
"""
import os
import re
import sys

import numpy as np

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

SETS = [  # name, what it is
    ("train_300K", "training data (300 K MD)"),
    ("test_300K", "test, 300 K MD (in distribution)"),
    ("test_600K", "test, 600 K MD (hotter)"),
    ("dihedral", "C-C dihedral scan (energies only)"),
    ("H_transfer", "proton-transfer NEB path (energies only)"),
]


def read(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            fields = line.split()
            rows.append([float(x) for x in fields[1:10]])
    a = np.array(rows)
    return {"max_devi_f": a[:, 3], "avg_devi_f": a[:, 5], "devi_e": a[:, 6], "err_e": a[:, 7], "rmse_f": a[:, 8]}


def read_coverage(path):
    """(frames outside, frames, atoms too close, closest ratio) from a gbnet eval report, or None."""
    if not os.path.exists(path):
        return None
    text = open(path).read()
    m = re.search(r"coverage:\s+(\d+) of (\d+) frames outside.*?, (\d+) such atoms", text, re.S)
    if not m:
        return None
    c = re.search(r"closest:\s+([0-9.]+) of the shortest", text)
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), float(c.group(1)) if c else float("nan")


def split(path, first, second):
    """Writes the first and second half of an extxyz file's frames."""
    lines = open(path).read().splitlines()
    frames, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        n = int(lines[i])
        frames.append("\n".join(lines[i:i + n + 2]) + "\n")
        i += n + 2
    h = len(frames) // 2
    open(first, "w").write("".join(frames[:h]))
    open(second, "w").write("".join(frames[h:]))


def read_checks(path):
    """closest distance ratio and largest feature excess per frame (gbnet eval --write-coverage)."""
    a = np.loadtxt(path, usecols=(1, 4), ndmin=2)
    return {"closest": a[:, 0], "excess": a[:, 1]}


def round_up(x, step):
    return step * np.ceil(x / step + 1e-9)


def flags(c, distance_margin, feature_margin):
    """(by distance, by features) per frame, as gbnet_coverage_check / gbnet_feature_check decide."""
    return c["closest"] < (1 - distance_margin) * (1 - 1e-9), c["excess"] > feature_margin


def spearman(x, y):
    """Spearman's rank correlation (average ranks for ties), NaN pairs dropped."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3:
        return float("nan")

    def ranks(v):
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for value in np.unique(v):  # average ranks of ties
            tied = v == value
            if tied.sum() > 1:
                r[tied] = r[tied].mean()
        return r

    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def main(out, dest):
    data = {name: read(os.path.join(out, f"devi_{name}.out")) for name, _ in SETS}
    # energies: the model's constant offset per atom is irrelevant for MD;
    # the error of a frame is its deviation from the set's mean error
    for d in data.values():
        d["err_e_rel"] = np.abs(d["err_e"] - np.nanmean(d["err_e"]))
    lines = [
        "# Acetylacetone: committee deviation against true error",
        "",
        "Committee of 4 (examples/acac/train.cfg: F=32, T=3, bootstrap samples, EMA), trained on",
        "`train_300K` only (450 frames; 50 held out). Per frame: `max_devi_f` = largest per-atom",
        "force deviation of the committee (eV/Å), `devi_e` = std of the members' energies / N;",
        "true errors of the committee mean: force RMSE of the frame, and |energy error per atom| after",
        "removing the set's mean offset. ρ = Spearman rank correlation over the frames of a set.",
        "",
        "| set | frames | mean max_devi_f (meV/Å) | force RMSE (meV/Å) | ρ(max_devi_f, frame force RMSE) | mean devi_e (meV/atom) | energy error (meV/atom, offset removed, RMS) | ρ(devi_e, energy error) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, what in SETS:
        d = data[name]
        has_f = np.isfinite(d["rmse_f"]).any()
        f_rmse = 1000 * np.sqrt(np.nanmean(d["rmse_f"] ** 2)) if has_f else float("nan")
        rho_f = spearman(d["max_devi_f"], d["rmse_f"]) if has_f else float("nan")
        e_rms = 1000 * np.sqrt(np.nanmean(d["err_e_rel"] ** 2))
        rho_e = spearman(d["devi_e"], d["err_e_rel"])
        fmt = lambda v, p=1: "–" if not np.isfinite(v) else f"{v:.{p}f}"
        lines.append(
            f"| {name}: {what} | {len(d['devi_e'])} | {fmt(1000 * d['max_devi_f'].mean())} | {fmt(f_rmse)} | "
            f"{fmt(rho_f, 2)} | {fmt(1000 * d['devi_e'].mean(), 2)} | {fmt(e_rms, 2)} | {fmt(rho_e, 2)} |")
    # pooled over the labelled-force sets: does the deviation rank the frames by error across sets?
    pooled_f = [np.concatenate([data[n][k] for n in ("test_300K", "test_600K")]) for k in ("max_devi_f", "rmse_f")]
    pooled_e = [np.concatenate([data[n][k] for n, _ in SETS if n != "train_300K"]) for k in ("devi_e", "err_e_rel")]
    checks = {name: read_checks(os.path.join(out, f"coverage_{name}.out")) for name, _ in SETS}
    heldout = [read_checks(os.path.join(out, f"coverage_heldout{k}.out")) for k in (1, 2)]
    gap = max(float((1 - h["closest"]).max()) for h in heldout)
    excess = max(float(h["excess"].max()) for h in heldout)
    distance_margin, feature_margin = round_up(max(gap, 0.0), 0.01), round_up(excess, 0.05)
    lines += [
        "",
        "## Extrapolation checks",
        "",
        "What `pair_style gbnet` warns about in MD, here per frame (member 0's records, `gbnet eval",
        "--write-coverage`): the **distance** check flags a frame with an atom closer to a neighbour than",
        "(1 − δ) times the shortest distance of that element pair in the training frames; the **feature**",
        "check one with an atom whose readout input (the features after the last interaction block) leaves",
        "the range its element had over the training atoms, in some channel, by more than m times that",
        "channel's range.",
        "",
        "Margins from training data only: member 0 recorded on one half of `train_300K` (the MD trajectory's",
        "first or second half) and checked on the other, both ways. The held-out frames came at most",
        f"{100 * gap:.2f}% closer than the half's shortest distances and left its feature ranges by at most",
        f"{excess:.3f} ranges; rounded up (to 0.01 and 0.05): δ = {distance_margin:.2f}, m = {feature_margin:.2f}.",
        "(The library's defaults, δ = 0.02 and m = 0.35, come from the same rule on the study's first run.)",
        "",
        f"| set | frames | flagged by distance (δ = {distance_margin:.2f}) | by features (m = {feature_margin:.2f}) | by either | closest / shortest trained | largest feature excess (ranges) | energy error of flagged / unflagged frames (meV/atom, RMS) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, _ in SETS:
        c, d = checks[name], data[name]
        by_d, by_f = flags(c, distance_margin, feature_margin)
        either = by_d | by_f
        n = len(either)
        pct = lambda k: f"{k} ({100 * k / n:.1f}%)"
        rms = lambda sel: "–" if not sel.any() else f"{1000 * np.sqrt(np.nanmean(d['err_e_rel'][sel] ** 2)):.2f}"
        lines.append(f"| {name} | {n} | {pct(int(by_d.sum()))} | {pct(int(by_f.sum()))} | {pct(int(either.sum()))} | "
                     f"{c['closest'].min():.3f} | {c['excess'].max():.3f} | {rms(either)} / {rms(~either)} |")
    coverage = {name: read_coverage(os.path.join(out, f"eval_{name}.txt")) for name, _ in SETS}
    if all(cv is not None for cv in coverage.values()):
        lines += ["", "As `gbnet eval` counts them with the library's default margins (its coverage block):", "",
                  "| set | frames outside by distance (δ = 0.02) | by features (m = 0.35) |", "|---|---|---|"]
        for name, _ in SETS:
            n_out, n, _, _ = coverage[name]
            text = open(os.path.join(out, f"eval_{name}.txt")).read()
            m = re.search(r"features:\s+(\d+) of (\d+) frames", text)
            lines.append(f"| {name} | {n_out} of {n} | {m.group(1) + ' of ' + m.group(2) if m else '–'} |")
    lines += [
        "",
        f"Pooled over test_300K and test_600K (1300 frames): ρ(max_devi_f, force RMSE) = {spearman(*pooled_f):.2f}.",
        f"Pooled over the four test sets: ρ(devi_e, energy error) = {spearman(*pooled_e):.2f}.",
        "",
        "![deviation against error](deviation.png)",
        "",
    ]
    with open(os.path.join(dest, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))

    fig, ax = plt.subplots(1, 3, figsize=(16, 4.5))
    colors = {"train_300K": "0.6", "test_300K": "tab:blue", "test_600K": "tab:orange", "dihedral": "tab:green",
              "H_transfer": "tab:red"}
    for name, _ in SETS:
        d = data[name]
        if np.isfinite(d["rmse_f"]).any():
            ax[0].scatter(1000 * d["rmse_f"], 1000 * d["max_devi_f"], s=6, alpha=0.6, color=colors[name], label=name)
        ax[1].scatter(1000 * np.maximum(d["err_e_rel"], 1e-3 / 1000), 1000 * d["devi_e"], s=8 if len(d["devi_e"]) > 100 else 22,
                      alpha=0.6, color=colors[name], label=name)
    ax[0].set_xlabel("frame force RMSE of the committee mean (meV/Å)")
    ax[0].set_ylabel("max_devi_f (meV/Å)")
    ax[0].set_xscale("log")
    ax[0].set_yscale("log")
    ax[0].legend()
    ax[0].set_title("forces")
    ax[1].set_xlabel("|energy error| per atom, set offset removed (meV/atom)")
    ax[1].set_ylabel("devi_e (meV/atom)")
    ax[1].set_xscale("log")
    ax[1].set_yscale("log")
    ax[1].legend()
    ax[1].set_title("energies")
    for name, _ in SETS:
        ax[2].scatter(np.maximum(checks[name]["excess"], 1e-3), 1000 * np.maximum(data[name]["err_e_rel"], 1e-6),
                      s=8 if len(data[name]["devi_e"]) > 100 else 22, alpha=0.6, color=colors[name], label=name)
    ax[2].axvline(feature_margin, color="k", lw=0.8, ls="--", label=f"m = {feature_margin:.2f}")
    ax[2].set_xscale("log")
    ax[2].set_yscale("log")
    ax[2].set_xlabel("largest readout-input excess of the frame (channel ranges; 1e-3: inside)")
    ax[2].set_ylabel("|energy error| per atom, set offset removed (meV/atom)")
    ax[2].legend(fontsize=8)
    ax[2].set_title("feature check (member 0)")
    fig.suptitle("acetylacetone, 4-member gbnet committee trained on 300 K MD")
    fig.tight_layout()
    fig.savefig(os.path.join(dest, "deviation.png"), dpi=110)


if __name__ == "__main__":
    if sys.argv[1] == "--split":
        split(*sys.argv[2:5])
    else:
        main(sys.argv[1], sys.argv[2])
