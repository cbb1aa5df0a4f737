#!/usr/bin/env bash
# Speed of pair_style gbnet inside LAMMPS, side by side with the core library
# on the same boxes and with LAMMPS's own pair_style tersoff as a reference
# for the engine's cost per atom. Writes bench/lammps/RESULTS_<vendor>.md
# (intel or amd, from lscpu: the CPUs differ, so each keeps its own results).
#
#     bench/lammps/run.sh POTENTIAL.gbnet
#
# Water: the 192-atom DeePMD box (shared/data/deepmd_water/raw/lammps_start)
# replicated 1, 2, 4 times per axis (192, 1536, 12288 atoms), NVE at 300 K,
# 0.5 fs, pair_style gbnet precision float, run by gbnet-lmp (Debian's
# liblammps) on 1 thread, 2 threads (OMP_NUM_THREADS and pair_style ... threads)
# and 2 MPI ranks x 1 thread. Silicon: diamond, a = 5.431 A, 3/6/12 cells per
# axis (216, 1728, 13824 atoms), Si.tersoff, same modes (2 threads: tersoff/omp
# of the plugin-host LAMMPS, Debian's has no OPENMP package).
# Core: bench_gbnet on the same water boxes (1 and 2 threads, float).
#
# Every LAMMPS run: a warm-up, then LMPBENCH_REPEATS timed runs; the median of
# their "Loop time" / (steps x atoms) is reported. Step counts are chosen from
# a first core measurement so that a timed run on 1 thread lasts about
# LMPBENCH_RUN_S seconds (default 8: the whole script takes about 6 minutes on
# the 2-core machine).
#
# Environment: LMPBENCH_BUILD_DIR (default build-lmpbench), LMPBENCH_RUN_S,
# LMPBENCH_REPEATS (default 3), LMPBENCH_SIZES (default "1 2 4", replicas per
# axis), LMPBENCH_OUT (default bench/lammps/RESULTS_<vendor>.md), GBNET_LAMMPS_CACHE.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [[ $# -ne 1 || ! -f "$1" ]]; then
    echo "usage: bench/lammps/run.sh POTENTIAL.gbnet   (a water potential with elements O and H)" >&2
    exit 2
