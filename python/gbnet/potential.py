"""gbnet.Potential: a loaded .gbnet file and its evaluation on ase.Atoms."""
import ctypes
import os

import numpy as np

from . import _lib
from ._lib import GBNetError, GBNetInputError, check, lib

__all__ = ["Potential", "Prediction", "Coverage", "make_committee", "structure_arrays",
           "DEFAULT_DISTANCE_MARGIN", "DEFAULT_FEATURE_MARGIN"]

_PRECISIONS = {"double": 0, "float": 1}

# gbnet.h's GBNET_DEFAULT_DISTANCE_MARGIN and GBNET_DEFAULT_FEATURE_MARGIN
# (tests/python/test_abi.py checks them against the header)
DEFAULT_DISTANCE_MARGIN = 0.02
DEFAULT_FEATURE_MARGIN = 0.35


class Prediction:
    """What gbnet predicts for one structure (eV, Å).

    energy:    total energy, eV
    energies:  per-atom energies [n_atoms], eV (they sum to energy)
    forces:    [n_atoms, 3], eV/Å
    virial:    [3, 3], eV: W = -sum_edges r_ij (x) dE/dr_ij (docs/model.md)
    stress:    ASE convention: -W/V symmetrized, Voigt order xx yy zz yz xz xy,
               eV/Å^3, positive when tensile; None without a 3-D cell
    deviation: for a committee file, the members' spread (DeePMD-kit's model
               deviation, population standard deviations over the members) as a
               dict: "energy" (eV/atom), "force_max", "force_min", "force_mean"
               (eV/Å, over atoms), "virial_max", "virial_min", "virial_mean"
               (eV/atom), "forces" [n_atoms] (each atom's force deviation, eV/Å)
               and "member_energies" [members] (eV); None for a single model
    """

    __slots__ = ("energy", "energies", "forces", "virial", "stress", "deviation")

    def __init__(self, energy, energies, forces, virial, stress, deviation=None):
        self.energy = energy
        self.energies = energies
        self.forces = forces
        self.virial = virial
        self.stress = stress
        self.deviation = deviation

    def __repr__(self):
        return f"Prediction(energy={self.energy!r} eV, {len(self.energies)} atoms)"


class Coverage:
    """How far one structure lies outside what the potential was trained on
    (docs/model.md "Extrapolation checks"; the checks of `gbnet eval` and
    `pair_style gbnet`).

    outside:          True when either check below flags the structure
    distance:         None when the file records no training coverage, else a
                      dict: "closest_ratio" (smallest d / shortest trained
                      distance of the pair over the edges; below 1: closer than
                      in training; 0: a pair never seen), "atoms_too_close" and
                      "pairs_too_close" (closer than 1 - distance_margin times
                      it), "closest_pair" (the two atom indices, or None),
                      "volume_per_atom" (Å^3, None for a cell not periodic in
                      three directions) and "volume_outside" (bool)
    features:         None when the file records no readout-input ranges (or a
                      stale one, measured on other weights), else a dict:
                      "atoms_outside" (atoms whose readout input leaves the
                      trained range by more than feature_margin times it),
                      "largest_excess" (in units of the range; inf for an
                      element absent from training), "farthest" (atom index,
                      element symbol, channel) or None when all are inside
    """

    __slots__ = ("outside", "distance", "features")

    def __init__(self, distance, features):
        self.distance = distance
        self.features = features
        self.outside = bool((distance is not None and (distance["atoms_too_close"] > 0 or distance["volume_outside"]))
                            or (features is not None and features["atoms_outside"] > 0))

    def __repr__(self):
        return f"Coverage(outside={self.outside}, distance={self.distance}, features={self.features})"


def _cell_volume(cell):
    return abs(float(np.linalg.det(cell)))


def structure_arrays(atoms, where="structure"):
    """positions, cell (or None), pbc and atomic numbers of an ase.Atoms,
    checked: finite positions, a cell with a volume along periodic
    directions. Raises GBNetInputError naming `where` otherwise."""
    positions = np.ascontiguousarray(atoms.get_positions(), dtype=np.float64)
    numbers = np.ascontiguousarray(atoms.get_atomic_numbers(), dtype=np.int64)
    pbc = [bool(p) for p in atoms.get_pbc()]
    cell = np.ascontiguousarray(np.asarray(atoms.get_cell()), dtype=np.float64).reshape(3, 3)
    if not np.all(np.isfinite(positions)):
        bad = int(np.argwhere(~np.isfinite(positions))[0][0])
        raise GBNetInputError(f"{where}: atom {bad} has a position that is not a finite number: {positions[bad]}")
    if not np.all(np.isfinite(cell)):
        raise GBNetInputError(f"{where}: the cell is not finite: {cell.tolist()}")
    has_volume = _cell_volume(cell) > 1e-12
    if any(pbc) and not has_volume:
        raise GBNetInputError(f"{where}: periodic (pbc={pbc}) but the cell has no volume "
                              f"(cell={cell.tolist()}): set a cell with atoms.set_cell(...) or pbc=False")
    return positions, (cell if has_volume else None), pbc, numbers


