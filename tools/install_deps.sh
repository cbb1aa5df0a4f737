#!/usr/bin/env bash
# Installs with apt-get (as root, or through sudo) the Debian 12 packages that
# building, testing and running gbnet need: compiler and CMake, OpenBLAS,
# GoogleTest, NumPy (golden data, NVE drift fit), Debian's LAMMPS and its
# library (gbnet-lmp), Open MPI, dpkg-dev (tools/build_lammps_plugin_host.sh
# unpacks LAMMPS's source package for headers liblammps-dev lacks), and for
# the Python package (python/, docs/python.md) ASE, matplotlib, setuptools
# and pip (offline `pip install --no-build-isolation`).
# Does nothing when everything is installed. Used by examples/quickstart.sh and
# tests/run_tests.sh.
#
# Usage: tools/install_deps.sh [EXTRA_PACKAGE...]
set -euo pipefail

packages=(build-essential cmake libopenblas-dev libgtest-dev python3-numpy
          lammps liblammps-dev openmpi-bin libopenmpi-dev dpkg-dev pkg-config
          python3-ase python3-matplotlib python3-setuptools python3-pip "$@")

missing=()
for package in "${packages[@]}"; do
    # "install ok installed"; a removed package whose config files remain is missing
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$package")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "install_deps.sh: all installed (${packages[*]})"
    exit 0
fi

echo "install_deps.sh: installing ${missing[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install_deps.sh: not root and no sudo: install ${missing[*]} by hand" >&2; exit 1; }
    as_root=(sudo)
fi
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
