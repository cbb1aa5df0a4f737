"""The C library seen from Python: finding and loading libgbnet.so, the
ctypes mirrors of the public structs (core/include/*.h) and error checking.

Everything else in the package goes through this module; nothing here knows
about ASE.
"""
import ctypes
import os
import threading

__all__ = ["lib", "library_path", "GBNetError", "GBNetInputError", "check", "as_bytes"]


class GBNetError(RuntimeError):
    """A gbnet library call failed; ``str(e)`` is gbnet's message
    (gbnet_last_error), ``e.status`` the gbnet_status code and
    ``e.status_name`` its short name (e.g. "format error")."""

    def __init__(self, message, status=0, status_name=""):
        super().__init__(message)
        self.status = status
        self.status_name = status_name


class GBNetInputError(GBNetError, ValueError):
    """Bad input found before calling the library (unknown element, NaN
    positions, a periodic direction without a cell, ...)."""


# ----------------------------------------------------------- finding the library

def _candidates():
    """Where libgbnet.so may be, in the order tried (docs/python.md)."""
    env = os.environ.get("GBNET_LIBRARY")
    if env:
        yield env
        return  # an explicit choice is never silently replaced by another library
    here = os.path.dirname(os.path.abspath(__file__))
    try:  # written by `cmake --install`: the library relative to this package
        from . import _installed  # noqa: F401
        yield os.path.normpath(os.path.join(here, _installed.LIBRARY_FROM_PACKAGE))
    except ImportError:
        pass
    # a source checkout (python/gbnet inside the repository) built into build/
    repo = os.path.dirname(os.path.dirname(here))
    yield os.path.join(repo, "build", "libgbnet.so")
    # the dynamic loader's search path (ldconfig, LD_LIBRARY_PATH), then the usual prefixes
    yield "libgbnet.so.0"
    for prefix in ("/usr/local/lib", "/usr/lib", "/opt/gbnet/lib"):
        yield os.path.join(prefix, "libgbnet.so.0")


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(f"{path} (no such file)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("gbnet: cannot load libgbnet.so; set GBNET_LIBRARY to its path "
                      "(build/libgbnet.so in a build tree, PREFIX/lib/libgbnet.so after cmake --install). Tried: "
                      + "; ".join(tried))


lib, library_path = _load()

# ----------------------------------------------------------- structs (gbnet.h)

MAX_ELEMENTS = 32
c_double_p = ctypes.POINTER(ctypes.c_double)
c_int_p = ctypes.POINTER(ctypes.c_int)


class Hyperparams(ctypes.Structure):
    _fields_ = [("n_features", ctypes.c_int), ("n_blocks", ctypes.c_int), ("n_rbf", ctypes.c_int),
                ("readout_width", ctypes.c_int), ("cutoff", ctypes.c_double), ("n_elements", ctypes.c_int),
                ("atomic_numbers", ctypes.c_int * MAX_ELEMENTS)]


class Structure(ctypes.Structure):
    _fields_ = [("n_atoms", ctypes.c_int), ("species", c_int_p), ("positions", c_double_p),
                ("cell", c_double_p), ("pbc", ctypes.c_int * 3)]


class Result(ctypes.Structure):
    _fields_ = [("energy", ctypes.c_double), ("virial", ctypes.c_double * 9),
                ("atom_energies", c_double_p), ("forces", c_double_p)]


class CommitteeDeviation(ctypes.Structure):
    _fields_ = [("energy_deviation", ctypes.c_double), ("force_deviation_max", ctypes.c_double),
                ("force_deviation_min", ctypes.c_double), ("force_deviation_mean", ctypes.c_double),
                ("virial_deviation_max", ctypes.c_double), ("virial_deviation_min", ctypes.c_double),
                ("virial_deviation_mean", ctypes.c_double), ("atom_force_deviations", c_double_p),
                ("member_energies", c_double_p)]


class CoverageReport(ctypes.Structure):
    _fields_ = [("atoms_checked", ctypes.c_int), ("atoms_too_close", ctypes.c_int),
                ("pairs_too_close", ctypes.c_int), ("closest_ratio", ctypes.c_double),
                ("closest_atom", ctypes.c_int), ("closest_neighbor", ctypes.c_int),
                ("volume_checked", ctypes.c_int), ("volume_outside", ctypes.c_int),
                ("volume_per_atom", ctypes.c_double)]


class FeatureReport(ctypes.Structure):
    _fields_ = [("atoms_checked", ctypes.c_int), ("atoms_outside", ctypes.c_int),
                ("largest_excess", ctypes.c_double), ("largest_atom", ctypes.c_int),
                ("largest_element", ctypes.c_int), ("largest_channel", ctypes.c_int)]


# ----------------------------------------------------------- gbnet_data.h

