#!/usr/bin/env bash
# Builds gbnet with its test suite and runs it (Debian 12). Installs the
# build dependencies with apt-get first when some are missing (as root, or
# through sudo; tools/install_deps.sh). The build goes to build/ (override:
# GBNET_BUILD_DIR).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GBNET_BUILD_DIR:-$repo/build}"
bash "$repo/tools/install_deps.sh"

jobs="$(nproc 2>/dev/null || echo 2)"
# A LAMMPS with the PLUGIN package (Debian's lacks it), built once from Debian's
# source package into ~/.cache/gbnet (about 12 minutes on 2 cores; later runs
# skip it), so `plugin load` is tested as well as the gbnet-lmp launcher.
bash "$repo/tools/build_lammps_plugin_host.sh" "-j$jobs"

# pair_style gbnet/kk: a second LAMMPS from the same source with the KOKKOS
# package on Debian's Kokkos (Serial backend) and PLUGIN, built once into
# ~/.cache/gbnet/lammps-20210929-kokkos (later runs skip it); the plugin
# gbnetkkplugin.so and tests/test_lammps_kokkos.cpp use it.
bash "$repo/tools/build_lammps_kokkos.sh" "-j$jobs"

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGBNET_TESTS=ON -DGBNET_LAMMPS=ON
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j2
