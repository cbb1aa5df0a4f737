"""Total-energy drift of the NVE run in a LAMMPS log (bench/lammps/nve_drift.sh).

Usage: python3 drift_fit.py LOG
Reads the last thermo block of LOG (columns Step Time ... TotEng, as written by
in.nve_drift), fits TotEng = a + b t by least squares over the whole block and
prints the drift b per atom (meV/atom/ps), the RMS of the residuals and the
standard deviation of TotEng (meV/atom), the largest |E(t) - E(0)|, the mean
temperature, and the drift of each half of the run (a drift that is a straight
line gives the same slope in both halves).
"""
import re
import sys

import numpy as np


def last_thermo_block(lines):
    """(header, rows, atoms) of the last thermo block before a Loop time line."""
    header, rows, block = None, [], None
    for line in lines:
        words = line.split()
        if words[:2] == ["Step", "Time"]:
            header, rows = words, []
            continue
        if header is None:
            continue
        m = re.match(r"Loop time of \S+ on \d+ procs for (\d+) steps with (\d+) atoms", line)
        if m:
            block = (header, rows, int(m.group(2)))
            header = None
            continue
        try:
            values = [float(w) for w in words]
        except ValueError:
            continue  # warnings and other text between thermo lines
        if len(values) == len(header):
            rows.append(values)
    if header is not None:
        sys.exit("drift_fit.py: the last run in the log did not finish (no Loop time line after its thermo output)")
    if block is None or len(block[1]) < 3:
        sys.exit("drift_fit.py: no finished thermo block with at least 3 lines (Step Time ... TotEng) in the log")
    return block


def slope(t, e):
    return np.polyfit(t, e, 1)[0]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 drift_fit.py LAMMPS_LOG")
    with open(sys.argv[1]) as f:
        header, rows, atoms = last_thermo_block(f.readlines())
    data = np.array(rows)
    col = {name: i for i, name in enumerate(header)}
    for name in ("Time", "TotEng", "Temp"):
        if name not in col:
            sys.exit(f"drift_fit.py: thermo block has no {name} column ({' '.join(header)})")
    t = data[:, col["Time"]] - data[0, col["Time"]]  # ps
    e = data[:, col["TotEng"]]  # eV
    b, a = np.polyfit(t, e, 1)
    residual = e - (a + b * t)
    half = len(t) // 2
    per_atom = 1000.0 / atoms  # eV -> meV/atom
    print(f"atoms                      {atoms}")
    print(f"NVE time                   {t[-1]:.3f} ps ({len(t)} thermo lines)")
    print(f"mean temperature           {data[:, col['Temp']].mean():.1f} K")
    print(f"total energy E(0)          {e[0]:.8f} eV")
    print(f"drift (linear fit)         {b * per_atom:.6f} meV/atom/ps")
    print(f"drift, first half          {slope(t[:half + 1], e[:half + 1]) * per_atom:.6f} meV/atom/ps")
    print(f"drift, second half         {slope(t[half:], e[half:]) * per_atom:.6f} meV/atom/ps")
    print(f"RMS about the fit          {np.sqrt(np.mean(residual ** 2)) * per_atom:.6f} meV/atom")
    print(f"std of total energy        {e.std() * per_atom:.6f} meV/atom")
    print(f"max |E(t) - E(0)|          {np.abs(e - e[0]).max() * per_atom:.6f} meV/atom")


if __name__ == "__main__":
    main()
