"""Reader and writer of the .gbnet potential file (docs/potential-format.md),
written from the specification independently of the C library, so each side
checks the other.

    model = read_gbnet("water.gbnet")       # dict, see GbnetModel below
    write_gbnet("copy.gbnet", model)

Only NumPy and the standard library are used.
"""
import os
import struct

import numpy as np

MAGIC = b"GBNETPOT"
VERSION = 1
FLAG_OPTIONAL = 1

# Chemical symbols by atomic number (index 0 unused), as the C library names them.
SYMBOLS = (
    "X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn "
    "Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr "
    "Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr "
    "Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc "
    "Lv Ts Og"
).split()


class GbnetFileError(Exception):
    pass


def fnv1a64(data):
    """FNV-1a, 64 bit: the file's checksum."""
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def layout(F, T, K, R, n_elements):
    """Ordered (name, shape) of every tensor in the parameter blob."""
    items = [("embedding", (n_elements, F))]
    for t in range(T):
        items += [
            (f"block{t}.filter1_w", (F, K)),
            (f"block{t}.filter1_b", (F,)),
            (f"block{t}.filter2_w", (F, F)),
            (f"block{t}.filter2_b", (F,)),
            (f"block{t}.in_w", (F, F)),
            (f"block{t}.out1_w", (F, F)),
            (f"block{t}.out1_b", (F,)),
            (f"block{t}.out2_w", (F, F)),
            (f"block{t}.out2_b", (F,)),
        ]
    items += [("readout1_w", (R, F)), ("readout1_b", (R,)), ("readout2_w", (1, R)), ("readout2_b", (1,))]
    return items


def unpack_params(blob, F, T, K, R, n_elements):
    """Splits the flat blob into named arrays (views, [out][in] row-major)."""
    out, at = {}, 0
    for name, shape in layout(F, T, K, R, n_elements):
        n = int(np.prod(shape))
        out[name] = blob[at : at + n].reshape(shape)
        at += n
    if at != blob.size:
        raise GbnetFileError(f"parameter blob has {blob.size} numbers, layout needs {at}")
    return out


def n_params(F, T, K, R, n_elements):
    return sum(int(np.prod(s)) for _, s in layout(F, T, K, R, n_elements))


def _section(tag, payload, flags=0):
    assert len(tag) == 4
    return tag + struct.pack("<IQ", flags, len(payload)) + payload


def encode(model, extra_sections=()):
    """Bytes of a .gbnet file for a model dict with keys F, T, K, R, cutoff,
    atomic_numbers, scale, shift, e_ref, params and optional provenance, table
    (dict n_points, values [T][n][F], derivs [T][n][F]). extra_sections:
    (tag, flags, payload) written before PROV, e.g. to test readers' skipping."""
    F, T, K, R = (int(model[k]) for k in ("F", "T", "K", "R"))
    z = [int(v) for v in model["atomic_numbers"]]
    params = np.ascontiguousarray(model["params"], dtype="<f8")
    if params.size != n_params(F, T, K, R, len(z)):
        raise GbnetFileError("parameter count does not match the hyperparameters")
    out = bytearray(MAGIC + struct.pack("<II", VERSION, 0))
    out += _section(b"HYPR", struct.pack("<IIIIdI", F, T, K, R, float(model["cutoff"]), len(z)) +
                    struct.pack(f"<{len(z)}I", *z))
    out += _section(b"ELEM", b"".join(SYMBOLS[v].encode("ascii").ljust(4, b"\0") for v in z))
    out += _section(b"UNIT", b"metal")
    e_ref = np.asarray(model["e_ref"], dtype="<f8")
    out += _section(b"NORM", struct.pack("<dd", float(model["scale"]), float(model["shift"])) + e_ref.tobytes())
    out += _section(b"PARM", struct.pack("<Q", params.size) + params.tobytes())
    table = model.get("table")
    if table is not None:
        values = np.ascontiguousarray(table["values"], dtype="<f8")
        derivs = np.ascontiguousarray(table["derivs"], dtype="<f8")
        n = int(table["n_points"])
        assert values.shape == derivs.shape == (T, n, F)
        out += _section(b"FTAB", struct.pack("<III", n, T, F) + values.tobytes() + derivs.tobytes(), FLAG_OPTIONAL)
    for tag, flags, payload in extra_sections:
        out += _section(tag, payload, flags)
    out += _section(b"PROV", model.get("provenance", "").encode("utf-8"), FLAG_OPTIONAL)
    checksum = fnv1a64(bytes(out))
    out += _section(b"END!", struct.pack("<Q", checksum))
    return bytes(out)


