"""Potential.check_coverage: the extrapolation checks from Python give the
numbers `gbnet eval --write-coverage` gives for the same frames, training
frames are inside, a compressed cell is outside, a file without records is
not checked, and the calculator passes the result on."""
import math
import unittest

import numpy as np

import gbnet
from gbnet.calculator import GBNetCalculator
from common import WATER, WATER_POT, TempDirTest, gbnet as run_gbnet


def scaled(atoms, factor):
    """A copy with cell and positions scaled by factor (labels: zeros, so that
    gbnet eval reads it; the checks do not look at labels)."""
    a = atoms.copy()
    a.calc = None
    a.set_cell(np.asarray(atoms.get_cell()) * factor, scale_atoms=True)
    a.info["energy"] = 0.0
    a.arrays["forces"] = np.zeros((len(a), 3))
    return a


def read_coverage_file(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            c = line.split()
            rows.append({"closest": float(c[1]), "too_close": int(c[2]), "volume_out": int(c[3]),
                         "excess": float(c[4]), "feat_out": int(c[5]), "atom": int(c[6]), "element": int(c[7]),
                         "channel": int(c[8])})
    return rows


class CheckCoverage(TempDirTest):
    def setUp(self):
        super().setUp()
        self.pot = gbnet.Potential(WATER_POT)
        # frames of the potential's training folders (data_0-2), unchanged
        self.training = gbnet.read_data(WATER, subset="subset=data_0*")[:3]

    def test_training_frames_are_inside_and_a_compressed_cell_is_outside(self):
        for c in self.pot.check_coverage(self.training):
            self.assertFalse(c.outside, c)
            self.assertGreaterEqual(c.distance["closest_ratio"], 1.0)
            self.assertEqual(c.distance["atoms_too_close"], 0)
            self.assertFalse(c.distance["volume_outside"])
            self.assertEqual(c.features["atoms_outside"], 0)
            self.assertEqual(c.features["largest_excess"], 0.0)
            self.assertIsNone(c.features["farthest"])
        squeezed = self.pot.check_coverage(scaled(self.training[0], 0.8))
        self.assertTrue(squeezed.outside)
        self.assertTrue(squeezed.distance["volume_outside"])
        self.assertAlmostEqual(squeezed.distance["volume_per_atom"],
                               self.training[0].get_volume() * 0.8 ** 3 / len(self.training[0]), places=9)
        self.assertLess(squeezed.distance["closest_ratio"], 0.98)
        self.assertGreater(squeezed.distance["atoms_too_close"], 0)
        self.assertIsNotNone(squeezed.distance["closest_pair"])
        self.assertGreater(squeezed.features["atoms_outside"], 0)
        atom, element, channel = squeezed.features["farthest"]
        self.assertIn(element, ("O", "H"))
        self.assertEqual(self.training[0].get_chemical_symbols()[atom], element)
        self.assertTrue(0 <= channel < self.pot.hyperparameters["features"])

    def test_the_same_numbers_as_gbnet_eval_write_coverage(self):
        frames = [scaled(self.training[0], 1.0), scaled(self.training[1], 0.93), scaled(self.training[2], 0.8),
                  scaled(self.training[0], 1.1)]
        data = self.path("frames.extxyz")
        gbnet.write_data(data, frames)
        out = self.path("coverage.txt")
        run_gbnet("eval", WATER_POT, data, "--write-coverage", out, "--distance-margin", "0.05",
                  "--feature-margin", "0.2")
        rows = read_coverage_file(out)
        ours = self.pot.check_coverage(gbnet.read_data(data), distance_margin=0.05, feature_margin=0.2)
        self.assertEqual(len(rows), len(ours))
        self.assertEqual([c.outside for c in ours], [False, True, True, True])
        for row, c in zip(rows, ours):
            self.assertAlmostEqual(c.distance["closest_ratio"], row["closest"], delta=1e-6)
            self.assertEqual(c.distance["atoms_too_close"], row["too_close"])
            self.assertEqual(int(c.distance["volume_outside"]), row["volume_out"])
            self.assertEqual(c.features["atoms_outside"], row["feat_out"])
            self.assertTrue(math.isclose(c.features["largest_excess"], row["excess"], rel_tol=1e-5, abs_tol=1e-12))
            if c.features["farthest"] is None:
                self.assertEqual(row["atom"], -1)
            else:
                atom, element, channel = c.features["farthest"]
                self.assertEqual((atom, self.pot.elements.index(element), channel),
                                 (row["atom"], row["element"], row["channel"]))

    def test_a_file_without_records_is_not_checked(self):
        path = self.path("fresh.gbnet")
        run_gbnet("init", "--elements", "O,H", "--features", "8", "--blocks", "1", "--rbf", "8", "--cutoff", "4",
                  "-o", path, "--reference", WATER)
        c = gbnet.Potential(path).check_coverage(self.training[0])
        self.assertIsNone(c.distance)
        self.assertIsNone(c.features)
        self.assertFalse(c.outside)

    def test_bad_margins_are_refused(self):
        with self.assertRaises(gbnet.GBNetInputError):
            self.pot.check_coverage(self.training[0], distance_margin=1.0)
        with self.assertRaises(gbnet.GBNetInputError):
            self.pot.check_coverage(self.training[0], feature_margin=-0.1)
        self.assertEqual(self.pot.check_coverage([]), [])

    def test_the_calculator_reports_coverage_when_asked(self):
        atoms = scaled(self.training[0], 0.8)
        atoms.calc = GBNetCalculator(self.pot, check_coverage=True)
        atoms.get_potential_energy()
        self.assertTrue(atoms.calc.results["coverage"].outside)
        plain = self.training[0].copy()
        plain.calc = GBNetCalculator(self.pot)
        plain.get_potential_energy()
        self.assertNotIn("coverage", plain.calc.results)


if __name__ == "__main__":
    unittest.main()
