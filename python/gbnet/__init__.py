"""gbnet from Python: potentials, an ASE calculator, training and plots.

    import gbnet
    pot = gbnet.Potential("potentials/water.gbnet")
    atoms.calc = gbnet.GBNetCalculator(pot)          # or pot.calculator()
    model = gbnet.train("train.cfg", epochs=10)      # same keys as `gbnet train`

A ctypes binding of the installed libgbnet.so (found through GBNET_LIBRARY,
the install prefix, or a source checkout's build/ folder); docs/python.md.
"""
from ._lib import GBNetError, GBNetInputError, library_path, version
from .potential import Potential, Prediction
from .training import TrainingInterrupted, train
from .data import read_data, write_data

__version__ = version()

__all__ = ["Potential", "Prediction", "GBNetCalculator", "GBNetError", "GBNetInputError", "TrainingInterrupted",
           "train", "read_data", "write_data", "library_path", "version"]


def __getattr__(name):
    # the calculator imports ASE's calculator machinery: loaded on first use
    if name == "GBNetCalculator":
        from .calculator import GBNetCalculator
        return GBNetCalculator
    raise AttributeError(f"module 'gbnet' has no attribute {name!r}")
