"""gbnet as an ASE calculator."""
import os

from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes

from .potential import Potential

__all__ = ["GBNetCalculator"]

# what the model depends on: a change of anything else (charges, magnetic
# moments, tags, momenta) does not call for a new evaluation
_RELEVANT_CHANGES = ("positions", "numbers", "cell", "pbc")


class GBNetCalculator(Calculator):
    """ASE calculator of a gbnet potential.

    GBNetCalculator(potential, precision="double", threads=0)

    potential: a path to a .gbnet file or a gbnet.Potential. Implements
    energy (= free_energy), per-atom energies, forces and, for structures with
    a 3-D cell, stress (ASE's sign and Voigt order, eV/Å^3). Molecules
    (pbc=False, no cell) and periodic cells of any shape work; an element the
    model does not know, NaN positions or a periodic direction without a cell
    raise gbnet.GBNetInputError.

    check_coverage=True also runs the extrapolation checks on every new
    structure (Potential.check_coverage, default margins) and puts the
    gbnet.Coverage in results["coverage"]: an MD loop can stop or warn when
    results["coverage"].outside becomes True.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]
    default_parameters = {}
    nolabel = True

    def __init__(self, potential, precision="double", threads=0, check_coverage=False, **kwargs):
        self.check_coverage = bool(check_coverage)
        if isinstance(potential, Potential):
            self.potential = potential
        else:
            self.potential = Potential(os.fspath(potential), precision=precision, threads=threads)
        super().__init__(**kwargs)

    def check_state(self, atoms, tol=1e-15):
        """ASE's changes since the last calculation, restricted to what the
        model depends on (positions, numbers, cell, pbc)."""
        changes = super().check_state(atoms, tol)
        return [c for c in changes if c in _RELEVANT_CHANGES]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        prediction = self.potential.evaluate(self.atoms)
        self.results = {
            "energy": prediction.energy,
            "free_energy": prediction.energy,
            "energies": prediction.energies,
            "forces": prediction.forces,
        }
        if prediction.stress is not None:
            self.results["stress"] = prediction.stress
        elif "stress" in properties:
            raise PropertyNotImplementedError(
                "gbnet: stress needs a cell with a volume (this structure has none: pbc=False and no cell)")
        if prediction.deviation is not None:
            self.results["deviation"] = prediction.deviation
        if self.check_coverage:
            self.results["coverage"] = self.potential.check_coverage(self.atoms)
