"""Plots of gbnet training and evaluation, as PNG files.

* learning_curves(LOG.csv): train and validation energy, force (and stress)
  RMSE per epoch, and the learning rate, from `gbnet train`'s CSV log.
* parity(predicted, reference): predicted against reference energies per
  atom, force components per element and stress components, with MAE and
  RMSE in the legends.

Command line (also `gbnet plot ...`):

    python3 -m gbnet.plot train LOG.csv [-o OUT.png]
    python3 -m gbnet.plot parity MODEL DATA... [--subset KEY=PATTERN]... [--threads N]
                                 [--precision double|float] [-o OUT.png]
    python3 -m gbnet.plot parity --predictions PRED.extxyz [MODEL] DATA... [--subset ...] [-o OUT.png]

(PRED.extxyz from `gbnet eval --write-predictions`, DATA the labelled
data it was evaluated on, with the same --subset filters).
"""
import argparse
import csv
import math
import os
import sys

import numpy as np

__all__ = ["learning_curves", "learning_curves_figure", "parity", "parity_figure", "parity_from_model",
           "element_colors", "read_log", "main"]

GPA_PER_EV_A3 = 160.21766208  # 1 eV/Å^3 in GPa

# fixed colours by element so that every plot shows an element the same way
_ELEMENT_COLORS = {1: "#1f77b4", 6: "#7f7f7f", 7: "#2ca02c", 8: "#d62728", 73: "#9467bd", 9: "#17becf",
                   16: "#bcbd22", 15: "#ff7f0e", 14: "#8c564b", 3: "#e377c2"}
_FALLBACK = ["#ff7f0e", "#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#9467bd", "#1f77b4"]


def element_colors(numbers):
    """A colour for each atomic number, the same in every plot."""
    colors = {}
    spare = iter(_FALLBACK * 8)
    for z in sorted(set(int(z) for z in numbers)):
        colors[z] = _ELEMENT_COLORS.get(z) or next(spare)
    return colors


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    return plt


def _save(fig, output):
    """Writes the figure atomically: nothing half-written at output on failure."""
    output = os.fspath(output)
    partial = f"{output}.partial-{os.getpid()}.png"
    try:
        if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
            raise FileNotFoundError(f"gbnet.plot: the folder of {output} does not exist")
        fig.savefig(partial, dpi=120)
        os.replace(partial, output)
    finally:
        _pyplot().close(fig)
        if os.path.exists(partial):
            os.remove(partial)
    return output


# ------------------------------------------------------------ learning curves

def read_log(path):
    """The columns of a `gbnet train` CSV log as float arrays (NaN where empty)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"gbnet.plot: training log not found: {path}")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0][:2] != ["epoch", "steps"]:
        raise ValueError(f"{path}:1: expected the header of a gbnet train log (epoch,steps,lr,...)")
    header = rows[0]
    columns = {name: [] for name in header}
    for line_number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{line_number}: expected {len(header)} comma-separated values, got {len(row)}")
        for name, value in zip(header, row):
            try:
                columns[name].append(float(value) if value != "" else math.nan)
            except ValueError:
                raise ValueError(f"{path}:{line_number}: {name} = '{value}' is not a number") from None
    if len(rows) < 2:
        raise ValueError(f"{path}: the log has no epochs yet")
    return {name: np.array(values) for name, values in columns.items()}


def learning_curves(log, output=None, title=None):
    """PNG of the learning curves of a `gbnet train` log; returns its path
    (default: the log's name with .png)."""
    if output is None:
        output = os.path.splitext(os.fspath(log))[0] + ".png"
    return _save(learning_curves_figure(log, title), output)


def learning_curves_figure(log, title=None):
    """The matplotlib figure of learning_curves (the caller closes it)."""
    data = read_log(log)
    panels = [("energy RMSE (meV/atom)", "train_energy_rmse_meV_atom", "valid_energy_rmse_meV_atom"),
              ("force RMSE (meV/Å)", "train_force_rmse_meV_A", "valid_force_rmse_meV_A")]
    if np.any(np.isfinite(data["train_stress_rmse_GPa"])) or np.any(np.isfinite(data["valid_stress_rmse_GPa"])):
        panels.append(("stress RMSE (GPa)", "train_stress_rmse_GPa", "valid_stress_rmse_GPa"))
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.2 * (len(panels) + 1), 3.8), constrained_layout=True)
    epoch = data["epoch"]
    best = data["best"] > 0
    for ax, (label, train_key, valid_key) in zip(axes, panels):
        for key, name, color in ((train_key, "train", "#1f77b4"), (valid_key, "validation", "#d62728")):
            y = data[key]
            ok = np.isfinite(y) & (y > 0)
            if np.any(ok):
                ax.plot(epoch[ok], y[ok], "-", color=color, lw=1.5,
                        label=f"{name} (last {y[ok][-1]:.3g})")
        v = data[valid_key]
        if np.any(best & np.isfinite(v)):
            last_best = np.flatnonzero(best & np.isfinite(v))[-1]
            ax.plot(epoch[last_best], v[last_best], "*", color="#d62728", ms=11,
                    label=f"best model (epoch {int(epoch[last_best])})")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes[-1]
    ax.plot(epoch, data["lr"], "-", color="#2ca02c", lw=1.5)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(title or f"gbnet training: {os.path.basename(os.fspath(log))}")
    return fig


