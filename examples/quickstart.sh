#!/usr/bin/env bash
# gbnet quickstart on a fresh Debian 12 machine, the whole pipeline:
#   0. installs the dependencies (tools/install_deps.sh: apt-get, as root or
#      through sudo) and unpacks LAMMPS's Debian source package for the headers
#      liblammps-dev lacks (tools/build_lammps_plugin_host.sh --source-only),
#   1. builds gbnet and the LAMMPS launcher gbnet-lmp into build/,
#   2. trains a small water potential (F=32, T=3, rc=6 A, with the repulsive
#      core zbl = on) on the DeePMD water data for 5.5 minutes
#      (examples/water/train.cfg),
#   3. tabulates its filters (gbnet compress --tabulate) and evaluates it on
#      the validation frames,
#   4. fine-tunes 3 siblings from it, each on its own bootstrap sample of the
#      training frames (0.4 minutes each), and joins model and siblings into a
#      committee of 4 (gbnet join),
#   5. runs LAMMPS with the committee (examples/water/in.water through
#      gbnet-lmp: 1 ps NVT at 300 K, then 2 ps NVE, 192 atoms): the MD
#      integrates with member 0, the trained model itself, and every 10 steps
#      the whole committee writes its deviation to model_devi.out
#      (committee_output 0 out_freq 10, as DeePMD-kit's out_freq),
#   6. prints a summary: errors, energies, temperature, speed, and judges the
#      MD: NVT temperature over the second half within 10% of 300 K, NVE
#      energy drift below 1 meV/atom/ps, no lost atoms, and the committee's
#      largest per-atom force deviation below 0.3 eV/A at every written step.
#      Any failed check is named in plain words and the script exits with
#      status 1.
# About 8 minutes on 2 cores once the packages are installed (the first run
# also downloads ~200 MB of packages and LAMMPS's 80 MB source).
# Outputs go to out/quickstart/. Run from anywhere: bash examples/quickstart.sh
#
# Environment: GBNET_BUILD_DIR (default build), QUICKSTART_OUT (default
# out/quickstart), QUICKSTART_TRAIN_MINUTES (default 5.5), QUICKSTART_NVT_STEPS
# (default 2000), QUICKSTART_NVE_STEPS (default 4000), QUICKSTART_T_TOLERANCE
# (default 0.10), QUICKSTART_MAX_DRIFT (meV/atom/ps, default 1.0),
# QUICKSTART_SIBLINGS (default 3; 0: no committee), QUICKSTART_SIBLING_MINUTES
# (default 0.4), QUICKSTART_MAX_DEVI_F (eV/A, default 0.3).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build="${GBNET_BUILD_DIR:-build}"
out="${QUICKSTART_OUT:-out/quickstart}"
minutes="${QUICKSTART_TRAIN_MINUTES:-5.5}"
nvt_steps="${QUICKSTART_NVT_STEPS:-2000}"
nve_steps="${QUICKSTART_NVE_STEPS:-4000}"
target_temp=300                                  # K, as in examples/water/in.water
t_tol="${QUICKSTART_T_TOLERANCE:-0.10}"          # NVT: mean T of the second half within 10% of the target
max_drift="${QUICKSTART_MAX_DRIFT:-1.0}"         # NVE: |energy drift| below 1 meV/atom/ps
siblings="${QUICKSTART_SIBLINGS:-3}"             # committee: members fine-tuned from the model
sibling_minutes="${QUICKSTART_SIBLING_MINUTES:-0.4}"
max_devi_f="${QUICKSTART_MAX_DEVI_F:-0.3}"       # eV/A: DP-GEN's usual upper trust level for water
data_dir="$repo/../shared/data/deepmd_water"
water="$data_dir/deepmd_water.extxyz"
water_lmp="$data_dir/raw/lammps_start/water.lmp"
valid='subset=data_3*'

step() { printf '\n== %s\n' "$*"; }
die() { echo "quickstart: $*" >&2; exit 1; }

step "dependencies"
bash tools/install_deps.sh
bash tools/build_lammps_plugin_host.sh --source-only

step "build ($build, with the LAMMPS launcher gbnet-lmp)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DGBNET_LAMMPS=ON >/dev/null
grep -qw gbnet-lmp <<<"$(cmake --build "$build" --target help)" ||
    die "CMake did not set up gbnet-lmp (see its warning: cmake -S . -B $build -DGBNET_LAMMPS=ON)"
cmake --build "$build" -j"$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)" --target gbnet gbnet-lmp gbnet_shared
build_abs="$(cd "$build" && pwd)"
gbnet="$build_abs/gbnet"
lmp="$build_abs/gbnet-lmp"

for f in "$water" "$water_lmp"; do
    [ -f "$f" ] || die "$f not found (the datasets live in ../shared/data beside the repository)"
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"

step "gbnet train: water, F=32, T=3, K=32, rc=6 A, repulsive core, $minutes min (examples/water/train.cfg)"
SECONDS=0
"$gbnet" train examples/water/train.cfg --set features=32 --set readout=16 --set zbl=on --set time_limit="$minutes" \
    --set output="$out/water.gbnet" --set log="$out/water.csv" --set checkpoint="$out/water.ckpt" |
    tee "$out/train.txt"
train_s=$SECONDS

step "gbnet compress --tabulate: filters as piecewise cubics (what LAMMPS runs)"
"$gbnet" compress --tabulate "$out/water.gbnet" "$out/water_tab.gbnet" \
    --check "$water" --subset "$valid" --max-frames 20 | tee "$out/compress.txt"

