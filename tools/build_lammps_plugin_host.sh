#!/usr/bin/env bash
# Builds a LAMMPS with the PLUGIN package from a Debian source package of
# `lammps`, so `plugin load gbnetplugin.so` is tested against exactly the
# releases Debian ships (its binary package lacks PLUGIN):
#
#   --suite bookworm   Debian 12's lammps, LAMMPS 29 Sep 2021 (update 2)   (default)
#   --suite trixie     Debian 13's lammps, LAMMPS 4 Feb 2025
#
# Result (outside the repository, reused by later runs), CACHE being
# ~/.cache/gbnet/lammps-20210929 or ~/.cache/gbnet/lammps-20250204
# (override: GBNET_LAMMPS_CACHE):
#   CACHE/install/bin/lmp                plugin-enabled LAMMPS (MPI + OpenMP)
#   CACHE/install/lib/liblammps.so       and its CMake package (lib/cmake/LAMMPS)
#   CACHE/source/src                     headers a plugin is compiled against
#   CACHE/build                          the LAMMPS build folder
# Skipped when CACHE/install/bin/lmp already exists.
#
# The gbnet build finds such a LAMMPS with -DLAMMPS_SOURCE_DIR=CACHE/source/src
# -DLAMMPS_BINARY=CACHE/install/bin/lmp (docs/pair_gbnet.md); without them it
# looks in the bookworm cache.
#
# With --source-only it stops after unpacking the source (a minute instead of
# a 12-minute build): enough for gbnet-lmp, which takes the headers Debian's
# liblammps-dev lacks from the bookworm source (quickstart).
#
# Only the source package's orig tarball is needed: `apt-get source` of
# trixie's lammps may fail on the .dsc while the tarballs download fine, so a
# failed unpack falls back to the orig tarball (checked against apt's SHA256).
#
# Usage: tools/build_lammps_plugin_host.sh [--suite bookworm|trixie] [-jN] [--source-only]
set -euo pipefail

suite=bookworm
jobs="-j2"
source_only=0
usage() { echo "usage: tools/build_lammps_plugin_host.sh [--suite bookworm|trixie] [-jN] [--source-only]" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -j*) jobs="$1" ;;
    --source-only) source_only=1 ;;
    --suite) [[ $# -ge 2 ]] || usage; suite="$2"; shift ;;
    --suite=*) suite="${1#--suite=}" ;;
    *) usage ;;
  esac
  shift
done
case "$suite" in
  bookworm) lammps_date=20210929; lammps_upstream=20220106 ;;   # Debian's version of 29Sep2021 update 2
  trixie)   lammps_date=20250204; lammps_upstream=20250204 ;;
  *) echo "unknown suite '$suite' (bookworm or trixie)" >&2; exit 2 ;;
esac
cache="${GBNET_LAMMPS_CACHE:-$HOME/.cache/gbnet/lammps-$lammps_date}"
stamp="$cache/install/bin/lmp"

if [[ -x "$stamp" ]]; then
  echo "plugin host LAMMPS ($suite) already built: $stamp"
  exit 0
fi
if [[ $source_only -eq 1 && -f "$cache/source/src/version.h" ]]; then
  echo "LAMMPS source ($suite) already unpacked: $cache/source"
  exit 0
fi

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_updated=0

# deb-src for Debian 12's suites: mirror the existing deb822 entries.
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources && \
   ! grep -qs '^deb-src' /etc/apt/sources.list 2>/dev/null; then
  echo "enabling deb-src entries in /etc/apt/sources.list.d/gbnet-deb-src.sources"
  sed -n '/^Types:/,/^$/p' /etc/apt/sources.list.d/debian.sources \
    | sed 's/^Types:.*/Types: deb-src/' \
    | as_root tee /etc/apt/sources.list.d/gbnet-deb-src.sources >/dev/null
  apt_updated=1
fi
# trixie's sources only (Types: deb-src): no binary package changes suite.
if [[ $suite == trixie ]] && ! grep -rqs '^Suites:.*trixie' /etc/apt/sources.list.d/*.sources; then
  echo "enabling trixie deb-src in /etc/apt/sources.list.d/gbnet-trixie-src.sources"
  as_root tee /etc/apt/sources.list.d/gbnet-trixie-src.sources >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt_updated=1
fi
if [[ $apt_updated -eq 1 ]]; then as_root apt-get update -qq; fi
command -v dpkg-source >/dev/null || as_root apt-get install -y -qq dpkg-dev

mkdir -p "$cache"
cd "$cache"
if [[ ! -d source/cmake ]]; then
  rm -rf fetch && mkdir fetch && cd fetch
  # the newest source package of that LAMMPS release apt knows
  version=$(apt-cache showsrc lammps | awk '/^Version:/ {print $2}' | grep "^${lammps_upstream}" | sort -V | tail -n1)
  [[ -n "$version" ]] || { echo "no source package lammps ${lammps_upstream}* (deb-src for $suite?)" >&2; exit 1; }
  # asked before downloading: apt lists only what it has yet to fetch
  orig=$(apt-get source --print-uris -qq "lammps=$version" | awk '$2 ~ /\.orig\.tar\./ {print $2, $4}')
  [[ -n "$orig" ]] || { echo "apt-get source lammps=$version: no orig tarball listed" >&2; exit 1; }
  read -r orig_file orig_sum <<<"$orig"
  # unpacks and applies Debian's patches when the .dsc is there
  if ! apt-get source -qq "lammps=$version"; then
    [[ -f "$orig_file" ]] || { echo "apt-get source lammps=$version did not download $orig_file" >&2; exit 1; }
    echo "${orig_sum#SHA256:}  $orig_file" | sha256sum -c --quiet
    echo "unpacking $orig_file (without Debian's patches)"
    tar xf "$orig_file"
  fi
  srcdir=$(find . -maxdepth 1 -mindepth 1 -type d -name 'lammps-*' | head -n1)
  [[ -n "$srcdir" && -d "$srcdir/cmake" ]] || { echo "apt-get source lammps=$version gave no source tree" >&2; exit 1; }
  cd "$cache"
  rm -rf source && mv "fetch/$srcdir" source && rm -rf fetch
fi
if [[ $source_only -eq 1 ]]; then
  echo "LAMMPS source ($suite) unpacked: $cache/source"
  exit 0
fi

# PLUGIN for `plugin load`; what the tests and examples use besides gbnet
# (zbl, lj/cut, nvt, nve) is in LAMMPS's core. The bookworm build keeps the
# OPENMP and MANYBODY packages it always had (its cache stays valid); the
# trixie build is kept minimal (a 4 Feb 2025 build is long on 2 cores).
packages=(-DPKG_PLUGIN=on)
if [[ $suite == bookworm ]]; then packages+=(-DPKG_OPENMP=on -DPKG_MANYBODY=on); fi
cmake -S source/cmake -B build \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$cache/install" \
  -DCMAKE_INSTALL_RPATH="$cache/install/lib" \
  -DBUILD_SHARED_LIBS=on -DBUILD_MPI=on -DBUILD_OMP=on \
  "${packages[@]}" \
  -DLAMMPS_SIZES=smallbig \
  -DBUILD_TOOLS=off -DBUILD_DOC=off
cmake --build build "$jobs"
cmake --install build
echo "plugin host LAMMPS ($suite) installed: $stamp"
