#!/usr/bin/env bash
# What a 4-member committee costs against one member, per MD step, in the
# core library and in LAMMPS, side by side in one run. Writes
# bench/lammps/RESULTS_committee_<vendor>.md (intel or amd, from lscpu).
#
#     bench/lammps/committee.sh [POTENTIAL.gbnet]      (default potentials/water.gbnet)
#
# The committee is M copies of the potential (bench_committee make): a member
# costs the same whatever its weights. Core: bench_committee run (one model
# with gbnet_evaluate, then the committee with gbnet_committee_evaluate, on the
# same positions, interleaved step by step). LAMMPS: gbnet-lmp with
# in.water_speed, the single file and the committee file alternately,
# CMTEBENCH_REPEATS times each; the median "Loop time" per step is reported.
# The committee runs three ways: integrating with the mean and computing the
# deviations every step (out_freq 1); with the mean and the deviations every
# CMTEBENCH_OUT_FREQ steps (on the steps between no member's own forces are
# needed: the core assembles the mean's once from the members' mean edge
# gradients); with member 0 and the others every CMTEBENCH_OUT_FREQ steps.
# Water boxes: the 192-atom DeePMD box replicated 2x2x2 (1536 atoms), float
# precision, 1 and 2 threads. About 7 minutes on 2 cores; run it alone.
#
# Environment: CMTEBENCH_BUILD_DIR (default build), CMTEBENCH_MEMBERS (4),
# CMTEBENCH_REPEATS (9), CMTEBENCH_STEPS (LAMMPS steps per timed run, 40),
# CMTEBENCH_OUT_FREQ (10: out_freq of the sparse runs),
# CMTEBENCH_OUT (default bench/lammps/RESULTS_committee_<vendor>.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pot="$(realpath "${1:-$repo/potentials/water.gbnet}")"
build="$(realpath "${CMTEBENCH_BUILD_DIR:-$repo/build}")"
members="${CMTEBENCH_MEMBERS:-4}"
repeats="${CMTEBENCH_REPEATS:-9}"
steps="${CMTEBENCH_STEPS:-40}"
sparse="${CMTEBENCH_OUT_FREQ:-10}"
source "$here/../cpu_info.sh"
out_md="${CMTEBENCH_OUT:-$here/RESULTS_committee_$(cpu_vendor).md}"
data="$repo/../shared/data/deepmd_water"
lmp="$build/gbnet-lmp"
for f in "$build/bench_committee" "$lmp" "$data/deepmd_water.extxyz" "$data/raw/lammps_start/water.lmp"; do
    [[ -e "$f" ]] || { echo "committee.sh: $f not found (build with -DGBNET_LAMMPS=ON first)" >&2; exit 1; }
done
work="$build/committee-bench"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
"$build/bench_committee" make --model "$pot" --members "$members" --out committee.gbnet
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : 0.5*(v[NR/2]+v[NR/2+1])}'; }

core_lines=()
for t in 1 2; do
    core_lines+=("$(OMP_NUM_THREADS=$t "$build/bench_committee" run --model "$pot" --data "$data/deepmd_water.extxyz" \
        --replicate 2 --members "$members" --threads "$t" --precision float --steps 11)")
done

# one LAMMPS run: the median-free loop time per step of its timed runs
lammps_step() { # file threads [pair_style keywords]
    OMP_NUM_THREADS="$2" "$lmp" -in "$here/in.water_speed" -log none -screen none -nocite \
        -var pot "$1" -var style "${3:-out_freq 0}" -var data "$data/raw/lammps_start/water.lmp" -var rep 2 -var precision float \
        -var threads "$2" -var warmup 5 -var steps "$steps" -var repeats 1 -log lmp.log >/dev/null
    awk -v s="$steps" '/^Loop time of/ {t=$4} END {printf "%.6g\n", t / s}' lmp.log
}
declare -A lmp_times
for t in 1 2; do
    for r in $(seq "$repeats"); do
        lmp_times[one_$t]+="$(lammps_step "$pot" "$t") "
        lmp_times[cmte_$t]+="$(lammps_step committee.gbnet "$t" "out_freq 1") "
        lmp_times[sparse_$t]+="$(lammps_step committee.gbnet "$t" "out_freq $sparse") "
        lmp_times[member_$t]+="$(lammps_step committee.gbnet "$t" "committee_output 0 out_freq $sparse") "
    done
