"""gbnet.train gives bitwise the same model as `gbnet train` with the same
keys and seed; training from lists of ase.Atoms gives the same model as from
the files; progress callbacks; the trainer's pictures."""
import ctypes
import os
import shutil
import unittest

import ase.io
import numpy as np

import gbnet
from gbnet import _lib
from common import ETHANOL, ETHANOL_TEST, TempDirTest, gbnet as run_gbnet, slice_frames

SMALL_CONFIG = """\
train_data = train.extxyz
valid_data = valid.extxyz
features = 16
blocks = 2
rbf = 12
readout = 8
cutoff = 4.0
energy_scale = force_rms
w_energy = 10
batch_size = 8
lr = 0.002
epochs = 4
threads = 2
seed = 7
"""


def provenance(path):
    return gbnet.Potential(path).info()["provenance"]


def without_provenance(src, dst):
    """src saved again with an empty provenance: every other byte as it was."""
    model = ctypes.c_void_p()
    _lib.check(_lib.lib.gbnet_model_load(ctypes.byref(model), src.encode()))
    try:
        _lib.check(_lib.lib.gbnet_model_set_provenance(model, b""))
        _lib.check(_lib.lib.gbnet_model_save(model, dst.encode()))
    finally:
        _lib.lib.gbnet_model_free(model)
    with open(dst, "rb") as f:
        return f.read()


def differing_lines(a, b):
    la, lb = a.splitlines(), b.splitlines()
    if len(la) != len(lb):
        return [("<line count>", len(la), len(lb))]
    return [(x, y) for x, y in zip(la, lb) if x != y]


class SameAsCommand(TempDirTest):
    def setUp(self):
        super().setUp()
        slice_frames(ETHANOL, self.path("train.extxyz"), 0, 48)
        slice_frames(ETHANOL_TEST, self.path("valid.extxyz"), 0, 16)
        with open(self.path("small.cfg"), "w") as f:
            f.write(SMALL_CONFIG)

    def test_python_train_is_bitwise_the_command(self):
        cfg = self.path("small.cfg")
        r = run_gbnet("train", cfg, "--set", "lr_decay=0.9", cwd=self.dir)
        # the command draws its pictures and says where they are
        self.assertIn(f"pictures: {self.path('train.png')} (learning curves), {self.path('model_parity.png')}",
                      r.stdout)
        self.assertTrue(os.path.getsize(self.path("train.png")) > 10000)
        self.assertTrue(os.path.getsize(self.path("model_parity.png")) > 10000)
        for name in ("model.gbnet", "train.csv"):
            shutil.move(self.path(name), self.path("cli_" + name))
        reports, steps = [], []
        pot = gbnet.train(cfg, lr_decay=0.9, progress=reports.append, on_step=lambda e, s, loss: steps.append(loss))
        self.assertEqual(os.path.realpath(pot.path), os.path.realpath(self.path("model.gbnet")))
        self.assertEqual([r["epoch"] for r in reports], [0, 1, 2, 3, 4])
        self.assertEqual(len(steps), pot.training["global_step"])
        self.assertEqual(pot.training["n_train"], 48)

        cli, py = self.path("cli_model.gbnet"), self.path("model.gbnet")
        # what differs: the provenance's date and command lines, nothing else
        diff = differing_lines(provenance(cli), provenance(py))
        self.assertTrue(diff, "the provenance names the program that trained")
        for a, b in diff:
            self.assertTrue((a.startswith("trained by gbnet") and b.startswith("trained by gbnet"))
                            or (a.startswith("command: gbnet train") and b.startswith("command: python: gbnet.train(")),
                            f"unexpected provenance difference: {a!r} / {b!r}")
        self.assertEqual(without_provenance(cli, self.path("a.gbnet")), without_provenance(py, self.path("b.gbnet")))
        # the logs agree in every column but the timings
        timing = {"elapsed_s", "structures_per_s", "atoms_per_s"}
        a = np.genfromtxt(self.path("cli_train.csv"), delimiter=",", names=True)
        b = np.genfromtxt(self.path("train.csv"), delimiter=",", names=True)
        for name in a.dtype.names:
            if name not in timing:
                np.testing.assert_array_equal(a[name], b[name], err_msg=name)

    def test_atoms_lists_train_like_files(self):
        from_files = gbnet.train(self.path("small.cfg"), output=self.path("files.gbnet"), progress=None)
        train_atoms = ase.io.read(self.path("train.extxyz"), index=":")
        valid_atoms = ase.io.read(self.path("valid.extxyz"), index=":")
        messages = []
        from_atoms = gbnet.train(self.path("small.cfg"), train_data=train_atoms, valid_data=valid_atoms,
                                 output=self.path("atoms.gbnet"), on_message=messages.append, progress=None)
        self.assertTrue(any("48" in m for m in messages), messages)
        self.assertEqual(without_provenance(from_files.path, self.path("a.gbnet")),
                         without_provenance(from_atoms.path, self.path("b.gbnet")))
        # no temporary data left behind
        self.assertFalse([p for p in os.listdir(os.environ.get("TMPDIR", "/tmp")) if p.startswith("gbnet-train-")
                          and os.path.exists(os.path.join(os.environ.get("TMPDIR", "/tmp"), p, "train_data.extxyz"))])

    def test_exception_in_a_callback_stops_with_a_checkpoint(self):
        def fail(report):
            if report["epoch"] == 1:
                raise ZeroDivisionError("from the callback")
        with self.assertRaisesRegex(ZeroDivisionError, "from the callback"):
            gbnet.train(self.path("small.cfg"), progress=fail, checkpoint=self.path("cb.ckpt"))
        self.assertTrue(os.path.exists(self.path("cb.ckpt")))


if __name__ == "__main__":
    unittest.main()