# ------------------------------------------------------------ parity

def _labels(atoms):
    from .data import frame_labels
    return frame_labels(atoms)


def _errors(predicted, reference):
    d = np.asarray(predicted) - np.asarray(reference)
    return float(np.mean(np.abs(d))), float(np.sqrt(np.mean(d * d)))


def _parity_axes(ax, label, unit):
    lo, hi = ax.get_xlim()
    lo2, hi2 = ax.get_ylim()
    lo, hi = min(lo, lo2), max(hi, hi2)
    ax.plot([lo, hi], [lo, hi], "-", color="black", lw=0.8, zorder=0)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(f"reference {label} ({unit})")
    ax.set_ylabel(f"gbnet {label} ({unit})")
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.3)


def parity(predicted, reference, output, title=None):
    """PNG of predicted against reference labels (parity_figure); returns its path."""
    return _save(parity_figure(predicted, reference, title), output)


def parity_figure(predicted, reference, title=None):
    """Predicted against reference labels as a matplotlib figure (the caller closes it).

    predicted: Predictions (Potential.evaluate) or ase.Atoms carrying the
    predicted labels (a calculator, or read from `gbnet eval
    --write-predictions`); reference: ase.Atoms with the reference labels
    (gbnet.read_data), in the same order. Energies are per atom (meV/atom
    errors); forces are per Cartesian component, coloured by element (meV/Å
    errors); stresses (GPa) where both have one.
    """
    from .potential import Prediction
    if len(predicted) != len(reference):
        raise ValueError(f"gbnet.plot: {len(predicted)} predicted structures but {len(reference)} reference ones")
    if len(reference) == 0:
        raise ValueError("gbnet.plot: no structures to plot")
    e_pred, e_ref, s_pred, s_ref = [], [], [], []
    f_pred, f_ref, f_z = [], [], []
    for k, (p, r) in enumerate(zip(predicted, reference)):
        n = len(r)
        if isinstance(p, Prediction):
            pe, pf, ps = p.energy, p.forces, p.stress
        else:
            if len(p) != n or not np.allclose(p.get_positions(), r.get_positions(), atol=1e-6):
                raise ValueError(f"gbnet.plot: predicted structure {k} is not reference structure {k} "
                                 f"({r.info.get('gbnet_source', '')}): different atoms or positions")
            pe, pf, virial = _labels(p)
            ps = _stress(virial, p)
        re_, rf, rvirial = _labels(r)
        rs = _stress(rvirial, r)
        if pe is not None and re_ is not None:
            e_pred.append(pe / n)
            e_ref.append(re_ / n)
        if pf is not None and rf is not None:
            f_pred.append(np.asarray(pf).reshape(-1))
            f_ref.append(np.asarray(rf).reshape(-1))
            f_z.append(np.repeat(r.get_atomic_numbers(), 3))
        if ps is not None and rs is not None:
            s_pred.append(np.asarray(ps) * GPA_PER_EV_A3)
            s_ref.append(np.asarray(rs) * GPA_PER_EV_A3)
    panels = (1 if e_ref else 0) + (1 if f_ref else 0) + (1 if s_ref else 0)
    if panels == 0:
        raise ValueError("gbnet.plot: the reference structures have no energy, force or stress labels")
    plt = _pyplot()
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 4.8), squeeze=False, constrained_layout=True)
    axes = list(axes[0])
    if e_ref:
        ax = axes.pop(0)
        e_pred, e_ref = np.array(e_pred), np.array(e_ref)
        mae, rmse = _errors(e_pred, e_ref)
        ax.plot(e_ref, e_pred, "o", ms=3.5, alpha=0.7, color="#444444",
                label=f"{len(e_ref)} structures\nMAE {1000 * mae:.3g} meV/atom\nRMSE {1000 * rmse:.3g} meV/atom")
        ax.ticklabel_format(useOffset=False)
        _parity_axes(ax, "energy", "eV/atom")
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(4))  # long absolute energies: few ticks that do not overlap
        ax.yaxis.set_major_locator(MaxNLocator(6))
        ax.legend(fontsize=8, loc="upper left")
        ax.set_title("energy per atom")
    if f_ref:
        ax = axes.pop(0)
        fp, fr, fz = np.concatenate(f_pred), np.concatenate(f_ref), np.concatenate(f_z)
        from ase.data import chemical_symbols
        colors = element_colors(fz)
        # all points in one shuffled layer, so that no element hides another;
        # one legend entry per element
        order = np.random.default_rng(0).permutation(len(fz))
        ax.scatter(fr[order], fp[order], s=3, alpha=0.5, c=[colors[int(z)] for z in fz[order]], linewidths=0)
        for z, color in colors.items():
            m = fz == z
            mae, rmse = _errors(fp[m], fr[m])
            ax.plot([], [], "o", ms=4, color=color,
                    label=f"{chemical_symbols[z]}: MAE {1000 * mae:.3g}, RMSE {1000 * rmse:.3g} meV/Å")
        mae, rmse = _errors(fp, fr)
        ax.plot([], [], " ", label=f"all: MAE {1000 * mae:.3g}, RMSE {1000 * rmse:.3g} meV/Å")
        _parity_axes(ax, "force component", "eV/Å")
        ax.legend(fontsize=8, loc="upper left")
        ax.set_title("forces by element")
    if s_ref:
        ax = axes.pop(0)
        sp, sr = np.concatenate(s_pred), np.concatenate(s_ref)
        mae, rmse = _errors(sp, sr)
        ax.plot(sr, sp, "s", ms=3, alpha=0.6, color="#9467bd",
                label=f"{len(s_ref)} cells x 6 components\nMAE {mae:.3g} GPa\nRMSE {rmse:.3g} GPa")
        _parity_axes(ax, "stress", "GPa")
        ax.legend(fontsize=8, loc="upper left")
        ax.set_title("stress (Voigt components)")
    fig.suptitle(title or "gbnet parity")
    return fig


