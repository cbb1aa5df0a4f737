#!/usr/bin/env python3
"""Analysis of the stability benchmark (bench/lammps/stability.sh).

    stability.py OUT.md PLOT.png TRAINING.extxyz SUBSET_GLOB RUN_DIR:LABEL ...

Each RUN_DIR holds log.lammps and traj.lammpstrj of one in.stability run.
Per run: simulated time, mean temperature, total-energy drift (linear fit,
meV/atom/ps) and largest |E - E0| for NVE runs, density at the start and end,
atoms at the start and end, the share of thermo lines where the pair style's
coverage check saw atoms closer than trained (c_cov[8] > 0) or the volume
outside the trained range (c_cov[10] > 0), and the first peaks of the O-O and
O-H radial distribution functions against those of the training frames
(SUBSET_GLOB selects them by their `subset` key). Writes a Markdown table to
OUT.md (appended to the header stability.sh wrote) and a PNG. With RUN_DIR/devi.out
(gbnet select --write-deviations of the trajectory with a committee), the committee's max_devi_f
over the dump frames: its mean and largest value, the share of frames above 0.3 eV/A, and a plot
over time. Water ions on every dump frame (water_ions.py: an O with other than 2 nearest H; the
training data have none): a plot over time and the time of the first.
"""
import fnmatch
import glob
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from water_ions import ions, min_image_distances  # noqa: E402  (beside this file)

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

R_MAX, DR = 6.0, 0.01
DT_PS = 0.0005  # in.stability's timestep
DEVI_TRUST_HI = 0.3  # eV/A: frames above it DP-GEN treats as failed (too far out to trust)


def thermo_blocks(path):
    """Columns of each thermo block: step time temp etotal rho atoms cov_close cov_volume."""
    blocks, rows, inside = [], None, False
    with open(path) as f:
        for line in f:
            words = line.split()
            if words[:2] == ["Step", "Time"]:
                rows, inside = [], True
                continue
            if not inside:
                continue
            if line.startswith("Loop time of"):
                blocks.append(rows)
                inside = False
                continue
            try:
                values = [float(w) for w in words]
            except ValueError:
                continue  # warnings inside the table
            if len(values) == 8:
                rows.append(values)
    if inside and rows:  # a run that stopped early (lost atoms, error): keep what was written
        blocks.append(rows)
    return [np.array(b) for b in blocks if b]


def production_thermo(run_dir):
    """The production thermo rows of a run: the last block of log.lammps, then those of the parts
    resumed from restart files (log.resumeSTEP.lammps, in step order), each step once."""
    first = thermo_blocks(f"{run_dir}/log.lammps")  # NVT thermalisation, then the production
    parts = first[1:2] + [b for p in sorted(glob.glob(f"{run_dir}/log.resume*.lammps")) for b in thermo_blocks(p)]
    if not parts:
        raise SystemExit(f"stability.py: no production thermo block in {run_dir}")
    rows = []
    for part in parts:  # a later part wins over what a stopped part wrote after its restart step
        rows = [r for r in rows if r[0] < part[0][0]] + list(part)
    return np.array(rows)


def committee_deviation(run_dir):
    """(time ps, max_devi_f eV/A) per dump frame from devi.out (gbnet select --write-deviations of the
    run's trajectory), each step once (a resumed part's frame wins), or None without the file."""
    path = f"{run_dir}/devi.out"
    try:
        rows = np.loadtxt(path, comments="#", ndmin=2)
    except OSError:
        return None
    by_step = {}
    for row in rows:
        by_step[int(row[0])] = row[4]
    steps = np.array(sorted(by_step))
    return steps * DT_PS, np.array([by_step[k] for k in steps])


