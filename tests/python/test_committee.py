"""Committee files from Python: gbnet.make_committee, the mean and the
DeePMD-kit deviations of Potential.evaluate against the members evaluated one
by one (population standard deviations), the calculator's "deviation"
result, save, and members that do not fit together."""
import unittest

import numpy as np

import gbnet
from gbnet.calculator import GBNetCalculator
from common import WATER, TempDirTest, gbnet as run_gbnet


class Committee(TempDirTest):
    def members(self, n=3):
        paths = []
        for k in range(n):
            path = self.path(f"m{k}.gbnet")
            run_gbnet("init", "--elements", "O,H", "--features", "16", "--blocks", "2", "--rbf", "12",
                      "--cutoff", "4", "--seed", str(10 + k), "-o", path, "--reference", WATER)
            paths.append(path)
        return paths

    def test_mean_and_deviations_equal_the_members_one_by_one(self):
        paths = self.members()
        committee = gbnet.make_committee(paths, self.path("committee.gbnet"))
        self.assertEqual(committee.committee_size, 3)
        self.assertEqual(committee.info()["committee_size"], 3)
        frames = gbnet.read_data(WATER)[:3]
        alone = [gbnet.Potential(p).evaluate(frames) for p in paths]
        together = committee.evaluate(frames)
        for k, (atoms, pred) in enumerate(zip(frames, together)):
            n = len(atoms)
            energies = np.array([a[k].energy for a in alone])
            forces = np.array([a[k].forces for a in alone])  # [M, n, 3]
            self.assertAlmostEqual(pred.energy, energies.mean(), delta=1e-10 * abs(energies.mean()))
            np.testing.assert_allclose(pred.forces, forces.mean(axis=0), rtol=0, atol=1e-10)
            d = pred.deviation
            self.assertIsNotNone(d)
            self.assertAlmostEqual(d["energy"], energies.std() / n, delta=1e-12)
            per_atom = np.sqrt(((forces - forces.mean(axis=0)) ** 2).sum(axis=2).mean(axis=0))
            np.testing.assert_allclose(d["forces"], per_atom, rtol=1e-10, atol=1e-12)
            self.assertAlmostEqual(d["force_max"], per_atom.max(), delta=1e-10)
            self.assertAlmostEqual(d["force_min"], per_atom.min(), delta=1e-10)
            self.assertAlmostEqual(d["force_mean"], per_atom.mean(), delta=1e-10)
            np.testing.assert_array_equal(d["member_energies"], energies)
            self.assertGreater(d["force_max"], 0.0)
        # the calculator passes the deviation on; a single model has none
        atoms = frames[0].copy()
        atoms.calc = GBNetCalculator(committee)
        atoms.get_potential_energy()
        self.assertAlmostEqual(atoms.calc.results["deviation"]["force_max"], together[0].deviation["force_max"])
        self.assertIsNone(gbnet.Potential(paths[0]).evaluate(frames[0]).deviation)
        # save writes every member
        committee.save(self.path("again.gbnet"))
        self.assertEqual(gbnet.Potential(self.path("again.gbnet")).committee_size, 3)

    def test_members_that_differ_are_refused_by_name(self):
        paths = self.members(1)
        other = self.path("other.gbnet")
        run_gbnet("init", "--elements", "O,H", "--features", "16", "--blocks", "2", "--rbf", "12",
                  "--cutoff", "5", "-o", other)
        with self.assertRaises(gbnet.GBNetError) as caught:
            gbnet.make_committee([paths[0], other], self.path("bad.gbnet"))
        self.assertIn("cutoff", str(caught.exception))
        with self.assertRaises(gbnet.GBNetInputError):
            gbnet.make_committee([], self.path("none.gbnet"))


if __name__ == "__main__":
    unittest.main()
