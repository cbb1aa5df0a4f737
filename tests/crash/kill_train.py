#!/usr/bin/python3
"""Nothing lost on a kill: `gbnet train` is killed with SIGKILL at random
moments, again and again, each time resumed from its checkpoint, until it
finishes. After every kill the files on disk must be complete: the
checkpoint, the best model and the prediction file each either absent (not
written yet) or a complete version (size and checksum valid, loadable by
`gbnet info`), never older than what the previous check saw, and every line
of the CSV log complete. At the end the chain's loss columns of the log and
its final model and checkpoint parameters must equal an uninterrupted run's,
bit for bit.

GBNET_TEST_SLOW_WRITES (base/files.c) sleeps between the 4 KiB chunks of
every atomic write and before its rename, so a good share of the kills land
inside a checkpoint or potential-file write; the calls are the real ones.

Usage: kill_train.py GBNET DATA_DIR [--chains N] [--seed S]
Prints the counts (kills tried, during which write, files checked, resumes
and chains compared). Exit status 0 only if every check passed."""
import argparse
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

CONFIG = """train_data = data.xyz
valid_fraction = 0.2
features = 8
blocks = 1
rbf = 8
readout = 4
cutoff = 4.0
batch_size = 4
lr = 0.01
epochs = {epochs}
threads = 1
seed = 3
output = model.gbnet
log = train.csv
checkpoint = train.ckpt
"""
# columns of train.csv that depend on the arithmetic only (not on timing)
LOSS_COLUMNS = ["epoch", "steps", "lr", "train_loss", "train_energy_rmse_meV_atom", "train_force_rmse_meV_A",
                "train_stress_rmse_GPa", "valid_loss", "valid_energy_rmse_meV_atom", "valid_force_rmse_meV_A",
                "valid_stress_rmse_GPa", "valid_energy_mae_meV_atom", "valid_force_mae_meV_A", "best"]


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


class Failure(Exception):
    pass


def checkpoint_fields(path):
    """(global_step, model and optimizer bytes) of a complete checkpoint;
    raises Failure for a torn one. Layout: core/src/train/checkpoint.c."""
    data = open(path, "rb").read()
    if len(data) < 24 or data[:8] != b"GBNCKPT\n":
        raise Failure(f"{path}: {len(data)} bytes, not a complete checkpoint")
    size, checksum = struct.unpack_from("<QQ", data, len(data) - 16)
    if size != len(data) or fnv1a64(data[:-8]) != checksum:
        raise Failure(f"{path}: torn checkpoint (size field {size}, file {len(data)} bytes, checksum)")
    at = 8 + 8 + 4 * 8 + 8  # magic, version, F T K R, cutoff
    n_el = struct.unpack_from("<q", data, at)[0]
    at += 8 + 8 * n_el + 16 + 8 * n_el  # n_elements, Z, scale, shift, e_ref
    count = struct.unpack_from("<Q", data, at)[0]
    start = at + 8
    at = start + 8 * count + 8 + 4 * 8 + 8 + 16 * count  # params, kind, betas eps wd, t, m, v
    epoch, step, global_step = struct.unpack_from("<qqq", data, at)
    return global_step, data[start:at]


def potential_sections(path):
    """Sections of a complete potential file (checksum checked here too)."""
    data = open(path, "rb").read()
    if len(data) < 40 or data[:8] != b"GBNETPOT" or data[-24:-20] != b"END!":
        raise Failure(f"{path}: {len(data)} bytes, not a complete potential file")
    if struct.unpack_from("<Q", data, len(data) - 8)[0] != fnv1a64(data[:-24]):
        raise Failure(f"{path}: checksum mismatch")
    sections, at = {}, 16
    while at < len(data) - 24:
        tag = data[at:at + 4]
        length = struct.unpack_from("<Q", data, at + 8)[0]
        sections[tag] = data[at + 16:at + 16 + length]
        at += 16 + length
    return sections