class KeyValue(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


class Frame(ctypes.Structure):
    _fields_ = [("n_atoms", ctypes.c_int), ("z", c_int_p), ("pos", c_double_p), ("forces", c_double_p),
                ("cell", ctypes.c_double * 9), ("has_cell", ctypes.c_int), ("pbc", ctypes.c_int * 3),
                ("energy", ctypes.c_double), ("has_energy", ctypes.c_int), ("virial", ctypes.c_double * 9),
                ("has_virial", ctypes.c_int), ("config_type", ctypes.c_char_p), ("subset", ctypes.c_char_p),
                ("info", ctypes.POINTER(KeyValue)), ("n_info", ctypes.c_int), ("line", ctypes.c_int),
                ("source", ctypes.c_char_p)]


class Dataset(ctypes.Structure):
    _fields_ = [("n_frames", ctypes.c_int), ("frames", ctypes.POINTER(Frame)),
                ("sources", ctypes.POINTER(ctypes.c_char_p)), ("n_sources", ctypes.c_int)]


# ----------------------------------------------------------- gbnet_train.h

class EpochReport(ctypes.Structure):
    _fields_ = [("epoch", ctypes.c_int), ("n_epochs", ctypes.c_int), ("global_step", ctypes.c_longlong),
                ("lr", ctypes.c_double), ("train_loss", ctypes.c_double), ("valid_loss", ctypes.c_double),
                ("train_energy_rmse", ctypes.c_double), ("valid_energy_rmse", ctypes.c_double),
                ("train_force_rmse", ctypes.c_double), ("valid_force_rmse", ctypes.c_double),
                ("train_stress_rmse", ctypes.c_double), ("valid_stress_rmse", ctypes.c_double),
                ("valid_energy_mae", ctypes.c_double), ("valid_force_mae", ctypes.c_double),
                ("elapsed", ctypes.c_double), ("eta", ctypes.c_double),
                ("structures_per_s", ctypes.c_double), ("atoms_per_s", ctypes.c_double),
                ("improved", ctypes.c_int)]


MessageFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
EpochDoneFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(EpochReport))
StepDoneFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_double)
# sig_atomic_t is int on every Linux ABI gbnet builds for (checked by tests/python/test_abi.py)
SigAtomic = ctypes.c_int


class TrainCallbacks(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("message", MessageFn), ("epoch_done", EpochDoneFn),
                ("step_done", StepDoneFn), ("stop_request", ctypes.POINTER(SigAtomic))]


class TrainSummary(ctypes.Structure):
    _fields_ = [("epoch", ctypes.c_int), ("global_step", ctypes.c_longlong), ("best_valid_loss", ctypes.c_double),
                ("best_epoch", ctypes.c_int), ("n_train", ctypes.c_int), ("n_valid", ctypes.c_int),
                ("train_atoms", ctypes.c_longlong), ("valid_atoms", ctypes.c_longlong),
                ("train_has_stress", ctypes.c_int)]


# the structs the ABI test compares with the C compiler's layout: C name -> ctypes class
STRUCTS = {"gbnet_hyperparams": Hyperparams, "gbnet_structure": Structure, "gbnet_result": Result,
           "gbnet_committee_deviation": CommitteeDeviation,
           "gbnet_coverage_report": CoverageReport, "gbnet_feature_report": FeatureReport,
           "gbnet_kv": KeyValue, "gbnet_frame": Frame, "gbnet_dataset": Dataset,
           "gbnet_epoch_report": EpochReport, "gbnet_train_callbacks": TrainCallbacks,
           "gbnet_train_summary": TrainSummary}

# ----------------------------------------------------------- prototypes

