#!/usr/bin/env bash
# The installed library as an outside program sees it: `cmake --install` of
# BUILD into a fresh prefix, then examples/c/evaluate.c built twice against
# that prefix only, with `pkg-config --cflags --libs gbnet` and with CMake's
# find_package(gbnet); both must evaluate a water frame exactly as the
# installed `gbnet eval` does (energy, virial and forces).
#
# Usage: check_install.sh SOURCE_DIR BUILD_DIR DATA_DIR
set -euo pipefail
src="$1" build="$2" data="$3"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >"$prefix/install.log"
libdir="$(ls -d "$prefix"/lib*/ | head -n1)"; libdir="${libdir%/}"
for f in include/gbnet.h bin/gbnet "${libdir#"$prefix"/}/libgbnet.a" "${libdir#"$prefix"/}/pkgconfig/gbnet.pc" \
         "${libdir#"$prefix"/}/cmake/gbnet/gbnetConfig.cmake"; do
    [[ -e "$prefix/$f" ]] || { echo "not installed: $f" >&2; exit 1; }
done
soname="$(objdump -p "$libdir/libgbnet.so" | awk '/SONAME/ { print $2 }')"
[[ "$soname" == libgbnet.so.[0-9]* ]] || { echo "libgbnet.so has soname '$soname'" >&2; exit 1; }
# the shared library exports the public API and nothing internal
if nm -D --defined-only "$libdir/libgbnet.so" | awk '{ print $3 }' | grep -v '^gbnet_' | grep . >/dev/null; then
    echo "libgbnet.so exports non-gbnet_ symbols:" >&2
    nm -D --defined-only "$libdir/libgbnet.so" | awk '{ print $3 }' | grep -v '^gbnet_' | head >&2
    exit 1
fi

head -n 194 "$data/deepmd_water/deepmd_water.extxyz" >"$prefix/frame.extxyz"   # frame 0: 192 atoms
model="$src/potentials/water.gbnet"

# 1. pkg-config
PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --exists gbnet
cc -std=c11 -O2 "$src/examples/c/evaluate.c" $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs gbnet) \
    -Wl,-rpath,"$libdir" -o "$prefix/evaluate_pc"
ldd "$prefix/evaluate_pc" | grep "$libdir/$soname" >/dev/null ||
    { echo "evaluate_pc does not use the installed libgbnet.so" >&2; ldd "$prefix/evaluate_pc" >&2; exit 1; }
"$prefix/evaluate_pc" "$model" "$prefix/frame.extxyz" >"$prefix/pc.txt"

# 2. find_package(gbnet)
cmake -S "$src/examples/c" -B "$prefix/build-c" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$prefix/cmake.log"
cmake --build "$prefix/build-c" >>"$prefix/cmake.log"
"$prefix/build-c/evaluate" "$model" "$prefix/frame.extxyz" >"$prefix/cmake.txt"

# 3. the installed command
"$prefix/bin/gbnet" eval "$model" "$prefix/frame.extxyz" --write-predictions "$prefix/pred.extxyz" >"$prefix/eval.txt"

/usr/bin/python3 - "$prefix" <<'PY'
import sys
import numpy as np
prefix = sys.argv[1]
def program(name):
    e, forces = None, []
    for line in open(f"{prefix}/{name}"):
        w = line.split()
        if w[0] == "energy": e = float(w[1])
        elif w[0] == "force": forces.append([float(v) for v in w[2:5]])
    return e, np.array(forces)
lines = open(f"{prefix}/pred.extxyz").read().splitlines()
n = int(lines[0])
info = dict(kv.split("=", 1) for kv in lines[1].replace('"', "").split() if "=" in kv)
energy_key = next(k for k in info if "energy" in k)
ref_e = float(info[energy_key])
props = info["Properties"].split(":")
names = props[0::3]
cols, c = {}, 0
for name, kind, width in zip(props[0::3], props[1::3], props[2::3]):
    cols[name] = (c, c + int(width)); c += int(width)
force_key = next(k for k in cols if "force" in k)
a, b = cols[force_key]
ref_f = np.array([[float(v) for v in line.split()[a:b]] for line in lines[2:2 + n]])
for name in ("pc.txt", "cmake.txt"):
    e, f = program(name)
    assert f.shape == ref_f.shape, (name, f.shape, ref_f.shape)
    de, df = abs(e - ref_e), np.max(np.abs(f - ref_f))
    print(f"{name}: energy {e:.8f} eV (gbnet eval {ref_e:.8f}, |dE| {de:.2e}), max |dF| {df:.2e} eV/A")
    assert de <= 1e-6 * max(1.0, abs(ref_e)), "energy differs from gbnet eval"
    assert df <= 1e-6, "forces differ from gbnet eval"
PY
echo "installed library OK: pkg-config and find_package(gbnet) programs match gbnet eval"