def loss_lines(path):
    lines = open(path).read().split("\n")
    if lines[-1] != "":
        raise Failure(f"{path}: last line is cut: {lines[-1]!r}")
    header = lines[0].split(",")
    keep = [header.index(c) for c in LOSS_COLUMNS]
    return [",".join(row.split(",")[k] for k in keep) for row in lines[1:-1]]


class Counts:
    def __init__(self):
        self.kills = 0
        self.during = {"checkpoint": 0, "potential file": 0, "predictions": 0, "log": 0}
        self.outside_writes = 0
        self.files_checked = 0
        self.info_loads = 0
        self.resumes = 0
        self.finished_chains = 0
        self.compared_chains = 0


def temp_files(run):
    return [n for n in os.listdir(run) if ".tmp." in n]


def classify_temp(name):
    if name.startswith("train.ckpt"):
        return "checkpoint"
    if name.startswith("model.gbnet.valid"):
        return "predictions"
    if name.startswith("model.gbnet"):
        return "potential file"
    if name.startswith("train.csv"):
        return "log"
    raise Failure(f"unexpected temporary file {name}")


def check_files(gbnet, run, seen, counts):
    """After a kill: every file complete, none older than before."""
    ckpt = os.path.join(run, "train.ckpt")
    if os.path.exists(ckpt):
        global_step, _ = checkpoint_fields(ckpt)
        counts.files_checked += 1
        if global_step < seen.get("global_step", 0):
            raise Failure(f"{ckpt}: step {global_step}, older than the {seen['global_step']} seen before")
        seen["global_step"] = global_step
    elif "global_step" in seen:
        raise Failure(f"{ckpt}: disappeared")
    model = os.path.join(run, "model.gbnet")
    if os.path.exists(model):
        potential_sections(model)
        counts.files_checked += 1
        result = subprocess.run([gbnet, "info", model], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        counts.info_loads += 1
        if result.returncode != 0:
            raise Failure(f"gbnet info {model}: {result.stderr.strip()}")
        seen["model"] = True
    elif seen.get("model"):
        raise Failure(f"{model}: disappeared")
    log = os.path.join(run, "train.csv")
    if os.path.exists(log):
        loss_lines(log)
        counts.files_checked += 1
    predictions = os.path.join(run, "model.gbnet.valid.extxyz")
    if os.path.exists(predictions):
        text = open(predictions).read()
        if text.count("Properties=") != 6 or not text.endswith("\n"):
            raise Failure(f"{predictions}: incomplete ({text.count('Properties=')} frames)")
        counts.files_checked += 1


def reference_run(gbnet, base, epochs):
    ref = os.path.join(base, "reference")
    os.makedirs(ref)
    setup(ref, base, epochs)
    start = time.monotonic()
    subprocess.run([gbnet, "train", "train.cfg"], cwd=ref, check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, GBNET_TEST_SLOW_WRITES=os.environ.get("SLOW", "1500")))
    return ref, time.monotonic() - start


def setup(run, base, epochs):
    shutil.copy(os.path.join(base, "data.xyz"), run)
    with open(os.path.join(run, "train.cfg"), "w") as f:
        f.write(CONFIG.format(epochs=epochs))


def params_of_checkpoint(path):
    return checkpoint_fields(path)[1]


