#!/usr/bin/python3
"""Rebuilds issue 15's reproducers (from the issue's descriptions) into
tests/fuzz/corpus/<harness>/. Run once; the files are committed and replayed
by ctest (Fuzz.Replay.*). Usage: make_reproducers.py GBNET_BINARY"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEPARATOR = b"\n--8<--\n"  # fuzz_deepmd.c splits its input here


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def write(harness, name, data):
    folder = os.path.join(HERE, "corpus", harness)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def npy(header_text, payload=b""):
    header = header_text.encode()
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def deepmd(type_map, types, coord, nopbc=True):
    parts = [type_map, types, coord, b"", b"", b"", b""]
    if nopbc:
        parts.append(b"x")
    return SEPARATOR.join(parts)


def weight_beyond_float(gbnet):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tiny.gbnet")
        subprocess.run([gbnet, "init", "--features", "1", "--blocks", "1", "--rbf", "2", "--readout", "1",
                        "--elements", "H", "-o", path], check=True, stdout=subprocess.DEVNULL)
        data = bytearray(open(path, "rb").read())
    at = 16
    while data[at:at + 4] != b"PARM":
        at += 16 + struct.unpack_from("<Q", data, at + 8)[0]
    struct.pack_into("<d", data, at + 16 + 8, 1e39)  # the first parameter: an embedding weight
    struct.pack_into("<Q", data, len(data) - 8, fnv1a64(bytes(data[:-24])))
    return bytes(data)


def main():
    gbnet = sys.argv[1]
    # 1. finite double weights beyond the float range: the float workspace must refuse them
    write("potential", "issue15-1-weight-beyond-float.gbnet", weight_beyond_float(gbnet))
    # 2. an npy header that ends right after 'descr': (63 bytes)
    cut = b"\x93NUMPY\x01\x00\x34\x00" + b"{'fortran_order': False, 'shape': (2, 576), 'descr':" + b" "  # header of 0x34 bytes, then one byte
    assert len(cut) == 63, len(cut)
    write("deepmd", "issue15-2-npy-header-cut-after-descr", deepmd(b"H\n", b"0\n" * 192, cut))
    # 3. a shape whose product is 64 modulo 2^64, with 256 bytes of data
    overflow = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (160127986750950969, 576), }", b"\0" * 256)
    write("deepmd", "issue15-3-npy-shape-overflow", deepmd(b"H\n", b"0\n" * 192, overflow))
    # 4. an extxyz count the file cannot hold (52 bytes)
    count = b"715827882\nProperties=species:S:1:pos:R:3:forces:R:3\n"
    assert len(count) == 52, len(count)
    write("extxyz", "issue15-4-atom-count-beyond-file.xyz", count)
    # 5. the softer gaps: NaN coordinates and an empty (0, 576) array in a DeePMD set
    nan = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }", struct.pack("<3d", 0.0, float("nan"), 1.0))
    write("deepmd", "issue15-5-nan-coordinate", deepmd(b"H\n", b"0\n", nan))
    empty = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 576), }")
    write("deepmd", "issue15-5-empty-array", deepmd(b"H\n", b"0\n" * 192, empty))


if __name__ == "__main__":
    main()
