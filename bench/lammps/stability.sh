#!/usr/bin/env bash
# Stability of long MD with a gbnet water potential (issue 11, item 7):
#   300 K NVE, 192 atoms, 1 ns      300 K NVE, 1536 atoms, 100 ps
#   400 K NVE, 192 atoms, 100 ps    300 K, 1 bar NPT, 192 atoms, 100 ps
# each after 1 ps of NVT at its temperature (bench/lammps/in.stability).
# Reports temperature, NVE energy drift, density, lost atoms, the pair style's
# coverage counts, and the O-O and O-H radial distribution functions against
# those of the training frames (bench/lammps/stability.py): a table in
# bench/lammps/STABILITY_<vendor>.md and a PNG beside it.
#
#     bench/lammps/stability.sh [POTENTIAL.gbnet]     (default potentials/water.gbnet)
#
# The full lengths take about 2.5 hours on 2 cores. STAB_SCALE (default 1)
# multiplies every production length (e.g. 0.05: 50 ps, 5 ps, 5 ps, 5 ps);
# the RESULTS file states the lengths run. Run it alone on the machine.
# STAB_LANES=2 runs the 1 ns run beside the three others (one thread each by
# default): about 1.6 hours on 2 cores instead of 2.5.
# A run stopped part-way (Ctrl-C, end of a session) continues from its newest
# restart file (one per 1/50 of the run) when started again with
# STAB_RESUME=1 and the same STAB_WORK; the report joins the parts.
# STAB_ONLY="nve300 ..." runs only those runs (no report); STAB_REPORT_ONLY=1
# runs nothing and reports on the runs that STAB_WORK holds; STAB_NICE=1 runs
# LAMMPS under nice -n 19 (a scavenger beside other work: then the wall times
# say nothing).
# With a committee (STAB_COMMITTEE, default potentials/water_committee.gbnet
# when it exists; empty: none), its max_devi_f on every dump frame of each
# run (gbnet select --write-deviations) goes into the table and the plot.
# Environment: STAB_SCALE, STAB_LANES (1), STAB_COMMITTEE, STAB_WORK, STAB_RESUME, STAB_ONLY, STAB_REPORT_ONLY, STAB_NICE, STAB_BUILD_DIR (default build), STAB_THREADS (2; 1 with 2 lanes),
# STAB_OUT (default bench/lammps/STABILITY_<vendor>.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pot="$(realpath "${1:-$repo/potentials/water.gbnet}")"
build="$(realpath "${STAB_BUILD_DIR:-$repo/build}")"
scale="${STAB_SCALE:-1}"
lanes="${STAB_LANES:-1}"
threads="${STAB_THREADS:-$([[ "$lanes" == 2 ]] && echo 1 || echo 2)}"
source "$here/../cpu_info.sh"
out_md="${STAB_OUT:-$here/STABILITY_$(cpu_vendor).md}"
out_png="${out_md%.md}.png"
data="$repo/../shared/data/deepmd_water"
lmp="$build/gbnet-lmp"
[[ -x "$lmp" ]] || { echo "stability.sh: $lmp not found (build with -DGBNET_LAMMPS=ON)" >&2; exit 1; }
work="${STAB_WORK:-$build/stability-bench}"
only="${STAB_ONLY:-}"
nice="${STAB_NICE:+nice -n 19}"
report_only="${STAB_REPORT_ONLY:-}"
[[ -n "${STAB_RESUME:-}" || -n "$report_only" ]] || rm -rf "$work"
mkdir -p "$work"
steps() { awk -v ps="$1" -v s="$scale" 'BEGIN { n = int(ps * s * 2000 + 0.5); print (n < 200 ? 200 : n) }'; }

runs=()
run_one() { # name label rep temp ensemble ps
    local dir="$work/$1" n resume=0 log=log.lammps latest
    n="$(steps "$6")"
    [[ -n "$only" && " $only " != *" $1 "* ]] && return 0
    mkdir -p "$dir"
    # resuming: continue from the newest restart file of an earlier, stopped part
    latest="$(ls "$dir"/restart.*.bin 2>/dev/null | sed 's/.*restart\.\([0-9]*\)\.bin/\1/' | sort -n | tail -n1 || true)"
    if [[ -n "$latest" ]]; then
        resume="$latest"
        log="log.resume$(printf %09d "$latest").lammps"
        echo "stability.sh: $2: resuming at step $latest of $n" >&2
    fi
    echo "stability.sh: $2 ($n steps of 0.5 fs)" >&2
    local t0=$SECONDS
    (cd "$dir" && OMP_NUM_THREADS="$threads" $nice "$lmp" -in "$here/in.stability" -log "$log" -screen none -nocite \
        -var pot "$pot" -var data "$data/raw/lammps_start/water.lmp" -var rep "$3" -var temp "$4" \
        -var ensemble "$5" -var steps "$n" -var dump "$(( n / 200 > 100 ? n / 200 : 100 ))" \
        -var resume "$resume" -var restart_every "$(( n / 50 > 2000 ? n / 50 : 2000 ))") || true
    echo "$2: $(( SECONDS - t0 )) s wall${latest:+ (resumed at step $latest)}" >>"$dir/walls.txt"
}
ps_scaled() { awk -v s="$scale" -v p="$1" 'BEGIN{print p*s}'; }
label_nve300="300 K NVE, 192 atoms, $(ps_scaled 1000) ps"
label_nve300big="300 K NVE, 1536 atoms, $(ps_scaled 100) ps"
label_nve400="400 K NVE, 192 atoms, $(ps_scaled 100) ps"
label_npt300="300 K 1 bar NPT, 192 atoms, $(ps_scaled 100) ps"
runs=("$work/nve300:$label_nve300" "$work/nve300big:$label_nve300big" "$work/nve400:$label_nve400"
      "$work/npt300:$label_npt300")
