#!/usr/bin/env bash
# Judges an NVT-then-NVE LAMMPS run (the log of examples/water/in.water, as
# examples/quickstart.sh runs it): one line per check, PASS or FAIL with what
# it saw and, on failure, what it means; exit status 1 if any check failed.
#   NVT    mean temperature over the second half of the NVT run within
#          --t-tolerance (fraction, default 0.10) of --target (K, default 300)
#   NVE    drift of the total energy (least-squares slope over the NVE thermo
#          rows) below --max-drift meV/atom/ps (default 1.0) in magnitude
#   atoms  as many atoms at the end of both runs as at the start
# Usage: bash examples/check_md.sh LOG --nvt-steps N [--target K] [--t-tolerance F]
#        [--max-drift D] [--lammps-ok 0|1]   (--lammps-ok 0: LAMMPS exited with an error)
set -euo pipefail
log="${1:?usage: check_md.sh LOG --nvt-steps N [options]}"
shift
nvt_steps="" target=300 t_tol=0.10 max_drift=1.0 lammps_ok=1
while [ $# -gt 0 ]; do
    case "$1" in
    --nvt-steps) nvt_steps="$2" ;;
    --target) target="$2" ;;
    --t-tolerance) t_tol="$2" ;;
    --max-drift) max_drift="$2" ;;
    --lammps-ok) lammps_ok="$2" ;;
    *) echo "check_md.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
[ -n "$nvt_steps" ] || { echo "check_md.sh: --nvt-steps is required" >&2; exit 2; }
[ -f "$log" ] || { echo "FAIL LAMMPS      no log file $log (LAMMPS did not start)"; exit 1; }

awk -v nvt="$nvt_steps" -v target="$target" -v t_tol="$t_tol" -v max_drift="$max_drift" -v lammps_ok="$lammps_ok" '
    /^ *Step/ { block++; next }
    /^ +[0-9]+ atoms$/ && !atoms0 { atoms0 = $1 }
    /^Loop time of/ { atoms = $12; loop = $4; steps = $9; loops++; next }
    /^Performance:/ { nsday = $2 }
    /^ERROR/ && !error { error = $0 }
    /WARNING: pair gbnet: step/ { coverage_warnings++ }
    block > 0 && $1 ~ /^[0-9]+$/ && NF >= 8 {
        if (block == 1) { if ($1 > nvt / 2) { nt++; tsum_nvt += $3 } }
        else { n++; if (n == 1) { e0 = $6; time0 = $2 }; e1 = $6; tsum += $3; time = $2 - time0
               sx += $2; sy += $6; sxx += $2 * $2; sxy += $2 * $6 } }
    END {
        failed = 0
        if (!lammps_ok) {
            printf "FAIL LAMMPS    stopped with an error before the end of the run: %s\n", error ? error : "(see its screen output)"
            failed++ }
        if (nt > 0) {
            tmean = tsum_nvt / nt; dev = (tmean - target) / target
            ok = (dev < t_tol && dev > -t_tol)
            printf "%s NVT       mean T over the second half %.0f K, target %.0f K (%+.1f%%; allowed +-%.0f%%)%s\n",
                   ok ? "PASS" : "FAIL", tmean, target, 100 * dev, 100 * t_tol,
                   ok ? "" : ": the thermostat cannot hold the temperature, the model is not stable"
            failed += !ok
        } else { print "FAIL NVT       no NVT thermo output in the second half of the NVT run"; failed++ }
        if (n >= 3 && atoms0 > 0) {
            slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)   # eV/ps
            drift = 1000 * slope / atoms0
            ok = (drift < max_drift && drift > -max_drift)
            printf "%s NVE       %.2f ps: E_total %.6f -> %.6f eV, drift %+.4f meV/atom/ps (allowed +-%g); mean T %.0f K%s\n",
                   ok ? "PASS" : "FAIL", time, e0, e1, drift, max_drift, tsum / n,
                   ok ? "" : ": the total energy is not conserved (atoms in regions the model does not know?)"
            failed += !ok
        } else { print "FAIL NVE       no NVE thermo output (the run did not get there)"; failed++ }
        if (loops >= 2) {
            lost = (atoms != atoms0)
            printf "%s atoms     %d at the start, %d at the end%s\n", lost ? "FAIL" : "PASS", atoms0, atoms,
                   lost ? ": atoms were lost (they flew out of the box: the MD exploded)" : ""
            failed += lost
        } else {
            lost_msg = index(error, "Lost atoms") ? ": atoms were lost (they flew out of the box: the MD exploded)" : ""
            printf "FAIL atoms     the runs did not both finish%s\n", lost_msg; failed++ }
        if (coverage_warnings)
            printf "note coverage  %d warnings: the MD left what the potential was trained on (see the log)\n", coverage_warnings
        if (loops >= 2)
            printf "speed          %.2f us/atom/step, %.3f ns/day (NVE run)\n", 1e6 * loop / (steps * atoms), nsday
        exit failed > 0 }' "$log"