def dump_frames(path):
    """(step, box lengths [3], atom ids [n], types [n], positions [n][3]) per frame of a LAMMPS text dump (orthogonal box),
    each timestep once: a resumed part appends from its restart step, and wins over the frames a
    stopped part wrote after it."""
    with open(path) as f:
        lines = f.read().splitlines()
    starts, k = {}, 0  # step -> line of its last frame
    while k < len(lines):
        if not lines[k].startswith("ITEM: TIMESTEP"):
            k += 1
            continue
        step, n = int(lines[k + 1]), int(lines[k + 3])
        if k + 9 + n > len(lines):  # the last frame of a stopped run, cut short
            break
        for s in [s for s in starts if s >= step]:  # appended by a resumed part: drop what it replaces
            del starts[s]
        starts[step] = k
        k += 9 + n
    for step in sorted(starts):
        k = starts[step]
        n = int(lines[k + 3])
        box = np.array([[float(x) for x in lines[k + 5 + d].split()[:2]] for d in range(3)])
        cols = lines[k + 8].split()[2:]
        data = np.array([[float(x) for x in lines[k + 9 + i].split()] for i in range(n)])
        ids = data[:, cols.index("id")].astype(int)
        t = data[:, cols.index("type")].astype(int)
        x = data[:, [cols.index(c) for c in ("x", "y", "z")]]
        yield step, box[:, 1] - box[:, 0], ids, t, x


def pair_histogram(lengths, xa, xb, same):
    """Histogram of minimum-image distances between xa and xb below R_MAX (orthorhombic cell)."""
    r = min_image_distances(xa, xb, lengths)
    if same:
        r = r[np.triu_indices(len(xa), 1)]
    return np.histogram(r[(r > 0) & (r < R_MAX)], bins=np.arange(0.0, R_MAX + DR / 2, DR))[0]


class Rdf:
    """g(r) of O-O and O-H accumulated over frames."""

    def __init__(self):
        self.h = {"OO": 0, "OH": 0}
        self.norm = {"OO": 0.0, "OH": 0.0}

    def add(self, lengths, is_o, x):
        volume = float(np.prod(lengths))
        o, h = x[is_o], x[~is_o]
        self.h["OO"] = self.h["OO"] + pair_histogram(lengths, o, o, True)
        self.h["OH"] = self.h["OH"] + pair_histogram(lengths, o, h, False)
        # ideal-gas counts per unit shell volume: pairs / V
        self.norm["OO"] += len(o) * (len(o) - 1) / 2 / volume
        self.norm["OH"] += len(o) * len(h) / volume

    def g(self, kind):
        edges = np.arange(0.0, R_MAX + DR / 2, DR)
        shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
        return 0.5 * (edges[1:] + edges[:-1]), self.h[kind] / (shell * max(self.norm[kind], 1e-300))


def first_peak(r, g, lo, hi):
    """Position of the largest g in [lo, hi], refined by a parabola through it and its neighbours."""
    sel = np.where((r >= lo) & (r <= hi))[0]
    if len(sel) == 0 or not np.any(g[sel] > 0):
        return float("nan")
    k = sel[np.argmax(g[sel])]
    if 0 < k < len(g) - 1:
        a, b, c = g[k - 1], g[k], g[k + 1]
        den = a - 2 * b + c
        if den < 0:
            return float(r[k] + 0.5 * DR * (a - c) / den)
    return float(r[k])


PEAKS = {"OO": (2.4, 3.4), "OH": (0.8, 1.3)}  # O-O: first neighbour shell; O-H: the covalent bond


def training_rdf(path, pattern):
    from ase.io import read  # Debian's python3-ase
    rdf = Rdf()
    for atoms in read(path, index=":"):
        if not fnmatch.fnmatch(str(atoms.info.get("subset", "")), pattern):
            continue
        rdf.add(np.diag(atoms.get_cell()), atoms.numbers == 8, atoms.get_positions())
    return rdf


