#!/usr/bin/env bash
# The acetylacetone uncertainty study: trains a 4-member committee on the
# 300 K data (train.cfg), evaluates it on the in-distribution test set
# (test_300K), the hotter one (test_600K), the C-C dihedral scan and the
# intramolecular proton-transfer path, and reports whether the committee
# deviation grows where the true error grows (table, Spearman rank
# correlation per frame, plot), and which frames the extrapolation checks flag
# (distance and readout-input ranges, with margins calibrated on a split of
# the training data): analyse.py writes RESULTS.md and deviation.png.
#
#   bash examples/acac/run.sh               # from the repository root, after a build
#   ACAC_TRAIN_MINUTES=1 bash examples/acac/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
gbnet="${GBNET:-$root/build/gbnet}"
data="$root/../shared/data/botnet_acac"
out="${ACAC_OUT:-$root/out/acac}"
minutes="${ACAC_TRAIN_MINUTES:-2.5}"
mkdir -p "$out"
cd "$out"
if [[ ! -f acac.gbnet || -n "${ACAC_RETRAIN:-}" ]]; then
  "$gbnet" train "$here/train.cfg" --set time_limit="$minutes" --set output="$out/acac.gbnet" \
    --set log="$out/acac.csv" --set checkpoint="$out/acac.ckpt" | tee train.log
fi
declare -A sets=(
  [test_300K]="$data/botnet_acac_test_300K.extxyz"
  [test_600K]="$data/botnet_acac_test_600K.extxyz"
  [dihedral]="$data/raw/test_dihedral.xyz"
  [H_transfer]="$data/raw/test_H_transfer.xyz"
  [train_300K]="$data/botnet_acac_train_300K.extxyz"
)
for name in train_300K test_300K test_600K dihedral H_transfer; do
  # the checks' raw per-frame values (margins 0) for analyse.py; the report's
  # own counts use the library's default margins
  "$gbnet" eval acac.gbnet "${sets[$name]}" --threads 2 --write-deviations "devi_$name.out" > "eval_$name.txt"
  "$gbnet" eval acac.gbnet "${sets[$name]}" --threads 2 --distance-margin 0 --feature-margin 0 \
    --write-coverage "coverage_$name.out" > /dev/null
done
# the margins' rule: member 0 recorded on one half of train_300K (in file
# order: the MD trajectory's first and second half), checked on the other,
# both ways; analyse.py takes the largest held-out values
/usr/bin/python3 "$here/analyse.py" --split "${sets[train_300K]}" half1.extxyz half2.extxyz
for a in 1 2; do
  b=$((3 - a))
  "$gbnet" coverage acac.member0.gbnet "half$a.extxyz" -o "half$a.gbnet" > /dev/null
  "$gbnet" eval "half$a.gbnet" "half$b.extxyz" --threads 2 --distance-margin 0 --feature-margin 0 \
    --write-coverage "coverage_heldout$b.out" > /dev/null
done
/usr/bin/python3 "$here/analyse.py" "$out" "$here"
