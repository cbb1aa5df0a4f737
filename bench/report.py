#!/usr/bin/python3
"""Writes bench/RESULTS.md from the RESULT / SKIP / META lines that
bench/run.sh collected (one run, one machine). Only the standard library and
NumPy; called by run.sh, not meant to be run alone.

    report.py --raw results.txt --work WORKDIR --command "bench/run.sh" --out bench/RESULTS_intel.md \
              --index bench/RESULTS.md

Results depend on the CPU vendor (Intel cores are slow on subnormal floats,
AMD ones are not; the SIMD units differ), so each vendor keeps its own file,
bench/RESULTS_<vendor>.md, and bench/RESULTS.md indexes them with their
targets tables.
"""
import argparse
import os
import platform
import subprocess

import numpy as np

TARGETS_NOTE = "targets from issues 5 and 9"

# lscpu flags that decide the speed of the kernels (AVX-512, VNNI, BF16, AMX);
# bench/cpu_info.sh lists the same ones for the shell scripts
RELEVANT_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
                  "amx_tile", "amx_bf16", "amx_int8")


def parse(path):
    results, skips, meta = [], [], {}
    with open(path) as f:
        for line in f:
            kind, _, rest = line.strip().partition(" ")
            fields = dict(item.split("=", 1) for item in rest.split() if "=" in item)
            if kind == "RESULT":
                if "model" in fields:
                    fields["name"] = os.path.basename(fields["model"]).removesuffix(".gbnet")
                results.append(fields)
            elif kind == "SKIP":
                skips.append(fields)
            elif kind == "META":
                meta.update(fields)
    return results, skips, meta


def lscpu():
    info = {}
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            key, _, value = line.partition(":")
            info[key.strip()] = value.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def cpu_flags():
    have = set(lscpu().get("Flags", "").split())
    present = [f for f in RELEVANT_FLAGS if f in have]
    absent = [f for f in RELEVANT_FLAGS if f not in have]
    return f"{' '.join(present) or 'none'} (absent: {' '.join(absent) or 'none'})"


def machine():
    info = lscpu()
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{info.get('Model name', platform.processor())}, {info.get('CPU(s)', '?')} logical CPUs "
            f"({info.get('Core(s) per socket', '?')} cores/socket, {info.get('Thread(s) per core', '?')} "
            f"thread/core, {info.get('Socket(s)', '?')} socket), {mem_gib:.0f} GiB RAM, "
            f"{info.get('Hypervisor vendor', 'no')} hypervisor; {platform.system()} {platform.release()}")


def git_state(root):
    def git(*args):
        r = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else "?"
    dirty = git("status", "--porcelain", "--", "core", "bench", ":!bench/RESULTS*.md")  # not this report itself
    return git("rev-parse", "--short", "HEAD") + (" (core/ or bench/ has uncommitted changes)" if dirty else "")


def fmt(v, digits=3):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}g}"


def find(results, **want):
    for r in results:
        if all(r.get(k) == str(v) for k, v in want.items()):
            return r
    return None


def num(r, key):
    return float(r[key]) if r is not None and key in r else None


def rss_mb(*runs):
    """Largest peak RSS of the given runs (None entries ignored), MB."""
    values = [num(r, "maxrss_kb") for r in runs if r is not None]
    return max(values) / 1024 if values else None


