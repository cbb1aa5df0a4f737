#!/usr/bin/env bash
# Builds a second LAMMPS from the Debian 12 (bookworm) source tree that
# tools/build_lammps_plugin_host.sh unpacks (29 Sep 2021), this time with the
# KOKKOS package on Debian's Kokkos (libtrilinos-kokkos-dev, Kokkos 3.4.01,
# Serial backend) and PLUGIN, so `plugin load gbnetkkplugin.so` can provide
# `pair_style gbnet/kk` to `lmp -k on -sf kk`. The existing plugin-host build
# is left untouched: this one lives in its own cache folder.
#
# Result (outside the repository, reused by later runs):
#   $GBNET_LAMMPS_KOKKOS_CACHE/install/bin/lmp          LAMMPS with KOKKOS + PLUGIN (MPI)
#   $GBNET_LAMMPS_KOKKOS_CACHE/install/lib/liblammps.so
#   $GBNET_LAMMPS_KOKKOS_CACHE/build/styles             generated headers
#   $GBNET_LAMMPS_KOKKOS_CACHE/source                   link to the source tree built
# The source is bookworm's in $GBNET_LAMMPS_KOKKOS_SOURCE (default
# ~/.cache/gbnet/lammps-20210929, shared with the plugin host): gbnet/kk is
# written against 29Sep2021's KOKKOS API (docs/pair_gbnet_kokkos.md).
# Skipped when $GBNET_LAMMPS_KOKKOS_CACHE/install/bin/lmp already exists.
#
# Usage: tools/build_lammps_kokkos.sh [-jN]   (default -j2)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_cache="${GBNET_LAMMPS_KOKKOS_SOURCE:-$HOME/.cache/gbnet/lammps-20210929}"
cache="${GBNET_LAMMPS_KOKKOS_CACHE:-$HOME/.cache/gbnet/lammps-20210929-kokkos}"
jobs="-j2"
for arg in "$@"; do
  case "$arg" in
    -j*) jobs="$arg" ;;
    *) echo "usage: tools/build_lammps_kokkos.sh [-jN]" >&2; exit 2 ;;
  esac
done
stamp="$cache/install/bin/lmp"

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# Debian's Kokkos 3.4.01 (Serial backend) and Kokkos Kernels (gbnet/kk's
# dense layers), also when the build is cached (a fresh CI machine keeps
# ~/.cache/gbnet but not its packages; the cached lmp links libkokkoscore)
bash "$here/install_deps.sh" libtrilinos-kokkos-dev libtrilinos-kokkos-kernels-dev
# Debian's KokkosConfig.cmake names /usr/lib/include as an include directory,
# while the headers live in /usr/include/trilinos; CMake refuses a missing one.
[[ -d /usr/lib/include ]] || as_root mkdir -p /usr/lib/include

if [[ -x "$stamp" ]]; then
  [[ -e "$cache/source" ]] || ln -sfn "$source_cache/source" "$cache/source"
  echo "KOKKOS LAMMPS already built: $stamp"
  exit 0
fi

if [[ ! -f "$source_cache/source/src/version.h" ]]; then
  GBNET_LAMMPS_CACHE="$source_cache" "$here/build_lammps_plugin_host.sh" --suite bookworm --source-only
fi

mkdir -p "$cache"
ln -sfn "$source_cache/source" "$cache/source"
cmake -S "$source_cache/source/cmake" -B "$cache/build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$cache/install" \
  -DCMAKE_INSTALL_RPATH="$cache/install/lib" \
  -DCMAKE_CXX_FLAGS=-I/usr/include/trilinos \
  -DBUILD_SHARED_LIBS=on -DBUILD_MPI=on -DBUILD_OMP=off \
  -DPKG_KOKKOS=on -DEXTERNAL_KOKKOS=on -DPKG_PLUGIN=on \
  -DLAMMPS_SIZES=smallbig \
  -DBUILD_TOOLS=off -DBUILD_DOC=off
cmake --build "$cache/build" "$jobs"
cmake --install "$cache/build"
echo "KOKKOS LAMMPS installed: $stamp"
