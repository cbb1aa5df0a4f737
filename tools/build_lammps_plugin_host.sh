#!/usr/bin/env bash
# Builds a LAMMPS with the PLUGIN package from Debian's own source package of
# `lammps` (29 Sep 2021), so `plugin load gbnetplugin.so` can be tested against
# exactly the version Debian ships. Debian's binary package lacks PLUGIN.
#
# Result (outside the repository, reused by later runs):
#   $GBNET_LAMMPS_CACHE/install/bin/lmp          plugin-enabled LAMMPS (MPI + OpenMP)
#   $GBNET_LAMMPS_CACHE/install/lib/liblammps.so
#   $GBNET_LAMMPS_CACHE/source/src               headers the plugin is compiled against
#   $GBNET_LAMMPS_CACHE/build/styles             generated headers (lmpinstalledpkgs.h ...)
# Skipped when $GBNET_LAMMPS_CACHE/install/bin/lmp already exists.
#
# With --source-only it stops after unpacking the source (a minute instead of
# a 12-minute build): enough for gbnet-lmp, which takes the headers Debian's
# liblammps-dev lacks from $GBNET_LAMMPS_CACHE/source/src (quickstart).
#
# Usage: tools/build_lammps_plugin_host.sh [-jN] [--source-only]   (default -j2)
set -euo pipefail

cache="${GBNET_LAMMPS_CACHE:-$HOME/.cache/gbnet/lammps-20210929}"
jobs="-j2"
source_only=0
for arg in "$@"; do
  case "$arg" in
    -j*) jobs="$arg" ;;
    --source-only) source_only=1 ;;
    *) echo "usage: tools/build_lammps_plugin_host.sh [-jN] [--source-only]" >&2; exit 2 ;;
  esac
done
stamp="$cache/install/bin/lmp"

if [[ -x "$stamp" ]]; then
  echo "plugin host LAMMPS already built: $stamp"
  exit 0
fi
if [[ $source_only -eq 1 && -f "$cache/source/src/version.h" ]]; then
  echo "LAMMPS source already unpacked: $cache/source"
  exit 0
fi

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# deb-src for the configured Debian suites: mirror the existing deb822 entries.
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && \
   ! grep -qs '^deb-src' /etc/apt/sources.list 2>/dev/null; then
  echo "enabling deb-src entries in /etc/apt/sources.list.d/gbnet-deb-src.sources"
  sed -n '/^Types:/,/^$/p' /etc/apt/sources.list.d/debian.sources \
    | sed 's/^Types:.*/Types: deb-src/' \
    | as_root tee /etc/apt/sources.list.d/gbnet-deb-src.sources >/dev/null
  as_root apt-get update -qq
fi
command -v dpkg-source >/dev/null || as_root apt-get install -y -qq dpkg-dev

mkdir -p "$cache"
cd "$cache"
if [[ ! -d source/cmake ]]; then
  rm -rf fetch && mkdir fetch && cd fetch
  apt-get source -qq lammps            # unpacks and applies Debian's patches
  srcdir=$(find . -maxdepth 1 -mindepth 1 -type d -name 'lammps-*' | head -n1)
  [[ -n "$srcdir" ]] || { echo "apt-get source lammps gave no source tree" >&2; exit 1; }
  cd "$cache"
  rm -rf source && mv "fetch/$srcdir" source && rm -rf fetch
fi
if [[ $source_only -eq 1 ]]; then
  echo "LAMMPS source unpacked: $cache/source"
  exit 0
fi

cmake -S source/cmake -B build \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$cache/install" \
  -DCMAKE_INSTALL_RPATH="$cache/install/lib" \
  -DBUILD_SHARED_LIBS=on -DBUILD_MPI=on -DBUILD_OMP=on \
  -DPKG_PLUGIN=on -DPKG_OPENMP=on -DPKG_MANYBODY=on \
  -DLAMMPS_SIZES=smallbig \
  -DBUILD_TOOLS=off -DBUILD_DOC=off
cmake --build build "$jobs"
cmake --install build
echo "plugin host LAMMPS installed: $stamp"
