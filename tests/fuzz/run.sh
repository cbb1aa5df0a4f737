#!/usr/bin/env bash
# Runs every libFuzzer harness of tests/fuzz for SECONDS each and writes
# tests/fuzz/RESULTS.md (executions, coverage, findings, wall and CPU time,
# CPU model and flags).
#
#   bash tests/fuzz/run.sh SECONDS [HARNESS...]     (default: all five)
#
# Environment:
#   FUZZ_BUILD     build folder of the GBNET_FUZZ=ON build (default build-fuzz;
#                  configured and built here with clang when missing)
#   FUZZ_WORK      working corpora, seeds, logs and crash files (default FUZZ_BUILD/fuzz-work;
#                  the corpora grow from run to run)
#   FUZZ_PARALLEL  harnesses run at once as background processes (default: the
#                  number of CPUs, at most the number of harnesses; 1: one after another)
#   FUZZ_NICE      nice level of the fuzzers (default 10)
# Every crash, leak, timeout or out-of-memory input found is copied into
# tests/fuzz/corpus/<harness>/, where ctest (Fuzz.Replay.<harness>) replays it
# on every run until it is fixed and after. Exit status 1 if anything was found.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:?usage: run.sh SECONDS [HARNESS...]}"
shift
harnesses=("$@")
[ "${#harnesses[@]}" -gt 0 ] || harnesses=(potential extxyz deepmd train_config checkpoint)
build="${FUZZ_BUILD:-$repo/build-fuzz}"
work="${FUZZ_WORK:-$build/fuzz-work}"
parallel="${FUZZ_PARALLEL:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}"
[ "$parallel" -le "${#harnesses[@]}" ] || parallel="${#harnesses[@]}"
nice_level="${FUZZ_NICE:-10}"
# one thread: OpenBLAS's pool would only spin beside the single-threaded fuzzer
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
data="$repo/../shared/data"

if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGBNET_TESTS=OFF \
        -DGBNET_FUZZ=ON -DGBNET_OPENMP=OFF >/dev/null
fi
targets=(gbnet)
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}" >/dev/null

# seeds from the repository's real files; the working corpora keep what earlier runs found
rm -rf "$work/seeds"
mkdir -p "$work/seeds"
/usr/bin/python3 "$repo/tests/fuzz/make_seeds.py" "$build/gbnet" "$repo" "$data" "$work/seeds"

# the largest seed sets how long an input may grow (libFuzzer's default is 4096 bytes)
max_len() {
    local biggest
    biggest="$(find "$work/seeds/$1" "$work/corpus/$1" -type f -printf '%s\n' 2>/dev/null | sort -n | tail -n1)"
    echo $(( ${biggest:-4096} > 4096 ? biggest : 4096 ))
}

run_one() {
    local h="$1" log="$work/logs/$1.log"
    mkdir -p "$work/corpus/$h" "$work/crashes/$h" "$work/logs"
    rm -f "$work/crashes/$h"/*
    local start end rc=0
    start="$(date +%s.%N)"
    # bash's time reports the fuzzer's own user and system CPU seconds
    { TIMEFORMAT='%U %S'; time nice -n "$nice_level" "$build/tests/fuzz/fuzz_$h" \
        -max_total_time="$seconds" -max_len="$(max_len "$h")" -timeout=20 -rss_limit_mb=2560 \
        -print_final_stats=1 -artifact_prefix="$work/crashes/$h/" \
        "$work/corpus/$h" "$work/seeds/$h" >"$log" 2>&1 || rc=$?; } 2>"$work/logs/$h.cpu"
    end="$(date +%s.%N)"
    echo "$rc $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')" >"$work/logs/$h.status"
}

echo "run.sh: ${#harnesses[@]} harnesses x ${seconds} s, $parallel at a time (logs: $work/logs)"
running=0
for h in "${harnesses[@]}"; do
    run_one "$h" &
    running=$((running + 1))
    if [ "$running" -ge "$parallel" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

# ------------------------------------------------------------------ report
source "$repo/bench/cpu_info.sh"
results="$repo/tests/fuzz/RESULTS.md"
found_any=0
{
    echo "# Fuzzing results"
    echo
    echo "\`bash tests/fuzz/run.sh $seconds\` on $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (with local changes)')."
    echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -n1) ($(cpu_vendor_id), $(getconf _NPROCESSORS_ONLN) CPUs; flags: $(cpu_flags)); $parallel harness(es) at a time, nice $nice_level."
    echo "Compiler: $(clang --version | head -n1); -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all (ASan's leak check on)."
    echo
    echo "| harness | seconds | wall s | CPU s (user+sys) | executions | exec/s | coverage (cov) | features (ft) | corpus | peak RSS MB | findings |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for h in "${harnesses[@]}"; do
        log="$work/logs/$h.log"
        read -r rc wall <"$work/logs/$h.status"
        read -r user sys <"$work/logs/$h.cpu" || { user=0; sys=0; }
        execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)"
        rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)"
        rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n1)"
        last="$(grep -E '^#[0-9]+' "$log" | tail -n1)"
        cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
        ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
        corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")"
        crashes=()
        for f in "$work/crashes/$h"/*; do [ -f "$f" ] && crashes+=("$f"); done
        if [ "${#crashes[@]}" -gt 0 ] || [ "$rc" -ne 0 ]; then
            found_any=1
            names=""
            for f in "${crashes[@]}"; do
                cp "$f" "$repo/tests/fuzz/corpus/$h/"
                names+=" \`corpus/$h/$(basename "$f")\`"
            done
            finding="**${#crashes[@]} (exit $rc):$names**"
        else
            finding="none"
        fi
        cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')"
        echo "| $h | $seconds | $wall | $cpu | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | ${rss:-?} | $finding |"
    done
    echo
    echo "Findings are crash, leak, timeout (> 20 s) or out-of-memory (> 2560 MB) inputs, or a harness's own check"
    echo "(\`__builtin_trap\` in tests/fuzz/fuzz_*.c: an evaluation that returns OK with a non-finite number, a loaded"
    echo "frame that is not well formed, an error without a printable message, a configuration that does not read back)."
    echo "They are copied into tests/fuzz/corpus/<harness>/, which ctest replays (Fuzz.Replay.<harness>). Logs: $work/logs."
    if [ "$found_any" -eq 0 ]; then
        echo
        echo "No crash, leak or undefined behaviour in any harness."
    fi
} >"$results"
cat "$results"
exit "$found_any"
