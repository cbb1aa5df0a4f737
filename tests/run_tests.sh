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
# LAMMPS with the PLUGIN package (Debian's lacks it) in two versions, each
# built once from Debian's source package into ~/.cache/gbnet (later runs skip
# them): 29 Sep 2021 (bookworm's, about 12 minutes on 2 cores) and 4 Feb 2025
# (trixie's, minimal packages: 26 minutes on 2 cores shared with other
# builds). ctest runs the LAMMPS tests with gbnet-lmp and with `plugin load`
# into each (LAMMPS-plugin-<version>.*).
bash "$repo/tools/build_lammps_plugin_host.sh" "-j$jobs"
bash "$repo/tools/build_lammps_plugin_host.sh" --suite trixie "-j$jobs"

# pair_style gbnet/kk: a second LAMMPS 29 Sep 2021 with the KOKKOS package on
# Debian's Kokkos (Serial backend) and PLUGIN, built once into
# ~/.cache/gbnet/lammps-20210929-kokkos (later runs skip it); the plugin
# gbnetkkplugin.so and tests/test_lammps_kokkos.cpp use it.
bash "$repo/tools/build_lammps_kokkos.sh" "-j$jobs"

# ... and the LAMMPS tests once more in LAMMPS 29 Sep 2021 built with the
# ML-GBNET package (LAMMPS-builtin.*): built after gbnet, from its install
# (the first time a whole LAMMPS build, 28 minutes on 2 shared cores; later
# runs reinstall gbnet and relink, about 20 s).
builtin_lmp="$HOME/.cache/gbnet/lammps-20210929/ml-gbnet/build/lmp"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGBNET_TESTS=ON -DGBNET_LAMMPS=ON \
    -DGBNET_LAMMPS_BUILTIN_LMP="$builtin_lmp"
cmake --build "$build" -j"$jobs"
bash "$repo/tools/build_lammps_builtin.sh" "$build" --suite bookworm "-j$jobs"
ctest --test-dir "$build" --output-on-failure -j2

# ---------------------------------------------------------- sanitized pass
# The same suite once more, built with GBNET_SANITIZE (AddressSanitizer +
# UBSan, -fno-sanitize-recover: any report fails its test; LeakSanitizer on)
# in a second build folder (override: GBNET_SANITIZE_BUILD_DIR), optimised
# (RelWithDebInfo) so it fits CI's time. Left out there: the LAMMPS parts
# (GBNET_LAMMPS off: LAMMPS itself is not sanitized, and its MD runs are the
# slowest tests), Install.* (it links outside programs against the
# sanitized library) and Python.* (ctypes loads the sanitized library into an
# unsanitized interpreter, which ASan refuses). GBNET_SKIP_SANITIZE=1 skips
# this pass.
if [ "${GBNET_SKIP_SANITIZE:-0}" != 1 ]; then
    sanitized="${GBNET_SANITIZE_BUILD_DIR:-$repo/build-sanitize}"
    cmake -S "$repo" -B "$sanitized" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGBNET_TESTS=ON -DGBNET_SANITIZE=ON \
        -DGBNET_LAMMPS=OFF
    cmake --build "$sanitized" -j"$jobs"
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        ctest --test-dir "$sanitized" --output-on-failure -j2 -E '^(Install|Python)\.'
fi
