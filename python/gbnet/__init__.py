"""gbnet from Python: potentials, an ASE calculator, training and plots.

    import gbnet
    pot = gbnet.Potential("potentials/water.gbnet")
    atoms.calc = gbnet.GBNetCalculator(pot)          # or pot.calculator()
    model = gbnet.train("train.cfg", epochs=10)      # same keys as `gbnet train`

A ctypes binding of the installed libgbnet.so (found through GBNET_LIBRARY,
the install prefix, or a source checkout's build/ folder); docs/python.md.
"""
from ._lib import GBNetError, GBNetInputError, library_path, version
from .potential import (DEFAULT_DISTANCE_MARGIN, DEFAULT_FEATURE_MARGIN, Coverage, Potential, Prediction,
                        make_committee)
from .training import TrainingInterrupted, train
from .data import read_data, write_data

__version__ = version()

__all__ = ["Potential", "Prediction", "Coverage", "make_committee", "DEFAULT_DISTANCE_MARGIN",
           "DEFAULT_FEATURE_MARGIN", "GBNetCalculator", "GBNetError", "GBNetInputError", "TrainingInterrupted",
           "train", "read_data", "write_data", "library_path", "version"]


def __getattr__(name):
    # the calculator (ASE's calculator machinery) and the plots (matplotlib)
    # are loaded on first use: `import gbnet` stays light
    if name == "GBNetCalculator":
        from .calculator import GBNetCalculator
        return GBNetCalculator
    if name in ("plot", "calculator"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'gbnet' has no attribute {name!r}")
