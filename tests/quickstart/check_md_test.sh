#!/usr/bin/env bash
# examples/check_md.sh, the quickstart's MD judge, on LAMMPS logs written
# here in the format of examples/water/in.water: a stable run passes every
# check (exit 0); a run that heats up, drifts and loses atoms fails each of
# them with its reason (exit 1); a drift just above the bound fails NVE alone.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# log NAME T_NVT_END DRIFT_EV_PER_PS ATOMS_END [ERROR]
log() {
    local name="$1" t_end="$2" drift="$3" atoms_end="$4" error="${5:-}"
    awk -v t_end="$t_end" -v drift="$drift" -v atoms_end="$atoms_end" -v error="$error" 'BEGIN {
        print "Reading data file ..."; print "  192 atoms"
        print "Step Time Temp PotEng KinEng TotEng Press Volume"
        for (s = 0; s <= 2000; s += 100) { t = 300 + (t_end - 300) * s / 2000 + 3 * sin(s)
            printf "%8d %8.2f %12.4f %14.4f %10.4f %14.4f %10.2f %10.2f\n", s, s * 0.0005, t, -29946, 7.4, -29938.6, 100, 1927.3 }
        print "Loop time of 10.0 on 1 procs for 2000 steps with 192 atoms"
        print "Performance: 8.640 ns/day, 2.778 hours/ns, 200.000 timesteps/s"
        if (error != "") { print error; exit }
        print "Step Time Temp PotEng KinEng TotEng Press Volume"
        for (s = 0; s <= 4000; s += 100) { time = s * 0.0005
            printf "%8d %.8f %.8f %.8f %.8f %.8f %.8f %.8f\n", s, time, 300 + 2 * sin(s), -29946, 7.4,
                   -29938.6 + drift * time + 1e-4 * sin(7 * s), 100, 1927.3 }
        printf "Loop time of 20.0 on 1 procs for 4000 steps with %d atoms\n", atoms_end
        print "Performance: 8.640 ns/day, 2.778 hours/ns, 200.000 timesteps/s" }' >"$work/$name.log"
}

fail=0
expect() { # expect NAME STATUS PATTERN... : check_md.sh exits with STATUS and prints every PATTERN
    local name="$1" status="$2" lammps_ok="$3"; shift 3
    local out rc=0
    out="$(bash "$repo/examples/check_md.sh" "$work/$name.log" --nvt-steps 2000 --lammps-ok "$lammps_ok")" || rc=$?
    [ "$rc" = "$status" ] || { echo "$name: exit $rc, expected $status"; echo "$out"; fail=1; }
    for pattern in "$@"; do
        grep -q -- "$pattern" <<<"$out" || { echo "$name: no line matching '$pattern' in:"; echo "$out"; fail=1; }
    done
}

log stable 302 0.0 192
expect stable 0 1 "^PASS NVT" "^PASS NVE .*drift +0.0" "^PASS atoms .*192 at the start, 192 at the end"

log drifting 302 0.25 192   # 0.25 eV/ps over 192 atoms: 1.3 meV/atom/ps
expect drifting 1 1 "^PASS NVT" "^FAIL NVE .*drift +1.30.*not conserved" "^PASS atoms"

log hot 560 0.0 191
expect hot 1 1 "^FAIL NVT .*the thermostat cannot hold" "^FAIL atoms .*192 at the start, 191 at the end: atoms were lost"

log exploded 3800 0.0 192 "ERROR: Lost atoms: original 192 current 191 (src/thermo.cpp:439)"
expect exploded 1 0 "^FAIL LAMMPS .*Lost atoms" "^FAIL NVT" "^FAIL NVE .*did not get there" "^FAIL atoms .*atoms were lost"

[ "$fail" = 0 ] && echo "check_md.sh: all cases as expected"
exit "$fail"