def first_failure(label, t, temp, rho, atoms):
    """When the run first left physical sense, in words ("none" if it never did): the
    temperature above 1.5 times the label's target, an atom lost, or (NPT) the density
    more than 10% from where it started."""
    target = float(label.split(" K")[0].split()[-1])
    checks = [(temp > 1.5 * target, lambda k: f"T {temp[k]:.0f} K at {t[k]:.1f} ps"),
              (atoms < atoms[0], lambda k: f"{int(atoms[0] - atoms[k])} atoms lost at {t[k]:.1f} ps")]
    if "NPT" in label:
        checks.append((np.abs(rho / rho[0] - 1) > 0.10, lambda k: f"density {rho[k]:.3f} g/cm³ at {t[k]:.1f} ps"))
    found = [(int(np.argmax(bad)), say) for bad, say in checks if bad.any()]
    if not found:
        return "none"
    k, say = min(found, key=lambda f: f[0])
    return say(k)


def main():
    out_md, out_png, train_path, pattern = sys.argv[1:5]
    runs = [a.split(":", 1) for a in sys.argv[5:]]
    ref = training_rdf(train_path, pattern)
    ref_peaks = {k: first_peak(*ref.g(k), *PEAKS[k]) for k in PEAKS}
    fig, ax = plt.subplots(2, 4, figsize=(20, 8))
    have_committee = False
    rows = []
    for run_dir, label in runs:
        th = production_thermo(run_dir)
        # time from the step (0.5 fs): a part resumed from a restart file counts Time from 0 again
        t, temp, etot, rho, atoms = (th[:, 0] - th[0, 0]) * DT_PS, th[:, 2], th[:, 3], th[:, 4], th[:, 5]
        n = atoms[0]
        rdf = Rdf()
        ion_t, ion_n = [], []  # water ions (an O with other than 2 nearest H) per dump frame
        for step, lengths, _, types, x in dump_frames(f"{run_dir}/traj.lammpstrj"):
            rdf.add(lengths, types == 1, x)
            ion_t.append(step * DT_PS - th[0, 0] * DT_PS)
            ion_n.append(len(ions(lengths, types == 1, x)[0]))
        ion_t, ion_n = np.array(ion_t), np.array(ion_n)
        first_ion = f"{ion_t[np.argmax(ion_n > 0)]:.1f} ps" if np.any(ion_n > 0) else "none"
        peaks = {k: first_peak(*rdf.g(k), *PEAKS[k]) for k in PEAKS}
        e = (etot - etot[0]) / n * 1000.0
        nve = "NVE" in label
        drift = float(np.polyfit(t, e, 1)[0]) if nve and len(t) > 2 else float("nan")
        close = float(np.mean(th[:, 6] > 0)) * 100
        volume = float(np.mean(th[:, 7] > 0)) * 100
        failure = first_failure(label, t, temp, rho, atoms)
        devi = committee_deviation(run_dir)
        if devi is not None:
            have_committee = True
            ax[1, 3].plot(devi[0], devi[1], label=label, lw=0.8)
            dmean, dmax = float(np.mean(devi[1])), float(np.max(devi[1]))
            dshare = float(np.mean(devi[1] > DEVI_TRUST_HI)) * 100
        else:
            dmean = dmax = dshare = float("nan")
        rows.append((label, t[-1], temp.mean(), drift, float(np.max(np.abs(e))) if nve else float("nan"), rho[0],
                     rho[-1], int(atoms[0]), int(atoms[-1]), close, volume, peaks["OO"], peaks["OH"], dmean, dmax,
                     dshare, first_ion, failure))
        ax[0, 0].plot(t, temp, label=label, lw=0.8)
        if nve:
            ax[0, 1].plot(t, e, label=label, lw=0.8)
        ax[0, 2].plot(t, rho, label=label, lw=0.8)
        for j, kind in enumerate(("OO", "OH")):
            ax[1, j].plot(*rdf.g(kind), label=label, lw=0.8)
        ax[1, 2].plot(t, th[:, 6], label=label, lw=0.8)
        ax[0, 3].plot(ion_t, ion_n, label=label, lw=0.8)
    for j, kind in enumerate(("OO", "OH")):
        ax[1, j].plot(*ref.g(kind), "k--", lw=1.2, label="training frames (DFT)")
        ax[1, j].set_xlabel("r (Å)")
        ax[1, j].set_ylabel(f"g(r), {kind[0]}-{kind[1]}")
        ax[1, j].legend(fontsize=7)
    ax[1, 1].set_ylim(0, 4)
    # a run that exploded reaches millions of K: a log scale keeps the stable ones readable
    if ax[0, 0].get_ylim()[1] > 2000:
        ax[0, 0].set_yscale("log")
    if ax[1, 3].get_ylim()[1] > 5:
        ax[1, 3].set_yscale("log")
    if max(abs(v) for v in ax[0, 1].get_ylim()) > 100:
        ax[0, 1].set_yscale("symlog", linthresh=1.0)
    ax[0, 0].set_ylabel("temperature (K)")
    ax[0, 1].set_ylabel("E_total − E(0) (meV/atom), NVE runs")
    ax[0, 2].set_ylabel("density (g/cm³)")
    ax[1, 2].set_ylabel("atoms closer than trained (c_cov[8])")
    ax[1, 3].set_ylabel("committee max_devi_f (eV/Å), dump frames")
    ax[1, 3].axhline(DEVI_TRUST_HI, color="k", ls=":", lw=1)
    if not have_committee:
        ax[1, 3].text(0.5, 0.5, "no committee (STAB_COMMITTEE)", ha="center", transform=ax[1, 3].transAxes)
    ax[0, 3].set_ylabel("ions: O with other than 2 nearest H, dump frames")
    if ax[0, 3].get_ylim()[1] > 50:
        ax[0, 3].set_yscale("symlog", linthresh=1.0)
    ax[0, 3].set_ylim(bottom=0)
    for a in (ax[0, 0], ax[0, 1], ax[0, 2], ax[0, 3], ax[1, 2], ax[1, 3]):
        a.set_xlabel("time (ps)")
        a.legend(fontsize=7)
    fig.suptitle("gbnet water: stability runs (bench/lammps/stability.sh)")
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)

    fmt = lambda v, p: "–" if not np.isfinite(v) else f"{v:.{p}f}"
    sci = lambda v: "–" if not np.isfinite(v) else f"{v:+.1e}"
    lines = [
        "| run | time (ps) | mean T (K) | NVE drift (meV/atom/ps) | max abs(E−E0) (meV/atom) | density start → end (g/cm³) "
        "| atoms start → end | thermo lines with atoms closer than trained | with volume outside | O-O first peak (Å) | O-H first peak (Å) "
        f"| committee max_devi_f mean / max (eV/Å) | frames above {DEVI_TRUST_HI} eV/Å | first ion | first failure |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| training frames ({pattern}) | – | – | – | – | – | – | – | – | {ref_peaks['OO']:.3f} | {ref_peaks['OH']:.3f} | – | – | none | – |",
    ]
    for (label, tt, tm, drift, emax, r0, r1, a0, a1, close, vol, poo, poh, dmean, dmax, dshare, first_ion, failure) in rows:
        lines.append(f"| {label} | {tt:.1f} | {tm:.1f} | {sci(drift)} | {fmt(emax, 3)} | {r0:.3f} → {r1:.3f} | "
                     f"{a0} → {a1} | {close:.1f}% | {vol:.1f}% | {poo:.3f} ({poo - ref_peaks['OO']:+.3f}) | "
                     f"{poh:.3f} ({poh - ref_peaks['OH']:+.3f}) | {fmt(dmean, 3)} / {fmt(dmax, 3)} | "
                     f"{'–' if not np.isfinite(dshare) else f'{dshare:.1f}%'} | {first_ion} | {failure} |")
    with open(out_md, "a") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
