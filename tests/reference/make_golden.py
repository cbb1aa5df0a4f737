#!/usr/bin/python3
"""Generates tests/golden/: a small model written by the Python .gbnet writer
and the reference outputs of tests/reference/schnet_numpy.py for a few real
structures (see tests/golden/README.md for the text format).

    /usr/bin/python3 tests/reference/make_golden.py [--data DIR] [--out DIR]

Deterministic: fixed NumPy seeds; rerunning reproduces the files bit for bit.
"""
import argparse
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gbnet_file  # noqa: E402
import schnet_numpy  # noqa: E402

SEED = 20261120
# Model element order is deliberately not sorted by Z: element indices and
# atomic numbers must not be confused anywhere.
MODEL_ELEMENTS = ["O", "H", "C", "Ta"]
HYPER = dict(F=16, T=2, K=12, R=8, cutoff=4.0)


def make_model():
    rng = np.random.default_rng(SEED)
    F, T, K, R = HYPER["F"], HYPER["T"], HYPER["K"], HYPER["R"]
    z = [gbnet_file.SYMBOLS.index(s) for s in MODEL_ELEMENTS]
    blob = []
    for name, shape in gbnet_file.layout(F, T, K, R, len(z)):
        if name == "embedding":
            blob.append(rng.normal(size=shape))
        else:
            # Uniform(+-2/sqrt(fan_in)): twice torch.nn.Linear's range, so that the
            # untrained network is clearly nonlinear in d and forces are O(1) eV/A.
            fan_in = K if "filter1" in name else R if "readout2" in name else F
            bound = 2.0 / np.sqrt(fan_in)
            blob.append(rng.uniform(-bound, bound, size=shape))
    return {
        **HYPER,
        "atomic_numbers": z,
        "scale": 0.7,
        "shift": -0.3,
        "e_ref": np.array([-432.1, -13.6, -1029.4, -11.9]),
        "params": np.concatenate([b.ravel() for b in blob]),
        # Non-ASCII on purpose: provenance is UTF-8 and must round-trip bytewise.
        "provenance": f"gbnet golden test model (tests/reference/make_golden.py, numpy seed {SEED}); "
                      "random weights, not trained — H₂O, C₂H₅OH, Ta",
        "table": None,
    }


def make_tabulated_model():
    """Tiny model exercising the optional sections: a filter table, and an
    unknown optional section that readers must skip."""
    rng = np.random.default_rng(SEED + 1)
    F, T, K, R, n_points = 3, 2, 4, 2, 5
    n = gbnet_file.n_params(F, T, K, R, 1)
    return {
        "F": F, "T": T, "K": K, "R": R, "cutoff": 3.5,
        "atomic_numbers": [29],
        "scale": 1.25, "shift": 0.5, "e_ref": np.array([-3.75]),
        "params": rng.normal(size=n),
        "provenance": "tabulated test model\nline two: ünïcödé ✓",
        "table": {"n_points": n_points,
                  "values": rng.normal(size=(T, n_points, F)),
                  "derivs": rng.normal(size=(T, n_points, F))},
    }


def read_extxyz_frames(path, wanted):
    """Frames with the given 0-based indices: symbols, positions, cell, pbc."""
    frames, index = {}, 0
    with open(path) as f:
        while True:
            line = f.readline()
            if not line.strip():
                break
            n = int(line)
            header = f.readline()
            rows = [f.readline().split() for _ in range(n)]
            if index in wanted:
                lattice = re.search(r'Lattice="([^"]*)"', header)
                pbc = re.search(r'pbc="([^"]*)"', header)
                frames[index] = {
                    "symbols": [r[0] for r in rows],
                    "positions": np.array([[float(v) for v in r[1:4]] for r in rows]),
                    "cell": np.array(lattice.group(1).split(), dtype=float).reshape(3, 3) if lattice else np.zeros((3, 3)),
                    "pbc": [p == "T" for p in pbc.group(1).split()] if pbc else [False] * 3,
                }
            index += 1
            if index > max(wanted):
                break
    return [frames[i] for i in wanted]


def fmt(v):
    return "%.17g" % v


