#!/usr/bin/env bash
# The gbnet benchmark in one command (bench/README.md):
#
#     bench/run.sh
#
# Builds in Release (build-bench/), creates the benchmark models, runs gbnet,
# the PyTorch reference and OpenBLAS GEMM side by side, and writes
# bench/RESULTS.md. Jobs run in priority order under a wall-clock budget
# (BENCH_BUDGET_S, default 840 s); a job that would not fit is listed as
# skipped in RESULTS.md rather than silently missing.
#
# Environment: BENCH_BUDGET_S (seconds), BENCH_BUILD_DIR (default build-bench),
#              BENCH_DATA (water extxyz), BENCH_PYTHON (default /usr/bin/python3).
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BENCH_BUILD_DIR:-$ROOT/build-bench}"
BUDGET="${BENCH_BUDGET_S:-840}"
DATA="${BENCH_DATA:-$ROOT/../shared/data/deepmd_water/deepmd_water.extxyz}"
PY="${BENCH_PYTHON:-/usr/bin/python3}"
WORK="$BUILD/bench-work"
RAW="$WORK/results.txt"
LOG="$WORK/log.txt"
COMMAND="bench/run.sh${BENCH_BUDGET_S:+ (BENCH_BUDGET_S=$BENCH_BUDGET_S)}"

# what the benchmark needs beyond the build: PyTorch for the reference, lscpu for the machine line
bash "$ROOT/tools/install_deps.sh" python3-torch util-linux || exit 1
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGBNET_TESTS=OFF >/dev/null || exit 1
cmake --build "$BUILD" -j2 --target gbnet bench_gbnet sgemm_peak >/dev/null || exit 1
mkdir -p "$WORK"
: >"$RAW"
: >"$LOG"
SECONDS=0
echo "META start_date=$(date -u '+%Y-%m-%dT%H:%M:%SZ') load_start=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)" >>"$RAW"

# run_job NAME CMD...: runs CMD with the time left in the budget; RESULT lines go to RAW.
run_job() {
    local name="${1// /_}"
    shift
    local left=$((BUDGET - SECONDS))
    if ((left < 10)); then
        echo "SKIP job=$name reason=budget" >>"$RAW"
        return
    fi
    echo "[$SECONDS s] ${name//_/ }" | tee -a "$LOG"
    timeout "$left" "$@" >"$WORK/job.out" 2>>"$LOG"
    local rc=$?
    grep '^RESULT' "$WORK/job.out" >>"$RAW"
    if ((rc == 124)); then
        echo "SKIP job=$name reason=budget_timeout" >>"$RAW"
    elif ((rc != 0)); then
        echo "SKIP job=$name reason=failed_rc_$rc" >>"$RAW"
        echo "  failed (rc $rc), see $LOG" | tee -a "$LOG"
    fi
}

# Warm-up steps, then timed steps (median reported); PyTorch takes ~30 s per
# step at 12288 atoms, so it gets fewer there.
WARMUP=1
GBNET_STEPS=5
torch_steps_of() { if (($1 >= 12288)); then echo 3; else echo 5; fi; }

# gbnet_jobs MODEL REPLICATE PRECISIONS: gbnet on 1 and 2 threads; the
# 1-thread run dumps the structure and its results for the PyTorch comparison.
gbnet_jobs() {
    local model="$1" rep="$2" precisions="$3" atoms=$((192 * $2 * $2 * $2))
    local tag
    tag="$(basename "$model" .gbnet)_$atoms"
    for prec in $precisions; do
        for threads in 1 2; do
            local dump=()
            ((threads == 1)) && dump=(--dump "$WORK/dumps/${tag}_$prec.txt")
            run_job "gbnet $tag $prec ${threads}T" "$BUILD/bench_gbnet" run --model "$model" --data "$DATA" \
                --replicate "$rep" --threads "$threads" --precision "$prec" \
                --warmup "$WARMUP" --steps "$GBNET_STEPS" "${dump[@]}"
        done
    done
}

