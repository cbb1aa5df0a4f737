#!/usr/bin/env bash
# Builds gbnet with its test suite and runs it (Debian 12). Installs the
# build dependencies with apt-get first when some are missing (as root, or
# through sudo). The build goes to build/ (override: GBNET_BUILD_DIR).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GBNET_BUILD_DIR:-$repo/build}"
packages=(build-essential cmake libopenblas-dev libgtest-dev python3-numpy
          lammps liblammps-dev openmpi-bin libopenmpi-dev dpkg-dev)

missing=()
for package in "${packages[@]}"; do
    # "install ok installed"; a removed package whose config files remain is missing
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$package")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "run_tests.sh: installing ${missing[*]}"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

jobs="$(nproc 2>/dev/null || echo 2)"
# A LAMMPS with the PLUGIN package (Debian's lacks it), built once from Debian's
# source package into ~/.cache/gbnet (about 12 minutes on 2 cores; later runs
# skip it), so `plugin load` is tested as well as the gbnet-lmp launcher.
bash "$repo/tools/build_lammps_plugin_host.sh" "-j$jobs"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGBNET_TESTS=ON -DGBNET_LAMMPS=ON
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j2
