#!/usr/bin/env bash
# Builds LAMMPS with pair_style gbnet built in (the ML-GBNET package,
# lammps/ML-GBNET), the way docs/pair_gbnet.md tells users to: gbnet is
# installed from a gbnet build folder into a prefix, and LAMMPS's CMake build
# reads PREFIX/share/gbnet/lammps/ML-GBNET/ML-GBNET.cmake. The LAMMPS source is
# Debian's (tools/build_lammps_plugin_host.sh --source-only).
#
# Result, CACHE being ~/.cache/gbnet/lammps-20210929 (bookworm) or
# ~/.cache/gbnet/lammps-20250204 (trixie):
#   CACHE/ml-gbnet/prefix      gbnet installed from GBNET_BUILD_DIR
#   CACHE/ml-gbnet/build/lmp   LAMMPS with ML-GBNET (and MPI)
# Every run reinstalls gbnet and rebuilds incrementally (a changed gbnet
# recompiles pair_gbnet.cpp and relinks; the first build compiles LAMMPS).
#
# Usage: tools/build_lammps_builtin.sh GBNET_BUILD_DIR [--suite bookworm|trixie] [-jN]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { echo "usage: tools/build_lammps_builtin.sh GBNET_BUILD_DIR [--suite bookworm|trixie] [-jN]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
gbnet_build="$(cd "$1" && pwd)"; shift
suite=bookworm
jobs="-j2"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -j*) jobs="$1" ;;
    --suite) [[ $# -ge 2 ]] || usage; suite="$2"; shift ;;
    --suite=*) suite="${1#--suite=}" ;;
    *) usage ;;
  esac
  shift
done
case "$suite" in
  bookworm) lammps_date=20210929 ;;
  trixie)   lammps_date=20250204 ;;
  *) echo "unknown suite '$suite' (bookworm or trixie)" >&2; exit 2 ;;
esac
cache="$HOME/.cache/gbnet/lammps-$lammps_date"
[[ -f "$gbnet_build/CMakeCache.txt" ]] || { echo "$gbnet_build is not a configured gbnet build folder" >&2; exit 1; }

GBNET_LAMMPS_CACHE="$cache" bash "$repo/tools/build_lammps_plugin_host.sh" --suite "$suite" --source-only
prefix="$cache/ml-gbnet/prefix"
cmake --install "$gbnet_build" --prefix "$prefix" > "$cache/ml-gbnet-install.log"

cmake -S "$cache/source/cmake" -B "$cache/ml-gbnet/build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PROJECT_lammps_INCLUDE="$prefix/share/gbnet/lammps/ML-GBNET/ML-GBNET.cmake" \
  -DBUILD_MPI=on -DBUILD_OMP=on -DBUILD_SHARED_LIBS=off \
  -DLAMMPS_SIZES=smallbig -DBUILD_TOOLS=off -DBUILD_DOC=off > "$cache/ml-gbnet-configure.log" \
  || { cat "$cache/ml-gbnet-configure.log" >&2; exit 1; }
grep "ML-GBNET:" "$cache/ml-gbnet-configure.log"
cmake --build "$cache/ml-gbnet/build" "$jobs"
echo "LAMMPS with ML-GBNET ($suite): $cache/ml-gbnet/build/lmp"
