#!/usr/bin/python3
"""The compression benchmark of issue 12: every variant of a model (full exact,
full tabulated, each technique alone and combinations) on one speed/accuracy
table, for rMD17 ethanol (the 1000-frame test split) and DeePMD water (data_3).

    bench/compression/pareto.py make     [--minutes M]   # build the variants (fine-tunes: slow)
    bench/compression/pareto.py measure  [--quick]       # time and evaluate them, write the table and PNG

`make` writes bench/compression/models/<system>_<variant>.gbnet (kept: a
variant that exists is not rebuilt, delete it to rebuild); `measure` writes
bench/compression/RESULTS_<vendor>.md and pareto_<vendor>.png. bench/compression/run.sh
builds gbnet and runs both. Run `measure` on an otherwise idle machine.

Per variant: µs/atom/step of the core (bench_gbnet: gbnet_evaluate of one
structure, energy + forces, neighbor list included) and of LAMMPS
(pair_style gbnet in gbnet-lmp, NVE, LAMMPS's neighbor list), on 1 and 2
threads, float; FLOPs per atom (multiply-adds of the linear algebra counted
as 2, as in bench/README.md, for the variant's own form: tabulated filters,
factored layers); workspace bytes per atom (float); energy and force MAE/RMSE
against the DFT labels (float evaluation, as in MD).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(REPO), "shared", "data")
BUILD = os.environ.get("PARETO_BUILD_DIR", os.path.join(REPO, "build"))
MODELS = os.path.join(HERE, "models")
WORK = os.path.join(BUILD, "pareto-work")
GBNET = os.path.join(BUILD, "gbnet")
BENCH = os.path.join(BUILD, "bench_gbnet")
LMP = os.path.join(BUILD, "gbnet-lmp")

ETHANOL_TRAIN = os.path.join(SHARED, "rmd17_ethanol", "rmd17_ethanol_train.extxyz")
ETHANOL_TEST = os.path.join(SHARED, "rmd17_ethanol", "rmd17_ethanol_test.extxyz")
WATER = os.path.join(SHARED, "deepmd_water", "deepmd_water.extxyz")

SYSTEMS = {
    "ethanol": dict(
        base=os.path.join(REPO, "bench", "training", "out", "ethanol.gbnet"),  # bench/training/RESULTS.md (a)
        config=os.path.join(REPO, "examples", "ethanol", "train.cfg"),
        train=[ETHANOL_TRAIN], train_subset=[],
        test=[ETHANOL_TEST], test_subset=[],
        # fine-tuning as the base was trained: 5% of the training frames held out for selection
        finetune=["valid_data=", "valid_fraction=0.05", "lr=0.0005", "lr_decay=0.999", "lr_min=1e-5",
                  "epochs=5000"],
        distill=["valid_data=", "valid_fraction=0.05"],
        elements="H C O", masses={"H": 1.008, "C": 12.011, "O": 15.999},
    ),
    "water": dict(
        # bench/training/RESULTS.md (b): the exact weights of potentials/water.gbnet (which is this, tabulated)
        base=os.path.join(REPO, "bench", "training", "out", "water.gbnet"),
        config=os.path.join(REPO, "examples", "water", "train.cfg"),
        train=[WATER], train_subset=["subset=data_[012]*"],
        test=[WATER], test_subset=["subset=data_3*"],
        # as the base was trained, data_3 is the validation set that selects the best epoch; a decaying
        # learning rate (the example's plateau schedule at 1e-3 is for a 1-hour run from scratch)
        finetune=["lr=0.0003", "lr_decay=0.96", "lr_plateau_patience=0", "lr_min=1e-5", "epochs=100000"],
        distill=[],
        elements="O H", masses={"O": 15.999, "H": 1.008},
    ),
}


def run(cmd, log=None, env=None, cwd=None):
    """Runs cmd (a list); returns stdout; raises with the output on failure."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=e, cwd=cwd)
    if log:
        with open(log, "w") as f:
            f.write(p.stdout)
    if p.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stdout[-3000:]))
    return p.stdout


def subset_args(subsets):
    out = []
    for s in subsets:
        out += ["--subset", s]
    return out


# ---------------------------------------------------------------- variants
# Each variant: name, label, what it is, and how it is made from earlier
# variants (steps run in order; {in} the input file, {out} the variant file).

def model_path(system, name):
    return os.path.join(MODELS, "%s_%s.gbnet" % (system, name))