def _stress(virial, atoms):
    if virial is None or atoms.cell.volume <= 1e-12:
        return None
    full = -np.asarray(virial).reshape(3, 3) / atoms.cell.volume
    full = 0.5 * (full + full.T)
    return np.array([full[0, 0], full[1, 1], full[2, 2], full[1, 2], full[0, 2], full[0, 1]])


def parity_from_model(model, data, output, subset=None, precision="double", threads=0, title=None):
    """Evaluates a potential (a path or a Potential) on labelled data (paths,
    or ase.Atoms with labels) and writes the parity PNG; returns its path."""
    from .data import read_data
    from .potential import Potential
    potential = model if isinstance(model, Potential) else Potential(model, precision=precision, threads=threads)
    reference = read_data(data, subset=subset) if isinstance(data, (str, os.PathLike)) or (
        isinstance(data, (list, tuple)) and data and isinstance(data[0], (str, os.PathLike))) else list(data)
    predicted = []
    for start in range(0, len(reference), 64):  # packed calls of up to 64 structures
        predicted += potential.evaluate(reference[start:start + 64])
    name = os.path.basename(potential.path)
    return parity(predicted, reference, output, title=title or f"gbnet parity: {name} ({len(reference)} structures)")


# ------------------------------------------------------------ command line

def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].endswith(".csv"):
        argv.insert(0, "train")
    parser = argparse.ArgumentParser(prog="gbnet plot", description="PNG plots of gbnet training logs and predictions")
    sub = parser.add_subparsers(dest="kind", required=True)
    t = sub.add_parser("train", help="learning curves of a gbnet train CSV log")
    t.add_argument("log")
    t.add_argument("-o", "--output", help="PNG file (default: LOG with .png)")
    p = sub.add_parser("parity", help="predicted against reference energies, forces and stresses")
    p.add_argument("paths", nargs="+", metavar="[MODEL] DATA", help="a .gbnet model (unless --predictions) and data")
    p.add_argument("--predictions", help="predictions written by gbnet eval --write-predictions")
    p.add_argument("--subset", action="append", default=[], help="KEY=PATTERN filter as in gbnet eval")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--precision", choices=("double", "float"), default="double")
    p.add_argument("-o", "--output", help="PNG file (default: parity.png)")
    args = parser.parse_args(argv)
    try:
        if args.kind == "train":
            path = learning_curves(args.log, args.output)
        else:
            from .data import read_data
            paths = list(args.paths)
            model = paths.pop(0) if paths[0].endswith(".gbnet") else None
            if not paths:
                parser.error("parity: no DATA given")
            output = args.output or "parity.png"
            if args.predictions:
                reference = read_data(paths, subset=args.subset)
                predicted = read_data(args.predictions)
                title = f"gbnet parity: {os.path.basename(args.predictions)} ({len(reference)} structures)"
                path = parity(predicted, reference, output, title=title)
            elif model is None:
                parser.error("parity: give a MODEL (.gbnet) or --predictions")
            else:
                path = parity_from_model(model, paths, output, subset=args.subset,
                                         precision=args.precision, threads=args.threads)
    except (OSError, ValueError, RuntimeError) as e:
        print(f"gbnet plot: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
