#!/usr/bin/python3
"""PyTorch reference of the gbnet SchNet model, for the benchmark (bench/README.md).

Reads the weights from a .gbnet file (tests/reference/gbnet_file.py) and a
structure dumped by `bench_gbnet run --dump`, which also holds gbnet's energy
and forces on it. Evaluates energy + forces the way a PyTorch user would
(SchNetPack style: gather, index_add_ scatter, forces by autograd), times
warm-up + median of the timed steps for each thread count, and compares with
gbnet's numbers. Prints one "RESULT engine=torch ..." line per thread count.

    torch_reference.py --model m.gbnet --structure s.txt --dtype float64 --threads 1,2 --steps 5

Timed part: positions -> edge vectors -> energy -> autograd forces, given a
precomputed edge list (centers, neighbors, image offsets); the neighbor
search is outside the timed part and reported separately (nlist_s).
"""
import argparse
import math
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from gbnet_file import read_gbnet, unpack_params  # noqa: E402

LN2 = math.log(2.0)


def read_structure(path):
    """(precision, cell [3][3], gbnet energy, species [n], positions [n][3], gbnet forces [n][3])."""
    with open(path) as f:
        n_text, precision = f.readline().split()
        cell = np.array(f.readline().split(), dtype=np.float64).reshape(3, 3)
        energy = float(f.readline())
        rows = np.loadtxt(f, dtype=np.float64, ndmin=2)
    if rows.shape != (int(n_text), 7):
        raise ValueError(f"{path}: expected {n_text} atom lines of 7 numbers, got shape {rows.shape}")
    return precision, cell, energy, rows[:, 0].astype(np.int64), rows[:, 1:4].copy(), rows[:, 4:7].copy()


def neighbor_edges(positions, cell, cutoff, chunk=512):
    """All ordered pairs (i, j) with minimum-image distance < cutoff, as
    (centers, neighbors, image offsets [E][3]) with r_ij = r_j - r_i + offset.

    Brute force over all pairs in chunks of centers. Minimum image is exact
    only for an orthorhombic box whose sides all exceed 2 * cutoff (then each
    pair has at most one image within the cutoff), which is checked."""
    if np.any(np.abs(cell - np.diag(np.diag(cell))) > 1e-12):
        raise ValueError("the reference neighbor search needs an orthorhombic cell")
    lengths = np.diag(cell)
    if np.any(lengths <= 2 * cutoff):
        raise ValueError(f"box sides {lengths} must exceed 2 * cutoff = {2 * cutoff} for minimum image")
    centers, neighbors, offsets = [], [], []
    n = len(positions)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        delta = positions[None, :, :] - positions[start:stop, None, :]   # [c][n][3] r_j - r_i
        shift = -lengths * np.round(delta / lengths)
        dist2 = np.sum((delta + shift) ** 2, axis=2)
        dist2[np.arange(stop - start), np.arange(start, stop)] = np.inf  # no self pair
        ci, nj = np.nonzero(dist2 < cutoff * cutoff)
        centers.append(ci + start)
        neighbors.append(nj)
        offsets.append(shift[ci, nj])
    return np.concatenate(centers), np.concatenate(neighbors), np.concatenate(offsets)


