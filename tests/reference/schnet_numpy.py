"""Independent float64 NumPy implementation of the gbnet model
(docs/model.md): energy, per-atom energies, forces and virial.

Forces come from an explicit, hand-written backward pass (no autodiff, no
finite differences); `self_check()` compares them with finite differences.
Neighbors come from a brute-force search over all pairs and all periodic
images, deliberately unrelated to the C library's cell lists.

    model = gbnet_file.read_gbnet(path)
    out = evaluate(model, species, positions, cell, pbc)
    out["energy"], out["atom_energies"], out["forces"], out["virial"]  # virial [3][3]
"""
import math

import numpy as np

from gbnet_file import unpack_params

LN2 = math.log(2.0)


def ssp(x):
    """Shifted softplus ln(1 + e^x) - ln 2, stable for large |x|."""
    return np.logaddexp(0.0, x) - LN2


def sigmoid(x):
    """Derivative of ssp; the tanh form never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def neighbor_edges(positions, cell, pbc, cutoff):
    """All (i, j, r_ij) with |r_ij| < cutoff, r_ij = r_j + S.cell - r_i, j != i or S != 0.

    Brute force: every pair, every image shift S in a box large enough that
    no image within the cutoff is missed (plane spacings of the cell)."""
    pos = np.asarray(positions, dtype=np.float64)
    n = len(pos)
    pbc = [bool(p) for p in pbc]
    if any(pbc):
        cell = np.asarray(cell, dtype=np.float64).reshape(3, 3)
        inv = np.linalg.inv(cell)
        # Distance between lattice planes a: V / |b x c| = 1 / |row a of inv(cell)^T|.
        spacing = 1.0 / np.linalg.norm(inv.T, axis=1)
        frac = pos @ inv
        span = frac.max(axis=0) - frac.min(axis=0)  # unwrapped atoms may sit outside the cell
        reach = [int(math.ceil(cutoff / spacing[a] + span[a])) + 1 if pbc[a] else 0 for a in range(3)]
        shifts = np.array([(a, b, c) for a in range(-reach[0], reach[0] + 1)
                           for b in range(-reach[1], reach[1] + 1)
                           for c in range(-reach[2], reach[2] + 1)], dtype=np.float64)
        offsets = shifts @ cell
    else:
        shifts = np.zeros((1, 3))
        offsets = np.zeros((1, 3))
    centers, neighbors, vectors = [], [], []
    for i in range(n):
        # vec[s, j] = r_j + S_s.cell - r_i
        vec = pos[None, :, :] + offsets[:, None, :] - pos[i][None, None, :]
        dist = np.linalg.norm(vec, axis=2)
        keep = dist < cutoff
        zero_shift = np.all(shifts == 0, axis=1)
        keep[zero_shift, i] = False
        s_idx, j_idx = np.nonzero(keep)
        centers.append(np.full(len(j_idx), i))
        neighbors.append(j_idx)
        vectors.append(vec[s_idx, j_idx])
    return (np.concatenate(centers).astype(np.int64), np.concatenate(neighbors).astype(np.int64),
            np.concatenate(vectors).reshape(-1, 3))


def evaluate(model, species, positions, cell=None, pbc=(False, False, False), want_forces=True):
    """Energy, per-atom energies, forces [n][3] and virial [3][3] (eV).

    species: element index of each atom in the model's element order."""
    F, T, K, R, rc = model["F"], model["T"], model["K"], model["R"], model["cutoff"]
    species = np.asarray(species, dtype=np.int64)
    n_el = len(model["atomic_numbers"])
    P = unpack_params(model["params"], F, T, K, R, n_el)
    n = len(species)
    ci, nj, rij = neighbor_edges(positions, cell, pbc, rc)
    d = np.linalg.norm(rij, axis=1)                       # [E]

    # ---------------------------------------------------------------- forward
    mu = np.arange(K) * rc / (K - 1)                      # [K]
    w = rc / (K - 1)
    g = np.exp(-((d[:, None] - mu[None, :]) ** 2) / (2 * w * w))    # [E][K]
    fc = 0.5 * (np.cos(np.pi * d / rc) + 1.0)             # [E], d < rc for every edge
    x = P["embedding"][species].copy()                    # [N][F]
    saved = []
    for t in range(T):
        b = lambda name: P[f"block{t}.{name}"]
        h = x @ b("in_w").T                               # [N][F]
        a1 = g @ b("filter1_w").T + b("filter1_b")        # [E][F]
        s1 = ssp(a1)
        a2 = s1 @ b("filter2_w").T + b("filter2_b")       # [E][F]
        Wij = a2 * fc[:, None]                            # [E][F]
        m = np.zeros((n, F))
        np.add.at(m, ci, h[nj] * Wij)                     # cfconv: sum over neighbors j
        o1 = m @ b("out1_w").T + b("out1_b")
        x = x + ssp(o1) @ b("out2_w").T + b("out2_b")
        saved.append((h, a1, s1, a2, Wij, m, o1))
    r1 = x @ P["readout1_w"].T + P["readout1_b"]          # [N][R]
    eps = ssp(r1) @ P["readout2_w"][0] + P["readout2_b"][0]   # [N]
    atom_energies = model["scale"] * eps + model["shift"] + np.asarray(model["e_ref"])[species]
    out = {"energy": float(atom_energies.sum()), "atom_energies": atom_energies, "n_edges": len(d)}
    if not want_forces:
        return out

    # --------------------------------------------------------------- backward
    # Adjoints of E = sum_i E_i, named d<variable>.
    deps = np.full(n, model["scale"])                     # [N]
    dr1 = deps[:, None] * P["readout2_w"][0][None, :] * sigmoid(r1)   # [N][R]
    dx = dr1 @ P["readout1_w"]                            # [N][F]
    dd = np.zeros_like(d)                                 # dE/dd per edge
    for t in reversed(range(T)):
        b = lambda name: P[f"block{t}.{name}"]
        h, a1, s1, a2, Wij, m, o1 = saved[t]
        # residual: x_out = x_in + W_o2 ssp(W_o1 m + b_o1) + b_o2
        do1 = (dx @ b("out2_w")) * sigmoid(o1)            # [N][F]
        dm = do1 @ b("out1_w")                            # [N][F]
        # m_i = sum_j h_j * W_ij
        dWij = dm[ci] * h[nj]                             # [E][F]
        dh = np.zeros((n, F))
        np.add.at(dh, nj, dm[ci] * Wij)
        dx = dx + dh @ b("in_w")
        # W_ij = (W_f2 ssp(W_f1 g + b_f1) + b_f2) * fc
        da2 = dWij * fc[:, None]
        dfc = np.sum(dWij * a2, axis=1)                   # [E]
        da1 = (da2 @ b("filter2_w")) * sigmoid(a1)
        dg = da1 @ b("filter1_w")                         # [E][K]
        dgdd = g * (-(d[:, None] - mu[None, :]) / (w * w))
        dfcdd = -0.5 * np.pi / rc * np.sin(np.pi * d / rc)
        dd += np.sum(dg * dgdd, axis=1) + dfc * dfcdd
    grad_r = (dd / d)[:, None] * rij                      # dE/dr_ij, [E][3]
    dEdr = np.zeros((n, 3))
    np.add.at(dEdr, nj, grad_r)                           # r_ij grows with r_j ...
    np.add.at(dEdr, ci, -grad_r)                          # ... and shrinks with r_i
    out["forces"] = -dEdr
    out["virial"] = -(rij.T @ grad_r)                     # W_ab = -sum r_a dE/dr_b
    return out


