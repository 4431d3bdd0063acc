#!/usr/bin/env bash
# The soak test of issue #18 (BENCHMARKS.md, "Soak"): the writer under a steady open-loop
# load on loopback while faults are injected at random, then the writer's promise checked
# from the stores: every acknowledged transaction final exactly once.
#
#   1. builds the binaries (PROFILE, default release), starts the stand-in daemons
#      zipchain-tsa and zipchain-sequencer, each behind a fault-proxy, and zipchain-writer
#      on a fresh data directory with its default six file:// stores;
#   2. offers SOAK_RATE tx/s for SOAK_SECONDS (zipchain-load finality over h2c, open loop,
#      1 in SAMPLE_EVERY polled until final, every acknowledged id kept);
#   3. meanwhile, one fault at a time, every FAULT_GAP_MIN..FAULT_GAP_MAX s, for
#      FAULT_LEN_MIN..FAULT_LEN_MAX s, in rounds of each kind once in a random order (bash
#      $RANDOM seeded with SEED):
#      the writer killed with SIGKILL and restarted; a store's directory replaced by a file;
#      the sequencer or the timestamp service down, hung or slow (1-3 s per answer);
#   4. when the load ends: every fault lifted, the writer's backlog drained, a sample of
#      certificates fetched from it, the writer stopped, the six stores pulled
#      (`zipchain pull`) and audited (`zipchain audit`), the acknowledged ids checked
#      against the main chain (`soak-check`: lost, duplicated), the sample of certificates
#      checked against the pulled snapshot (`zipchain check --snapshot`);
#   5. prints offered, acknowledged, final, lost, duplicated, p99 finality (of the polled
#      sample, from due time, outages included), the faults injected; exits 1 if anything
#      acknowledged is lost or duplicated, or a check fails.
#
# Settings (environment): SOAK_SECONDS (600), SOAK_RATE (16000: half the acknowledged
# throughput zipchain-load measured on this machine beside the recorded run, BENCHMARKS.md),
# PROFILE (release, or dev for a debug build), H2_CONNECTIONS (8), H2_STREAMS (64),
# SAMPLE_EVERY (2000), FAULT_GAP_MIN/MAX (15/35 s), FAULT_LEN_MIN/MAX (5/20 s), SEED (1),
# OUT (results; a new temporary directory by default), KEEP=1 keeps the data directory and
# snapshot.
# scripts/test.sh runs a short one (section `soak`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_RATE=${SOAK_RATE:-16000}
PROFILE=${PROFILE:-release}
H2_CONNECTIONS=${H2_CONNECTIONS:-8}
H2_STREAMS=${H2_STREAMS:-64}
SAMPLE_EVERY=${SAMPLE_EVERY:-2000}
FAULT_GAP_MIN=${FAULT_GAP_MIN:-15}
FAULT_GAP_MAX=${FAULT_GAP_MAX:-35}
FAULT_LEN_MIN=${FAULT_LEN_MIN:-5}
FAULT_LEN_MAX=${FAULT_LEN_MAX:-20}
SEED=${SEED:-1}
KEEP=${KEEP:-0}
OUT=${OUT:-$(mktemp -d -t zipchain-soak-XXXXXX)}
mkdir -p "$OUT"
RANDOM=$SEED

TARGET=${CARGO_TARGET_DIR:-target}
case $PROFILE in
    dev) BIN=$TARGET/debug ;;
    *) BIN=$TARGET/$PROFILE ;;
esac

run cargo build --profile "$PROFILE" -p zipchain-writer -p zipchain-loadgen \
    -p zipchain-services -p zipchain-testkit -p zipchain-cli \
    --bin zipchain-writer --bin zipchain-load --bin zipchain-tsa --bin zipchain-sequencer \
    --bin fault-proxy --bin soak-check --bin zipchain

WORK=$(mktemp -d -t zipchain-soak-work-XXXXXX)
DATA=$WORK/data
PIDS=()
WRITER_PID=""
LOAD_PID=""
cleanup() {
    local rc=$?
    [[ -n $WRITER_PID ]] && kill -KILL "$WRITER_PID" 2>/dev/null || true
    [[ -n $LOAD_PID ]] && kill -KILL "$LOAD_PID" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ $KEEP == 1 ]]; then
        echo "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT

# Echoes a command on stderr (stdout may be its output's file), then runs it.
trace() {
    printf '+ %s\n' "$*" >&2
    "$@"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until the line "listening on URL" is in file $1; echoes URL.
listening() {
    local url=""
    for _ in $(seq 1 600); do
        url=$(grep -so 'listening on http://[0-9.:]*' "$1" | head -n1 | sed 's/listening on //' || true)
        [[ -n $url ]] && break
        sleep 0.1
    done
    [[ -n $url ]] || { cat "$1" >&2; echo "no 'listening on' in $1" >&2; return 1; }
    echo "$url"
}

# Sets the fault of a proxy (its control file), atomically.
set_fault() {
    printf '%s\n' "$2" >"$WORK/$1.fault.tmp"
    mv "$WORK/$1.fault.tmp" "$WORK/$1.fault"
}

# The stand-in services, each behind a fault proxy.
"$BIN/zipchain-tsa" --listen 127.0.0.1:0 --key-dir "$WORK/tsa" >"$OUT/tsa.log" 2>&1 &
PIDS+=($!)
"$BIN/zipchain-sequencer" --listen 127.0.0.1:0 --ca-dir "$WORK/ca" >"$OUT/sequencer.log" 2>&1 &
PIDS+=($!)
TSA_UP=$(listening "$OUT/tsa.log")
SEQ_UP=$(listening "$OUT/sequencer.log")
set_fault tsa forward
set_fault seq forward
"$BIN/fault-proxy" --listen "127.0.0.1:$(free_port)" --upstream "${TSA_UP#http://}" \
    --control "$WORK/tsa.fault" >"$OUT/tsa-proxy.log" 2>&1 &
PIDS+=($!)
"$BIN/fault-proxy" --listen "127.0.0.1:$(free_port)" --upstream "${SEQ_UP#http://}" \
    --control "$WORK/seq.fault" >"$OUT/seq-proxy.log" 2>&1 &
PIDS+=($!)
TSA=$(listening "$OUT/tsa-proxy.log")
SEQ=$(listening "$OUT/seq-proxy.log")

WRITER_ADDR=127.0.0.1:$(free_port)
URL=http://$WRITER_ADDR
start_writer() {
    "$BIN/zipchain-writer" --data-dir "$DATA" --listen "$WRITER_ADDR" \
        --timestamp "$TSA" --sequencer "$SEQ" >>"$OUT/writer.log" 2>&1 &
    WRITER_PID=$!
}
start_writer
for _ in $(seq 1 600); do
    curl -sf "$URL/healthz" >/dev/null && break
    sleep 0.1
done
curl -sf "$URL/healthz" >/dev/null || { tail -n 50 "$OUT/writer.log" >&2; echo "the writer did not start" >&2; exit 1; }
echo "writer at $URL (data $DATA), timestamp service via $TSA, sequencer via $SEQ; results in $OUT"

printf '+ zipchain-load finality --rate %s --duration %s (h2c %s x %s)\n' \
    "$SOAK_RATE" "$SOAK_SECONDS" "$H2_CONNECTIONS" "$H2_STREAMS"
"$BIN/zipchain-load" finality --url "$URL" --rate "$SOAK_RATE" --duration "$SOAK_SECONDS" \
    --http2 --connections "$H2_CONNECTIONS" --streams "$H2_STREAMS" --threads 2 \
    --sample-every "$SAMPLE_EVERY" --poll-interval-ms 250 --poll-connections 8 \
    --final-timeout 900 --no-sweep --acked-out "$OUT/acked.bin" --json \
    >"$OUT/load.json" 2>"$OUT/load.log" &
LOAD_PID=$!

between() { echo $(($1 + RANDOM % ($2 - $1 + 1))); }
KINDS=(kill-writer store-gone seq-down seq-hung seq-slow tsa-down tsa-hung tsa-slow)
# The faults come in rounds of every kind once, in a random order: a run of N faults
# has had every kind by its eighth.
QUEUE=()
next_fault() {
    if ((${#QUEUE[@]} == 0)); then
        QUEUE=("${KINDS[@]}")
        local i j t
        for ((i = ${#QUEUE[@]} - 1; i > 0; i--)); do
            j=$((RANDOM % (i + 1)))
            t=${QUEUE[i]}
            QUEUE[i]=${QUEUE[j]}
            QUEUE[j]=$t
        done
    fi
    FAULT=${QUEUE[0]}
    QUEUE=("${QUEUE[@]:1}")
}
log_fault() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$OUT/faults.log"; }
: >"$OUT/faults.log"
started=$SECONDS
while kill -0 "$LOAD_PID" 2>/dev/null; do
    gap=$(between "$FAULT_GAP_MIN" "$FAULT_GAP_MAX")
    # Nothing new starts in the last gap of the run: every fault is lifted before it ends.
    ((SECONDS - started + gap + FAULT_LEN_MAX < SOAK_SECONDS)) || break
    sleep "$gap"
    next_fault
    fault=$FAULT
    len=$(between "$FAULT_LEN_MIN" "$FAULT_LEN_MAX")
    case $fault in
        kill-writer)
            down=$(between 1 5)
            log_fault "kill-writer: SIGKILL, restarted after $down s"
            kill -KILL "$WRITER_PID"
            wait "$WRITER_PID" 2>/dev/null || true
            sleep "$down"
            start_writer
            ;;
        store-gone)
            store=$DATA/stores/store-$((RANDOM % 6))
            log_fault "store-gone: $store replaced by a file for $len s"
            mv "$store" "$store.away"
            echo "gone" >"$store"
            sleep "$len"
            rm "$store"
            mv "$store.away" "$store"
            ;;
        seq-* | tsa-*)
            proxy=${fault%%-*}
            case ${fault#*-} in
                down) what=down ;;
                hung) what=stall ;;
                slow) what="delay $(between 1000 3000)" ;;
            esac
            log_fault "$fault: $what for $len s"
            set_fault "$proxy" "$what"
            sleep "$len"
            set_fault "$proxy" forward
            ;;
    esac
done
load_status=0
wait "$LOAD_PID" || load_status=$?
LOAD_PID=""
((load_status == 0)) || { cat "$OUT/load.log" >&2; echo "zipchain-load failed" >&2; exit 1; }
set_fault tsa forward
set_fault seq forward
kill -0 "$WRITER_PID" 2>/dev/null || start_writer

# Drained: nothing acknowledged is waiting to become final.
echo "load done; waiting for the writer to drain its backlog"
drained=""
for _ in $(seq 1 1800); do
    depth=$(curl -sf "$URL/metrics" | sed -n 's/^zipchain_writer_queue_depth //p' || true)
    if [[ $depth == 0 ]] && curl -sf "$URL/healthz" >/dev/null; then
        drained=1
        break
    fi
    sleep 1
done
[[ -n $drained ]] || { tail -n 50 "$OUT/writer.log" >&2; echo "the writer did not drain (queue depth ${depth:-?})" >&2; exit 1; }
curl -sf "$URL/metrics" >"$OUT/metrics.txt"

# A sample of certificates from the writer, checked against the pull below.
ACKED_COUNT=$(($(stat -c %s "$OUT/acked.bin") / 32))
mkdir -p "$OUT/certificates"
CERTS=0
if ((ACKED_COUNT > 0)); then
    for _ in $(seq 1 20); do
        i=$(((RANDOM * 32768 + RANDOM) % ACKED_COUNT))
        tx=$(od -An -tx1 -v -j $((i * 32)) -N 32 "$OUT/acked.bin" | tr -d ' \n')
        curl -sf "$URL/v1/transactions/$tx/certificate" >"$OUT/certificates/$tx.json"
        CERTS=$((CERTS + 1))
    done
fi
kill -TERM "$WRITER_PID"
wait "$WRITER_PID" || true
WRITER_PID=""

STORES=()
for i in 0 1 2 3 4 5; do
    STORES+=(--store "file://$DATA/stores/store-$i")
done
trace "$BIN/zipchain" pull "${STORES[@]}" -o "$WORK/snapshot" --json >"$OUT/pull.json"
trace "$BIN/zipchain" audit "$WORK/snapshot" --chain "$DATA/chain.json" --json >"$OUT/audit.json"
status=0
trace "$BIN/soak-check" "$WORK/snapshot" --chain "$DATA/chain.json" --acked "$OUT/acked.bin" \
    >"$OUT/check.json" || status=$?
for cert in "$OUT"/certificates/*.json; do
    [[ -e $cert ]] || continue
    "$BIN/zipchain" check "$cert" --chain "$DATA/chain.json" --snapshot "$WORK/snapshot" \
        >/dev/null || { echo "certificate $cert does not check" >&2; status=1; }
done

python3 - "$OUT" "$SOAK_RATE" "$SOAK_SECONDS" "$CERTS" <<'EOF'
import collections, json, sys
out, rate, seconds, certs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
load = json.load(open(f"{out}/load.json"))
check = json.load(open(f"{out}/check.json"))
faults = collections.Counter(line.split()[1].rstrip(":") for line in open(f"{out}/faults.log"))
f = load["finality"]
print()
print(f"soak: {rate} tx/s offered for {seconds} s (open loop, h2c)")
print(f"  offered {load['offered']}, acknowledged {load['acked']} (soak-check: {check['acknowledged']} distinct)")
print(f"  final {check['final']}, LOST {check['lost']}, DUPLICATED {check['duplicated']}")
print(f"  main chain: height {check['main_chain_height']}, {check['main_chain_transactions']} transactions; "
      f"invalid objects {check['invalid_objects']}, equivocations {check['equivocations']}")
print(f"  finality of {f['count']} polled (1 in {load['sample_every']}): p50 {f['p50_ms']} ms, "
      f"p99 {f['p99_ms']} ms, max {f['max_ms']} ms; never final {load['sampled_never_final']}")
print(f"  ack latency p50 {load['ack_latency']['p50_ms']} ms, p99 {load['ack_latency']['p99_ms']} ms; "
      f"send errors {sum(load['errors'].values()) if isinstance(load['errors'], dict) else load['errors']}")
print(f"  faults: {sum(faults.values())} ({', '.join(f'{k} x{v}' for k, v in sorted(faults.items()))}); "
      f"{certs} certificates checked against the pull")
EOF
echo "results in $OUT"
exit "$status"
