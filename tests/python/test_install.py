"""The package as users install it: `cmake --install` into a fresh prefix
(found there without GBNET_LIBRARY, `gbnet plot` of the installed command
finds it), and `pip install --no-build-isolation` offline."""
import os
import re
import shutil
import subprocess
import sys
import unittest

from common import SOURCE, WATER, WATER_POT, TempDirTest

PROBE = ("import sys, gbnet\n"
         "atoms = gbnet.read_data(sys.argv[1])[0]\n"
         "print(gbnet.library_path)\n"
         "print(repr(gbnet.Potential(sys.argv[2]).evaluate(atoms).energy))\n")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("GBNET_LIBRARY", "PYTHONPATH")}
    env.update(extra)
    return env


class Installed(TempDirTest):
    def reference_energy(self):
        import gbnet
        return gbnet.Potential(WATER_POT).evaluate(gbnet.read_data(WATER)[0]).energy

    def test_cmake_install(self):
        prefix = self.path("prefix")
        subprocess.run(["cmake", "--install", os.environ["GBNET_BINARY_DIR"], "--prefix", prefix],
                       check=True, capture_output=True)
        site = os.path.join(prefix, "lib", "python3", "dist-packages")
        self.assertTrue(os.path.exists(os.path.join(site, "gbnet", "_installed.py")))
        r = subprocess.run([sys.executable, "-c", PROBE, WATER, WATER_POT], capture_output=True, text=True,
                           env=clean_env(PYTHONPATH=site), cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        library, energy = r.stdout.split()
        self.assertTrue(os.path.realpath(library).startswith(os.path.realpath(prefix)), library)
        self.assertEqual(float(energy), self.reference_energy())
        # the installed command's `gbnet plot` runs the installed package
        log = self.path("train.csv")
        with open(log, "w") as f:
            f.write("epoch,steps,lr,train_loss,train_energy_rmse_meV_atom,train_force_rmse_meV_A,"
                    "train_stress_rmse_GPa,valid_loss,valid_energy_rmse_meV_atom,valid_force_rmse_meV_A,"
                    "valid_stress_rmse_GPa,valid_energy_mae_meV_atom,valid_force_mae_meV_A,elapsed_s,"
                    "structures_per_s,atoms_per_s,best\n"
                    "0,0,0.001,,,,,2.0,30,900,,25,700,0,,,1\n"
                    "1,10,0.001,1.5,20,800,,1.2,18,600,,15,500,3,100,900,1\n")
        r = subprocess.run([os.path.join(prefix, "bin", "gbnet"), "plot", log], capture_output=True, text=True,
                           env=clean_env(), cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.getsize(self.path("train.png")) > 10000)

    def test_pip_install_offline(self):
        if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode != 0:
            self.skipTest("python3-pip is not installed")
        source = shutil.copytree(os.path.join(SOURCE, "python"), self.path("src"),
                                 ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        target = self.path("site")
        r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
                            "--no-index", "--target", target, source], capture_output=True, text=True,
                           env=clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = subprocess.run([sys.executable, "-c", PROBE, WATER, WATER_POT], capture_output=True, text=True,
                           env=clean_env(PYTHONPATH=target, GBNET_LIBRARY=os.environ["GBNET_LIBRARY"]),
                           cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(float(r.stdout.split()[1]), self.reference_energy())

    def test_package_version_is_the_library_version(self):
        import gbnet
        with open(os.path.join(SOURCE, "python", "pyproject.toml")) as f:
            version = re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)
        self.assertEqual(version, gbnet.__version__)


if __name__ == "__main__":
    unittest.main()
