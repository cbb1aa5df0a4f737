#!/usr/bin/env bash
# Builds gbnet with its test suite and runs it (Debian 12). Installs the
# build dependencies with apt-get first when some are missing (as root, or
# through sudo). The build goes to build/ (override: GBNET_BUILD_DIR).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GBNET_BUILD_DIR:-$repo/build}"
packages=(build-essential cmake libopenblas-dev libgtest-dev python3-numpy)

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
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGBNET_TESTS=ON
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j2