class Potential:
    """A gbnet potential file (.gbnet) ready to evaluate.

    Potential(path, precision="double", threads=0)

    precision: "double" or "float" workspace; threads: OpenMP threads inside
    one evaluation (0: OpenMP's default, OMP_NUM_THREADS).

    A committee file (gbnet train with committee = N) is evaluated as a
    committee: energies and forces are the members' mean, and every
    Prediction carries the deviation; committee_size says how many members.
    """

    def __init__(self, path, precision="double", threads=0):
        if precision not in _PRECISIONS:
            raise GBNetInputError(f"precision must be 'double' or 'float', not {precision!r}")
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"gbnet potential file not found: {self.path}")
        self.precision = precision
        self.threads = int(threads)
        model = ctypes.c_void_p()
        with _lib.call_lock:
            check(lib.gbnet_model_load(ctypes.byref(model), _lib.as_bytes(self.path)))
        self._committee, self._cws = None, None
        self._adopt(model)
        committee = ctypes.c_void_p()
        with _lib.call_lock:
            check(lib.gbnet_committee_load(ctypes.byref(committee), _lib.as_bytes(self.path)))
        if lib.gbnet_committee_size(committee) > 1:
            self._committee = committee
            self.committee_size = int(lib.gbnet_committee_size(committee))
            cws = ctypes.c_void_p()
            with _lib.call_lock:
                check(lib.gbnet_committee_workspace_create(ctypes.byref(cws), committee,
                                                           _PRECISIONS[self.precision]))
            lib.gbnet_committee_workspace_set_threads(cws, self.threads)
            self._cws = cws
        else:
            lib.gbnet_committee_free(committee)

    def _adopt(self, model):
        """Takes ownership of a loaded model: workspace, element table, hyperparameters."""
        self._model, self._ws = model, None
        self._open_workspace()
        hp = lib.gbnet_model_hyperparams(model).contents
        self._z_to_index = np.full(128, -1, dtype=np.int64)
        self.atomic_numbers = [hp.atomic_numbers[k] for k in range(hp.n_elements)]
        for k, z in enumerate(self.atomic_numbers):
            self._z_to_index[z] = k
        self.elements = [lib.gbnet_element_symbol(z).decode() for z in self.atomic_numbers]
        self.cutoff = float(hp.cutoff)
        self.hyperparameters = {"features": hp.n_features, "blocks": hp.n_blocks, "rbf": hp.n_rbf,
                                "readout": hp.readout_width, "cutoff": float(hp.cutoff)}
        self.committee_size = 1  # set by __init__ for a committee file

    def _open_workspace(self):
        ws = ctypes.c_void_p()
        with _lib.call_lock:
            check(lib.gbnet_workspace_create(ctypes.byref(ws), self._model, _PRECISIONS[self.precision]))
        lib.gbnet_workspace_set_threads(ws, self.threads)
        self._ws = ws

    def close(self):
        """Frees the library's model and workspace (also done when collected)."""
        if getattr(self, "_cws", None):
            lib.gbnet_committee_workspace_free(self._cws)
            self._cws = None
        if getattr(self, "_committee", None):
            lib.gbnet_committee_free(self._committee)
            self._committee = None
        if getattr(self, "_ws", None):
            lib.gbnet_workspace_free(self._ws)
            self._ws = None
        if getattr(self, "_model", None):
            lib.gbnet_model_free(self._model)
            self._model = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ information

    def info(self):
        """The file's contents as a dict: elements, hyperparameters,
        normalization, parameter count, tabulation, provenance."""
        n = len(self.atomic_numbers)
        scale, shift = ctypes.c_double(), ctypes.c_double()
        e_ref = (ctypes.c_double * max(n, 1))()
        lib.gbnet_model_get_normalization(self._model, ctypes.byref(scale), ctypes.byref(shift), e_ref)
        return {
            "path": self.path,
            "gbnet_version": _lib.version(),
            "elements": list(self.elements),
            "atomic_numbers": list(self.atomic_numbers),
            **self.hyperparameters,
            "energy_scale": scale.value,
            "energy_shift": shift.value,
            "reference_energies": {self.elements[k]: e_ref[k] for k in range(n)},
            "parameters": int(lib.gbnet_model_n_params(self._model)),
            "tabulated": bool(lib.gbnet_model_is_tabulated(self._model)),
            "table_points": int(lib.gbnet_model_table_points(self._model)),
            "provenance": (lib.gbnet_model_provenance(self._model) or b"").decode("utf-8", "replace"),
            "committee_size": self.committee_size,
            "precision": self.precision,
        }

    def __repr__(self):
        return (f"Potential({self.path!r}, elements={' '.join(self.elements)}, "
                f"F={self.hyperparameters['features']} T={self.hyperparameters['blocks']} rc={self.cutoff} A, "
                f"precision={self.precision})")

    def save(self, path):
        """Writes the potential (atomically, as gbnet does) to path; a
        committee is written whole."""
        with _lib.call_lock:
            if self._committee:
                check(lib.gbnet_committee_save(self._committee, _lib.as_bytes(path)))
            else:
                check(lib.gbnet_model_save(self._model, _lib.as_bytes(path)))

    # ------------------------------------------------------------ evaluation

    def species(self, numbers, where="structure"):
        """Model element indices of atomic numbers; GBNetInputError for an element the model lacks."""
        numbers = np.asarray(numbers, dtype=np.int64)
        known = (numbers > 0) & (numbers < len(self._z_to_index))
        species = np.full(len(numbers), -1, dtype=np.int64)
        species[known] = self._z_to_index[numbers[known]]
        if np.any(species < 0):
            i = int(np.argwhere(species < 0)[0][0])
            symbol = lib.gbnet_element_symbol(int(numbers[i])).decode()
            missing = sorted({lib.gbnet_element_symbol(int(z)).decode() for z in numbers[species < 0]})
            raise GBNetInputError(f"{where}: atom {i} is {symbol} (Z={int(numbers[i])}), an element the model "
                                  f"does not know (model elements: {' '.join(self.elements)}; unknown here: "
                                  f"{' '.join(missing)})")
        return np.ascontiguousarray(species, dtype=np.intc)

    def _c_structures(self, structures, single):
        """The gbnet_structure array of ase.Atoms (checked), and the arrays
        it points into, [(positions, cell, species)] per structure, which the
        caller keeps alive for the call."""
        c_structs = (_lib.Structure * len(structures))()
        keep = []
        for k, a in enumerate(structures):
            where = "structure" if single else f"structure {k}"
            positions, cell, pbc, numbers = structure_arrays(a, where)
            species = self.species(numbers, where)
            keep.append((positions, cell, species))
            s = c_structs[k]
            s.n_atoms = len(a)
            s.species = species.ctypes.data_as(_lib.c_int_p)
            s.positions = positions.ctypes.data_as(_lib.c_double_p)
            s.cell = cell.ctypes.data_as(_lib.c_double_p) if cell is not None else None
            s.pbc[:] = [int(p) for p in pbc]
        return c_structs, keep

    def evaluate(self, atoms):
        """Energy, forces, per-atom energies, virial and stress of one
        ase.Atoms (returns a Prediction) or of a list of them (returns a list;
        all are evaluated in one packed library call)."""
        single = not isinstance(atoms, (list, tuple))
        structures = [atoms] if single else list(atoms)
        if self._ws is None:
            raise GBNetError("this Potential was closed")
        n = len(structures)
        if n == 0:
            return []
        c_structs, keep = self._c_structures(structures, single)
        c_results = (_lib.Result * n)()
        outputs = []
        for k, a in enumerate(structures):
            forces = np.zeros((len(a), 3), dtype=np.float64)
            energies = np.zeros(len(a), dtype=np.float64)
            keep.append((forces, energies))
            c_results[k].forces = forces.ctypes.data_as(_lib.c_double_p)
            c_results[k].atom_energies = energies.ctypes.data_as(_lib.c_double_p)
            outputs.append((forces, energies, keep[k][1]))
        deviations = None
        if self._cws:
            deviations = (_lib.CommitteeDeviation * n)()
            for k, a in enumerate(structures):
                atom_devi = np.zeros(len(a), dtype=np.float64)
                member_e = np.zeros(self.committee_size, dtype=np.float64)
                keep.append((atom_devi, member_e))
                deviations[k].atom_force_deviations = atom_devi.ctypes.data_as(_lib.c_double_p)
                deviations[k].member_energies = member_e.ctypes.data_as(_lib.c_double_p)
            with _lib.call_lock:
                check(lib.gbnet_committee_evaluate(self._cws, n, c_structs, c_results, deviations),
                      f"gbnet: evaluating with the committee {self.path}")
        else:
            with _lib.call_lock:
                check(lib.gbnet_evaluate(self._ws, n, c_structs, c_results), f"gbnet: evaluating with {self.path}")
        predictions = []
        for k, (forces, energies, cell) in enumerate(outputs):
            virial = np.array(c_results[k].virial[:], dtype=np.float64).reshape(3, 3)
            stress = None
            if cell is not None:
                full = -virial / _cell_volume(cell)
                full = 0.5 * (full + full.T)
                stress = np.array([full[0, 0], full[1, 1], full[2, 2], full[1, 2], full[0, 2], full[0, 1]])
            deviation = None
            if deviations is not None:
                d = deviations[k]
                atom_devi, member_e = keep[2 * n + k]
                deviation = {"energy": d.energy_deviation, "force_max": d.force_deviation_max,
                             "force_min": d.force_deviation_min, "force_mean": d.force_deviation_mean,
                             "virial_max": d.virial_deviation_max, "virial_min": d.virial_deviation_min,
                             "virial_mean": d.virial_deviation_mean, "forces": atom_devi,
                             "member_energies": member_e}
            predictions.append(Prediction(float(c_results[k].energy), energies, forces, virial, stress, deviation))
        return predictions[0] if single else predictions

    def check_coverage(self, atoms, distance_margin=DEFAULT_DISTANCE_MARGIN,
                       feature_margin=DEFAULT_FEATURE_MARGIN):
        """The extrapolation checks of one ase.Atoms (returns a Coverage) or
        of a list (a list): distances and volume against the file's training
        coverage record, and the readout's input against its recorded ranges
        (one forward pass of the network, in this Potential's precision; of
        the first member for a committee file). The same numbers as `gbnet
        eval --write-coverage`."""
        single = not isinstance(atoms, (list, tuple))
        structures = [atoms] if single else list(atoms)
        if self._ws is None:
            raise GBNetError("this Potential was closed")
        if not 0 <= distance_margin < 1:
            raise GBNetInputError(f"distance_margin must be in [0, 1), not {distance_margin!r}")
        if not feature_margin >= 0:
            raise GBNetInputError(f"feature_margin must be >= 0, not {feature_margin!r}")
        n = len(structures)
        if n == 0:
            return []
        c_structs, keep = self._c_structures(structures, single)
        has_distance = bool(lib.gbnet_model_coverage(self._model))
        stale = ctypes.c_int(0)
        has_features = bool(lib.gbnet_model_feature_ranges(self._model, ctypes.byref(stale))) and not stale.value
        distance_reports = (_lib.CoverageReport * n)()
        feature_reports = (_lib.FeatureReport * n)()
        with _lib.call_lock:
            if has_distance:
                for k in range(n):
                    check(lib.gbnet_coverage_check(self._model, ctypes.byref(c_structs[k]), float(distance_margin),
                                                   ctypes.byref(distance_reports[k])),
                          f"gbnet: coverage check of structure {k} with {self.path}")
            if has_features:
                check(lib.gbnet_feature_check(self._ws, n, c_structs, float(feature_margin), feature_reports),
                      f"gbnet: feature check with {self.path}")
        results = []
        for k in range(n):
            distance = features = None
            if has_distance:
                r = distance_reports[k]
                distance = {"closest_ratio": r.closest_ratio, "atoms_too_close": r.atoms_too_close,
                            "pairs_too_close": r.pairs_too_close,
                            "closest_pair": (r.closest_atom, r.closest_neighbor) if r.closest_atom >= 0 else None,
                            "volume_per_atom": r.volume_per_atom if r.volume_checked else None,
                            "volume_outside": bool(r.volume_outside)}
            if has_features:
                q = feature_reports[k]
                farthest = None
                if q.largest_atom >= 0:
                    farthest = (q.largest_atom, self.elements[q.largest_element], q.largest_channel)
                features = {"atoms_outside": q.atoms_outside, "largest_excess": q.largest_excess,
                            "farthest": farthest}
            results.append(Coverage(distance, features))
        return results[0] if single else results

    def calculator(self, **kwargs):
        """An ASE calculator over this potential (gbnet.calculator.GBNetCalculator)."""
        from .calculator import GBNetCalculator
        return GBNetCalculator(self, **kwargs)


def make_committee(paths, out_path):
    """Writes one committee file from potential files with the same elements
    (in the same order) and cutoff (each file's first model; a GBNetError
    names the member that differs), and returns it as a Potential."""
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise GBNetInputError("make_committee: no potential files given")
    models = []
    try:
        for path in paths:
            m = ctypes.c_void_p()
            with _lib.call_lock:
                check(lib.gbnet_model_load(ctypes.byref(m), _lib.as_bytes(path)))
            models.append(m)
        array = (ctypes.c_void_p * len(models))(*[m.value for m in models])
        committee = ctypes.c_void_p()
        with _lib.call_lock:
            check(lib.gbnet_committee_create(ctypes.byref(committee), array, len(models)), "make_committee")
        try:
            with _lib.call_lock:
                check(lib.gbnet_committee_save(committee, _lib.as_bytes(out_path)))
        finally:
            lib.gbnet_committee_free(committee)
    finally:
        for m in models:
            lib.gbnet_model_free(m)
    return Potential(out_path)