long_run() { run_one nve300 "$label_nve300" 1 300.0 nve 1000; }
other_runs() {
    run_one nve300big "$label_nve300big" 2 300.0 nve 100
    run_one nve400 "$label_nve400" 1 400.0 nve 100
    run_one npt300 "$label_npt300" 1 300.0 npt 100
}
if [[ -n "$report_only" ]]; then # the runs STAB_WORK holds, as they are
    kept=()
    for run in "${runs[@]}"; do [[ -f "${run%%:*}/log.lammps" ]] && kept+=("$run"); done
    runs=("${kept[@]}")
    [[ ${#runs[@]} -gt 0 ]] || { echo "stability.sh: no runs in $work" >&2; exit 1; }
elif [[ "$lanes" == 2 ]]; then # the long run beside the three others, one thread each
    long_run &
    other_runs
    wait
else
    long_run
    other_runs
fi
[[ -z "$only" ]] || { echo "stability.sh: ran $only only (STAB_ONLY); no report" >&2; exit 0; }
# STAB_NOTE (environment): a paragraph put under the report's first lines, e.g. how
# the runs of a STAB_REPORT_ONLY report were made.
# the committee's deviation along each trajectory, measured afterwards on the
# dump frames (the MD itself runs the single potential)
committee="${STAB_COMMITTEE-$repo/potentials/water_committee.gbnet}"
if [[ -n "$committee" && -f "$committee" ]]; then
    for run in "${runs[@]}"; do
        dir="${run%%:*}"
        "$build/gbnet" select "$committee" "$dir/traj.lammpstrj" --types O,H --lower 0.15 --upper 0.3 \
            --write-deviations "$dir/devi.out" --threads "$threads" >"$dir/select.txt" ||
            echo "stability.sh: gbnet select failed on $dir (see $dir/select.txt)" >&2
    done
else
    committee=""
fi

for run in "${runs[@]}"; do cat "${run%%:*}/walls.txt"; done >"$work/walls.txt"

{
    echo "# Stability of long MD: water"
    echo
    echo "Measured $(date -u +%Y-%m-%d) by \`STAB_SCALE=$scale bench/lammps/stability.sh\` on"
    echo "$(lscpu | sed -n 's/^Model name: *//p' | head -n1) ($(getconf _NPROCESSORS_ONLN) CPUs; flags: $(cpu_flags)),"
    if [[ -n "$report_only" ]]; then
        echo "reported from the runs \`$(realpath --relative-to="$repo" "$work" 2>/dev/null || echo "$work")\` holds (STAB_REPORT_ONLY; how each ran: its walls.txt and log), float precision."
    elif [[ -n "$nice" ]]; then
        echo "under \`nice -n 19\` beside other work (the wall times say nothing), gbnet-lmp with $threads OpenMP thread(s) per run, float precision."
    else
        echo "alone on the machine, gbnet-lmp with $threads OpenMP thread(s) per run, float precision$([[ "$lanes" == 2 ]] && echo "; the 1 ns run beside the three others, which ran one after another")."
    fi
    [[ -z "${STAB_NOTE:-}" ]] || { echo; echo "$STAB_NOTE"; }
    echo
    echo "Potential: \`$(basename "$pot")\` ($("$build/gbnet" info "$pot" | sed -n 's/^training coverage: //p' | head -n1))."
    echo "Each run: 1 ps NVT at its temperature from Maxwell-Boltzmann velocities, then the production"
    echo "run below (0.5 fs steps; neighbor skin 1 Å, checked every step). Lengths are the issue's times"
    echo "STAB_SCALE = $scale. RDF first peaks: parabola through the largest bin (0.01 Å bins) of the"
    echo "production trajectory and of the training frames (DeePMD data_0-2, AIMD at the training density)."
    echo "Coverage columns: share of thermo lines where compute pair gbnet saw atoms closer than the shortest"
    echo "trained distance of their pair, or the volume per atom outside the trained range."
    echo
    if [[ -n "$committee" ]]; then
        echo "Committee deviation: \`$(basename "$committee")\` ($("$build/gbnet" info "$committee" | sed -n 's/^committee: *\([0-9]* members\).*/\1/p' | head -n1)) on every dump"
        echo "frame of each run, afterwards (\`gbnet select --write-deviations\`; the MD runs the single potential): max_devi_f,"
        echo "the largest per-atom force deviation of a frame (DeePMD-kit's definition)."
    fi
    echo "Wall time per run: $(paste -sd ';' "$work/walls.txt")."
    echo
} >"$out_md"
/usr/bin/python3 "$here/stability.py" "$out_md" "$out_png" "$data/deepmd_water.extxyz" 'data_[012]*' "${runs[@]}"
echo >>"$out_md"
echo "![stability runs]($(basename "$out_png"))" >>"$out_md"
echo "stability.sh: wrote $out_md and $out_png" >&2