def make_exact(system, out):
    run(["cp", SYSTEMS[system]["base"], out])


def tabulate(src, out):
    run([GBNET, "compress", "--tabulate", src, out])


def finetune(system, start, out, minutes, sets=()):
    """Trains start (init_from: its architecture and normalization) on the system's
    training data for `minutes`, then tabulates the best model into out."""
    sysd = SYSTEMS[system]
    stem = os.path.join(WORK, os.path.basename(out)[:-6])
    sets = ["init_from=" + start, "threads=1", "time_limit=%g" % minutes, "output=" + stem + "_ft.gbnet",
            "log=" + stem + "_ft.csv", "checkpoint=" + stem + "_ft.ckpt"] + list(sets) + sysd["finetune"]
    cmd = [GBNET, "train", sysd["config"]]
    for x in sets:
        cmd += ["--set", x]
    run(cmd, log=stem + "_ft.log", env={"GBNET_PLOTS": "0"}, cwd=os.path.dirname(sysd["config"]))
    tabulate(stem + "_ft.gbnet", out)


def prune_finetune(system, src, out, features, readout, blocks, minutes):
    sysd = SYSTEMS[system]
    os.makedirs(WORK, exist_ok=True)
    stem = os.path.join(WORK, os.path.basename(out)[:-6])
    pruned = stem + "_pruned.gbnet"
    run([GBNET, "prune", src, pruned, "--features", str(features), "--readout", str(readout), "--blocks", str(blocks),
         "--max-frames", "200" if system == "ethanol" else "60"]
        + sum([["--data", d] for d in sysd["train"]], []) + subset_args(sysd["train_subset"]), log=stem + "_prune.log")
    finetune(system, pruned, out, minutes, ["features=%d" % features, "readout=%d" % readout, "blocks=%d" % blocks])


def rank_finetune(system, src, out, rank, minutes):
    os.makedirs(WORK, exist_ok=True)
    stem = os.path.join(WORK, os.path.basename(out)[:-6])
    reduced = stem + "_reduced.gbnet"
    run([GBNET, "compress", "--rank", str(rank), src, reduced], log=stem + "_reduce.log")
    finetune(system, reduced, out, minutes)


def distill(system, teacher, out, sets, options, minutes):
    """gbnet distill with the system's training config and the student's keys, then tabulate."""
    sysd = SYSTEMS[system]
    os.makedirs(WORK, exist_ok=True)
    stem = os.path.join(WORK, os.path.basename(out)[:-6])
    cmd = [GBNET, "distill", teacher, sysd["config"]] + list(options)
    for x in list(sets) + sysd["distill"] + ["threads=1", "time_limit=%g" % minutes, "output=" + stem + "_st.gbnet",
                                             "log=" + stem + "_st.csv", "checkpoint=" + stem + "_st.ckpt"]:
        cmd += ["--set", x]
    run(cmd, log=stem + "_distill.log", env={"GBNET_PLOTS": "0"}, cwd=os.path.dirname(sysd["config"]))
    tabulate(stem + "_st.gbnet", out)


def quantize(system, src, out, mode):
    """gbnet compress --tabulate --quantize MODE (int8: calibrated on training frames only;
    for water the first 160 frames of the file are data_0 and data_1)."""
    cal = []
    if mode == "int8":
        cal = ["--calibrate", SYSTEMS[system]["train"][0], "--max-frames", "200" if system == "ethanol" else "160"]
    run([GBNET, "compress", "--tabulate", "--quantize", mode] + cal + [src, out])


SHORT = {"exact": "exact", "tab": "tab", "prune48": "P48", "prune32": "P32", "prune48t2": "P48/T2", "rank32": "R32",
         "distill64": "D64", "distill48rc5": "D48/rc5"}


def short_label(name):
    base, _, mode = name.partition("_")
    return SHORT.get(base, base) + ("+" + mode if mode else "")


def with_quantized(system, v):
    """Adds bf16 and int8 twins of the given (tabulated) variants."""
    out = []
    for name, label, technique, build in v:
        out.append((name, label, technique, build))
        if name in QUANTIZED[system]:
            for mode in ("bf16", "int8"):
                out.append((name + "_" + mode, label + " + " + mode,
                            technique + "; dense layers in %s (gbnet compress --quantize %s%s)" %
                            (mode, mode, " --calibrate on training frames" if mode == "int8" else ""),
                            lambda o, n=name, m=mode: quantize(system, model_path(system, n), o, m)))
    return out