def write_golden(path, name, source, model_file, frame, result):
    symbols, pos, cell, pbc = frame["symbols"], frame["positions"], frame["cell"], frame["pbc"]
    lines = [
        "# gbnet golden reference v1 (format: tests/golden/README.md)",
        f"name {name}",
        f"model {model_file}",
        f"source {source}",
        f"n_atoms {len(symbols)}",
        "pbc " + " ".join("1" if p else "0" for p in pbc),
        "cell",
    ]
    lines += [" ".join(fmt(v) for v in row) for row in cell]
    lines.append("atoms")
    for s, p in zip(symbols, pos):
        lines.append(f"{s} {MODEL_ELEMENTS.index(s)} " + " ".join(fmt(v) for v in p))
    lines.append(f"n_edges {result['n_edges']}")
    lines.append(f"energy {fmt(result['energy'])}")
    lines.append("virial " + " ".join(fmt(v) for v in result["virial"].ravel()))
    lines.append("atom_energies")
    lines += [fmt(v) for v in result["atom_energies"]]
    lines.append("forces")
    lines += [" ".join(fmt(v) for v in f) for f in result["forces"]]
    lines.append("end")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_model_summary(path, model_file, model):
    """Hyperparameters, normalization and per-tensor checks of the blob, so the
    C test can verify the loaded weights and the layout order independently."""
    F, T, K, R = model["F"], model["T"], model["K"], model["R"]
    lines = [
        "# summary of " + model_file + " (format: tests/golden/README.md)",
        f"hyper {F} {T} {K} {R} {fmt(model['cutoff'])}",
        "elements " + " ".join(f"{s} {z}" for s, z in zip(MODEL_ELEMENTS, model["atomic_numbers"])),
        f"normalization {fmt(model['scale'])} {fmt(model['shift'])} " + " ".join(fmt(v) for v in model["e_ref"]),
        f"n_params {model['params'].size}",
    ]
    at = 0
    for name, shape in gbnet_file.layout(F, T, K, R, len(model["atomic_numbers"])):
        size = int(np.prod(shape))
        chunk = model["params"][at:at + size]
        lines.append(f"tensor {name} {at} {size} {fmt(chunk[0])} {fmt(chunk[-1])} {fmt(chunk.sum())}")
        at += size
    lines.append("end")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def displaced(frame, seed, amplitude):
    """The frame with every atom moved by a small deterministic random vector,
    so forces are far from zero even for atoms on lattice sites."""
    out = dict(frame)
    out["positions"] = frame["positions"] + np.random.default_rng(seed).uniform(-amplitude, amplitude,
                                                                                frame["positions"].shape)
    return out


