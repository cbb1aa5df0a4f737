"""What the Python tests share: paths from the environment ctest sets
(tests/CMakeLists.txt), small data slices, running the gbnet command."""
import os
import subprocess
import tempfile
import unittest

SOURCE = os.environ.get("GBNET_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
DATA = os.environ.get("GBNET_DATA_DIR", os.path.join(SOURCE, "..", "shared", "data"))
GBNET = os.environ.get("GBNET_COMMAND", os.path.join(SOURCE, "build", "gbnet"))
WATER = os.path.join(DATA, "deepmd_water", "deepmd_water.extxyz")
ETHANOL = os.path.join(DATA, "rmd17_ethanol", "rmd17_ethanol_train.extxyz")
ETHANOL_TEST = os.path.join(DATA, "rmd17_ethanol", "rmd17_ethanol_test.extxyz")
TANTALUM = os.path.join(DATA, "fitsnap_ta", "fitsnap_ta.extxyz")
WATER_POT = os.path.join(SOURCE, "potentials", "water.gbnet")
TANTALUM_POT = os.path.join(SOURCE, "potentials", "tantalum.gbnet")


def slice_frames(src, dst, first, count):
    """Frames first..first+count-1 of an extxyz file into dst (text copied as is)."""
    with open(src) as f, open(dst, "w") as out:
        k = 0
        while k < first + count:
            header = f.readline()
            if not header:
                break
            n = int(header)
            lines = [f.readline() for _ in range(n + 1)]
            if k >= first:
                out.write(header + "".join(lines))
            k += 1
    return dst


def gbnet(*args, check=True, **kwargs):
    """Runs the gbnet command; returns the CompletedProcess (text output)."""
    r = subprocess.run([GBNET, *map(str, args)], capture_output=True, text=True, **kwargs)
    if check and r.returncode != 0:
        raise AssertionError(f"gbnet {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="gbnet-pytest-")
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)