QUANTIZED = {"ethanol": ["tab", "prune48"], "water": ["tab", "prune32", "prune48t2"]}


def variants(system, minutes):
    """(name, label, technique, builder) in table order."""
    exact = model_path(system, "exact")
    v = [
        ("exact", "full, exact filters", "none", lambda o: make_exact(system, o)),
        ("tab", "full, tabulated", "tabulated filters", lambda o: tabulate(exact, o)),
    ]
    if system == "ethanol":
        v += [("prune48", "pruned F=48 + fine-tune",
               "structured pruning F 128->48, R 64->24 (gbnet prune), fine-tuned, tabulated",
               lambda o: prune_finetune(system, exact, o, 48, 24, 3, minutes)),
              ("rank32", "rank 32 + fine-tune",
               "SVD rank 32 of every dense layer (gbnet compress --rank 32), fine-tuned, tabulated",
               lambda o: rank_finetune(system, exact, o, 32, minutes)),
              ("distill64", "distilled F=64",
               "student F=64, R=32 (gbnet distill: 1000 training frames + 1000 displaced by 0.05 A, labelled by the "
               "full model; then fine-tuned on the reference labels), tabulated",
               lambda o: distill(system, exact, o, ["features=64", "readout=32"],
                                 ["--displacements", "1", "--distill-epochs", "600", "--finetune-epochs", "600",
                                  "--finetune-lr", "0.0003"], minutes))]
    else:
        v += [("prune32", "pruned F=32 + fine-tune",
               "structured pruning F 64->32, R 32->16 (gbnet prune), fine-tune, tabulated",
               lambda o: prune_finetune(system, exact, o, 32, 16, 3, minutes)),
              ("prune48t2", "pruned F=48, T=2 + fine-tune",
               "structured pruning F 64->48, R 32->24, blocks 3->2 (gbnet prune --blocks 2), fine-tune, tabulated",
               lambda o: prune_finetune(system, exact, o, 48, 24, 2, minutes)),
              ("distill48rc5", "distilled F=48, rc=5 Å",
               "student F=48, R=24, rc 6->5 A (gbnet distill: 400 frames + 400 displaced + 400 strained, labelled "
               "by the full tabulated model; then fine-tuned on the reference labels), tabulated",
               lambda o: distill(system, model_path(system, "tab"), o, ["features=48", "readout=24", "cutoff=5"],
                                 ["--displacements", "1", "--strains", "1", "--distill-epochs", "60",
                                  "--finetune-epochs", "20"], minutes))]
    return with_quantized(system, v)


# ---------------------------------------------------------------- measuring

def info(path):
    text = run([GBNET, "info", path])
    def num(key):
        m = re.search(r"^%s:\s+(\S+)" % re.escape(key), text, re.M)
        return float(m.group(1)) if m else None
    dense = re.search(r"^dense layers:\s*(.*)$", text, re.M)
    return dict(F=int(num("features F")), T=int(num("blocks T")), K=int(num("rbf K")), R=int(num("readout R")),
                params=int(num("parameters")), tabulated="tabulated" in re.search(r"^filters:.*$", text, re.M).group(0),
                dense=dense.group(1).strip() if dense else "full", text=text)


def layer_ranks(inf):
    """{"in": r, "out1": r, "out2": r, "readout": r} from gbnet info's "dense layers" line
    (0: full; the same rank in every block, as gbnet compress --rank makes them)."""
    ranks = {"in": 0, "out1": 0, "out2": 0, "readout": 0}
    for name, r in re.findall(r"\b(in|out1|out2|readout) (\d+)/\d+", inf["dense"]):
        ranks[name] = int(r)
    return ranks