_vp = ctypes.c_void_p
_st = ctypes.c_int
_PROTOTYPES = {
    "gbnet_last_error": (ctypes.c_char_p, []),
    "gbnet_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "gbnet_version": (ctypes.c_char_p, []),
    "gbnet_model_load": (_st, [ctypes.POINTER(_vp), ctypes.c_char_p]),
    "gbnet_model_save": (_st, [_vp, ctypes.c_char_p]),
    "gbnet_model_free": (None, [_vp]),
    "gbnet_model_hyperparams": (ctypes.POINTER(Hyperparams), [_vp]),
    "gbnet_model_cutoff": (ctypes.c_double, [_vp]),
    "gbnet_model_element_of_z": (ctypes.c_int, [_vp, ctypes.c_int]),
    "gbnet_model_provenance": (ctypes.c_char_p, [_vp]),
    "gbnet_model_set_provenance": (_st, [_vp, ctypes.c_char_p]),
    "gbnet_model_get_normalization": (None, [_vp, c_double_p, c_double_p, c_double_p]),
    "gbnet_model_n_params": (ctypes.c_size_t, [_vp]),
    "gbnet_model_is_tabulated": (ctypes.c_int, [_vp]),
    "gbnet_model_table_points": (ctypes.c_int, [_vp]),
    "gbnet_model_clone": (_st, [ctypes.POINTER(_vp), _vp]),
    "gbnet_workspace_create": (_st, [ctypes.POINTER(_vp), _vp, ctypes.c_int]),
    "gbnet_workspace_free": (None, [_vp]),
    "gbnet_workspace_set_threads": (None, [_vp, ctypes.c_int]),
    "gbnet_evaluate": (_st, [_vp, ctypes.c_int, ctypes.POINTER(Structure), ctypes.POINTER(Result)]),
    "gbnet_committee_load": (_st, [ctypes.POINTER(_vp), ctypes.c_char_p]),
    "gbnet_committee_free": (None, [_vp]),
    "gbnet_committee_size": (ctypes.c_int, [_vp]),
    "gbnet_committee_create": (_st, [ctypes.POINTER(_vp), ctypes.POINTER(_vp), ctypes.c_int]),
    "gbnet_committee_save": (_st, [_vp, ctypes.c_char_p]),
    "gbnet_committee_workspace_create": (_st, [ctypes.POINTER(_vp), _vp, ctypes.c_int]),
    "gbnet_committee_workspace_free": (None, [_vp]),
    "gbnet_committee_workspace_set_threads": (None, [_vp, ctypes.c_int]),
    "gbnet_committee_evaluate": (_st, [_vp, ctypes.c_int, ctypes.POINTER(Structure), ctypes.POINTER(Result),
                                       ctypes.POINTER(CommitteeDeviation)]),
    "gbnet_model_coverage": (ctypes.c_void_p, [_vp]),
    "gbnet_model_feature_ranges": (ctypes.c_void_p, [_vp, c_int_p]),
    "gbnet_coverage_check": (_st, [_vp, ctypes.POINTER(Structure), ctypes.c_double,
                                   ctypes.POINTER(CoverageReport)]),
    "gbnet_feature_check": (_st, [_vp, ctypes.c_int, ctypes.POINTER(Structure), ctypes.c_double,
                                  ctypes.POINTER(FeatureReport)]),
    "gbnet_atomic_number": (ctypes.c_int, [ctypes.c_char_p]),
    "gbnet_element_symbol": (ctypes.c_char_p, [ctypes.c_int]),
    "gbnet_dataset_read": (_st, [ctypes.POINTER(Dataset), ctypes.c_char_p]),
    "gbnet_dataset_free": (None, [ctypes.POINTER(Dataset)]),
    "gbnet_write_extxyz": (_st, [ctypes.c_char_p, ctypes.POINTER(Frame), ctypes.c_int, c_double_p,
                                 ctypes.POINTER(c_double_p), c_double_p]),
    "gbnet_train_config_create": (_st, [ctypes.POINTER(_vp)]),
    "gbnet_train_config_free": (None, [_vp]),
    "gbnet_train_config_read": (_st, [_vp, ctypes.c_char_p]),
    "gbnet_train_config_set": (_st, [_vp, ctypes.c_char_p]),
    "gbnet_train_config_check": (_st, [_vp]),
    "gbnet_train_config_get": (_st, [_vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]),
    "gbnet_train_config_format": (ctypes.c_size_t, [_vp, ctypes.c_char_p, ctypes.c_size_t]),
    "gbnet_train_n_keys": (ctypes.c_int, []),
    "gbnet_trainer_create": (_st, [ctypes.POINTER(_vp), _vp, ctypes.c_char_p, ctypes.c_char_p,
                                   ctypes.POINTER(TrainCallbacks)]),
    "gbnet_trainer_run": (_st, [_vp]),
    "gbnet_trainer_free": (None, [_vp]),
    "gbnet_trainer_model": (_vp, [_vp]),
    "gbnet_trainer_summary": (None, [_vp, ctypes.POINTER(TrainSummary)]),
}
for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes

# ----------------------------------------------------------- errors

# gbnet_last_error is per thread; a lock keeps a call and the read of its message together
call_lock = threading.RLock()


def check(status, context=""):
    """Raises GBNetError with gbnet's message when status is not GBNET_OK."""
    if status == 0:
        return
    message = (lib.gbnet_last_error() or b"").decode("utf-8", "replace")
    name = (lib.gbnet_status_name(status) or b"").decode()
    if not message:
        message = name
    raise GBNetError(f"{context}: {message}" if context else message, status, name)


def as_bytes(path):
    """A path (str or os.PathLike) as the bytes the C library takes."""
    return os.fsencode(os.fspath(path))


def version():
    return lib.gbnet_version().decode()