def read_dump(path):
    with open(path) as f:
        n, _ = f.readline().split()
        f.readline()
        energy = float(f.readline())
        rows = np.loadtxt(f, ndmin=2)
    return int(n), energy, rows[:, 4:7]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--index", help="RESULTS.md to rewrite as the index of the per-vendor files beside --out")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    results, skips, meta = parse(args.raw)
    gb = [r for r in results if r.get("engine") == "gbnet"]
    th_all = [r for r in results if r.get("engine") == "torch"]
    # the main tables compare with PyTorch flushing subnormals (as gbnet computes none)
    th = [r for r in th_all if r.get("flush_denormal", "1") == "1"]
    blas = [r for r in results if r.get("engine") == "blas"]

    def peak(precision, threads):
        r = find(blas, kernel="sgemm" if precision == "float" else "dgemm", shape="1024^3", threads=threads)
        return num(r, "gflops")

    out = []
    w = out.append
    w("# gbnet benchmark results\n")
    w(f"- Date: {meta.get('start_date', '?')} to {meta.get('end_date', '?')} (UTC), "
      f"{meta.get('elapsed_s', '?')} s wall")
    w(f"- Machine: {machine()}")
    w(f"- CPU vendor: {lscpu().get('Vendor ID', '?')}; relevant flags: {cpu_flags()}")
    w(f"- Load average (1, 5, 15 min) at start: {meta.get('load_start', '?')}; at end: {meta.get('load_end', '?')}")
    w(f"- Command: `{args.command}` (from the repository root); commit {git_state(root)}")
    w("- Structures: frame 0 of `shared/data/deepmd_water/deepmd_water.extxyz` (64 H2O, 192 atoms, cubic "
      "12.44 Å box) replicated 1x1x1, 2x2x2, 4x4x4, atoms displaced randomly by up to 0.02 Å (and by up to 0.001 Å before each step) so that replicas are not exact copies. Models: random weights (`bench_gbnet make-model`, seed 1), "
      "T=3, rc=5 Å, readout width F/2.")
    w("- Timing: energy + forces of one structure per call; one warm-up step, then the median of 5 steps "
      "(PyTorch: 3 at 12288 atoms). gbnet: `gbnet_evaluate`, neighbor list included. PyTorch "
      f"{torch_version()}: forward + `autograd.grad` given a precomputed edge list (neighbor search excluded).")
    w("- **Noise:** the 2-core machine was shared with other jobs during this run (see load average); "
      "medians are noisy, especially on 2 threads. Re-run `bench/run.sh` on a quiet machine for final numbers.")
    if meta.get("note"):
        w(f"- Note: {meta['note'].replace('_', ' ')}.")
    w("")

    # ---------------------------------------------------------------- peak
    w("## OpenBLAS GEMM (the machine's practical peak)\n")
    w("| kernel | shape (M x K)·(K x N) | threads | GFLOP/s |")
    w("|---|---|---|---|")
    for r in blas:
        w(f"| {r['kernel']} | ({r['M']} x {r['K']})·({r['K']} x {r['N']}) | {r['threads']} | {fmt(num(r, 'gflops'))} |")
    w("")

    # ---------------------------------------------------------------- speed
    w("## Speed: µs per atom per step (energy + forces), medians\n")
    w("torch:gbnet = PyTorch time / gbnet time (higher is better for gbnet). GFLOP/s: the model's FLOP count "
      "(bench/README.md) over gbnet's step time; % peak against the 1024³ sgemm (dgemm for double) on the "
      "same number of threads. nlist: share of gbnet's step spent in the neighbor-list build. "
      "Tabulated models are compared with PyTorch running the exact model.\n")
    w("| model | atoms | edges | prec | gbnet 1T | gbnet 2T | 2T speed-up | torch 1T | torch 2T | torch:gbnet 1T "
      "| torch:gbnet 2T | GFLOP/s 1T | GFLOP/s 2T | % peak 2T | nlist 2T | ws bytes/atom | gbnet RSS MB | torch RSS MB |")
    w("|" + "---|" * 18)
    keys = {(r["name"], int(r["atoms"]), r["precision"]) for r in gb}

    def order(k):
        name = k[0]
        base = name.removesuffix("_tab")
        f, kk = base[1:].split("k")
        return (-int(f), -int(kk), name.endswith("_tab"), k[1], k[2] == "double")

    for name, atoms, prec in sorted(keys, key=order):
        g1 = find(gb, name=name, atoms=atoms, precision=prec, threads=1)
        g2 = find(gb, name=name, atoms=atoms, precision=prec, threads=2)
        exact = name.removesuffix("_tab")
        t1 = find(th, name=exact, atoms=atoms, precision=prec, threads=1)
        t2 = find(th, name=exact, atoms=atoms, precision=prec, threads=2)
        tab = name.endswith("_tab")

        def ratio(a, b):
            return num(a, "step_s") / num(b, "step_s") if a is not None and b is not None else None

        gf2 = None if tab else num(g2, "gflops")
        pk = peak(prec, 2)
        g_any = g2 or g1
        w(f"| {name} | {atoms} | {g_any['edges']} | {prec} | {fmt(num(g1, 'us_per_atom'))} | "
          f"{fmt(num(g2, 'us_per_atom'))} | {fmt(ratio(g1, g2))} | {fmt(num(t1, 'us_per_atom'))} | "
          f"{fmt(num(t2, 'us_per_atom'))} | {fmt(ratio(t1, g1))} | {fmt(ratio(t2, g2))} | "
          f"{fmt(None if tab else num(g1, 'gflops'))} | {fmt(gf2)} | "
          f"{fmt(100 * gf2 / pk if gf2 and pk else None)} | "
          f"{fmt(100 * num(g2, 'nlist_s') / num(g2, 'step_s') if g2 else None, 2)}% | "
          f"{fmt(num(g_any, 'ws_bytes_per_atom'))} | "
          f"{fmt(rss_mb(g1, g2))} | "
          f"{fmt(rss_mb(t1, t2))} |")
    w("")

    # ---------------------------------------------------------------- subnormals
    pairs = []
    for r in th_all:
        if r.get("flush_denormal") != "0":
            continue
        on = find(th_all, name=r["name"], atoms=r["atoms"], precision=r["precision"], threads=r["threads"],
                  flush_denormal=1)
        g = find(gb, name=r["name"], atoms=r["atoms"], precision=r["precision"], threads=r["threads"])
        pairs.append((r, on, g))
    if pairs:
        w("## PyTorch with and without flushing subnormals\n")
        w("`torch.set_flush_denormal(False)` (PyTorch's default) and `(True)` on the same structure; the other "
          "tables use `True`, the fair comparison, since gbnet computes no subnormals (docs/performance.md). "
          "µs per atom per step.\n")
        w("| model | atoms | prec | threads | torch default | torch flush | gbnet | torch default:gbnet "
          "| torch flush:gbnet |")
        w("|---|---|---|---|---|---|---|---|---|")
        for off, on, g in sorted(pairs, key=lambda p: (p[0]["name"], int(p[0]["atoms"]), p[0]["precision"],
                                                        p[0]["threads"])):
            def ratio(t):
                return num(t, "step_s") / num(g, "step_s") if t is not None and g is not None else None
            w(f"| {off['name']} | {off['atoms']} | {off['precision']} | {off['threads']} | "
              f"{fmt(num(off, 'us_per_atom'))} | {fmt(num(on, 'us_per_atom'))} | {fmt(num(g, 'us_per_atom'))} | "
              f"{fmt(ratio(off))} | {fmt(ratio(on))} |")
        w("")

    # ---------------------------------------------------------------- agreement
    w("## Agreement of gbnet and PyTorch on the same structure and weights\n")
    w("Each PyTorch run is compared with gbnet's result in the same precision (dumped by the 1-thread gbnet run). "
      "rel ΔF = max |ΔF| / max |F|. In double precision both must agree to ~1e-10 relative.\n")
    w("| model | atoms | prec | E gbnet (eV) | ΔE (eV) | rel ΔE | max abs ΔF (eV/Å) | rel ΔF | verdict |")
    w("|---|---|---|---|---|---|---|---|---|")
    seen = set()
    for r in sorted(th, key=lambda r: (r["name"], int(r["atoms"]), r["precision"])):
        key = (r["name"], r["atoms"], r["precision"])
        if key in seen:
            continue
        seen.add(key)
        rel_e, rel_f = float(r["rel_d_energy"]), float(r["rel_d_force"])
        tol = 1e-10 if r["precision"] == "double" else 1e-4
        verdict = "ok" if max(rel_e, rel_f) <= tol else f"**MISMATCH** (> {tol:g})"
        w(f"| {r['name']} | {r['atoms']} | {r['precision']} | {float(r['gbnet_energy']):.10g} | {r['d_energy']} | "
          f"{r['rel_d_energy']} | {r['d_force_max']} | {r['rel_d_force']} | {verdict} |")
    w("")

    # ---------------------------------------------------------------- tabulated deviation
    dumps = os.path.join(args.work, "dumps")
    tab_rows = []
    for name in sorted({r["name"] for r in gb if r["name"].endswith("_tab")}):
        exact = name.removesuffix("_tab")
        for atoms in sorted({int(r["atoms"]) for r in gb if r["name"] == name}):
            for prec in ("double", "float"):
                a = os.path.join(dumps, f"{name}_{atoms}_{prec}.txt")
                b = os.path.join(dumps, f"{exact}_{atoms}_{prec}.txt")
                if os.path.exists(a) and os.path.exists(b):
                    n, ea, fa = read_dump(a)
                    _, eb, fb = read_dump(b)
                    d = fa - fb
                    tab_rows.append(f"| {name} | {atoms} | {prec} | {1e3 * abs(ea - eb) / n:.3g} | "
                                    f"{1e3 * np.max(np.abs(d)):.3g} | {1e3 * np.sqrt(np.mean(d * d)):.3g} |")
                    break
    if tab_rows:
        w("## Tabulated vs exact gbnet (same structure)\n")
        w("| model | atoms | prec | |ΔE|/atom (meV) | max |ΔF| (meV/Å) | RMS ΔF (meV/Å) |")
        w("|---|---|---|---|---|---|")
        out.extend(tab_rows)
        w("\nNote: these are random-weight models; force magnitudes are small, see the agreement table.\n")

    # ---------------------------------------------------------------- targets
    w(f"## Targets ({TARGETS_NOTE})\n")
    w("| target | measured | met? |")
    w("|---|---|---|")

    def target(text, value, ok):
        w(f"| {text} | {value} | {'—' if ok is None else ('yes' if ok else 'no')} |")

    g2 = find(gb, name="f128k50", atoms=1536, precision="float", threads=2)
    g1 = find(gb, name="f128k50", atoms=1536, precision="float", threads=1)
    d1 = find(gb, name="f128k50", atoms=1536, precision="double", threads=1)
    if g1 and d1:
        r = num(d1, "step_s") / num(g1, "step_s")
        target("exact F=128 K=50, 1536 atoms, 1T: float ≥ 1.6x faster than double (no subnormal slow path)",
               f"{r:.2f}x ({fmt(num(g1, 'us_per_atom'))} vs {fmt(num(d1, 'us_per_atom'))} µs)", r >= 1.6)
    t2 = find(th, name="f128k50", atoms=1536, precision="float", threads=2)
    if g2 and t2:
        r = num(t2, "step_s") / num(g2, "step_s")
        target("exact F=128 K=50, 1536 atoms, float, 2T: ≥ 4x faster than PyTorch", f"{r:.2f}x", r >= 4)
    else:
        target("exact F=128 K=50, 1536 atoms, float, 2T: ≥ 4x faster than PyTorch", "not measured", None)
    pk = peak("float", 2)
    if g2 and pk:
        p = 100 * num(g2, "gflops") / pk
        target("same: ≥ 40% of sgemm GFLOP/s (2T, 1024³)", f"{num(g2, 'gflops'):.1f} GFLOP/s = {p:.0f}%", p >= 40)
    if g1 and g2:
        s = num(g1, "step_s") / num(g2, "step_s")
        target("exact F=128 K=50, 1536 atoms, float: 2T ≥ 1.8x faster than 1T", f"{s:.2f}x", s >= 1.8)
    tb2 = find(gb, name="f128k50_tab", atoms=1536, precision="float", threads=2)
    if tb2 and t2:
        r = num(t2, "step_s") / num(tb2, "step_s")
        target("tabulated F=128 K=50, 1536 atoms, float, 2T: ≥ 40x faster than PyTorch", f"{r:.1f}x", r >= 40)
        u = num(tb2, "us_per_atom")
        target("tabulated F=128, 2T: ≤ 15 µs/atom/step", f"{u:.1f} µs", u <= 15)
    else:
        target("tabulated targets (40x PyTorch, ≤ 15 µs/atom)", "no tabulated model measured", None)
    for threads in ("1", "2"):
        scaling = [(int(r["atoms"]), num(r, "us_per_atom")) for r in gb
                   if r["name"] == "f128k50" and r["precision"] == "float" and r["threads"] == threads]
        if scaling:
            scaling.sort()
            text = ", ".join(f"{a}: {u:.0f}" for a, u in scaling)
            spread = max(u for _, u in scaling) / min(u for _, u in scaling)
            target(f"cost linear in atoms, 192 → 12288 (µs/atom, exact F=128 K=50, float, {threads}T)",
                   f"{text} (max/min {spread:.2f})", spread <= 1.25 if len(scaling) == 3 else None)
    w("")

    # ---------------------------------------------------------------- skipped
    if skips:
        w("## Not measured in this run\n")
        for s in skips:
            w(f"- {s.get('job', '?').replace('_', ' ')}: {s.get('reason', '?').replace('_', ' ')}")
        w("")

    w("## Raw result lines\n")
    w("<details><summary>RESULT lines as printed by bench_gbnet, torch_reference.py and sgemm_peak</summary>\n")
    w("```")
    with open(args.raw) as f:
        out.extend(line.rstrip("\n") for line in f)
    w("```\n</details>")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")
    if args.index:
        write_index(args.index, os.path.dirname(os.path.abspath(args.out)))