def skewed_basis(frame):
    """Same crystal, strongly sheared lattice vectors (unimodular change of
    basis), atoms wrapped into the new cell: the energy must not change."""
    basis = np.array([[1, 0, 0], [1, 1, 0], [-1, 1, 1]], dtype=float)
    cell = basis @ frame["cell"]
    frac = frame["positions"] @ np.linalg.inv(cell)
    out = dict(frame)
    out["cell"] = cell
    out["positions"] = (frac - np.floor(frac)) @ cell
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "golden"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    model = make_model()
    model_file = "model_ohcta.gbnet"
    model_path = os.path.join(args.out, model_file)
    gbnet_file.write_gbnet(model_path, model)
    loaded = gbnet_file.read_gbnet(model_path)
    assert np.array_equal(loaded["params"].view(np.uint64), model["params"].view(np.uint64))
    assert loaded["provenance"] == model["provenance"]
    write_model_summary(os.path.join(args.out, "model_ohcta.txt"), model_file, loaded)

    tab = make_tabulated_model()
    tab_path = os.path.join(args.out, "model_tabulated.gbnet")
    data = gbnet_file.encode(tab, extra_sections=[(b"XTRA", gbnet_file.FLAG_OPTIONAL, b"skip me, I am from the future")])
    with open(tab_path, "wb") as f:
        f.write(data)
    back = gbnet_file.read_gbnet(tab_path)
    assert np.array_equal(back["table"]["values"], tab["table"]["values"])
    write_model_summary_tabulated(os.path.join(args.out, "model_tabulated.txt"), tab)

    eth = os.path.join(args.data, "rmd17_ethanol", "rmd17_ethanol_test.extxyz")
    water = os.path.join(args.data, "deepmd_water", "deepmd_water.extxyz")
    ta = os.path.join(args.data, "fitsnap_ta", "fitsnap_ta.extxyz")
    e0, e1 = read_extxyz_frames(eth, [0, 500])
    (w0,) = read_extxyz_frames(water, [0])
    bcc, fcc = read_extxyz_frames(ta, [49, 140])
    fcc_moved = displaced(fcc, SEED + 3, 0.1)
    cases = [
        ("ethanol_0", "rmd17_ethanol/rmd17_ethanol_test.extxyz frame 0", e0),
        ("ethanol_500", "rmd17_ethanol/rmd17_ethanol_test.extxyz frame 500", e1),
        ("water_0", "deepmd_water/deepmd_water.extxyz frame 0", w0),
        ("ta_bcc_2", "fitsnap_ta/fitsnap_ta.extxyz frame 49 (Elastic_BCC), atoms displaced by "
                     f"uniform(-0.1,0.1) A, numpy seed {SEED + 2}", displaced(bcc, SEED + 2, 0.1)),
        ("ta_fcc_4_skewed", "fitsnap_ta/fitsnap_ta.extxyz frame 140 (Elastic_FCC), atoms displaced by "
                            f"uniform(-0.1,0.1) A (numpy seed {SEED + 3}), cell rebased to rows a, a+b, b+c-a, "
                            "atoms wrapped", skewed_basis(fcc_moved)),
    ]
    for name, source, frame in cases:
        species = [MODEL_ELEMENTS.index(s) for s in frame["symbols"]]
        result = schnet_numpy.evaluate(loaded, species, frame["positions"], frame["cell"], frame["pbc"])
        f_err, v_err = schnet_numpy.self_check(loaded, species, frame["positions"], frame["cell"], frame["pbc"])
        scale = max(1.0, np.abs(result["forces"]).max())
        if f_err > 1e-6 * scale or v_err > 1e-6 * max(1.0, np.abs(result["virial"]).max()):
            raise SystemExit(f"{name}: analytic gradients disagree with finite differences "
                             f"(forces {f_err:.3g}, virial {v_err:.3g})")
        write_golden(os.path.join(args.out, name + ".txt"), name, source, model_file, frame, result)
        print(f"{name}: {len(species)} atoms, {result['n_edges']} edges, E = {result['energy']:.12f} eV, "
              f"FD check: forces {f_err:.2e}, virial {v_err:.2e}")

    # The rebased cell is the same crystal: the reference must agree with itself.
    species = [MODEL_ELEMENTS.index(s) for s in fcc_moved["symbols"]]
    plain = schnet_numpy.evaluate(loaded, species, fcc_moved["positions"], fcc_moved["cell"], fcc_moved["pbc"])
    sk = skewed_basis(fcc_moved)
    rebased = schnet_numpy.evaluate(loaded, species, sk["positions"], sk["cell"], sk["pbc"])
    assert abs(plain["energy"] - rebased["energy"]) < 1e-9, (plain["energy"], rebased["energy"])
    assert np.allclose(plain["virial"], rebased["virial"], atol=1e-9)
    print("skewed rebasing leaves energy and virial unchanged: ok")


def write_model_summary_tabulated(path, model):
    t = model["table"]
    lines = [
        "# summary of model_tabulated.gbnet (format: tests/golden/README.md)",
        f"hyper {model['F']} {model['T']} {model['K']} {model['R']} {fmt(model['cutoff'])}",
        f"elements Cu {model['atomic_numbers'][0]}",
        f"normalization {fmt(model['scale'])} {fmt(model['shift'])} {fmt(model['e_ref'][0])}",
        f"n_params {model['params'].size}",
        f"param_sum {fmt(model['params'].sum())}",
        f"table {t['n_points']} {fmt(t['values'].sum())} {fmt(t['derivs'].sum())} "
        f"{fmt(t['values'].ravel()[-1])} {fmt(t['derivs'].ravel()[0])}",
        "end",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