step "gbnet eval: the tabulated potential on the validation frames (data_3)"
"$gbnet" eval "$out/water_tab.gbnet" "$water" --subset "$valid" | tee "$out/eval.txt"

pot="$out/water_tab.gbnet"
style="out_freq 0"
rm -f "$out/lammps/model_devi.out"
if [ "$siblings" -gt 0 ]; then
    step "gbnet train: $siblings siblings fine-tuned from it, each on its own bootstrap sample ($sibling_minutes min each); gbnet join: a committee of $((siblings + 1))"
    SECONDS=0
    # init_from keeps the model's architecture, normalization and repulsive core
    GBNET_PLOTS=0 "$gbnet" train examples/water/train.cfg --set init_from="$out/water.gbnet" --set features=32 --set readout=16 \
        --set committee="$siblings" --set committee_bootstrap=true --set seed=2 --set lr=0.001 \
        --set time_limit="$sibling_minutes" --set output="$out/siblings.gbnet" --set log="$out/siblings.csv" \
        --set checkpoint="$out/siblings.ckpt" >"$out/siblings.txt"
    siblings_s=$SECONDS
    grep -E "^(committee|members|validation|  member)" "$out/siblings.txt" | head -n 12 || true
    "$gbnet" join "$out/water.gbnet" "$out/siblings.gbnet" -o "$out/committee.gbnet"
    "$gbnet" compress --tabulate "$out/committee.gbnet" "$out/committee_tab.gbnet" >"$out/compress_committee.txt"
    pot="$out/committee_tab.gbnet"
    style="committee_output 0 out_freq 10 out_file model_devi.out"
fi

step "LAMMPS (gbnet-lmp): examples/water/in.water, $nvt_steps NVT + $nve_steps NVE steps of 0.5 fs"
mkdir -p "$out/lammps"
lammps_ok=1
(cd "$out/lammps" && "$lmp" -in "$repo/examples/water/in.water" -var pot "$pot" -var style "$style" \
    -var data "$water_lmp" -var nvt "$nvt_steps" -var nve "$nve_steps" -log log.lammps) >"$out/lammps/screen.txt" 2>&1 ||
    lammps_ok=0
awk '/^ *Step/ || ($1 ~ /^[0-9]+$/ && NF >= 8 && $1 % 500 == 0) || /^Loop time|^Performance/' "$out/lammps/log.lammps"

step "summary"
epochs="$(sed -n 's/^finished: \([0-9]*\) epochs.*/\1/p' "$out/train.txt")"
awk -v s="$train_s" -v e="${epochs:-?}" 'BEGIN { printf "training         %.1f min, %s epochs (F=32, T=3, K=32, rc=6 A, repulsive core)\n", s / 60, e }'
awk '$1 == "energy" && $2 == "meV/atom" { printf "validation       energy RMSE %s meV/atom, ", $5 }
     $1 == "force" && $2 == "meV/A" { printf "force RMSE %s meV/A (tabulated model, %s frames of data_3)\n", $5, n }
     $1 == "frames:" { n = $2 }' "$out/eval.txt"
awk '/^  forces/ { printf "tabulation       force deviation from the exact filters: RMS %s, max %s meV/A\n", $5, $3 }' \
    "$out/compress.txt"

# The MD judged (examples/check_md.sh): NVT temperature over the second half
# within 10% of the target, NVE energy drift below 1 meV/atom/ps, no atom lost.
bash examples/check_md.sh "$out/lammps/log.lammps" --nvt-steps "$nvt_steps" --target "$target_temp" \
    --t-tolerance "$t_tol" --max-drift "$max_drift" --lammps-ok "$lammps_ok" || md_failed=1

# The committee judged: DeePMD-kit's max_devi_f (column 5 of model_devi.out,
# the largest per-atom force deviation of the committee, eV/A) at every
# written step below max_devi_f: DP-GEN sends frames above such a trust level
# to new reference calculations, since there the model is guessing.
if [ "$siblings" -gt 0 ]; then
    devi="$out/lammps/model_devi.out"
    if [ ! -s "$devi" ]; then
        echo "FAIL committee  no deviation file $devi (LAMMPS stopped before writing it)"
        md_failed=1
    elif ! awk -v lim="$max_devi_f" '!/^#/ { n++; if ($5 > m) { m = $5; s = $1 } if ($5 > lim) bad++ }
        END { if (bad) printf "FAIL committee  max_devi_f above %s eV/A at %d of %d written steps (largest %.3f eV/A at step %d): the committee disagrees, the MD left what the model learned\n", lim, bad, n, m, s
              else printf "PASS committee  max_devi_f at most %.3f eV/A over %d written steps (limit %s eV/A; committee of model + siblings)\n", m, n, lim
              exit bad > 0 }' "$devi"; then
        md_failed=1
    fi
    awk -v s="${siblings_s:-0}" -v n="$siblings" 'BEGIN { printf "committee        %d siblings fine-tuned in %.1f min, joined with the model\n", n, s / 60 }'
fi

echo "outputs          $out/ (water.gbnet, water_tab.gbnet, water.csv, committee_tab.gbnet, lammps/log.lammps, lammps/model_devi.out, lammps/water.lammpstrj)"
if [ "${md_failed:-0}" = 1 ]; then
    echo "quickstart: FAILED: the trained model did not give a stable MD (see the FAIL lines above)." >&2
    echo "quickstart: train longer (QUICKSTART_TRAIN_MINUTES, now $minutes) or see examples/water/README.md." >&2
    exit 1
fi
echo "quickstart: all MD checks passed."