def write_gbnet(path, model):
    """Writes atomically (temporary file, fsync, rename), like the C library."""
    data = encode(model)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def decode(data, name="<bytes>"):
    """Model dict from the bytes of a .gbnet file; raises GbnetFileError."""
    def fail(what):
        raise GbnetFileError(f"potential file '{name}': {what}")

    if len(data) == 0:
        fail("the file is empty")
    if data[: min(8, len(data))] != MAGIC[: min(8, len(data))]:
        fail("not a gbnet potential file")
    if len(data) < 16:
        fail("truncated header")
    version, reserved = struct.unpack_from("<II", data, 8)
    if version != VERSION:
        fail(f"format version {version} is not supported")
    if len(data) < 16 + 24:
        fail("truncated")
    end = len(data) - 24
    tag, flags, length = struct.unpack_from("<4sIQ", data, end)
    if tag != b"END!" or flags != 0 or length != 8:
        fail("truncated or damaged: no END! section at the end")
    (stored,) = struct.unpack_from("<Q", data, end + 16)
    if stored != fnv1a64(data[:end]):
        fail("checksum mismatch")
    if reserved != 0:
        fail("reserved header word is not zero")

    model, seen, at = {"provenance": "", "table": None}, set(), 16
    while at < end:
        if end - at < 16:
            fail(f"byte {at}: section header runs past END!")
        tag, flags, length = struct.unpack_from("<4sIQ", data, at)
        payload = data[at + 16 : at + 16 + length]
        if length > end - at - 16:
            fail(f"byte {at}: section {tag!r} longer than the file")
        if tag in seen:
            fail(f"section {tag!r} appears twice")
        seen.add(tag)
        if tag in (b"ELEM", b"NORM", b"PARM", b"FTAB") and b"HYPR" not in seen:
            fail(f"section {tag!r} before HYPR")
        if tag == b"HYPR":
            F, T, K, R, cutoff, n_el = struct.unpack_from("<IIIIdI", payload, 0)
            if length != 28 + 4 * n_el:
                fail("HYPR length")
            model.update(F=F, T=T, K=K, R=R, cutoff=cutoff,
                         atomic_numbers=list(struct.unpack_from(f"<{n_el}I", payload, 28)))
        elif tag == b"ELEM":
            names = [payload[4 * e : 4 * e + 4].rstrip(b"\0").decode("ascii") for e in range(len(payload) // 4)]
            if names != [SYMBOLS[z] if z < len(SYMBOLS) else "X" for z in model["atomic_numbers"]]:
                fail(f"element names {names} do not match the atomic numbers")
            model["symbols"] = names
        elif tag == b"UNIT":
            if payload != b"metal":
                fail(f"units {payload!r} are not supported")
        elif tag == b"NORM":
            n_el = len(model["atomic_numbers"])
            if length != 16 + 8 * n_el:
                fail("NORM length")
            model["scale"], model["shift"] = struct.unpack_from("<dd", payload, 0)
            model["e_ref"] = np.frombuffer(payload, dtype="<f8", count=n_el, offset=16).astype(np.float64)
        elif tag == b"PARM":
            (count,) = struct.unpack_from("<Q", payload, 0)
            need = n_params(model["F"], model["T"], model["K"], model["R"], len(model["atomic_numbers"]))
            if count != need or length != 8 + 8 * count:
                fail(f"{count} parameters, the hyperparameters need {need}")
            params = np.frombuffer(payload, dtype="<f8", count=count, offset=8).astype(np.float64)
            if not np.all(np.isfinite(params)):
                fail("non-finite parameter")
            model["params"] = params
        elif tag == b"FTAB":
            n, t, f = struct.unpack_from("<III", payload, 0)
            if (t, f) != (model["T"], model["F"]) or length != 12 + 16 * t * n * f:
                fail("FTAB shape")
            count = t * n * f
            model["table"] = {
                "n_points": n,
                "values": np.frombuffer(payload, "<f8", count, 12).reshape(t, n, f).astype(np.float64),
                "derivs": np.frombuffer(payload, "<f8", count, 12 + 8 * count).reshape(t, n, f).astype(np.float64),
            }
        elif tag == b"PROV":
            model["provenance"] = payload.decode("utf-8")
        elif tag == b"END!":
            fail(f"byte {at}: END! before the end of the file")
        elif not flags & FLAG_OPTIONAL:
            fail(f"unknown required section {tag!r}")
        at += 16 + length
    for tag in (b"HYPR", b"ELEM", b"UNIT", b"NORM", b"PARM"):
        if tag not in seen:
            fail(f"required section {tag.decode()} is missing")
    return model


def read_gbnet(path):
    with open(path, "rb") as f:
        return decode(f.read(), path)


if __name__ == "__main__":
    import sys

    for p in sys.argv[1:]:
        m = read_gbnet(p)
        print(f"{p}: F={m['F']} T={m['T']} K={m['K']} R={m['R']} rc={m['cutoff']} "
              f"elements={m['symbols']} params={m['params'].size} tabulated={m['table'] is not None}")
