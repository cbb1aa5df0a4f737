"""The ctypes mirrors of the public structs (python/gbnet/_lib.py) have the
C compiler's sizes and field offsets (tests/python/abi_layout.c)."""
import ctypes
import os
import subprocess
import unittest

from gbnet import _lib


class AbiLayout(unittest.TestCase):
    def test_every_struct_and_field_matches_the_compiler(self):
        out = subprocess.run([os.environ["GBNET_ABI_LAYOUT"]], capture_output=True, text=True, check=True).stdout
        layout = dict(line.rsplit(" ", 1) for line in out.splitlines())
        self.assertEqual(int(layout.pop("sig_atomic_t")), ctypes.sizeof(_lib.SigAtomic))
        # the margins' defaults the Python package mirrors (gbnet.h #defines)
        from gbnet import potential
        self.assertEqual(float(layout.pop("GBNET_DEFAULT_DISTANCE_MARGIN")), potential.DEFAULT_DISTANCE_MARGIN)
        self.assertEqual(float(layout.pop("GBNET_DEFAULT_FEATURE_MARGIN")), potential.DEFAULT_FEATURE_MARGIN)
        seen = set()
        for c_name, cls in _lib.STRUCTS.items():
            self.assertEqual(int(layout[c_name]), ctypes.sizeof(cls), f"sizeof({c_name})")
            seen.add(c_name)
            for field, _ in cls._fields_:
                key = f"{c_name}.{field}"
                self.assertIn(key, layout, f"abi_layout.c does not print {key}")
                self.assertEqual(int(layout[key]), getattr(cls, field).offset, key)
                seen.add(key)
        self.assertEqual(set(layout) - seen, set(), "fields in C that the ctypes mirror lacks")

    def test_library_is_the_build_tree_one(self):
        import gbnet
        self.assertEqual(os.path.realpath(gbnet.library_path), os.path.realpath(os.environ["GBNET_LIBRARY"]))
        self.assertRegex(gbnet.__version__, r"^\d+\.\d+\.\d+")
        # submodules reachable from `import gbnet` alone, as the README uses them
        self.assertTrue(callable(gbnet.plot.learning_curves))
        self.assertTrue(issubclass(gbnet.GBNetCalculator, gbnet.calculator.Calculator))


if __name__ == "__main__":
    unittest.main()
