#!/usr/bin/env bash
# The tantalum potential against the SNAP table of issue 11 and under
# compression: energy MAE of each equation-of-state group, energy and force
# MAE of the other 281 frames, and the energy per atom of compressed 2-atom
# BCC cells (a = 2.2 A is the most compressed Volume_BCC frame, shortest
# distance 1.905 A, DFT +28.13 eV/atom; a = 2.0 and 1.8 A lie beyond the data).
#   bash examples/tantalum/compare.sh [MODEL] (default potentials/tantalum.gbnet)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
model="${1:-$repo/potentials/tantalum.gbnet}"
gbnet="${GBNET:-$repo/build/gbnet}"
data="$repo/../shared/data/fitsnap_ta/fitsnap_ta.extxyz"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "model: $model"
printf '%-26s %7s %22s %22s\n' "FitSNAP Ta frames" frames "E MAE (meV/atom)" "F MAE (meV/A)"
for group in Volume_A15 Volume_BCC Volume_FCC '[DEGLS]*'; do
    "$gbnet" eval "$model" "$data" --subset "config_type=$group" >"$work/eval.txt"
    label="$group"; [ "$group" = '[DEGLS]*' ] && label="all but Volume_*"
    awk -v g="$label" '$1 == "frames:" { n = $2 } $1 == "energy" && $2 == "meV/atom" { e = $4 }
        $1 == "force" && $2 == "meV/A" { f = $4 } END { printf "%-26s %7d %22.2f %22.2f\n", g, n, e, f }' "$work/eval.txt"
done

# compressed BCC cells: 2 atoms at (0,0,0) and (a/2,a/2,a/2)
for a in 2.2 2.0 1.8; do
    h=$(awk -v a="$a" 'BEGIN { printf "%.6f", a / 2 }')
    printf '2\nLattice="%s 0 0 0 %s 0 0 0 %s" Properties=species:S:1:pos:R:3 pbc="T T T" cell=%s\nTa 0 0 0\nTa %s %s %s\n' \
        "$a" "$a" "$a" "$a" "$h" "$h" "$h"
done >"$work/compressed.extxyz"
"$gbnet" eval "$model" "$work/compressed.extxyz" --write-predictions "$work/pred.extxyz" >/dev/null
awk '/Lattice=/ { match($0, /energy=[-0-9.eE+]+/); e = substr($0, RSTART + 7, RLENGTH - 7)
                  match($0, /cell=[0-9.]+/); a = substr($0, RSTART + 5, RLENGTH - 5)
                  printf "compressed BCC a = %s A (shortest distance %.3f A): %+.2f eV/atom\n", a, a * sqrt(3) / 2, e / 2 }' \
    "$work/pred.extxyz"