def write_index(path, folder):
    """RESULTS.md: per vendor file, its date, machine and targets table."""
    files = sorted(f for f in os.listdir(folder) if f.startswith("RESULTS_") and f.endswith(".md")
                   and f.removesuffix(".md").removeprefix("RESULTS_") in ("intel", "amd", "other"))
    out = ["# gbnet benchmark results, per CPU vendor\n",
           "Speed depends on the CPU: Intel cores take a slow microcode path on subnormal floats and AMD ones "
           "do not; AVX-512, VNNI, BF16 and AMX differ. `bench/run.sh` writes the file of the vendor it runs on "
           "and this index; each file names its CPU and flags.\n"]
    for name in files:
        text = open(os.path.join(folder, name)).read().splitlines()
        head = [line for line in text if line.startswith(("- Date:", "- Machine:", "- CPU vendor:", "- Command:"))]
        out.append(f"## [{name}]({name})\n")
        out.extend(head)
        out.append("")
        if any(line.startswith("## Targets") for line in text):
            start = next(k for k, line in enumerate(text) if line.startswith("## Targets"))
            end = next((k for k in range(start + 1, len(text)) if text[k].startswith("## ")), len(text))
            out.extend(line for line in text[start + 1:end])
    with open(path, "w") as f:
        f.write("\n".join(out).rstrip("\n") + "\n")


def torch_version():
    try:
        import torch
        return torch.__version__
    except ImportError:
        return "?"


if __name__ == "__main__":
    main()
