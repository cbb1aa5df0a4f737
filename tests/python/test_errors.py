"""Bad inputs raise clear exceptions and leave no half-written files."""
import os
import unittest

import numpy as np
from ase import Atoms

import gbnet
from gbnet.calculator import GBNetCalculator
from common import ETHANOL, WATER, WATER_POT, TempDirTest, slice_frames


class BadInputs(TempDirTest):
    def test_missing_files(self):
        with self.assertRaisesRegex(FileNotFoundError, "no_such.gbnet"):
            gbnet.Potential(self.path("no_such.gbnet"))
        with self.assertRaisesRegex(FileNotFoundError, "no_such.extxyz"):
            gbnet.read_data(self.path("no_such.extxyz"))
        with self.assertRaisesRegex(FileNotFoundError, "no_such.cfg"):
            gbnet.train(self.path("no_such.cfg"))

    def test_library_errors_carry_gbnets_message(self):
        bad = self.path("bad.gbnet")
        with open(bad, "wb") as f:
            f.write(b"not a potential file at all" * 10)
        with self.assertRaises(gbnet.GBNetError) as e:
            gbnet.Potential(bad)
        self.assertIn("bad.gbnet", str(e.exception))
        self.assertTrue(e.exception.status_name)
        broken = self.path("broken.extxyz")
        with open(broken, "w") as f:
            f.write("2\nProperties=species:S:1:pos:R:3 pbc=\"F F F\"\nH 0 0 0\nH 0 0\n")
        with self.assertRaisesRegex(gbnet.GBNetError, r"broken.extxyz:4"):
            gbnet.read_data(broken)

    def test_unknown_element(self):
        calc = GBNetCalculator(WATER_POT)
        atoms = Atoms("OH2C", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0], [3, 3, 3]])
        atoms.calc = calc
        with self.assertRaisesRegex(gbnet.GBNetInputError, r"atom 3 is C \(Z=6\).*model elements: O H"):
            atoms.get_potential_energy()

    def test_periodic_without_cell(self):
        atoms = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], pbc=True)
        atoms.calc = GBNetCalculator(WATER_POT)
        with self.assertRaisesRegex(gbnet.GBNetInputError, "periodic.*no volume"):
            atoms.get_potential_energy()

    def test_nan_positions(self):
        atoms = Atoms("OH2", positions=[[0, 0, 0], [0.96, np.nan, 0], [-0.24, 0.93, 0]])
        atoms.calc = GBNetCalculator(WATER_POT)
        with self.assertRaisesRegex(gbnet.GBNetInputError, "atom 1 has a position that is not a finite number"):
            atoms.get_forces()
        with self.assertRaisesRegex(gbnet.GBNetInputError, "structure 1: atom 1"):
            gbnet.Potential(WATER_POT).evaluate([atoms.copy()[:1], atoms])

    def test_no_half_written_files(self):
        frames = gbnet.read_data(slice_frames(ETHANOL, self.path("e.extxyz"), 0, 5))
        frames[3].positions[2, 1] = np.inf
        out = self.path("written.extxyz")
        with self.assertRaisesRegex(gbnet.GBNetInputError, "frame 3: atom 2"):
            gbnet.write_data(out, frames)
        # training from Atoms with a bad frame: fails before anything is written
        with self.assertRaises(gbnet.GBNetInputError):
            gbnet.train(train_data=frames, output=self.path("m.gbnet"), log=self.path("m.csv"),
                        checkpoint=self.path("m.ckpt"), epochs=1, progress=None)
        # a log that is not a gbnet log: no PNG
        from gbnet import plot
        bad_log = self.path("bad.csv")
        with open(bad_log, "w") as f:
            f.write("a,b\n1,2\n")
        with self.assertRaisesRegex(ValueError, "bad.csv:1"):
            plot.learning_curves(bad_log, self.path("bad.png"))
        # bad training data (an element outside `elements`): a clear error, no model file
        with self.assertRaisesRegex(gbnet.GBNetError, "e.extxyz"):
            gbnet.train(train_data=self.path("e.extxyz"), elements="C H", output=self.path("m.gbnet"),
                        log=self.path("m.csv"), checkpoint=self.path("m.ckpt"), epochs=1, progress=None)
        self.assertEqual(sorted(os.listdir(self.dir)), ["bad.csv", "e.extxyz"])

    def test_bad_config_key(self):
        with self.assertRaisesRegex(gbnet.GBNetError, "bach_size.*did you mean 'batch_size'"):
            gbnet.train(train_data=WATER, bach_size=3, progress=None)


if __name__ == "__main__":
    unittest.main()
