"""Datasets between gbnet and ASE: read extended XYZ files and DeePMD-kit
folders with gbnet's own readers (the frames `gbnet train` and `gbnet eval`
see), and write lists of ase.Atoms as the extended XYZ gbnet reads, with
every number written so that it reads back exactly."""
import ctypes
import os

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from . import _lib
from ._lib import GBNetInputError, check, lib
from .potential import structure_arrays

__all__ = ["read_data", "write_data", "frame_labels"]


def _to_str(value):
    return value.decode("utf-8", "replace") if value is not None else None


def read_data(paths, subset=None):
    """Frames of extended XYZ files or DeePMD-kit system folders as a list of
    ase.Atoms with their labels in a SinglePointCalculator (energy, forces,
    stress = -virial/V where there is a cell) and the metadata in atoms.info
    (config_type, subset, every other key=value; "virial" as 9 numbers,
    "gbnet_source" = "FILE:LINE").

    paths: a path or a list of paths; subset: "KEY=PATTERN" or a list of them
    (shell wildcards, as gbnet eval --subset) that every kept frame matches.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    filters = [subset] if isinstance(subset, str) else list(subset or [])
    parsed = []
    for f in filters:
        if "=" not in f:
            raise GBNetInputError(f"subset filter '{f}': expected KEY=PATTERN")
        parsed.append(f.split("=", 1))
    ds = _lib.Dataset()
    frames_out = []
    try:
        for path in paths:
            if not os.path.exists(path):
                raise FileNotFoundError(f"gbnet: data not found: {path}")
            with _lib.call_lock:
                check(lib.gbnet_dataset_read(ctypes.byref(ds), _lib.as_bytes(path)))
        for k in range(ds.n_frames):
            f = ds.frames[k]
            info = {}
            if f.config_type:
                info["config_type"] = _to_str(f.config_type)
            if f.subset:
                info["subset"] = _to_str(f.subset)
            for j in range(f.n_info):
                info[_to_str(f.info[j].key)] = _to_str(f.info[j].value)
            if parsed and not all(_matches(info, key, pattern) for key, pattern in parsed):
                continue
            n = f.n_atoms
            z = np.ctypeslib.as_array(f.z, shape=(n,)).copy() if n else np.zeros(0, int)
            pos = np.ctypeslib.as_array(f.pos, shape=(n, 3)).copy() if n else np.zeros((0, 3))
            cell = np.array(f.cell[:], dtype=np.float64).reshape(3, 3) if f.has_cell else None
            atoms = Atoms(numbers=z, positions=pos, cell=cell, pbc=[bool(p) for p in f.pbc])
            atoms.info.update(info)
            atoms.info["gbnet_source"] = f"{_to_str(f.source)}:{f.line}"
            results = {}
            if f.has_energy:
                results["energy"] = f.energy
                results["free_energy"] = f.energy
            if f.forces:
                results["forces"] = np.ctypeslib.as_array(f.forces, shape=(n, 3)).copy()
            if f.has_virial:
                virial = np.array(f.virial[:], dtype=np.float64)
                atoms.info["virial"] = virial
                if f.has_cell:
                    full = -virial.reshape(3, 3) / abs(np.linalg.det(cell))
                    results["stress"] = np.array([full[0, 0], full[1, 1], full[2, 2],
                                                  full[1, 2], full[0, 2], full[0, 1]])
            if results:
                atoms.calc = SinglePointCalculator(atoms, **results)
            frames_out.append(atoms)
    finally:
        lib.gbnet_dataset_free(ctypes.byref(ds))
    return frames_out


def _matches(info, key, pattern):
    import fnmatch
    value = info.get(key)
    return value is not None and fnmatch.fnmatchcase(str(value), pattern)


def frame_labels(atoms):
    """(energy or None, forces [n,3] or None, virial [9] or None) of an
    ase.Atoms: from its calculator's results (a SinglePointCalculator, as
    ase.io.read gives), else from atoms.info["energy"], atoms.arrays["forces"];
    the virial from atoms.info["virial"], else -stress*V."""
    results = getattr(atoms.calc, "results", {}) if atoms.calc is not None else {}
    energy = results.get("energy", results.get("free_energy", atoms.info.get("energy")))
    forces = results.get("forces", atoms.arrays.get("forces"))
    stress = results.get("stress", atoms.info.get("stress"))
    virial = atoms.info.get("virial")
    if virial is not None:
        virial = np.asarray(virial, dtype=np.float64).reshape(9)
    elif stress is not None and atoms.cell.volume > 1e-12:
        stress = np.asarray(stress, dtype=np.float64)
        if stress.shape == (6,):
            xx, yy, zz, yz, xz, xy = stress
            stress = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
        virial = (-stress.reshape(3, 3) * atoms.cell.volume).reshape(9)
    return (None if energy is None else float(energy),
            None if forces is None else np.asarray(forces, dtype=np.float64),
            virial)


def write_data(path, frames):
    """Writes a list of ase.Atoms with their labels (frame_labels) and string
    metadata as extended XYZ through gbnet's writer: shortest round-trip
    numbers, so gbnet reads back exactly these doubles. Atomic: nothing is
    left at path when it fails."""
    c_frames = (_lib.Frame * len(frames))()
    keep = []
    for k, atoms in enumerate(frames):
        where = f"frame {k}"
        positions, cell, pbc, numbers = structure_arrays(atoms, where)
        energy, forces, virial = frame_labels(atoms)
        z = np.ascontiguousarray(numbers, dtype=np.intc)
        f = c_frames[k]
        f.n_atoms = len(atoms)
        f.z = z.ctypes.data_as(_lib.c_int_p)
        f.pos = positions.ctypes.data_as(_lib.c_double_p)
        keep += [z, positions]
        if forces is not None:
            forces = np.ascontiguousarray(forces, dtype=np.float64)
            if forces.shape != (len(atoms), 3) or not np.all(np.isfinite(forces)):
                raise GBNetInputError(f"{where}: forces must be {len(atoms)}x3 finite numbers")
            f.forces = forces.ctypes.data_as(_lib.c_double_p)
            keep.append(forces)
        if cell is not None:
            f.cell[:] = [float(v) for v in cell.reshape(9)]
            f.has_cell = 1
        f.pbc[:] = [int(p) for p in pbc]
        if energy is not None:
            if not np.isfinite(energy):
                raise GBNetInputError(f"{where}: the energy is not a finite number")
            f.energy, f.has_energy = energy, 1
        if virial is not None:
            f.virial[:] = [float(v) for v in virial]
            f.has_virial = 1
        info = [(key, value) for key, value in atoms.info.items()
                if isinstance(value, str) and key not in ("config_type", "subset", "gbnet_source")
                and " " not in key and "=" not in key]
        for key in ("config_type", "subset"):
            if isinstance(atoms.info.get(key), str):
                value = atoms.info[key].encode()
                keep.append(value)
                setattr(f, key, value)
        if info:
            kvs = (_lib.KeyValue * len(info))()
            for j, (key, value) in enumerate(info):
                kvs[j].key, kvs[j].value = key.encode(), value.encode()
            keep.append(kvs)
            f.info, f.n_info = kvs, len(info)
    # the library's writer is not atomic: write beside path, then rename
    path = os.fspath(path)
    partial = f"{path}.partial-{os.getpid()}"
    try:
        with _lib.call_lock:
            check(lib.gbnet_write_extxyz(_lib.as_bytes(partial), c_frames, len(frames), None, None, None))
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
