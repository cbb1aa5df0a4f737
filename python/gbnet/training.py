"""gbnet.train: the trainer of `gbnet train` driven from a script."""
import ctypes
import math
import os
import shutil
import signal
import sys
import tempfile
import threading

from . import _lib
from ._lib import GBNetError, GBNetInputError, check, lib
from .potential import Potential

__all__ = ["train", "TrainingInterrupted", "config_value"]

_INTERRUPTED = 9  # GBNET_ERR_INTERRUPTED


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on Ctrl-C (or a stop from a callback) after writing
    its checkpoint; ``e.checkpoint`` is the file to pass as ``resume=``."""

    def __init__(self, message, checkpoint):
        super().__init__(message)
        self.checkpoint = checkpoint


def _value_text(key, value):
    """A Python value as the text of a config value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(os.fspath(v) if isinstance(v, os.PathLike) else str(v) for v in value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float):
        return repr(value)  # shortest round-trip text: the same double as in a file
    return str(value)


def _is_atoms_list(value):
    from ase import Atoms
    if isinstance(value, Atoms):
        return True
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(a, Atoms) for a in value)


def config_value(config, key):
    """The effective text of one key of a gbnet_train_config handle."""
    buffer = ctypes.create_string_buffer(8192)
    check(lib.gbnet_train_config_get(config, key.encode(), buffer, len(buffer)))
    return buffer.value.decode()


class _Progress:
    """The callbacks' Python side: printing or user functions, the stop flag,
    and an exception raised inside a callback (re-raised after the run)."""

    def __init__(self, progress, on_message, on_step):
        self.progress, self.on_message, self.on_step = progress, on_message, on_step
        self.stop = _lib.SigAtomic(0)
        self.error = None
        self.interrupts = 0
        self.header = False

    def guarded(self, fn, *args):
        if self.error is not None:
            return
        try:
            fn(*args)
        except BaseException as e:  # noqa: B902 -- an exception cannot cross the C frames: keep it, stop
            self.error = e
            self.stop.value = 1

    def message(self, _ctx, text):
        self.guarded(self._message, text.decode("utf-8", "replace"))

    def _message(self, text):
        if callable(self.on_message):
            self.on_message(text)
        elif self.progress == "print":
            print(text, flush=True)

    def epoch_done(self, _ctx, report_p):
        r = report_p.contents
        report = {name: getattr(r, name) for name, _ in _lib.EpochReport._fields_}
        report["improved"] = bool(report["improved"])
        self.guarded(self._epoch, report)

    def _epoch(self, report):
        if callable(self.progress):
            self.progress(report)
        elif self.progress == "print":
            print(format_epoch(report, not self.header), flush=True)
            self.header = True

    def step_done(self, _ctx, epoch, step, loss):
        if self.on_step is not None:
            self.guarded(self.on_step, epoch, step, loss)

    def on_signal(self, signum, _frame):
        """First Ctrl-C: checkpoint at the next step; second: the default action (terminate at once)."""
        self.interrupts += 1
        self.stop.value = 1
        if self.interrupts >= 2:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)


def _number(v, fmt):
    return format(v, fmt) if v is not None and math.isfinite(v) else "-"


def format_epoch(r, header=False):
    """One progress line of an epoch report (as a dict), with a header line before the first."""
    line = (f"epoch {r['epoch']:>4}/{r['n_epochs']} | train E {_number(r['train_energy_rmse'], '9.4f')} "
            f"F {_number(r['train_force_rmse'], '9.3f')} | valid E {_number(r['valid_energy_rmse'], '9.4f')} "
            f"F {_number(r['valid_force_rmse'], '9.3f')} | lr {r['lr']:.3g} | {r['elapsed']:.0f} s"
            f"{'  *' if r['improved'] else ''}")
    if header:
        return "RMSE: E meV/atom, F meV/A; * = best model written\n" + line
    return line