class SchNet(torch.nn.Module):
    """The model of docs/model.md with gbnet's weights."""

    def __init__(self, model, dtype):
        super().__init__()
        self.F, self.T, self.K, self.R = model["F"], model["T"], model["K"], model["R"]
        self.rc = float(model["cutoff"])
        P = unpack_params(model["params"], self.F, self.T, self.K, self.R, len(model["atomic_numbers"]))
        self.p = {k: torch.tensor(np.array(v), dtype=dtype) for k, v in P.items()}
        self.scale, self.shift = float(model["scale"]), float(model["shift"])
        self.e_ref = torch.tensor(np.asarray(model["e_ref"]), dtype=dtype)
        self.mu = torch.arange(self.K, dtype=dtype) * (self.rc / (self.K - 1))
        width = self.rc / (self.K - 1)
        self.inv_2w2 = 1.0 / (2 * width * width)
        # softplus returns x above the threshold; e^-threshold is below rounding there.
        self.threshold = 37.0 if dtype == torch.float64 else 20.0

    def ssp(self, x):
        return torch.nn.functional.softplus(x, beta=1.0, threshold=self.threshold) - LN2

    def forward(self, positions, species, centers, neighbors, offsets):
        p = self.p
        vec = positions[neighbors] - positions[centers] + offsets          # [E][3]
        d = torch.linalg.norm(vec, dim=1)                                   # [E]
        g = torch.exp(-((d[:, None] - self.mu[None, :]) ** 2) * self.inv_2w2)   # [E][K]
        fc = 0.5 * (torch.cos(d * (math.pi / self.rc)) + 1.0)               # [E]
        x = p["embedding"][species]                                         # [N][F]
        for t in range(self.T):
            b = lambda name: p[f"block{t}.{name}"]
            h = x @ b("in_w").T
            W = (self.ssp(g @ b("filter1_w").T + b("filter1_b")) @ b("filter2_w").T + b("filter2_b")) * fc[:, None]
            m = torch.zeros_like(h).index_add_(0, centers, h[neighbors] * W)
            x = x + self.ssp(m @ b("out1_w").T + b("out1_b")) @ b("out2_w").T + b("out2_b")
        eps = self.ssp(x @ p["readout1_w"].T + p["readout1_b"]) @ p["readout2_w"][0] + p["readout2_b"][0]
        return torch.sum(self.scale * eps + self.shift + self.e_ref[species])


def energy_and_forces(net, positions, species, centers, neighbors, offsets):
    pos = positions.detach().requires_grad_(True)
    energy = net(pos, species, centers, neighbors, offsets)
    (grad,) = torch.autograd.grad(energy, pos)
    return energy.detach(), -grad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--structure", required=True, help="file written by bench_gbnet run --dump")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--flush-denormal", default="1",
                    help="comma-separated 0/1: run with torch.set_flush_denormal off and/or on (default 1: on, "
                         "as gbnet never computes with subnormals; Intel cores are ~100x slower on them)")
    args = ap.parse_args()

    model = read_gbnet(args.model)
    gb_precision, cell, gb_energy, species_np, pos_np, gb_forces = read_structure(args.structure)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32

    t0 = time.perf_counter()
    ci, nj, off = neighbor_edges(pos_np, cell, float(model["cutoff"]))
    nlist_s = time.perf_counter() - t0

    net = SchNet(model, dtype)
    species = torch.tensor(species_np)
    centers, neighbors = torch.tensor(ci), torch.tensor(nj)
    offsets = torch.tensor(off, dtype=dtype)
    positions = torch.tensor(pos_np, dtype=dtype)
    n_atoms = len(species_np)

    runs = [(int(flush), int(threads)) for flush in args.flush_denormal.split(",") for threads in args.threads.split(",")]
    for flush, threads in runs:
        if not torch.set_flush_denormal(bool(flush)) and flush:
            print(f"torch_reference.py: this CPU has no flush-denormal mode; skipping flush_denormal=1", file=sys.stderr)
            continue
        torch.set_num_threads(threads)
        times = []
        for k in range(args.warmup + args.steps):
            start = time.perf_counter()
            energy, forces = energy_and_forces(net, positions, species, centers, neighbors, offsets)
            stop = time.perf_counter()
            if k >= args.warmup:
                times.append(stop - start)
        step_s = float(np.median(times))
        e = float(energy)
        f = forces.double().numpy()
        max_force = float(np.max(np.abs(gb_forces)))
        d_energy = abs(e - gb_energy)
        d_force = float(np.max(np.abs(f - gb_forces)))
        rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"RESULT engine=torch model={args.model} tabulated={int(model['table'] is not None)} "
              f"F={model['F']} K={model['K']} T={model['T']} atoms={n_atoms} edges={len(ci)} threads={threads} "
              f"flush_denormal={flush} "
              f"precision={'double' if dtype == torch.float64 else 'float'} steps={args.steps} "
              f"step_s={step_s:.6g} min_step_s={min(times):.6g} us_per_atom={1e6 * step_s / n_atoms:.6g} "
              f"nlist_s={nlist_s:.6g} maxrss_kb={rss_kb} energy={e:.12g} "
              f"vs_gbnet={gb_precision} gbnet_energy={gb_energy:.12g} d_energy={d_energy:.3g} "
              f"rel_d_energy={d_energy / max(abs(gb_energy), 1e-300):.3g} d_force_max={d_force:.3g} "
              f"rel_d_force={d_force / max(max_force, 1e-300):.3g}", flush=True)


if __name__ == "__main__":
    main()