def flops_per_atom(inf, edges_per_atom):
    """Multiply-adds x 2 of one energy + forces evaluation per atom (bench/README.md's
    model_flops, for the variant's form): the filter network once per unordered pair
    (values and d-derivative rows) or, tabulated, the cubic per directed edge in the
    forward (3 FMA per feature) and value + derivative in the backward (5 FMA); the
    cfconv gather, its backward and dE/dd per edge; dense layers forward and input
    gradient per atom; the readout."""
    F, K, T, R = inf["F"], inf["K"], inf["T"], inf["R"]
    if inf["tabulated"]:
        filt = edges_per_atom * 2 * (3 * F + 5 * F)
    else:
        filt = 0.5 * edges_per_atom * 2 * (2 * K * F + 2 * F * F)
    cfconv = edges_per_atom * (2 * F + 2 * F + 3 * F)
    ranks = layer_ranks(inf)
    # forward and input gradient of each dense layer: 2 x 2 flops per weight, or per factor entry
    dense = sum(4 * (ranks[k] * 2 * F if ranks[k] else F * F) for k in ("in", "out1", "out2"))
    readout = (4 * ranks["readout"] * (F + R) if ranks["readout"] else 4 * F * R) + 4 * R
    return T * (filt + cfconv + dense) + readout


def bench_core(system, path, threads, quick):
    if system == "ethanol":
        data = ["--data", gas_extxyz(), "--steps", "60" if quick else "200"]
    else:
        data = ["--data", WATER, "--frame", "320", "--replicate", "2", "--steps", "10" if quick else "30"]
    out = run([BENCH, "run", "--model", path, "--threads", str(threads), "--warmup", "3"] + data,
              env={"OMP_NUM_THREADS": str(threads)})
    line = [l for l in out.splitlines() if l.startswith("RESULT")][-1]
    kv = dict(x.split("=", 1) for x in line.split()[1:])
    return float(kv["us_per_atom"]), float(kv["ws_bytes_per_atom"]), int(kv["edges"]) / int(kv["atoms"])


def gas_extxyz():
    """64 ethanol test molecules on a 4x4x4 grid 12 A apart (beyond 2 rc: they do not
    interact) in a periodic box: a 576-atom structure with ethanol's ~8 neighbours per atom."""
    path = os.path.join(WORK, "ethanol_gas.extxyz")
    if os.path.exists(path):
        return path
    os.makedirs(WORK, exist_ok=True)
    frames = [(sym, pos) for sym, pos, _ in read_extxyz(ETHANOL_TEST, 64)]
    a, n = 12.0, 4
    lines = []
    k = 0
    for i in range(n):
        for j in range(n):
            for l in range(n):
                sym, pos = frames[k]
                k += 1
                c = [sum(p[d] for p in pos) / len(pos) for d in range(3)]
                for s, p in zip(sym, pos):
                    q = [p[d] - c[d] + a * (g + 0.5) for d, g in enumerate((i, j, l))]
                    lines.append("%s %.8f %.8f %.8f" % (s, q[0], q[1], q[2]))
    L = a * n
    with open(path, "w") as f:
        f.write("%d\nLattice=\"%g 0 0 0 %g 0 0 0 %g\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n" % (len(lines), L, L, L))
        f.write("\n".join(lines) + "\n")
    return path


def read_extxyz(path, count, first=0):
    """Frames [first, first + count) of an extxyz file: (symbols, positions, comment line)."""
    frames = []
    with open(path) as f:
        k = 0
        while len(frames) < count:
            head = f.readline()
            if not head:
                break
            n = int(head)
            comment = f.readline()
            atoms = [f.readline().split() for _ in range(n)]
            if k >= first:
                frames.append(([a[0] for a in atoms], [[float(x) for x in a[1:4]] for a in atoms], comment))
            k += 1
    return frames


def lammps_data(system):
    """The core benchmark's structure as a LAMMPS data file (same atoms)."""
    path = os.path.join(WORK, "%s.data" % system)
    if os.path.exists(path):
        return path
    order = SYSTEMS[system]["elements"].split()
    if system == "ethanol":
        sym, pos, _ = read_extxyz(gas_extxyz(), 1)[0]
        L = [48.0, 48.0, 48.0]
    else:  # frame 320 (data_3's first) replicated 2x2x2, as bench_gbnet --frame 320 --replicate 2
        sym1, pos1, comment = read_extxyz(WATER, 1, first=320)[0]
        lat = [float(x) for x in re.search(r'Lattice="([^"]+)"', comment).group(1).split()]
        a = lat[0]
        assert all(abs(lat[i]) < 1e-9 for i in (1, 2, 3, 5, 6, 7)), "water box is cubic"
        sym, pos = [], []
        for i in range(2):
            for j in range(2):
                for l in range(2):
                    for s, p in zip(sym1, pos1):
                        sym.append(s)
                        pos.append([p[0] + i * a, p[1] + j * a, p[2] + l * a])
        L = [2 * a] * 3
    with open(path, "w") as f:
        f.write("gbnet compression benchmark: %s\n\n%d atoms\n%d atom types\n\n" % (system, len(sym), len(order)))
        f.write("0 %.10f xlo xhi\n0 %.10f ylo yhi\n0 %.10f zlo zhi\n\nAtoms # atomic\n\n" % tuple(L))
        for i, (s, p) in enumerate(zip(sym, pos)):
            f.write("%d %d %.10f %.10f %.10f\n" % (i + 1, order.index(s) + 1, p[0] % L[0], p[1] % L[1], p[2] % L[2]))
    masses = os.path.join(WORK, "%s.masses" % system)
    with open(masses, "w") as f:
        for t, s in enumerate(order):
            f.write("mass %d %g\n" % (t + 1, SYSTEMS[system]["masses"][s]))
    return path


