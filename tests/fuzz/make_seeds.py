#!/usr/bin/python3
"""Seed corpora for the fuzz harnesses, generated from the repository's real
files (shipped datasets, example configurations, models and checkpoints made
by the gbnet command itself), kept small so that libFuzzer mutates them fast.
Usage: make_seeds.py GBNET REPO DATA_DIR OUT_DIR  (writes OUT_DIR/<harness>/)"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

SEPARATOR = b"\n--8<--\n"  # fuzz_deepmd.c splits its input here


def save(out, harness, name, data):
    folder = os.path.join(out, harness)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def first_frames(path, n):
    """The first n frames of an (ext)xyz file."""
    lines = open(path, "rb").read().split(b"\n")
    out, at = [], 0
    for _ in range(n):
        if at >= len(lines) or not lines[at].strip():
            break
        count = int(lines[at].split()[0])
        out += lines[at:at + 2 + count]
        at += 2 + count
    return b"\n".join(out) + b"\n"


def npy_rows(path, rows, as_float64=False):
    """The first rows of a .npy file, optionally converted to float64."""
    data = open(path, "rb").read()
    header_len = struct.unpack_from("<H", data, 8)[0]
    header = data[10:10 + header_len].decode()
    shape = [int(x) for x in re.search(r"\(([^)]*)\)", header).group(1).split(",") if x.strip()]
    item = 4 if "<f4" in header else 8
    row_items = 1
    for n in shape[1:]:
        row_items *= n
    body = data[10 + header_len:10 + header_len + rows * row_items * item]
    if as_float64 and item == 4:
        body = struct.pack(f"<{rows * row_items}d", *struct.unpack(f"<{rows * row_items}f", body))
        item = 8
    shape_text = "(" + ", ".join(str(n) for n in [rows] + shape[1:]) + ("," if len(shape) == 1 else "") + ")"
    text = "{'descr': '<f%d', 'fortran_order': False, 'shape': %s, }" % (item, shape_text)
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + body


def deepmd_seed(system, rows, nopbc=False, as_float64=False, with_force=True):
    parts = [open(os.path.join(system, "type_map.raw"), "rb").read(), open(os.path.join(system, "type.raw"), "rb").read()]
    for name in ("coord", "box", "energy", "force", "virial"):
        path = os.path.join(system, "set.000", name + ".npy")
        wanted = os.path.exists(path) and not (nopbc and name == "box") and (with_force or name != "force")
        parts.append(npy_rows(path, rows, as_float64) if wanted else b"")
    if nopbc:
        parts.append(b"x")
    return SEPARATOR.join(parts)


def run(cmd, cwd=None):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    gbnet, repo, data, out = (os.path.abspath(a) for a in sys.argv[1:5])
    here = os.path.join(repo, "tests", "fuzz")
    # extended XYZ: the first frames of every shipped dataset
    for name, path, n in [("water", "deepmd_water/deepmd_water.extxyz", 1),
                          ("ethanol", "rmd17_ethanol/rmd17_ethanol_train.extxyz", 3),
                          ("acac", "botnet_acac/botnet_acac.extxyz", 2),
                          ("acac-isolated", "botnet_acac/raw/isolated_atoms.xyz", 3),
                          ("tantalum", "fitsnap_ta/fitsnap_ta.extxyz", 3)]:
        save(out, "extxyz", name + ".xyz", first_frames(os.path.join(data, path), n))
    # DeePMD folders: one or two frames of the water system, as given, float64, without box or forces
    system = os.path.join(data, "deepmd_water", "raw", "data_0")
    save(out, "deepmd", "water-1-frame", deepmd_seed(system, 1))
    save(out, "deepmd", "water-2-frames-f8", deepmd_seed(system, 2, as_float64=True))
    save(out, "deepmd", "water-nopbc-no-force", deepmd_seed(system, 1, nopbc=True, with_force=False))
    # training configurations: the examples'
    for example in sorted(os.listdir(os.path.join(repo, "examples"))):
        cfg = os.path.join(repo, "examples", example, "train.cfg")
        if os.path.exists(cfg):
            save(out, "train_config", example + ".cfg", open(cfg, "rb").read())
    with tempfile.TemporaryDirectory() as tmp:
        # potential files: small random models, a tiny trained one, tabulated versions
        sizes = [("1-H", ["--features", "1", "--blocks", "1", "--rbf", "2", "--readout", "1", "--elements", "H"]),
                 ("4-OH", ["--features", "4", "--blocks", "2", "--rbf", "4", "--readout", "2", "--elements", "O,H"]),
                 ("3-CHO", ["--features", "3", "--blocks", "1", "--rbf", "3", "--readout", "2", "--elements", "C,H,O",
                            "--cutoff", "3.5"])]
        for name, options in sizes:
            model = os.path.join(tmp, name + ".gbnet")
            run([gbnet, "init", "-o", model, "--seed", "5"] + options)
            save(out, "potential", "init-" + name + ".gbnet", open(model, "rb").read())
            tabulated = os.path.join(tmp, name + "-tab.gbnet")
            run([gbnet, "compress", "--tabulate", model, tabulated, "--points", "16"])
            save(out, "potential", "init-" + name + "-tab16.gbnet", open(tabulated, "rb").read())
        # checkpoints (and a trained model): two epochs on three ethanol frames
        with open(os.path.join(tmp, "data.xyz"), "wb") as f:
            f.write(first_frames(os.path.join(data, "rmd17_ethanol", "rmd17_ethanol_train.extxyz"), 5))
        for optimizer in ("adam", "adamw"):
            with open(os.path.join(tmp, "train.cfg"), "w") as f:
                f.write("train_data = data.xyz\nvalid_fraction = 0.2\nfeatures = 2\nblocks = 1\nrbf = 3\n"
                        "readout = 1\ncutoff = 3.0\nbatch_size = 2\nepochs = 2\nthreads = 1\n"
                        f"optimizer = {optimizer}\noutput = m.gbnet\nlog =\ncheckpoint = t.ckpt\n")
            run([gbnet, "train", "train.cfg"], cwd=tmp)
            save(out, "checkpoint", f"ethanol-{optimizer}.ckpt", open(os.path.join(tmp, "t.ckpt"), "rb").read())
            save(out, "potential", f"trained-ethanol-{optimizer}.gbnet", open(os.path.join(tmp, "m.gbnet"), "rb").read())
            save(out, "train_config", f"tiny-{optimizer}.cfg", open(os.path.join(tmp, "train.cfg"), "rb").read())
    # and the regression corpus (reproducers, earlier findings) as seeds too
    for harness in os.listdir(os.path.join(here, "corpus")):
        for name in os.listdir(os.path.join(here, "corpus", harness)):
            shutil.copy(os.path.join(here, "corpus", harness, name), os.path.join(out, harness, "corpus-" + name))


if __name__ == "__main__":
    main()
