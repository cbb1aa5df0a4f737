#!/usr/bin/env python3
"""Langevin MD of the water box (192 atoms) at 300 K with the gbnet
calculator: velocities from Maxwell-Boltzmann, 0.5 fs steps, temperature
and energies printed, frames written as extended XYZ.

    python3 examples/ase/md_langevin.py [--steps 2000] [--temperature 300] [--precision float] [-o md.extxyz]
"""
import argparse
import os
import time

import _setup  # noqa: F401
import numpy as np
from ase import units
from ase.io import write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

import gbnet
from gbnet.calculator import GBNetCalculator

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--potential", default=os.path.join(_setup.REPO, "potentials", "water.gbnet"))
parser.add_argument("--data", default=os.path.join(_setup.DATA, "deepmd_water", "deepmd_water.extxyz"))
parser.add_argument("--steps", type=int, default=2000)
parser.add_argument("--temperature", type=float, default=300.0, help="K")
parser.add_argument("--friction", type=float, default=0.01, help="1/fs")
parser.add_argument("--precision", choices=("double", "float"), default="float")
parser.add_argument("--threads", type=int, default=0)
parser.add_argument("--every", type=int, default=100, help="print and write every N steps")
parser.add_argument("-o", "--output", default="md.extxyz")
args = parser.parse_args()

atoms = gbnet.read_data(args.data)[0]
atoms.set_masses([15.999 if z == 8 else 1.008 for z in atoms.numbers])
atoms.calc = GBNetCalculator(args.potential, precision=args.precision, threads=args.threads)
MaxwellBoltzmannDistribution(atoms, temperature_K=args.temperature, rng=np.random.default_rng(1))
Stationary(atoms)
md = Langevin(atoms, timestep=0.5 * units.fs, temperature_K=args.temperature, friction=args.friction / units.fs,
              rng=np.random.default_rng(2))
if os.path.exists(args.output):
    os.remove(args.output)
start = time.time()


def report():
    epot, ekin = atoms.get_potential_energy(), atoms.get_kinetic_energy()
    t = md.get_number_of_steps() * 0.5 / 1000
    print(f"t = {t:6.3f} ps  T = {atoms.get_temperature():6.1f} K  Epot = {epot:.4f} eV  Etot = {epot + ekin:.4f} eV")
    write(args.output, atoms, append=True)


md.attach(report, interval=args.every)
report()
md.run(args.steps)
elapsed = time.time() - start
print(f"{args.steps} steps in {elapsed:.1f} s ({elapsed / args.steps / len(atoms) * 1e6:.1f} µs/atom/step); "
      f"frames in {args.output}")
