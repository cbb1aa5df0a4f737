#!/usr/bin/python3
"""Ions and collapsed pairs in a water trajectory (LAMMPS dump: id type x y z, orthogonal box).

    water_ions.py TRAJ [--every K] [--from STEP] [--to STEP] [--types O,H]

Every hydrogen is given to its nearest oxygen (minimum image); an oxygen with
other than 2 hydrogens is an ion (1: OH-, 3: H3O+, 0 or 4: worse). Per frame it
prints the step, the ions (atom id: hydrogens), the closest O-O pair and the
longest O-H bond; at the end the first frame with an ion and the first with an
O-O pair closer than 2.0 A. Neutral liquid water (the DeePMD training data)
has no ions, so an ion in an MD of a model trained on it is chemistry the model
never learned (bench/lammps/stability-runs/README.md).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def min_image_distances(a, b, lengths):
    d = a[:, None, :] - b[None, :, :]
    d -= lengths * np.round(d / lengths)
    return np.sqrt((d * d).sum(-1))


def ions(lengths, is_o, x):
    """(ions [(index among all atoms, hydrogens)], closest O-O (i, j, A), longest O-H bond A) of one frame:
    every hydrogen (not is_o) is given to its nearest oxygen; an O with other than 2 is an ion."""
    o, h = np.where(is_o)[0], np.where(~is_o)[0]
    if len(o) < 2 or len(h) == 0:
        return [], (-1, -1, float("nan")), float("nan")
    r_oh = min_image_distances(x[o], x[h], lengths)
    owner = r_oh.argmin(0)
    count = np.bincount(owner, minlength=len(o))
    r_oo = min_image_distances(x[o], x[o], lengths)
    np.fill_diagonal(r_oo, np.inf)
    i, j = np.unravel_index(r_oo.argmin(), r_oo.shape)
    found = [(int(o[k]), int(count[k])) for k in np.where(count != 2)[0]]
    return found, (int(o[i]), int(o[j]), float(r_oo[i, j])), float(r_oh[owner, np.arange(len(h))].max())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("traj")
    p.add_argument("--every", type=int, default=1, help="every K-th frame (default 1)")
    p.add_argument("--from", dest="lo", type=int, default=0, help="first step")
    p.add_argument("--to", dest="hi", type=int, default=None, help="last step")
    p.add_argument("--types", default="O,H", help="element of each LAMMPS type (default O,H)")
    a = p.parse_args()
    types = a.types.split(",")
    if "O" not in types or "H" not in types:
        sys.exit("water_ions.py: --types must name O and H")
    t_o, t_h = types.index("O") + 1, types.index("H") + 1
    first_ion = first_collapse = None
    k = 0
    print("# step  ions (O id: H count)  closest O-O (ids, A)  longest O-H bond (A)")
    from stability import dump_frames  # here, not at the top: stability.py imports ions from this file

    for step, lengths, ids, kind, x in dump_frames(a.traj):
        if step < a.lo or (a.hi is not None and step > a.hi):
            continue
        k += 1
        if (k - 1) % a.every:
            continue
        if not np.any(kind == t_o) or not np.any(kind == t_h):
            print(f"{step}  no O or no H left")
            continue
        keep = (kind == t_o) | (kind == t_h)
        ids, x, is_o = ids[keep], x[keep], kind[keep] == t_o
        found, (i, j, r_oo), bond = ions(lengths, is_o, x)
        ions_here = [(int(ids[n]), c) for n, c in found]
        shown = " ".join(f"{n}:{c}" for n, c in ions_here[:8]) + (f" (+{len(found) - 8} more)" if len(found) > 8 else "")
        pair = f"{ids[i]}-{ids[j]} {r_oo:.3f}" if i >= 0 else "-"
        print(f"{step}  {shown or '-'}  {pair}  {bond:.3f}")
        if found and first_ion is None:
            first_ion = step
        if r_oo < 2.0 and first_collapse is None:
            first_collapse = step
    print(f"# first frame with an ion: {first_ion if first_ion is not None else 'none'}; "
          f"first with O-O < 2.0 A: {first_collapse if first_collapse is not None else 'none'}")


if __name__ == "__main__":
    main()