def bench_lammps(system, path, threads, quick):
    data = lammps_data(system)
    steps = {"ethanol": 100 if quick else 300, "water": 10 if quick else 30}[system]
    log = os.path.join(WORK, "lmp_%s_%s_%dT.log" % (system, os.path.basename(path)[:-6], threads))
    run([LMP, "-in", os.path.join(HERE, "in.speed"), "-var", "data", data, "-var", "pot", path,
         "-var", "elements", SYSTEMS[system]["elements"], "-var", "masses", os.path.join(WORK, "%s.masses" % system),
         "-var", "threads", str(threads), "-var", "steps", str(steps), "-var", "repeats", "3", "-log", log,
         "-echo", "none", "-screen", "none"], env={"OMP_NUM_THREADS": str(threads)})
    times = []
    with open(log) as f:
        for line in f:
            m = re.match(r"Loop time of (\S+) on \d+ procs for (\d+) steps with (\d+) atoms", line)
            if m:
                times.append(float(m.group(1)) / (int(m.group(2)) * int(m.group(3))) * 1e6)
    return statistics.median(times[1:])  # the first is the warm-up


def accuracy(system, path):
    sysd = SYSTEMS[system]
    out = run([GBNET, "eval", path] + sysd["test"] + subset_args(sysd["test_subset"]) + ["--precision", "float"])
    res = {}
    for q in ("energy", "force"):
        m = re.search(r"^%s\s+\S+\s+\d+\s+(\S+)\s+(\S+)" % q, out, re.M)
        res[q] = (float(m.group(1)), float(m.group(2)))
    return res


# Where a step's time goes (perf), by kind of work: the issue's "dense layers are
# about half of the step" measured instead of assumed.
PROFILE_KINDS = [
    ("dense layers (GEMM, BLAS packing)", re.compile(r"sgemm|dgemm|gemm|gb_linear|colsum")),
    ("per edge: cfconv and its backward (tabulated filter inline)", re.compile(r"cfconv|table|edge_dbar|filter")),
    ("neighbor list (core only)", re.compile(r"neighbor|sort_records|cell_list")),
    ("element-wise (softplus, sigmoid)", re.compile(r"ssp|sigmoid|exp")),
    ("forces, virial, index lists", re.compile(r"forces|virial|index_lists|in_edge|edge_lengths|hash|fnv")),
]


def profile(system, path):
    if system == "ethanol":
        data = ["--data", gas_extxyz(), "--steps", "400"]
    else:
        data = ["--data", WATER, "--frame", "320", "--replicate", "2", "--steps", "60"]
    rec = os.path.join(WORK, "perf_%s.data" % system)
    run(["perf", "record", "-q", "-o", rec, BENCH, "run", "--model", path, "--threads", "1", "--warmup", "3"] + data,
        env={"OMP_NUM_THREADS": "1"})
    rep = run(["perf", "report", "-i", rec, "--stdio", "--sort", "symbol"])
    shares = {k: 0.0 for k, _ in PROFILE_KINDS}
    other = 0.0
    for line in rep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[.\]\s+(\S+)", line)
        if not m:
            continue
        pct, sym = float(m.group(1)), m.group(2)
        for k, rx in PROFILE_KINDS:
            if rx.search(sym):
                shares[k] += pct
                break
        else:
            other += pct
    shares["other (reading data, kernel, libc)"] = other
    return shares


