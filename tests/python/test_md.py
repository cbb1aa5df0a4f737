"""ASE NVE of the water box (192 atoms) for 1 ps with the calculator
conserves energy as well as LAMMPS does with the same potential, from the
same positions and velocities, with the same 0.5 fs step and precision (float: the
precision MD runs with; both sides sum energies in double)."""
import os
import subprocess
import unittest

import numpy as np
from ase import units
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
from ase.md.verlet import VelocityVerlet

import gbnet
from gbnet.calculator import GBNetCalculator
from common import WATER, WATER_POT, TempDirTest

STEPS, DT_FS, EVERY = 2000, 0.5, 10
MASSES = {8: 15.999, 1: 1.008}  # as examples/water/in.water

LAMMPS_INPUT = """\
units           metal
atom_style      atomic
boundary        p p p
atom_modify     map array
read_data       {data}
mass            1 15.999
mass            2 1.008
pair_style      gbnet precision float
pair_coeff      * * {pot} O H
neighbor        1.0 bin
neigh_modify    every 1 delay 0 check yes
timestep        {dt}
fix             nve all nve
thermo_style    custom step pe ke etotal
thermo_modify   format float %.15g
thermo          {every}
run             {steps}
"""


def write_lammps_data(path, atoms):
    """Positions, velocities (Å/ps) and the orthogonal cell of atoms; types 1 = O, 2 = H."""
    cell = atoms.get_cell()
    assert np.allclose(cell, np.diag(np.diag(cell))), "an orthogonal box is expected"
    v = atoms.get_velocities() * units.fs * 1000.0  # ASE velocity unit -> Å/ps
    with open(path, "w") as f:
        f.write(f"water from {WATER} frame 0 (gbnet tests/python/test_md.py)\n\n{len(atoms)} atoms\n2 atom types\n\n")
        for d, name in enumerate("xyz"):
            f.write(f"0 {cell[d, d]!r} {name}lo {name}hi\n")
        f.write("\nAtoms # atomic\n\n")
        for i, (z, p) in enumerate(zip(atoms.numbers, atoms.positions)):
            f.write(f"{i + 1} {1 if z == 8 else 2} {p[0]!r} {p[1]!r} {p[2]!r}\n")
        f.write("\nVelocities\n\n")
        for i, vi in enumerate(v):
            f.write(f"{i + 1} {vi[0]!r} {vi[1]!r} {vi[2]!r}\n")


def conservation(times_ps, energies, n_atoms):
    """(max |E - E0|, drift from a linear fit) in meV/atom and meV/atom/ps."""
    e = (np.asarray(energies) - energies[0]) / n_atoms * 1000.0
    slope = np.polyfit(times_ps, e, 1)[0]
    return float(np.max(np.abs(e))), float(slope)


@unittest.skipUnless(os.path.exists(os.environ.get("GBNET_LMP", "")), "gbnet-lmp not built (GBNET_LAMMPS=OFF)")
class NveLikeLammps(TempDirTest):
    def test_energy_conservation_matches_lammps(self):
        atoms = gbnet.read_data(WATER)[0]
        atoms.set_masses([MASSES[z] for z in atoms.numbers])
        MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(11))
        Stationary(atoms)
        data = self.path("water.data")
        write_lammps_data(data, atoms)

        with open(self.path("in.nve"), "w") as f:
            f.write(LAMMPS_INPUT.format(data=data, pot=WATER_POT, dt=DT_FS / 1000.0, every=EVERY, steps=STEPS))
        r = subprocess.run([os.environ["GBNET_LMP"], "-in", "in.nve", "-log", "log.lammps", "-screen", "none"],
                           cwd=self.dir, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        rows = []
        with open(self.path("log.lammps")) as f:
            lines = iter(f)
            for line in lines:
                if line.split()[:4] == ["Step", "PotEng", "KinEng", "TotEng"]:
                    for row in lines:
                        if row.startswith("WARNING"):  # e.g. the pair style's coverage warnings
                            continue
                        w = row.split()
                        if len(w) != 4 or not w[0].isdigit():
                            break
                        rows.append([float(x) for x in w])
                    break
        lmp = np.array(rows)
        self.assertEqual(len(lmp), STEPS // EVERY + 1)

        atoms.calc = GBNetCalculator(WATER_POT, precision="float", threads=2)
        ase_rows = []

        def record():
            ase_rows.append([atoms.get_potential_energy(), atoms.get_kinetic_energy()])
        record()
        md = VelocityVerlet(atoms, timestep=DT_FS * units.fs)
        md.attach(record, interval=EVERY)
        md.run(STEPS)
        ase_e = np.array(ase_rows[:-1] if len(ase_rows) > STEPS // EVERY + 1 else ase_rows)
        self.assertEqual(len(ase_e), STEPS // EVERY + 1)

        n = len(atoms)
        # the same start: potential energy to rounding, kinetic energy to the unit constants
        self.assertAlmostEqual(ase_e[0, 0], lmp[0, 1], delta=1e-7 * abs(lmp[0, 1]))
        self.assertAlmostEqual(ase_e[0, 1], lmp[0, 2], delta=1e-5 * lmp[0, 2])
        t = np.arange(len(lmp)) * EVERY * DT_FS / 1000.0
        ase_max, ase_drift = conservation(t, ase_e.sum(axis=1), n)
        lmp_max, lmp_drift = conservation(t, lmp[:, 3], n)
        print(f"\nNVE 1 ps, 192 atoms, dt {DT_FS} fs: max |E-E0| ASE {ase_max:.4f} / LAMMPS {lmp_max:.4f} meV/atom; "
              f"drift ASE {ase_drift:+.4f} / LAMMPS {lmp_drift:+.4f} meV/atom/ps")
        self.assertLess(lmp_max, 1.0, "LAMMPS itself should conserve energy")
        self.assertLessEqual(ase_max, 1.5 * lmp_max + 0.02)
        self.assertLessEqual(abs(ase_drift), 1.5 * abs(lmp_drift) + 0.05)


if __name__ == "__main__":
    unittest.main()