def self_check(model, species, positions, cell=None, pbc=(False, False, False), n_atoms_checked=3, h=1e-5):
    """Largest differences of the analytic forces and virial from central finite
    differences (positions; homogeneous strain of positions and cell)."""
    pos = np.asarray(positions, dtype=np.float64)
    ref = evaluate(model, species, pos, cell, pbc)
    if abs(ref["energy"] - ref["atom_energies"].sum()) > 1e-9 * max(1.0, abs(ref["energy"])):
        raise AssertionError("atom energies do not sum to the energy")
    rng = np.random.default_rng(7)
    force_err = 0.0
    for i in rng.choice(len(pos), size=min(n_atoms_checked, len(pos)), replace=False):
        for a in range(3):
            p, m = pos.copy(), pos.copy()
            p[i, a] += h
            m[i, a] -= h
            fd = -(evaluate(model, species, p, cell, pbc, False)["energy"] -
                   evaluate(model, species, m, cell, pbc, False)["energy"]) / (2 * h)
            force_err = max(force_err, abs(fd - ref["forces"][i, a]))
    # Homogeneous strain r -> (I + eps) r of positions (and cell); a molecule's
    # virial is the same sum over edges, so it is checked the same way.
    virial_err = 0.0
    c = np.asarray(cell, dtype=np.float64).reshape(3, 3) if any(pbc) else np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            def strained(e):
                deform = np.eye(3)
                deform[a, b] += e
                return evaluate(model, species, pos @ deform.T, c @ deform.T, pbc, False)["energy"]
            dE = (strained(h) - strained(-h)) / (2 * h)   # dE/deps_ab = sum_edges r_b dE/dr_a
            virial_err = max(virial_err, abs(-dE - ref["virial"][b, a]))
    return force_err, virial_err