# torch_jobs MODEL REPLICATE PRECISIONS THREADS [FLUSH]: the PyTorch reference on
# the structures dumped by gbnet_jobs (compares with gbnet in the same
# precision). FLUSH: torch.set_flush_denormal settings, "1" (default: the fair
# comparison, since gbnet computes no subnormals) or "0,1" (both).
torch_jobs() {
    local model="$1" rep="$2" precisions="$3" threads="$4" flush="${5:-1}" atoms=$((192 * $2 * $2 * $2))
    local tag
    tag="$(basename "$model" .gbnet)_$atoms"
    for prec in $precisions; do
        local dtype=float32
        [[ $prec == double ]] && dtype=float64
        if [[ ! -f "$WORK/dumps/${tag}_$prec.txt" ]]; then
            echo "SKIP job=torch_${tag}_$prec reason=no_gbnet_dump" >>"$RAW"
            continue
        fi
        run_job "torch $tag $prec ${threads}T" "$PY" "$ROOT/bench/torch_reference.py" --model "$model" \
            --structure "$WORK/dumps/${tag}_$prec.txt" --dtype "$dtype" --threads "$threads" --flush-denormal "$flush" \
            --warmup "$WARMUP" --steps "$(torch_steps_of "$atoms")"
    done
}

# tabulate MODEL: the tabulated twin via `gbnet compress --tabulate`, if this build has it.
tabulate() {
    local out="${1%.gbnet}_tab.gbnet"
    if "$BUILD/gbnet" compress --tabulate "$1" "$out" >>"$LOG" 2>&1; then
        echo "$out"
    else
        echo "SKIP job=tabulate_$(basename "$1" .gbnet) reason=gbnet_compress_unavailable_or_failed" >>"$RAW"
    fi
}

rm -rf "$WORK/dumps" "$WORK"/*.gbnet
mkdir -p "$WORK/dumps"
MODELS=()
for fk in "128 50" "128 20" "64 50" "64 20"; do
    set -- $fk
    m="$WORK/f$1k$2.gbnet"
    "$BUILD/bench_gbnet" make-model --features "$1" --rbf "$2" --blocks 3 --cutoff 5 --seed 1 --out "$m" || exit 1
    MODELS+=("$m")
done
MAIN="${MODELS[0]}"
echo "META note=PyTorch_runs_at_12288_atoms_only_for_F=128_K=50,_float,_2_threads,_3_timed_steps_(about_30_s_per_step;_float64_autograd_would_need_~14_GB)" >>"$RAW"

# 1. The headline configuration: F=128 K=50 at 1536 atoms, then the GEMM peak
#    measured on that model's shapes.
gbnet_jobs "$MAIN" 2 "float double"
edges=$(grep 'engine=gbnet' "$RAW" | grep 'atoms=1536' | head -1 | sed 's/.* edges=\([0-9]*\).*/\1/')
for threads in 1 2; do
    run_job "sgemm ${threads}T" "$BUILD/sgemm_peak" --threads "$threads" --edges "${edges:-80000}" --atoms 1536 \
        --features 128 --rbf 50 --seconds 1
done
torch_jobs "$MAIN" 2 "float double" 1,2 0,1
# 2. Its size scaling.
gbnet_jobs "$MAIN" 1 "float double"
torch_jobs "$MAIN" 1 "float double" 1,2 0,1
gbnet_jobs "$MAIN" 4 "float double"
# 3. Its tabulated twin.
MAIN_TAB="$(tabulate "$MAIN")"
if [[ -n "$MAIN_TAB" ]]; then
    gbnet_jobs "$MAIN_TAB" 2 "float double"
    gbnet_jobs "$MAIN_TAB" 1 "float double"
    gbnet_jobs "$MAIN_TAB" 4 "float double"
fi
# 4. The other models at 192 and 1536 atoms, exact then tabulated.
for m in "${MODELS[@]:1}"; do
    gbnet_jobs "$m" 2 "float double"
    torch_jobs "$m" 2 "float double" 1,2
    gbnet_jobs "$m" 1 "float double"
    torch_jobs "$m" 1 "float double" 1,2
    tab="$(tabulate "$m")"
    if [[ -n "$tab" ]]; then
        gbnet_jobs "$tab" 2 "float"
        gbnet_jobs "$tab" 1 "float"
    fi
done
# 5. The largest box: PyTorch on the headline model, gbnet on the others.
torch_jobs "$MAIN" 4 "float" 2
for m in "${MODELS[@]:1}"; do gbnet_jobs "$m" 4 "float double"; done

echo "META end_date=$(date -u '+%Y-%m-%dT%H:%M:%SZ') load_end=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,) elapsed_s=$SECONDS" >>"$RAW"
source "$ROOT/bench/cpu_info.sh"
VENDOR="$(cpu_vendor)"
"$PY" "$ROOT/bench/report.py" --raw "$RAW" --work "$WORK" --command "$COMMAND" \
    --out "$ROOT/bench/RESULTS_$VENDOR.md" --index "$ROOT/bench/RESULTS.md" || exit 1
echo "wrote bench/RESULTS_$VENDOR.md and its index bench/RESULTS.md (raw lines: $RAW, log: $LOG) in $SECONDS s"
