#!/usr/bin/env bash
# gbnet quickstart on a fresh Debian 12 machine: installs the build
# dependencies (as root, or through sudo), builds gbnet into build/, then
#   1. creates a water model (random weights; reference energies and
#      normalization fitted on the DeePMD water data),
#   2. shows what the potential file holds,
#   3. evaluates it on the validation part of the data (subset data_3).
# Outputs go to out/quickstart/. Run from anywhere: bash examples/quickstart.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build="${GBNET_BUILD_DIR:-build}"
out="out/quickstart"
water="../shared/data/deepmd_water/deepmd_water.extxyz"

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
packages=(build-essential cmake libopenblas-dev libgtest-dev)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$package")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]}"
    sudo_cmd=()
    if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
else
    echo "all installed: ${packages[*]}"
fi

step "build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target gbnet
gbnet="$build/gbnet"

if [ ! -f "$water" ]; then
    echo "quickstart: $water not found (the datasets live in ../shared/data beside the repository)" >&2
    exit 1
fi
mkdir -p "$out"

step "gbnet init: water model, reference energies fitted on $water"
"$gbnet" init --elements O,H --features 128 --blocks 3 --rbf 50 --cutoff 5.0 --seed 1 \
    --reference "$water" -o "$out/water_random.gbnet"

step "gbnet info"
"$gbnet" info "$out/water_random.gbnet"

step "gbnet eval on the validation frames (subset data_3)"
"$gbnet" eval "$out/water_random.gbnet" "$water" --subset 'subset=data_3*' \
    --write-predictions "$out/water_random_predictions.extxyz"

echo
echo "quickstart done: outputs in $out/ (the model has random weights, so force errors are large)"