def measure(args):
    os.makedirs(WORK, exist_ok=True)
    rows = {}
    for system in args.systems:
        rows[system] = []
        for name, label, technique, _ in variants(system, args.minutes):
            path = model_path(system, name)
            if not os.path.exists(path):
                print("skip %s %s: %s not made (pareto.py make)" % (system, name, path), flush=True)
                continue
            inf = info(path)
            r = dict(name=name, label=label, technique=technique, F=inf["F"], R=inf["R"], params=inf["params"])
            for t in (1, 2):
                r["core%dT" % t], ws, epa = bench_core(system, path, t, args.quick)
                r["lmp%dT" % t] = bench_lammps(system, path, t, args.quick)
            r["ws_bytes_per_atom"] = ws
            r["edges_per_atom"] = epa
            r["flops_per_atom"] = flops_per_atom(inf, epa)
            r["acc"] = accuracy(system, path)
            if name == "tab" and not args.no_profile:
                try:
                    r["profile"] = profile(system, path)
                except (RuntimeError, FileNotFoundError) as e:
                    print("no profile (perf): %s" % str(e).splitlines()[0], flush=True)
            rows[system].append(r)
            print("%-8s %-10s core %.2f/%.2f  lammps %.2f/%.2f us/atom/step  F MAE %.2f meV/A" %
                  (system, name, r["core1T"], r["core2T"], r["lmp1T"], r["lmp2T"], r["acc"]["force"][0]), flush=True)
    _, vendor, _, _ = cpu()
    with open(os.path.join(HERE, "RESULTS_%s.json" % vendor), "w") as f:
        json.dump(rows, f, indent=1)
    write_report(rows, args)


def report(args):
    """Rewrites the table and the PNG from the last measurement's RESULTS_<vendor>.json."""
    _, vendor, _, _ = cpu()
    with open(os.path.join(HERE, "RESULTS_%s.json" % vendor)) as f:
        rows = json.load(f)
    for system, rs in rows.items():  # the descriptions as this script now words them
        text = {n: (l, t) for n, l, t, _ in variants(system, args.minutes)}
        for r in rs:
            r["label"], r["technique"] = text.get(r["name"], (r["label"], r["technique"]))
    write_report(rows, args)


def cpu():
    lscpu = run(["lscpu"])
    name = re.search(r"^Model name:\s+(.*)$", lscpu, re.M).group(1).strip()
    vendor = re.search(r"^Vendor ID:\s+(.*)$", lscpu, re.M).group(1).strip()
    flags = re.search(r"^Flags:\s+(.*)$", lscpu, re.M).group(1).split()
    keep = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
                        "amx_bf16", "amx_int8") if f in flags]
    cores = os.cpu_count()
    return name, {"GenuineIntel": "intel", "AuthenticAMD": "amd"}.get(vendor, "other"), keep, cores


