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
# Environment: STAB_SCALE, STAB_BUILD_DIR (default build), STAB_THREADS (2),
# STAB_OUT (default bench/lammps/STABILITY_<vendor>.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pot="$(realpath "${1:-$repo/potentials/water.gbnet}")"
build="$(realpath "${STAB_BUILD_DIR:-$repo/build}")"
scale="${STAB_SCALE:-1}"
threads="${STAB_THREADS:-2}"
source "$here/../cpu_info.sh"
out_md="${STAB_OUT:-$here/STABILITY_$(cpu_vendor).md}"
out_png="${out_md%.md}.png"
data="$repo/../shared/data/deepmd_water"
lmp="$build/gbnet-lmp"
[[ -x "$lmp" ]] || { echo "stability.sh: $lmp not found (build with -DGBNET_LAMMPS=ON)" >&2; exit 1; }
work="$build/stability-bench"
rm -rf "$work"
mkdir -p "$work"
steps() { awk -v ps="$1" -v s="$scale" 'BEGIN { n = int(ps * s * 2000 + 0.5); print (n < 200 ? 200 : n) }'; }

runs=()
run_one() { # name label rep temp ensemble ps
    local dir="$work/$1" n
    n="$(steps "$6")"
    mkdir -p "$dir"
    echo "stability.sh: $2 ($n steps of 0.5 fs)" >&2
    local t0=$SECONDS
    (cd "$dir" && OMP_NUM_THREADS="$threads" "$lmp" -in "$here/in.stability" -log log.lammps -screen none -nocite \
        -var pot "$pot" -var data "$data/raw/lammps_start/water.lmp" -var rep "$3" -var temp "$4" \
        -var ensemble "$5" -var steps "$n" -var dump "$(( n / 200 > 100 ? n / 200 : 100 ))") || true
    echo "$2: $(( SECONDS - t0 )) s wall" >>"$work/walls.txt"
    runs+=("$dir:$2")
}
run_one nve300 "300 K NVE, 192 atoms, $(awk -v s="$scale" 'BEGIN{print 1000*s}') ps" 1 300.0 nve 1000
run_one nve300big "300 K NVE, 1536 atoms, $(awk -v s="$scale" 'BEGIN{print 100*s}') ps" 2 300.0 nve 100
run_one nve400 "400 K NVE, 192 atoms, $(awk -v s="$scale" 'BEGIN{print 100*s}') ps" 1 400.0 nve 100
run_one npt300 "300 K 1 bar NPT, 192 atoms, $(awk -v s="$scale" 'BEGIN{print 100*s}') ps" 1 300.0 npt 100

{
    echo "# Stability of long MD: water"
    echo
    echo "Measured $(date -u +%Y-%m-%d) by \`STAB_SCALE=$scale bench/lammps/stability.sh\` on"
    echo "$(lscpu | sed -n 's/^Model name: *//p' | head -n1) ($(getconf _NPROCESSORS_ONLN) CPUs; flags: $(cpu_flags)),"
    echo "alone on the machine, gbnet-lmp with $threads OpenMP threads, float precision."
    echo
    echo "Potential: \`$(basename "$pot")\` ($("$build/gbnet" info "$pot" | sed -n 's/^training coverage: //p' | head -n1))."
    echo "Each run: 1 ps NVT at its temperature from Maxwell-Boltzmann velocities, then the production"
    echo "run below (0.5 fs steps; neighbor skin 1 Å, checked every step). Lengths are the issue's times"
    echo "STAB_SCALE = $scale. RDF first peaks: parabola through the largest bin (0.01 Å bins) of the"
    echo "production trajectory and of the training frames (DeePMD data_0-2, AIMD at the training density)."
    echo "Coverage columns: share of thermo lines where compute pair gbnet saw atoms closer than the shortest"
    echo "trained distance of their pair, or the volume per atom outside the trained range."
    echo
    echo "Wall time per run: $(paste -sd ';' "$work/walls.txt")."
    echo
} >"$out_md"
/usr/bin/python3 "$here/stability.py" "$out_md" "$out_png" "$data/deepmd_water.extxyz" 'data_[012]*' "${runs[@]}"
echo >>"$out_md"
echo "![stability runs]($(basename "$out_png"))" >>"$out_md"
echo "stability.sh: wrote $out_md and $out_png" >&2
