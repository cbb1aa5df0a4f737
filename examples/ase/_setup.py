"""Makes `import gbnet` work from a source checkout too: when the package is
not installed, python/ of this repository is put on the path (the package
then finds build/libgbnet.so by itself)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
try:
    import gbnet  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(REPO, "python"))