def write_report(rows, args):
    name, vendor, flags, cores = cpu()
    md = os.path.join(HERE, "RESULTS_%s.md" % vendor)
    png = os.path.join(HERE, "pareto_%s.png" % vendor)
    out = ["# Compression benchmark: speed against accuracy (issue 12)", "",
           "Machine: %d-core %s (%s), lscpu flags %s. Command: `bench/compression/run.sh`%s." %
           (cores, name, vendor, " ".join(flags), " (--quick)" if args.quick else ""), "",
           "µs/atom/step: energy + forces, float. *core*: `bench_gbnet run` (gbnet_evaluate, neighbor list "
           "included, median of the timed steps); *LAMMPS*: pair_style gbnet in gbnet-lmp, NVE at 300 K, median of "
           "3 timed runs. Ethanol: 64 test molecules 12 Å apart in a periodic box (576 atoms, ~8 neighbours per "
           "atom); water: data_3's first frame replicated 2x2x2 (1536 atoms, ~89 neighbours per atom within 6 Å). "
           "Speed-up: the full tabulated model's time over the variant's (LAMMPS, 1 thread). Errors: `gbnet eval "
           "--precision float` against the DFT labels of the ethanol test split (1000 frames) and of water data_3 "
           "(80 frames).", ""]
    for system, rs in rows.items():
        ref = next((r for r in rs if r["name"] == "tab"), None)
        out += ["## %s" % system, "",
                "| variant | F | R | params | FLOPs/atom | ws bytes/atom | core 1T | core 2T | LAMMPS 1T | LAMMPS 2T | "
                "speed-up | E MAE | E RMSE | F MAE | F RMSE | F MAE vs full |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            sp = ref["lmp1T"] / r["lmp1T"] if ref else float("nan")
            dm = (r["acc"]["force"][0] / ref["acc"]["force"][0] - 1) * 100 if ref else float("nan")
            out.append("| %s | %d | %d | %d | %.3g | %.0f | %.2f | %.2f | %.2f | %.2f | %.2fx | %.3f | %.3f | %.2f | %.2f | %+.1f%% |"
                       % (r["label"], r["F"], r["R"], r["params"], r["flops_per_atom"], r["ws_bytes_per_atom"],
                          r["core1T"], r["core2T"], r["lmp1T"], r["lmp2T"], sp, r["acc"]["energy"][0],
                          r["acc"]["energy"][1], r["acc"]["force"][0], r["acc"]["force"][1], dm))
        out += ["", "Variants (how each committed model was made: models/MADE.md): " +
                "; ".join("**%s** (%s): %s" % (r["label"], short_label(r["name"]), r["technique"]) for r in rs), ""]
        if ref and "profile" in ref:
            out += ["Where the full tabulated model's step goes (core, 1 thread, `perf record`, share of samples):", "",
                    "| kind of work | share |", "|---|---|"]
            out += ["| %s | %.1f%% |" % (k, v) for k, v in ref["profile"].items()]
            out += [""]
    with open(md, "w") as f:
        f.write("\n".join(out) + "\n")
    plot(rows, png, name)
    print("wrote %s and %s" % (md, png))


def plot(rows, png, cpu_name):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(rows), figsize=(6.5 * len(rows), 5.2))
    if len(rows) == 1:
        axes = [axes]
    colors = {"exact": "C7", "tab": "C3", "P": "C0", "R": "C2", "D": "C4"}
    for ax, (system, rs) in zip(axes, rows.items()):
        ref = next((r for r in rs if r["name"] == "tab"), None)
        pts = sorted((r["lmp1T"], r["acc"]["force"][0], r) for r in rs)
        for k, (x, y, r) in enumerate(pts):
            lab = short_label(r["name"])
            c = colors.get(lab if lab in colors else lab[0], "C1")
            marker = "s" if "bf16" in lab else "^" if "int8" in lab else "o"
            ax.plot(x, y, marker, color=c, ms=7)
            ax.annotate(lab, (x, y), textcoords="offset points", xytext=(6, 6 if k % 2 == 0 else -11), fontsize=8)
        # the Pareto front: no variant both faster and more accurate
        front, best = [], float("inf")
        for x, y, _ in pts:
            if y < best:
                front.append((x, y))
                best = y
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="k", lw=0.7, alpha=0.5,
                label="Pareto front")
        if ref:
            ax.axhline(ref["acc"]["force"][0] * 1.1, color="C3", ls="--", lw=0.8, label="full tabulated + 10% force MAE")
            for k, ls in ((2, ":"), (3, "-.")):
                ax.axvline(ref["lmp1T"] / k, color="gray", ls=ls, lw=0.8, label="%dx faster than full tabulated" % k)
        ax.set_xscale("log")
        ax.set_xlabel("LAMMPS µs/atom/step, 1 thread (float)")
        ax.set_ylabel("force MAE against DFT (meV/Å)")
        ax.set_title("%s   (o float, s bf16, ^ int8; P pruned, R rank, D distilled)" % system, fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
    fig.suptitle("gbnet compression: speed against force error (%s)" % cpu_name, fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def make(args):
    os.makedirs(MODELS, exist_ok=True)
    for system in args.systems:
        for name, label, _, build in variants(system, args.minutes):
            path = model_path(system, name)
            if os.path.exists(path):
                continue
            if args.only and name not in args.only:
                continue
            print("making %s %s ..." % (system, name), flush=True)
            build(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["make", "measure", "report"])
    ap.add_argument("--systems", nargs="+", default=["ethanol", "water"], choices=list(SYSTEMS))
    ap.add_argument("--minutes", type=float, default=float(os.environ.get("PARETO_MINUTES", "25")),
                    help="fine-tuning time per pruned/distilled variant (default 25)")
    ap.add_argument("--only", nargs="*", help="make only these variants")
    ap.add_argument("--quick", action="store_true", help="shorter timings (a smoke test, not for the table)")
    ap.add_argument("--no-profile", action="store_true", help="skip the perf profile of the reference rows")
    args = ap.parse_args()
    {"make": make, "measure": measure, "report": report}[args.stage](args)


if __name__ == "__main__":
    main()
