#!/usr/bin/env bash
# The writer benchmark of issue #4 (docs/benchmarks-history.md, "Issue #4: the writer").
#
# Builds zipchain-writer and zipchain-load in release, starts a fresh writer on a temporary
# data directory (in-process stand-ins, the default six local directory stores), and runs:
#   1. throughput: 64-byte transactions, closed loop, from 64 and from 256 HTTP/1.1
#      connections, and over HTTP/2 (h2c) from H2_CONNECTIONS connections × H2_STREAMS streams,
#   2. throughput through POST /v1/transactions/batch (BATCH transactions a request),
#   3. finality: an open-loop 10,000 tx/s for 20 s, 1 in 100 transactions polled every 20 ms,
#      then every acknowledged transaction checked;
# then stops the writer and prints a markdown table. Each run's JSON report, the writer's log
# and its /metrics after each run are kept in $OUT (printed at the end).
#
# Settings (environment): DURATION (throughput window, s, default 10), CONNECTIONS ("64 256"),
# H2_CONNECTIONS (default 8; 0 skips the HTTP/2 run), H2_STREAMS (128),
# BATCH (default 1000; 0 skips the batch run), RATE (10000), FINALITY_DURATION (20),
# LOAD_THREADS (the load generator's worker threads, default 2), WRITER_ARGS (extra writer
# arguments, e.g. "--batch-wait 20"), OUT (a directory for the results; default a new temp dir).
#
# Targets: >= 50,000 tx/s acknowledged; p99 finality <= 1 s at 10,000 tx/s.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64 256}
H2_CONNECTIONS=${H2_CONNECTIONS:-8}
H2_STREAMS=${H2_STREAMS:-128}
BATCH=${BATCH:-1000}
RATE=${RATE:-10000}
FINALITY_DURATION=${FINALITY_DURATION:-20}
LOAD_THREADS=${LOAD_THREADS:-2}
WRITER_ARGS=${WRITER_ARGS:-}
OUT=${OUT:-$(mktemp -d -t zipchain-bench-XXXXXX)}
mkdir -p "$OUT"

run cargo build --release -p zipchain-writer -p zipchain-loadgen
WRITER=target/release/zipchain-writer
LOAD=target/release/zipchain-load

DATA=$(mktemp -d -t zipchain-writer-data-XXXXXX)
WRITER_PID=""
stop_writer() {
    if [[ -n $WRITER_PID ]] && kill -0 "$WRITER_PID" 2>/dev/null; then
        kill -TERM "$WRITER_PID"
        wait "$WRITER_PID" 2>/dev/null || true
    fi
    WRITER_PID=""
}
cleanup() {
    local rc=$?
    stop_writer
    rm -rf "$DATA"
    exit "$rc"
}
trap cleanup EXIT

# A fresh writer for each measurement, so one run's backlog does not slow the next.
start_writer() {
    stop_writer
    rm -rf "$DATA" && mkdir -p "$DATA"
    local log=$OUT/writer-$1.log
    # shellcheck disable=SC2086 # WRITER_ARGS is a list of arguments
    "$WRITER" --data-dir "$DATA" --listen 127.0.0.1:0 $WRITER_ARGS >"$log" 2>&1 &
    WRITER_PID=$!
    URL=$(listening_url "$log" "$WRITER_PID")
    echo "writer ($1) at $URL, data in $DATA"
}

metrics() {
    curl -sf "$URL/metrics" >"$OUT/metrics-$1.txt" || true
}

# Echoes the load generator's command line on stderr (stdout is its JSON report), then runs it.
load() {
    printf '+ %s %s\n' "$LOAD" "$*" >&2
    "$LOAD" "$@"
}

ROWS=()
for c in $CONNECTIONS; do
    name=throughput-c$c
    start_writer "$name"
    load throughput --url "$URL" --connections "$c" --duration "$DURATION" \
        --tx-bytes 64 --threads "$LOAD_THREADS" --json | tee "$OUT/$name.json"
    metrics "$name"
    ROWS+=("$(jq -r --arg n "POST /v1/transactions, $c connections, ${DURATION} s" \
        '"| \($n) | \(.acked_per_s | floor) tx/s | \(.ack_latency.p50_ms) / \(.ack_latency.p99_ms) ms | \(.errors | to_entries | map("\(.key) ×\(.value)") | join(", ") | if . == "" then "none" else . end) |"' \
        "$OUT/$name.json")")
done

if [[ $H2_CONNECTIONS != 0 ]]; then
    name=throughput-h2-c$H2_CONNECTIONS-s$H2_STREAMS
    start_writer "$name"
    load throughput --url "$URL" --http2 --connections "$H2_CONNECTIONS" --streams "$H2_STREAMS" \
        --duration "$DURATION" --tx-bytes 64 --threads "$LOAD_THREADS" --json | tee "$OUT/$name.json"
    metrics "$name"
    ROWS+=("$(jq -r --arg n "POST /v1/transactions over h2c, $H2_CONNECTIONS connections × $H2_STREAMS streams, ${DURATION} s" \
        '"| \($n) | \(.acked_per_s | floor) tx/s | \(.ack_latency.p50_ms) / \(.ack_latency.p99_ms) ms | \(.errors | to_entries | map("\(.key) ×\(.value)") | join(", ") | if . == "" then "none" else . end) |"' \
        "$OUT/$name.json")")
fi

if [[ $BATCH != 0 ]]; then
    c=${CONNECTIONS%% *}
    name=throughput-batch$BATCH-c$c
    start_writer "$name"
    load throughput --url "$URL" --connections "$c" --duration "$DURATION" \
        --tx-bytes 64 --batch "$BATCH" --threads "$LOAD_THREADS" --json | tee "$OUT/$name.json"
    metrics "$name"
    ROWS+=("$(jq -r --arg n "POST /v1/transactions/batch ×$BATCH, $c connections, ${DURATION} s" \
        '"| \($n) | \(.acked_per_s | floor) tx/s | \(.ack_latency.p50_ms) / \(.ack_latency.p99_ms) ms (per batch) | \(.errors | to_entries | map("\(.key) ×\(.value)") | join(", ") | if . == "" then "none" else . end) |"' \
        "$OUT/$name.json")")
fi

name=finality-r$RATE
start_writer "$name"
load finality --url "$URL" --rate "$RATE" --duration "$FINALITY_DURATION" \
    --tx-bytes 64 --threads "$LOAD_THREADS" --json | tee "$OUT/$name.json"
metrics "$name"
stop_writer

echo
echo "### Acknowledged throughput (64-byte transactions, closed loop)"
echo
echo "| path | acknowledged | ack p50 / p99 | errors |"
echo "|---|---:|---:|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "### Finality at $RATE tx/s offered for $FINALITY_DURATION s (open loop)"
echo
jq -r '
"| offered | acknowledged | late sends (max lag) | ack p50 / p99 | finality p50 / p99 / max (polled) | never final (polled; all) |",
"|---:|---:|---:|---:|---:|---:|",
"| \(.offered) | \(.acked) | \(.late_sends) (\(.max_send_lag_ms) ms) | \(.ack_latency.p50_ms) / \(.ack_latency.p99_ms) ms | \(.finality.p50_ms) / \(.finality.p99_ms) / \(.finality.max_ms) ms (\(.finality.count)) | \(.sampled_never_final) of \(.sampled); \(.sweep.never_final // "–") of \(.sweep.checked // "–") |"
' "$OUT/$name.json"
echo
echo "results, writer logs and /metrics in $OUT"
