"""The ASE calculator against `gbnet eval --write-predictions` (double
precision, to 1e-10) on water, ethanol and tantalum frames; forces and
stress against finite differences of the calculator's energy; ASE's
optimizer; batches; check_state."""
import os
import unittest

import numpy as np
from ase.calculators.calculator import PropertyNotImplementedError
from ase.optimize import BFGS

import gbnet
from gbnet.calculator import GBNetCalculator
from common import (ETHANOL, TANTALUM, TANTALUM_POT, WATER, WATER_POT, TempDirTest, gbnet as run_gbnet,
                    slice_frames)


class MatchesGbnetEval(TempDirTest):
    def compare(self, model, data, rtol_energy=1e-10):
        pred = self.path("pred.extxyz")
        run_gbnet("eval", model, data, "--write-predictions", pred)
        reference = gbnet.read_data(pred)        # gbnet eval's energies, forces, virials
        frames = gbnet.read_data(data)
        self.assertEqual(len(reference), len(frames))
        calc = GBNetCalculator(model)
        n_stress = 0
        for k, (atoms, ref) in enumerate(zip(frames, reference)):
            atoms.calc = calc
            e = atoms.get_potential_energy()
            self.assertLessEqual(abs(e - ref.get_potential_energy()), 1e-10 * max(1.0, abs(e)), f"frame {k} energy")
            np.testing.assert_allclose(atoms.get_forces(), ref.get_forces(), rtol=0, atol=1e-10,
                                       err_msg=f"frame {k} forces")
            self.assertAlmostEqual(float(np.sum(calc.results["energies"])), e, delta=1e-9 * max(1.0, abs(e)))
            if atoms.cell.volume > 0:
                np.testing.assert_allclose(atoms.get_stress(), ref.get_stress(), rtol=0, atol=1e-10,
                                           err_msg=f"frame {k} stress")
                n_stress += 1
        return len(frames), n_stress

    def test_water(self):
        data = slice_frames(WATER, self.path("water.extxyz"), 0, 3)
        n, n_stress = self.compare(WATER_POT, data)
        self.assertEqual((n, n_stress), (3, 3))

    def test_ethanol(self):
        model = self.path("ethanol_random.gbnet")
        run_gbnet("init", "--elements", "C,H,O", "--features", "16", "--blocks", "2", "--rbf", "12",
                  "--cutoff", "4", "--seed", "5", "-o", model)
        data = slice_frames(ETHANOL, self.path("ethanol.extxyz"), 0, 20)
        n, n_stress = self.compare(model, data)
        self.assertEqual((n, n_stress), (20, 0))

    def test_tantalum(self):
        # frames of several kinds: small and skewed cells, liquid, surfaces
        frames = gbnet.read_data(TANTALUM)
        picks = [k for k in range(len(frames)) if k % 17 == 0]
        gbnet.write_data(self.path("ta.extxyz"), [frames[k] for k in picks])
        n, n_stress = self.compare(TANTALUM_POT, self.path("ta.extxyz"))
        self.assertEqual((n, n_stress), (len(picks), len(picks)))

    def test_float_precision_is_close_to_double(self):
        atoms = gbnet.read_data(WATER)[0]
        double = gbnet.Potential(WATER_POT).evaluate(atoms)
        single = gbnet.Potential(WATER_POT, precision="float").evaluate(atoms)
        self.assertLess(abs(double.energy - single.energy) / len(atoms), 1e-4)
        self.assertLess(np.max(np.abs(double.forces - single.forces)), 1e-2)


class FiniteDifferences(unittest.TestCase):
    def test_forces_are_minus_the_energy_gradient(self):
        for model, data, atoms_to_check in ((WATER_POT, WATER, (0, 1, 2, 100)), (TANTALUM_POT, TANTALUM, (0, 5))):
            atoms = gbnet.read_data(data)[0]
            atoms.calc = GBNetCalculator(model)
            forces = atoms.get_forces()
            h = 1e-4
            for i in atoms_to_check:
                for d in range(3):
                    p = atoms.get_positions()
                    p[i, d] += h
                    atoms.set_positions(p)
                    e_plus = atoms.get_potential_energy()
                    p[i, d] -= 2 * h
                    atoms.set_positions(p)
                    e_minus = atoms.get_potential_energy()
                    p[i, d] += h
                    atoms.set_positions(p)
                    fd = -(e_plus - e_minus) / (2 * h)
                    self.assertAlmostEqual(fd, forces[i, d], delta=2e-6 + 1e-5 * abs(fd),
                                           msg=f"{os.path.basename(model)} atom {i} direction {d}")

    def test_stress_is_the_strain_derivative(self):
        atoms = gbnet.read_data(TANTALUM)[40]
        atoms.calc = GBNetCalculator(TANTALUM_POT)
        numerical = atoms.calc.calculate_numerical_stress(atoms, d=1e-5, voigt=True)
        np.testing.assert_allclose(atoms.get_stress(), numerical, rtol=0, atol=2e-7)


class AsCalculator(unittest.TestCase):
    def test_bfgs_relaxes_a_molecule(self):
        atoms = gbnet.read_data(WATER)[0][:3]  # one H2O molecule, no cell
        atoms.set_cell(np.zeros((3, 3)))
        atoms.pbc = False
        atoms.calc = GBNetCalculator(WATER_POT)
        e0 = atoms.get_potential_energy()
        BFGS(atoms, logfile=None).run(fmax=0.01, steps=200)
        self.assertLess(atoms.get_potential_energy(), e0)
        self.assertLess(np.max(np.linalg.norm(atoms.get_forces(), axis=1)), 0.01)
        with self.assertRaises(PropertyNotImplementedError):
            atoms.get_stress()

    def test_batch_equals_one_at_a_time(self):
        pot = gbnet.Potential(TANTALUM_POT)
        frames = gbnet.read_data(TANTALUM)[:12]
        batch = pot.evaluate(frames)
        for atoms, b in zip(frames, batch):
            one = pot.evaluate(atoms)
            self.assertAlmostEqual(one.energy, b.energy, delta=1e-10 * abs(one.energy))
            np.testing.assert_allclose(one.forces, b.forces, rtol=0, atol=1e-10)
            np.testing.assert_allclose(one.stress, b.stress, rtol=0, atol=1e-12)
            self.assertIsNone(b.deviation)

    def test_check_state_ignores_what_the_model_does_not_use(self):
        atoms = gbnet.read_data(WATER)[0]
        calc = GBNetCalculator(WATER_POT)
        atoms.calc = calc
        atoms.get_potential_energy()
        atoms.set_initial_charges(np.ones(len(atoms)))
        self.assertEqual(calc.check_state(atoms), [])
        atoms.positions[0, 0] += 0.01
        self.assertEqual(calc.check_state(atoms), ["positions"])
        atoms.set_cell(atoms.cell * 1.01, scale_atoms=True)
        self.assertIn("cell", calc.check_state(atoms))

    def test_info(self):
        info = gbnet.Potential(WATER_POT).info()
        self.assertEqual(info["elements"], ["O", "H"])
        self.assertEqual(info["committee_size"], 1)
        self.assertGreater(info["parameters"], 1000)
        self.assertIn("trained by gbnet", info["provenance"])


if __name__ == "__main__":
    unittest.main()