def train(config=None, *, resume=None, progress="print", on_message=None, on_step=None, threads=None, **keys):
    """Trains a potential like `gbnet train` and returns it as a Potential.

    config:   a `gbnet train` configuration file (optional); relative paths in
              it are relative to its folder
    keys:     any configuration key (docs/training.md) as a keyword, applied
              after the file like `--set key=value` (relative paths: to the
              current folder); lists become space-separated values, bools
              true/false. train_data and valid_data may also be lists of
              ase.Atoms with their labels (see gbnet.data.frame_labels): they
              are written to a temporary extended XYZ file for the run
    resume:   a checkpoint to continue from exactly
    progress: "print" (a line per epoch), None (silent) or a function called
              with each epoch report as a dict (gbnet_epoch_report's fields)
    on_message: a function taking each information line (default: printed
              when progress == "print")
    on_step:  a function (epoch, step, loss) called after every optimizer step

    Ctrl-C writes the checkpoint at the next step and raises
    TrainingInterrupted (a KeyboardInterrupt) whose .checkpoint continues the
    run with train(..., resume=e.checkpoint); a second Ctrl-C terminates at
    once. An exception in a callback stops training the same way (with a
    checkpoint) and is re-raised. Library errors raise GBNetError with
    gbnet's message (file and line for bad data or config).
    """
    if threads is not None:
        keys["threads"] = threads
    if config is not None and not os.path.exists(config):
        raise FileNotFoundError(f"gbnet: training configuration not found: {config}")
    if resume is not None and not os.path.exists(resume):
        raise FileNotFoundError(f"gbnet: checkpoint not found: {resume}")
    temporary = None
    handle = ctypes.c_void_p()
    trainer = ctypes.c_void_p()
    try:
        assignments = []
        for key, value in keys.items():
            if key in ("train_data", "valid_data") and _is_atoms_list(value):
                from .data import write_data
                if temporary is None:
                    temporary = tempfile.mkdtemp(prefix="gbnet-train-")
                    if any(c.isspace() for c in temporary):
                        raise GBNetInputError(f"the temporary folder {temporary} has a space in its path, "
                                              "which a data path cannot have; set TMPDIR")
                frames = [value] if not isinstance(value, (list, tuple)) else list(value)
                value = os.path.join(temporary, f"{key}.extxyz")
                write_data(value, frames)
            assignments.append(f"{key}={_value_text(key, value)}")
        check(lib.gbnet_train_config_create(ctypes.byref(handle)))
        if config is not None:
            check(lib.gbnet_train_config_read(handle, _lib.as_bytes(config)))
        for a in assignments:
            check(lib.gbnet_train_config_set(handle, a.encode()))
        check(lib.gbnet_train_config_check(handle))
        output = config_value(handle, "output")
        checkpoint = config_value(handle, "checkpoint")

        state = _Progress(progress, on_message, on_step)
        hooks = _lib.TrainCallbacks()
        hooks.message = _lib.MessageFn(state.message)
        hooks.epoch_done = _lib.EpochDoneFn(state.epoch_done)
        hooks.step_done = _lib.StepDoneFn(state.step_done)
        hooks.stop_request = ctypes.pointer(state.stop)
        command = "python: gbnet.train(" + ", ".join(
            ([repr(os.fspath(config))] if config is not None else []) + [f"{a}" for a in assignments]
            + ([f"resume={resume!r}"] if resume else [])) + ")"

        main_thread = threading.current_thread() is threading.main_thread()
        previous = {}
        if main_thread:
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, state.on_signal)
        try:
            status = lib.gbnet_trainer_create(ctypes.byref(trainer), handle,
                                              _lib.as_bytes(resume) if resume else None, command.encode(),
                                              ctypes.byref(hooks))
            if status == 0:
                status = lib.gbnet_trainer_run(trainer)
            message = (lib.gbnet_last_error() or b"").decode("utf-8", "replace") if status else ""
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if state.error is not None:
            raise state.error
        if status == _INTERRUPTED:
            raise TrainingInterrupted(f"gbnet.train: {message}", checkpoint)
        if status:
            raise GBNetError(f"gbnet.train: {message}", status, lib.gbnet_status_name(status).decode())
        summary = _lib.TrainSummary()
        lib.gbnet_trainer_summary(trainer, ctypes.byref(summary))
        potential = Potential(output, threads=int(config_value(handle, "threads") or 0))
        potential.training = {name: getattr(summary, name) for name, _ in _lib.TrainSummary._fields_}
        potential.training.update(output=output, checkpoint=checkpoint, log=config_value(handle, "log"))
        return potential
    finally:
        if trainer:
            lib.gbnet_trainer_free(trainer)
        if handle:
            lib.gbnet_train_config_free(handle)
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