fi
pot="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
build="${LMPBENCH_BUILD_DIR:-$repo/build-lmpbench}"
run_s="${LMPBENCH_RUN_S:-8}"
repeats="${LMPBENCH_REPEATS:-3}"
sizes="${LMPBENCH_SIZES:-1 2 4}"
source "$here/../cpu_info.sh"
results_md="${LMPBENCH_OUT:-$here/RESULTS_$(cpu_vendor).md}"
[[ "$results_md" = /* ]] || results_md="$PWD/$results_md"   # the script changes directory
cache="${GBNET_LAMMPS_CACHE:-$HOME/.cache/gbnet/lammps-20210929}"
water_lmp="$repo/../shared/data/deepmd_water/raw/lammps_start/water.lmp"
work="$build/lmpbench-work"
raw="$work/results.txt"
command_line="bench/lammps/run.sh $1"
[[ -n "${LMPBENCH_RUN_S:-}${LMPBENCH_REPEATS:-}${LMPBENCH_SIZES:-}" ]] &&
    command_line="LMPBENCH_RUN_S=$run_s LMPBENCH_REPEATS=$repeats LMPBENCH_SIZES='$sizes' $command_line"
[[ -n "${LMPBENCH_OUT:-}" ]] && command_line="LMPBENCH_OUT=$LMPBENCH_OUT $command_line"

[[ -f "$water_lmp" ]] || { echo "run.sh: $water_lmp not found" >&2; exit 1; }
tersoff_file=""
for f in /usr/share/lammps/potentials/Si.tersoff "$cache/source/potentials/Si.tersoff"; do
    [[ -f "$f" ]] && { tersoff_file="$f"; break; }
done
[[ -n "$tersoff_file" ]] || { echo "run.sh: Si.tersoff not found (apt-get install lammps)" >&2; exit 1; }
host_lmp="$cache/install/bin/lmp"
# (its help is read whole: grep -q would close the pipe early under pipefail)
if [[ ! -x "$host_lmp" ]] || ! grep -qw OPENMP <<<"$("$host_lmp" -h 2>/dev/null)"; then host_lmp=""; fi

echo "== build ($build)"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGBNET_TESTS=OFF -DGBNET_LAMMPS=ON >/dev/null
cmake --build "$build" -j2 --target gbnet gbnet-lmp bench_gbnet >/dev/null
lmp="$build/gbnet-lmp"
bench="$build/bench_gbnet"

mkdir -p "$work"
cd "$work"
: >"$raw"
SECONDS=0
start_date="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
awk -v types="O H" -f "$here/lmp_to_extxyz.awk" "$water_lmp" >water.extxyz

# lammps_times LOG: "median_us_per_atom_step pair_share_% runs" over the timed
# runs of LOG (every "Loop time" line after the first, which is the warm-up).
lammps_times() {
    awk '/^Loop time of/ { n++; t = $4; steps = $9; atoms = $12; want = (n > 1); next }
         want && /^Pair +\|/ { us[n - 1] = 1e6 * t / (steps * atoms); pair[n - 1] = $NF; want = 0 }
         END { m = n - 1; if (m < 1) exit 1
               for (i = 1; i <= m; i++) order[i] = i
               for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
                   if (us[order[j]] < us[order[i]]) { k = order[i]; order[i] = order[j]; order[j] = k }
               mid = order[int((m + 1) / 2)]
               runs = ""; for (i = 1; i <= m; i++) runs = runs (i > 1 ? "," : "") sprintf("%.4g", us[i])
               printf "%.6g %s %s\n", us[mid], pair[mid], runs }' "$1"
}

# lammps_job ENGINE SYSTEM ATOMS MODE STEPS LOG CMD...: runs CMD (its screen
# output to LOG) and appends a RESULT line.
lammps_job() {
    local engine="$1" system="$2" atoms="$3" mode="$4" steps="$5" log="$6"
    shift 6
    echo "[${SECONDS} s] $engine $system $atoms atoms, $mode, $steps steps x $repeats"
    if ! timeout 600 "$@" >"$log" 2>&1; then
        echo "  failed, see $work/$log:" >&2
        tail -n 5 "$log" >&2
        echo "RESULT engine=$engine system=$system atoms=$atoms mode=$mode failed=1" >>"$raw"
        return
    fi
    local measured
    if ! measured="$(lammps_times "$log")"; then
        echo "  no timed run in $work/$log" >&2
        echo "RESULT engine=$engine system=$system atoms=$atoms mode=$mode failed=1" >>"$raw"
        return
    fi
    set -- $measured
    echo "RESULT engine=$engine system=$system atoms=$atoms mode=$mode steps=$steps repeats=$repeats" \
         "us_per_atom_step=$1 pair_share=$2 runs=$3" >>"$raw"
    echo "  $1 us/atom/step (runs: $3), pair $2 %"
}

# steps_for US_PER_ATOM_STEP ATOMS: steps for a timed run of about run_s seconds
steps_for() { awk -v us="$1" -v n="$2" -v s="$run_s" 'BEGIN { k = int(s * 1e6 / (us * n) + 0.5); print (k < 3 ? 3 : k) }'; }
warmup_for() { echo $(($1 / 5 < 2 ? 2 : $1 / 5)); }

echo "== calibration: core, 1536 atoms, 1 thread"
calib="$("$bench" run --model "$pot" --data water.extxyz --replicate 2 --threads 1 --precision float \
          --warmup 1 --steps 3 | sed -n 's/.* us_per_atom=\([^ ]*\).*/\1/p')"
[[ -n "$calib" ]] || { echo "run.sh: bench_gbnet failed on $pot" >&2; exit 1; }
echo "  ~$calib us/atom/step"

water_in="$here/in.water_speed"
for rep in $sizes; do
    atoms=$((192 * rep * rep * rep))
    steps="$(steps_for "$calib" "$atoms")"
    warm="$(warmup_for "$steps")"
    core_steps=$((steps > 100 ? 100 : steps))
    vars=(-var pot "$pot" -var data "$water_lmp" -var rep "$rep" -var precision float
          -var warmup "$warm" -var steps "$steps" -var repeats "$repeats")
    for threads in 1 2; do
        echo "[${SECONDS} s] core $atoms atoms, $threads thread(s), $core_steps steps"
        "$bench" run --model "$pot" --data water.extxyz --replicate "$rep" --threads "$threads" \
            --precision float --warmup 2 --steps "$core_steps" |
            sed "s/^RESULT engine=gbnet /RESULT engine=core system=water mode=${threads}T /" >>"$raw"
        tail -n 1 "$raw" | sed 's/.* us_per_atom=\([^ ]*\).*/  \1 us\/atom\/step (median step)/'
        OMP_NUM_THREADS=$threads lammps_job gbnet water "$atoms" "${threads}T" "$steps" "water_${atoms}_${threads}T.log" \
            "$lmp" -in "$water_in" "${vars[@]}" -var threads "$threads" -log none
    done
    lammps_job gbnet water "$atoms" 2MPI "$steps" "water_${atoms}_2MPI.log" \
        mpirun --allow-run-as-root -np 2 -x OMP_NUM_THREADS=1 "$lmp" -in "$water_in" "${vars[@]}" -var threads 1 -log none
done

echo "== calibration: tersoff, 1728 atoms, 1 thread"
si_in="$here/in.si_tersoff"
OMP_NUM_THREADS=1 "$lmp" -in "$si_in" -var pot "$tersoff_file" -var n 6 -var warmup 5 -var steps 20 -var repeats 1 \
    -log none >si_calibration.log 2>&1
calib_si="$(lammps_times si_calibration.log | cut -d' ' -f1)"
echo "  ~$calib_si us/atom/step"
for rep in $sizes; do
    n=$((3 * rep))
    atoms=$((8 * n * n * n))
    steps="$(steps_for "$calib_si" "$atoms")"
    vars=(-in "$si_in" -var pot "$tersoff_file" -var n "$n" -var warmup "$(warmup_for "$steps")"
          -var steps "$steps" -var repeats "$repeats" -log none)
    OMP_NUM_THREADS=1 lammps_job tersoff silicon "$atoms" 1T "$steps" "si_${atoms}_1T.log" "$lmp" "${vars[@]}"
    if [[ -n "$host_lmp" ]]; then
        OMP_NUM_THREADS=2 lammps_job tersoff silicon "$atoms" 2T "$steps" "si_${atoms}_2T.log" \
            "$host_lmp" -sf omp -pk omp 2 "${vars[@]}"
    else
        echo "RESULT engine=tersoff system=silicon atoms=$atoms mode=2T failed=no_openmp_lammps" >>"$raw"
    fi
    lammps_job tersoff silicon "$atoms" 2MPI "$steps" "si_${atoms}_2MPI.log" \
        mpirun --allow-run-as-root -np 2 -x OMP_NUM_THREADS=1 "$lmp" "${vars[@]}"
done

{
    echo "META start=$start_date"
    echo "META end=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "META wall_s=$SECONDS"
    echo "META load_start=$load_start"
    echo "META load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "META command=$command_line"
    echo "META commit=$(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- core lammps bench 2>/dev/null || echo ' (core/, lammps/ or bench/ modified)')"
    echo "META machine=$(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(getconf _NPROCESSORS_ONLN) logical CPUs, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM"
    echo "META cpu_vendor=$(cpu_vendor_id)"
    echo "META cpu_flags=$(cpu_flags)"
    echo "META kernel=$(uname -sr)"
    echo "META omp_wait_policy=${OMP_WAIT_POLICY:-default}"
    echo "META lammps=$(grep -m1 '^LAMMPS (' water_192_1T.log 2>/dev/null || echo unknown)"
    echo "META tersoff_2T=${host_lmp:-none}"
    echo "META tersoff_file=$tersoff_file"
    echo "META potential=$pot"
    "$build/gbnet" info "$pot" | awk -F': *' '/^features F/ { f = $2 } /^blocks T/ { t = $2 } /^rbf K/ { k = $2 }
        /^cutoff rc/ { rc = $2 } /^filters/ { filters = $2 }
        END { printf "META model=F=%s, T=%s, K=%s, rc=%s, filters: %s\n", f, t, k, rc, filters }'
} >>"$raw"
/usr/bin/python3 "$here/report.py" "$raw" >"$results_md"
echo "== wrote $results_md (raw: $raw, logs: $work/) in $SECONDS s"
