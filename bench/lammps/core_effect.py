#!/usr/bin/python3
"""What a potential's repulsive core changes along a trajectory.

    core_effect.py WITH_CORE.gbnet WITHOUT_CORE.gbnet TRAJ.lammpstrj [--types O,H] [--every K]

Evaluates every K-th dump frame (id type x y z, orthogonal box) with both
potentials through the Python binding (build/libgbnet.so, or GBNET_LIBRARY)
and prints per frame and overall: the energy difference (meV/atom) and the
largest difference of an atom's force (eV/A), with the share of frames where
the two agree exactly. The core acts only on pairs closer than its outer
radii, so a run of the core-less file whose frames the core leaves (nearly)
unchanged stands for the file with it (bench/lammps/stability-runs/README.md).
"""
import argparse
import os
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "python"))
sys.path.insert(0, here)

from ase import Atoms  # noqa: E402

import gbnet  # noqa: E402
from stability import dump_frames  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("with_core")
    p.add_argument("without_core")
    p.add_argument("traj")
    p.add_argument("--types", default="O,H", help="element of each LAMMPS type (default O,H)")
    p.add_argument("--every", type=int, default=1)
    p.add_argument("--quiet", action="store_true", help="only the summary")
    a = p.parse_args()
    symbols = a.types.split(",")
    pots = [gbnet.Potential(a.with_core), gbnet.Potential(a.without_core)]
    de, df, same, n = [], [], 0, 0
    for k, (step, lengths, _, types, x) in enumerate(dump_frames(a.traj)):
        if k % a.every:
            continue
        atoms = Atoms([symbols[t - 1] for t in types], positions=x, cell=np.diag(lengths), pbc=True)
        r = [pot.evaluate(atoms) for pot in pots]
        e = (r[0].energy - r[1].energy) / len(atoms) * 1000.0
        f = float(np.max(np.linalg.norm(np.asarray(r[0].forces) - np.asarray(r[1].forces), axis=1)))
        de.append(e)
        df.append(f)
        same += e == 0.0 and f == 0.0
        n += 1
        if not a.quiet:
            print(f"{step} {e:.3e} {f:.3e}")
    de, df = np.array(de), np.array(df)
    print(f"# {n} frames: identical in {same} ({100.0 * same / max(n, 1):.1f}%); "
          f"energy difference max {np.max(np.abs(de)):.3e} meV/atom, mean {np.mean(de):.3e}; "
          f"largest force difference on an atom max {np.max(df):.3e} eV/A, "
          f"median {np.median(df):.3e}, 99th percentile {np.percentile(df, 99):.3e}")


if __name__ == "__main__":
    main()
