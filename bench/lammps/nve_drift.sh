#!/usr/bin/env bash
# Energy conservation of pair_style gbnet: liquid water (192 atoms), NVT at
# 300 K, then NVE with a 0.5 fs time step, total energy every 100 steps; a
# least-squares line through E_total(t) of the NVE part gives the drift in
# meV/atom/ps (bench/lammps/drift_fit.py).
#
#     bench/lammps/nve_drift.sh POTENTIAL.gbnet
#
# Defaults: 2000 NVT steps (1 ps), 40000 NVE steps (20 ps), double precision,
# pair_style threads from OMP_NUM_THREADS (all cores), one MPI rank. About
# 42000 x 192 atoms x (time per atom-step): 3-6 minutes for a tabulated F=64
# potential on 2 cores.
#
# Environment: NVE_STEPS, NVT_STEPS, NVE_PRECISION (double|float), NVE_RANKS
# (MPI ranks, default 1), NVE_THERMO (default 100), NVE_WORK (output folder,
# default build-lmpbench/nve-drift), NVE_REPORT (markdown summary, default
# bench/lammps/NVE_DRIFT.md; "-" for none), LMPBENCH_BUILD_DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
if [[ $# -ne 1 || ! -f "$1" ]]; then
    echo "usage: bench/lammps/nve_drift.sh POTENTIAL.gbnet   (a water potential with elements O and H)" >&2
    exit 2
fi
pot="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
build="${LMPBENCH_BUILD_DIR:-$repo/build-lmpbench}"
nve="${NVE_STEPS:-40000}"
nvt="${NVT_STEPS:-2000}"
precision="${NVE_PRECISION:-double}"
ranks="${NVE_RANKS:-1}"
thermo="${NVE_THERMO:-100}"
work="${NVE_WORK:-$build/nve-drift}"
report="${NVE_REPORT:-$here/NVE_DRIFT.md}"
water_lmp="$repo/../shared/data/deepmd_water/raw/lammps_start/water.lmp"
python="/usr/bin/python3"

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGBNET_TESTS=OFF -DGBNET_LAMMPS=ON >/dev/null
cmake --build "$build" -j2 --target gbnet gbnet-lmp >/dev/null
mkdir -p "$work"
cd "$work"

launcher=()
threads=0
if ((ranks > 1)); then
    launcher=(mpirun --allow-run-as-root -np "$ranks" -x OMP_NUM_THREADS=1)
    threads=1
fi
start="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "NVT $nvt + NVE $nve steps of 0.5 fs, $precision, $ranks rank(s): log in $work/log.lammps"
SECONDS=0
"${launcher[@]}" "$build/gbnet-lmp" -in "$here/in.nve_drift" -var pot "$pot" -var data "$water_lmp" \
    -var precision "$precision" -var threads "$threads" -var nvt "$nvt" -var nve "$nve" \
    -var thermo "$thermo" -log log.lammps >screen.txt 2>&1 ||
    { echo "nve_drift.sh: LAMMPS failed, see $work/screen.txt:" >&2; tail -n 5 screen.txt >&2; exit 1; }
wall=$SECONDS
"$python" "$here/drift_fit.py" log.lammps | tee drift.txt
dangerous="$(grep 'Dangerous builds' log.lammps | tail -n 1 | awk '{ print $NF }')"
echo "dangerous neighbor builds  ${dangerous:-?}"

if [[ "$report" != "-" ]]; then
    {
        echo "# NVE energy conservation of pair_style gbnet (water)"
        echo
        echo "- Date: $start, $wall s wall; machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(getconf _NPROCESSORS_ONLN) logical CPUs"
        echo "- Command: \`bench/lammps/nve_drift.sh $1\`$( [[ -n "${NVE_STEPS:-}${NVT_STEPS:-}${NVE_PRECISION:-}${NVE_RANKS:-}" ]] && echo " with NVE_STEPS=$nve NVT_STEPS=$nvt NVE_PRECISION=$precision NVE_RANKS=$ranks")"
        echo "- Commit: $(git -C "$repo" rev-parse --short HEAD)"
        echo "- Potential: \`$pot\`; $("$build/gbnet" info "$pot" | awk -F': *' '/^features F/ { f = $2 } /^blocks T/ { t = $2 } /^rbf K/ { k = $2 } /^cutoff rc/ { rc = $2 } /^filters/ { fl = $2 } END { printf "F=%s, T=%s, K=%s, rc=%s, filters: %s", f, t, k, rc, fl }')"
        echo "- System: \`shared/data/deepmd_water/raw/lammps_start/water.lmp\` (192 atoms), \`pair_style gbnet precision $precision\`,"
        echo "  $nvt steps NVT at 300 K (Nosé-Hoover, 50 fs), then $nve steps NVE, 0.5 fs, neighbor skin 1 Å checked every step"
        echo "  (\`bench/lammps/in.nve_drift\`); total energy every $thermo steps, fitted by \`bench/lammps/drift_fit.py\`."
        echo
        echo '```'
        cat drift.txt
        echo "dangerous neighbor builds  ${dangerous:-?}"
        echo '```'
    } >"$report"
    echo "wrote $report"
fi
