#!/usr/bin/env python3
"""Relaxes the 64-molecule water box (192 atoms, periodic) with ASE's FIRE
and the gbnet calculator of potentials/water.gbnet, then (with --cell) the
cell as well, and writes the result as extended XYZ.

    python3 examples/ase/relax.py [--fmax 0.05] [--steps 300] [--cell] [-o relaxed.extxyz]
"""
import argparse
import os

import _setup  # noqa: F401  (source checkout: finds the package)
import numpy as np
from ase.io import write
from ase.optimize import FIRE

import gbnet
from gbnet.calculator import GBNetCalculator

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--potential", default=os.path.join(_setup.REPO, "potentials", "water.gbnet"))
parser.add_argument("--data", default=os.path.join(_setup.DATA, "deepmd_water", "deepmd_water.extxyz"))
parser.add_argument("--fmax", type=float, default=0.05, help="eV/Å")
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--cell", action="store_true", help="relax the cell too (ASE's ExpCellFilter, uses the stress)")
parser.add_argument("-o", "--output", default="relaxed.extxyz")
args = parser.parse_args()

atoms = gbnet.read_data(args.data)[0]          # frame 0 of the DeePMD water data
atoms.calc = GBNetCalculator(args.potential)
e0 = atoms.get_potential_energy()
print(f"start: {len(atoms)} atoms, E = {e0:.4f} eV, max |F| = {np.abs(atoms.get_forces()).max():.3f} eV/Å, "
      f"pressure = {-np.mean(atoms.get_stress()[:3]) * 160.21766:.3f} GPa")
target = atoms
if args.cell:
    from ase.constraints import ExpCellFilter
    target = ExpCellFilter(atoms)
FIRE(target, logfile="-").run(fmax=args.fmax, steps=args.steps)
e1 = atoms.get_potential_energy()
print(f"end:   E = {e1:.4f} eV ({(e1 - e0) / len(atoms) * 1000:+.2f} meV/atom), "
      f"max |F| = {np.linalg.norm(atoms.get_forces(), axis=1).max():.3f} eV/Å, volume {atoms.get_volume():.2f} Å^3")
write(args.output, atoms)
print(f"wrote {args.output}")
