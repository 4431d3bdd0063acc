#!/usr/bin/env bash
# Finality that travels, measured (issue #17): how long after a write is acknowledged its
# certificate is a v2 one, carrying a checkpoint that a quorum of witnesses cosigned.
#
# Builds zipchain-writer, zipchain-load and zipchain in release, makes WITNESSES witness
# keys (`zipchain witness keygen`), starts a fresh writer on a temporary data directory (the
# in-process stand-ins, six local directory stores) with those keys in its chain.json
# (--quorum QUORUM) and pushing its checkpoints to them (--witness URL ×n), starts one
# `zipchain witness serve` per key on the same six stores, waits until a certificate is v2,
# then offers RATE tx/s for DURATION s twice, open loop (`zipchain-load finality`), polling one
# transaction in SAMPLE_EVERY (default 1000) every POLL_MS (default 50) ms — gentler than
# bench-writer.sh's 1 in 100 every 20 ms, because a poller of certificates costs the writer
# more than one of statuses and the measurement should not load what it measures:
#   1. until final on the writer's main chain (v1 finality, as scripts/bench-writer.sh),
#   2. until its certificate is v2 (`--until certificate-v2`),
# and prints a markdown table of both. Each run's JSON report, the logs and /metrics are kept
# in $OUT (printed at the end).
#
# Settings (environment): RATE (default 10000), DURATION (20), WITNESSES (2), QUORUM (2),
# SAMPLE_EVERY (1000), POLL_MS (50),
# POLL_INTERVAL (the witnesses' own pull period, default 10s), LOAD_THREADS (2),
# WRITER_ARGS (extra writer arguments), OUT (default a new temp dir).
#
# Target: p99 from acknowledgement to a v2 certificate <= 2 s at 10,000 tx/s with two
# local witnesses.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

RATE=${RATE:-10000}
DURATION=${DURATION:-20}
WITNESSES=${WITNESSES:-2}
QUORUM=${QUORUM:-2}
POLL_INTERVAL=${POLL_INTERVAL:-10s}
LOAD_THREADS=${LOAD_THREADS:-2}
SAMPLE_EVERY=${SAMPLE_EVERY:-1000}
POLL_MS=${POLL_MS:-50}
WRITER_ARGS=${WRITER_ARGS:-}
OUT=${OUT:-$(mktemp -d -t zipchain-bench-witnesses-XXXXXX)}
mkdir -p "$OUT"

run cargo build --release -p zipchain-writer -p zipchain-loadgen -p zipchain-cli
WRITER=target/release/zipchain-writer
LOAD=target/release/zipchain-load
ZIPCHAIN=target/release/zipchain

WORK=$(mktemp -d -t zipchain-bench-witnesses-data-XXXXXX)
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until LOG names the URL its daemon listens on, and echoes it.
listening() {
    local log=$1 pid=$2 url=""
    for _ in $(seq 1 600); do
        url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n1 || true)
        [[ -n $url ]] && break
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "$log: the daemon exited" >&2; exit 1; }
        sleep 0.1
    done
    [[ -n $url ]] || { cat "$log" >&2; echo "$log: no URL" >&2; exit 1; }
    echo "$url"
}

DATA=$WORK/writer
mkdir -p "$DATA/stores"
STORES=()
for i in 0 1 2 3 4 5; do
    mkdir -p "$DATA/stores/store-$i"
    STORES+=(--store "file://$DATA/stores/store-$i")
done

KEYS=()
PUSH=()
PORTS=()
for i in $(seq 1 "$WITNESSES"); do
    key=$WORK/witness-$i.key
    vkey=$("$ZIPCHAIN" witness keygen --name "witness-$i.bench" -o "$key")
    KEYS+=(--witness-key "$vkey")
    port=$(free_port)
    PORTS+=("$port")
    PUSH+=(--witness "http://127.0.0.1:$port")
done

# shellcheck disable=SC2086 # WRITER_ARGS is a list of arguments
"$WRITER" --data-dir "$DATA" --listen 127.0.0.1:0 "${STORES[@]}" "${KEYS[@]}" --quorum "$QUORUM" \
    "${PUSH[@]}" $WRITER_ARGS >"$OUT/writer.log" 2>&1 &
PIDS+=($!)
URL=$(listening "$OUT/writer.log" "$!")
echo "writer at $URL, data in $DATA"

for i in $(seq 1 "$WITNESSES"); do
    port=${PORTS[$((i - 1))]}
    "$ZIPCHAIN" witness serve --listen "127.0.0.1:$port" --key "$WORK/witness-$i.key" \
        --chain "$DATA/chain.json" "${STORES[@]}" --state "$WORK/witness-$i" \
        --poll-interval "$POLL_INTERVAL" >"$OUT/witness-$i.log" 2>&1 &
    PIDS+=($!)
    echo "witness $i at $(listening "$OUT/witness-$i.log" "$!")"
done

# One transaction, then its certificate until it is v2: the witnesses are up and cosigning.
TX=$(curl -sf -H 'Content-Type: application/octet-stream' --data-binary 'bench: first' \
    "$URL/v1/transactions" | jq -r .tx)
for _ in $(seq 1 600); do
    v=$(curl -sf "$URL/v1/transactions/$TX/certificate" | jq -r .zipchain_certificate 2>/dev/null || true)
    [[ $v == 2 ]] && break
    sleep 0.1
done
[[ $v == 2 ]] || { echo "no v2 certificate after 60 s" >&2; tail -n 20 "$OUT"/*.log >&2; exit 1; }
echo "a certificate is v2: $WITNESSES witnesses cosign (quorum $QUORUM)"

load() {
    printf '+ %s %s\n' "$LOAD" "$*" >&2
    "$LOAD" "$@"
}

for until in final certificate-v2; do
    load finality --url "$URL" --rate "$RATE" --duration "$DURATION" --tx-bytes 64 \
        --threads "$LOAD_THREADS" --until "$until" --final-timeout 30 \
        --sample-every "$SAMPLE_EVERY" --poll-interval-ms "$POLL_MS" --json |
        tee "$OUT/finality-$until.json"
    curl -sf "$URL/metrics" >"$OUT/metrics-$until.txt" || true
done

echo
echo "### Finality at $RATE tx/s offered for $DURATION s, $WITNESSES witnesses (quorum $QUORUM)"
echo
echo "| until | offered | acknowledged | ack p99 | latency p50 / p99 / max (polled) | never there (polled) |"
echo "|---|---:|---:|---:|---:|---:|"
for until in final certificate-v2; do
    jq -r '
    "| \(.until) | \(.offered) | \(.acked) | \(.ack_latency.p99_ms) ms | \(.finality.p50_ms) / \(.finality.p99_ms) / \(.finality.max_ms) ms (\(.finality.count)) | \(.sampled_never_final) of \(.sampled) |"
    ' "$OUT/finality-$until.json"
done
echo
echo "results, logs and /metrics in $OUT"
