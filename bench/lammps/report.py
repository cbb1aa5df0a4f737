"""Turns the raw lines of bench/lammps/run.sh into RESULTS.md (stdout).

Usage: python3 report.py results.txt > RESULTS.md
Lines: "META key=value" and "RESULT key=value key=value ..." (see run.sh).
"""
import sys

MODES = [("1T", "1 thread"), ("2T", "2 threads"), ("2MPI", "2 MPI ranks x 1 thread")]
SI_ATOMS_OF_WATER = {192: 216, 1536: 1728, 12288: 13824}
TIMESTEP_FS = 0.5
LAMMPS_CORE_TARGET = 1.10


def parse(path):
    meta, results = {}, []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("META "):
                key, _, value = line[5:].partition("=")
                meta[key] = value
            elif line.startswith("RESULT "):
                results.append(dict(tok.split("=", 1) for tok in line.split()[1:] if "=" in tok))
    return meta, results


def find(results, engine, atoms, mode):
    for r in results:
        if r.get("engine") == engine and int(r.get("atoms", -1)) == atoms and r.get("mode") == mode:
            return r
    return None


def fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}g}"


def lammps_us(r):
    return float(r["us_per_atom_step"]) if r and "us_per_atom_step" in r else None


def main():
    meta, results = parse(sys.argv[1])
    out = []
    w = out.append
    w("# pair_style gbnet in LAMMPS: speed\n")
    w(f"- Date: {meta.get('start', '?')} to {meta.get('end', '?')}, {meta.get('wall_s', '?')} s wall")
    w(f"- Machine: {meta.get('machine', '?')}; {meta.get('kernel', '?')}")
    w(f"- CPU vendor: {meta.get('cpu_vendor', '?')}; relevant flags: {meta.get('cpu_flags', '?').strip() or 'none'}")
    w(f"- Load average (1, 5, 15 min) at start: {meta.get('load_start', '?')}; at end: {meta.get('load_end', '?')}")
    w(f"- Command: `{meta.get('command', '?')}` (from the repository root); commit {meta.get('commit', '?')}")
    w(f"- Potential: `{meta.get('potential', '?')}`: {meta.get('model', '?')}; `pair_style gbnet precision float`")
    w(f"- LAMMPS: {meta.get('lammps', '?')}, Debian's liblammps through `gbnet-lmp`; tersoff on 2 threads: "
      f"`tersoff/omp` (`-sf omp -pk omp 2`) of `{meta.get('tersoff_2T', 'none')}` (Debian's LAMMPS has no OPENMP package)")
    w("- Water: `shared/data/deepmd_water/raw/lammps_start/water.lmp` (64 H2O, 12.44 Å box) with `replicate n n n`, "
      "velocities at 300 K, NVE, 0.5 fs, neighbor skin 1 Å (`bench/lammps/in.water_speed`). "
      f"Silicon: diamond, a = 5.431 Å, 600 K, NVE, 1 fs, `{meta.get('tersoff_file', 'Si.tersoff')}` "
      "(`bench/lammps/in.si_tersoff`).")
    w("- LAMMPS time: a warm-up run, then timed runs (steps and repeats below); µs/atom/step = Loop time / "
      "(steps × atoms), median of the timed runs; pair share = the `Pair` row of LAMMPS's timing breakdown (the rest "
      "is neighbor lists, communication, integration). Threads: `OMP_NUM_THREADS` and `pair_style gbnet ... threads N`. "
      "MPI: `mpirun -np 2` with `OMP_NUM_THREADS=1`.")
    w("- Core time: `bench_gbnet run` (`gbnet_evaluate` on the same water box, atoms displaced by up to 0.02 Å "
      "and by 0.001 Å before each step; neighbor list included), float, median step after 2 warm-up steps, "
      "run just before the LAMMPS job of the same size and thread count. "
      f"LAMMPS/core target: ≤ {LAMMPS_CORE_TARGET:.2f}.\n")

    w("## µs per atom per step\n")
    w("| water atoms | mode | gbnet in LAMMPS | pair share | ns/day | core (bench_gbnet) | LAMMPS/core "
      "| Si atoms | tersoff | tersoff pair share | gbnet/tersoff | steps x repeats (water) |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for atoms in sorted({int(r["atoms"]) for r in results if r.get("engine") == "gbnet"}):
        si_atoms = SI_ATOMS_OF_WATER.get(atoms)
        for mode, label in MODES:
            g = find(results, "gbnet", atoms, mode)
            c = find(results, "core", atoms, mode)
            t = find(results, "tersoff", si_atoms, mode) if si_atoms else None
            g_us = lammps_us(g)
            c_us = float(c["us_per_atom"]) if c and "us_per_atom" in c else None
            t_us = lammps_us(t)
            ratio = g_us / c_us if g_us and c_us else None
            ratio_txt = "—" if ratio is None else f"{ratio:.3f}" + ("" if ratio <= LAMMPS_CORE_TARGET else " (over)")
            ns_day = 86400.0 / (g_us * 1e-6 * atoms) * TIMESTEP_FS * 1e-6 if g_us else None
            g_txt = fmt(g_us) if g_us else ("failed" if g else "—")
            t_txt = fmt(t_us) if t_us else ("not run" if t and t.get("failed") == "no_openmp_lammps"
                                             else "failed" if t else "—")
            w(f"| {atoms} | {label} | {g_txt} | {g.get('pair_share', '—') + ' %' if g_us else '—'} | {fmt(ns_day)} "
              f"| {fmt(c_us)} | {ratio_txt} | {si_atoms or '—'} | {t_txt} "
              f"| {t.get('pair_share', '—') + ' %' if t_us else '—'} | {fmt(g_us / t_us if g_us and t_us else None)} "
              f"| {g['steps'] + ' x ' + g['repeats'] if g_us else '—'} |")

    w("\n## Every timed run (µs/atom/step)\n")
    w("| engine | system | atoms | mode | steps | runs |")
    w("|---|---|---|---|---|---|")
    for r in results:
        if r.get("engine") in ("gbnet", "tersoff") and "runs" in r:
            w(f"| {r['engine']} | {r['system']} | {r['atoms']} | {r['mode']} | {r['steps']} | {r['runs'].replace(',', ', ')} |")
    w("\nRaw lines and LAMMPS logs: `build-lmpbench/lmpbench-work/` (not committed).")
    print("\n".join(out))


if __name__ == "__main__":
    main()