done

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
{
    echo "# Committee cost: $members members against one (water, 1536 atoms, float)"
    echo
    echo "Measured $(date -u +%Y-%m-%d) by \`bench/lammps/committee.sh\` on $(lscpu | sed -n "s/^Model name: *//p" | head -n1) ($(getconf _NPROCESSORS_ONLN) CPUs),"
    echo "alone on the machine. CPU flags: $(cpu_flags)."
    echo
    echo "Potential: \`$(basename "$pot")\`; the committee is $members copies of it (a member costs"
    echo "the same whatever its weights). Core: median of 11 interleaved steps (gbnet_evaluate of"
    echo "one model against gbnet_committee_evaluate with deviations: neighbor list and packing"
    echo "built once). LAMMPS: gbnet-lmp, \`in.water_speed\`, NVE, $steps timed steps per run, the two"
    echo "files alternately, median of $repeats runs each (neighbor list, graph, in-edge lists, edge lengths"
    echo "and table cells built once for all members). \"mean, deviations every step\": \`out_freq 1\`, every"
    echo "member's own forces and the per-atom deviations on every step. \"mean, deviations every $sparse steps\":"
    echo "\`out_freq $sparse\`, every member on every step, and on the steps between deviations the mean's forces"
    echo "assembled once from the members' mean edge gradients. \"member 0, others every $sparse steps\":"
    echo "\`committee_output 0 out_freq $sparse\` (DeePMD-kit's way: MD with member 0, the whole committee and"
    echo "its deviations on every ${sparse}th step). Per step averaged over the run."
    echo
    echo "| where | threads | one model µs/atom/step | committee µs/atom/step | ratio |"
    echo "|---|---|---|---|---|"
    for k in 0 1; do
        l="${core_lines[$k]}"
        printf '| core | %s | %.3f | %.3f | %.2fx |\n' "$(field threads "$l")" "$(field one_us_per_atom "$l")" \
            "$(field committee_us_per_atom "$l")" "$(field ratio "$l")"
    done
    for t in 1 2; do
        one="$(tr ' ' '\n' <<<"${lmp_times[one_$t]}" | grep . | median)"
        cm="$(tr ' ' '\n' <<<"${lmp_times[cmte_$t]}" | grep . | median)"
        sp="$(tr ' ' '\n' <<<"${lmp_times[sparse_$t]}" | grep . | median)"
        mb="$(tr ' ' '\n' <<<"${lmp_times[member_$t]}" | grep . | median)"
        awk -v t="$t" -v a="$one" -v b="$cm" 'BEGIN {printf "| LAMMPS, mean, deviations every step | %s | %.3f | %.3f | %.2fx |\n", t, 1e6*a/1536, 1e6*b/1536, b/a}'
        awk -v t="$t" -v a="$one" -v b="$sp" -v s="$sparse" 'BEGIN {printf "| LAMMPS, mean, deviations every %s steps | %s | %.3f | %.3f | %.2fx |\n", s, t, 1e6*a/1536, 1e6*b/1536, b/a}'
        awk -v t="$t" -v a="$one" -v b="$mb" -v s="$sparse" 'BEGIN {printf "| LAMMPS, member 0, others every %s steps | %s | %.3f | %.3f | %.2fx |\n", s, t, 1e6*a/1536, 1e6*b/1536, b/a}'
    done
    echo
    echo "Raw LAMMPS seconds per step, in run order (one model; mean with deviations every step; mean with deviations every $sparse steps; member 0 with the others every $sparse steps), per thread count:"
    echo
    for t in 1 2; do echo "- $t thread(s): one ${lmp_times[one_$t]}; mean ${lmp_times[cmte_$t]}; mean, sparse deviations ${lmp_times[sparse_$t]}; member 0 ${lmp_times[member_$t]}"; done
} >"$out_md"
cat "$out_md"