def chain(gbnet, base, index, rng, max_delay, epochs, counts, deadline):
    run = os.path.join(base, f"chain{index}")
    os.makedirs(run)
    setup(run, base, epochs)
    seen = {}
    env = dict(os.environ, GBNET_TEST_SLOW_WRITES=os.environ.get("SLOW", "1500"), OMP_NUM_THREADS="1")
    delay_limit = max_delay
    for attempt in range(1000):
        resume = os.path.exists(os.path.join(run, "train.ckpt"))
        command = [gbnet, "train", "train.cfg"] + (["--resume", "train.ckpt"] if resume else [])
        counts.resumes += resume
        step_before = seen.get("global_step", -1)
        proc = subprocess.Popen(command, cwd=run, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # past the time budget the run is left to finish, so the chain can be compared
        delay = rng.uniform(0.0, delay_limit) if time.monotonic() < deadline else None
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stderr.close()
            counts.kills += 1
            temps = temp_files(run)
            for name in temps:
                counts.during[classify_temp(name)] += 1
                os.remove(os.path.join(run, name))  # a killed write's leftover; the next run writes its own
            if not temps:
                counts.outside_writes += 1
            check_files(gbnet, run, seen, counts)
            # a loaded machine starts slower: wait longer until a kill comes after some progress
            delay_limit = max_delay if seen.get("global_step", -1) > step_before else 1.5 * delay_limit
            continue
        err = proc.stderr.read().decode()
        proc.stderr.close()
        if proc.returncode != 0:
            raise Failure(f"chain {index}: {' '.join(command)} failed ({proc.returncode}): {err.strip()}")
        check_files(gbnet, run, seen, counts)
        counts.finished_chains += 1
        return run
    raise Failure(f"chain {index}: not finished after 1000 attempts")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("gbnet")
    parser.add_argument("data_dir")
    parser.add_argument("--chains", type=int, default=40, help="at most this many kill-and-resume chains")
    parser.add_argument("--budget", type=float, default=90.0,
                        help="seconds of killing; then the chain under way finishes and no new one starts")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--max-delay-fraction", type=float, default=0.25,
                        help="kills come at most this fraction of the uninterrupted run time after a start")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    args.gbnet = os.path.abspath(args.gbnet)
    rng = random.Random(args.seed)
    base = tempfile.mkdtemp(prefix="gbnet-kill-")
    lines = open(os.path.join(args.data_dir, "rmd17_ethanol", "rmd17_ethanol_train.extxyz")).read().split("\n")
    with open(os.path.join(base, "data.xyz"), "w") as f:
        f.write("\n".join(lines[:30 * 11]) + "\n")  # 30 ethanol frames
    counts = Counts()
    try:
        ref, seconds = reference_run(args.gbnet, base, args.epochs)
        ref_losses = loss_lines(os.path.join(ref, "train.csv"))
        ref_model = potential_sections(os.path.join(ref, "model.gbnet"))
        ref_ckpt = params_of_checkpoint(os.path.join(ref, "train.ckpt"))
        if len(ref_losses) != args.epochs + 1:
            raise Failure(f"reference log has {len(ref_losses)} lines")
        deadline = time.monotonic() + args.budget
        for c in range(args.chains):
            if c > 0 and time.monotonic() >= deadline:
                break
            run = chain(args.gbnet, base, c, rng, args.max_delay_fraction * seconds, args.epochs, counts, deadline)
            losses = loss_lines(os.path.join(run, "train.csv"))
            if losses != ref_losses:
                diff = [(a, b) for a, b in zip(losses, ref_losses) if a != b][:3]
                raise Failure(f"chain {c}: the log differs from the uninterrupted run's: {diff} "
                              f"({len(losses)} vs {len(ref_losses)} lines)")
            model = potential_sections(os.path.join(run, "model.gbnet"))
            for tag in (b"HYPR", b"NORM", b"PARM"):
                if model[tag] != ref_model[tag]:
                    raise Failure(f"chain {c}: final model section {tag.decode()} differs")
            if params_of_checkpoint(os.path.join(run, "train.ckpt")) != ref_ckpt:
                raise Failure(f"chain {c}: final checkpoint parameters or optimizer state differ")
            counts.compared_chains += 1
    except Failure as failure:
        print(f"kill_train.py: FAILED (seed {args.seed}, files in {base}): {failure}")
        report(counts, seconds if "seconds" in dir() else 0.0)
        return 1
    report(counts, seconds)
    shutil.rmtree(base)
    return 0


def report(counts, seconds):
    during = ", ".join(f"{v} during a {k} write" for k, v in counts.during.items())
    print(f"kill_train.py: uninterrupted run {seconds:.2f} s; kills tried {counts.kills} ({during}, "
          f"{counts.outside_writes} outside any write); files checked {counts.files_checked} "
          f"({counts.info_loads} loaded by gbnet info); resumes {counts.resumes}; "
          f"chains finished {counts.finished_chains}, compared bitwise with the uninterrupted run {counts.compared_chains}")


if __name__ == "__main__":
    sys.exit(main())
