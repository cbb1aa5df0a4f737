#!/usr/bin/env bash
# The compression benchmark (issue 12): builds gbnet, makes every variant that
# bench/compression/models/ lacks (pruning and rank reduction fine-tune for
# PARETO_MINUTES minutes each, default 25: about 2.5 hours when nothing is
# cached), then times and evaluates them all and writes
# bench/compression/RESULTS_<vendor>.md and pareto_<vendor>.png.
# Run it on an otherwise idle machine (the timings share no cores).
#
#     bench/compression/run.sh [--quick]
#
# Environment: PARETO_BUILD_DIR (default build), PARETO_MINUTES.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${PARETO_BUILD_DIR:-$repo/build}"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGBNET_LAMMPS=ON >/dev/null
cmake --build "$build" -j2 --target gbnet gbnet-lmp bench_gbnet >/dev/null
export PARETO_BUILD_DIR="$build"
/usr/bin/python3 "$here/pareto.py" make
/usr/bin/python3 "$here/pareto.py" measure "$@"
