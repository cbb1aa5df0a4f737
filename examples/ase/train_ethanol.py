#!/usr/bin/env python3
"""Trains a small ethanol potential from Python on rMD17 frames given as
lists of ase.Atoms (read with ase.io), shows its learning curves and its
parity plot on the test frames, and uses it as an ASE calculator.

    python3 examples/ase/train_ethanol.py [--minutes 3] [--train 200] [--out out/ase_ethanol]

The same keys as a `gbnet train` configuration file (docs/training.md) are
keywords of gbnet.train. Ctrl-C stops with a checkpoint; run again with
--resume OUT/ethanol.ckpt to continue.
"""
import argparse
import os

import _setup  # noqa: F401
import ase.io

import gbnet
from gbnet import plot

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--minutes", type=float, default=3.0, help="training time limit")
parser.add_argument("--train", type=int, default=200, help="training frames (of 1000)")
parser.add_argument("--test", type=int, default=200, help="test frames (of 1000)")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--resume", help="a checkpoint to continue from")
parser.add_argument("--out", default=os.path.join("out", "ase_ethanol"))
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)

folder = os.path.join(_setup.DATA, "rmd17_ethanol")
train_frames = ase.io.read(os.path.join(folder, "rmd17_ethanol_train.extxyz"), index=f":{args.train}")
test_frames = ase.io.read(os.path.join(folder, "rmd17_ethanol_test.extxyz"), index=f":{args.test}")
print(f"{len(train_frames)} training and {len(test_frames)} test frames of ethanol (ase.Atoms)")

out = lambda name: os.path.join(args.out, name)  # noqa: E731
potential = gbnet.train(
    train_data=train_frames, valid_data=test_frames,
    features=64, blocks=3, rbf=32, readout=32, cutoff=5.0,
    energy_scale="force_rms", w_energy=10, w_forces=1,
    batch_size=16, lr=2e-3, lr_decay=0.995, lr_min=1e-4, epochs=100000, time_limit=args.minutes,
    threads=args.threads, seed=1, output=out("ethanol.gbnet"), log=out("ethanol.csv"),
    checkpoint=out("ethanol.ckpt"), resume=args.resume)
print(f"trained: {potential}")

curves = plot.learning_curves(out("ethanol.csv"), out("ethanol_learning.png"))
parity = plot.parity_from_model(potential, test_frames, out("ethanol_parity.png"),
                                title=f"ethanol, {len(test_frames)} rMD17 test frames")
print(f"pictures: {curves} (learning curves), {parity} (parity on the test frames)")

# the trained potential as an ASE calculator
molecule = test_frames[0].copy()
molecule.calc = potential.calculator()
print(f"test frame 0: E = {molecule.get_potential_energy():.4f} eV "
      f"(reference {test_frames[0].get_potential_energy():.4f} eV)")
