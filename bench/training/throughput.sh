#!/usr/bin/env bash
# Training throughput (structures/s) of the water and ethanol examples on 1
# and 2 threads: a few epochs of `gbnet train`, the median epoch's
# structures_per_s from the CSV log. With BASELINE_BUILD set to another
# build folder (say, of the previous commit), both run side by side in the
# same session, alternating, and the table gets their ratio.
# Writes bench/training/THROUGHPUT_<vendor>.md (intel or amd, from lscpu).
# Run it alone on the machine: a build or a test beside it skews the numbers.
#
# Usage: bash bench/training/throughput.sh            (about 4 minutes on 2 cores)
# Environment: BUILD (default build), BASELINE_BUILD, BASELINE_NAME (what the
# baseline is, for the table, e.g. "commit eda5602"), EPOCHS (default 2).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(cd "${BUILD:-$repo/build}" && pwd)"
baseline="${BASELINE_BUILD:+$(cd "$BASELINE_BUILD" && pwd)}"
epochs="${EPOCHS:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
source "$repo/bench/cpu_info.sh"
out="$repo/bench/training/THROUGHPUT_$(cpu_vendor).md"

# median structures_per_s over the epochs of one run (column 15 of the log)
throughput() { # BUILD CONFIG THREADS TAG
    "$1/gbnet" train "$2" --set epochs="$epochs" --set threads="$3" --set output="$work/$4.gbnet" \
        --set log="$work/$4.csv" --set checkpoint="$work/$4.ckpt" >"$work/$4.out" 2>&1 ||
        { cat "$work/$4.out" >&2; exit 1; }
    awk -F, 'NR > 2 { print $15 }' "$work/$4.csv" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

{
    echo "# Training throughput"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git -C "$repo" rev-parse --short HEAD)"
    echo "- Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) logical CPUs;" \
        "vendor $(cpu_vendor_id); flags: $(cpu_flags)"
    echo "- Command: \`bash bench/training/throughput.sh\`${baseline:+ with BASELINE_BUILD set to a build of ${BASELINE_NAME:-another version}}; $epochs epochs" \
        "per run, median epoch; float (the default precision); structures/s of training (validation excluded)"
    echo
    if [[ -n "$baseline" ]]; then
        echo "| example | threads | baseline structures/s | this build structures/s | speed-up |"
        echo "|---|---|---|---|---|"
    else
        echo "| example | threads | structures/s |"
        echo "|---|---|---|"
    fi
} >"$work/table.md"

for example in water ethanol; do
    cfg="$repo/examples/$example/train.cfg"
    for threads in 1 2; do
        if [[ -n "$baseline" ]]; then
            base="$(throughput "$baseline" "$cfg" "$threads" "base_${example}_$threads")"
            new="$(throughput "$build" "$cfg" "$threads" "new_${example}_$threads")"
            ratio="$(awk -v a="$base" -v b="$new" 'BEGIN { printf "%.2fx", b / a }')"
            echo "| $example | $threads | $base | $new | $ratio |" >>"$work/table.md"
        else
            new="$(throughput "$build" "$cfg" "$threads" "new_${example}_$threads")"
            echo "| $example | $threads | $new |" >>"$work/table.md"
        fi
        tail -n 1 "$work/table.md"
    done
done
cp "$work/table.md" "$out"
echo "wrote $out"
