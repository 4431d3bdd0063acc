#!/usr/bin/env bash
# The main job (README "Quick start"): the whole story, locally, on the embedded defaults.
#   1. start `zipchain-writer` on a fresh data directory (embedded stand-ins: a Cognito-shaped
#      RS256 timestamp authority and the enclave sequencer with its AWS-shaped test CA; six
#      local directory stores with Reed-Solomon 3+3);
#   2. write a few thousand transactions through its HTTP API (`zipchain-load finality`, an
#      open-loop load that waits until every acknowledged transaction is final), plus one
#      known transaction with curl, and fetch that transaction's certificate;
#   3. two witnesses (keys made by `zipchain witness keygen`, named in chain.json at genesis
#      with quorum 2) each pull their own snapshot, `zipchain cosign` the writer's checkpoint
#      (GET /v1/checkpoint) after their own audit, and post the cosignature back; the
#      writer's certificate is then v2 and checks offline as FINAL on the main chain (SPEC §9);
#   4. stop the writer, `zipchain pull` a snapshot from the six stores, `zipchain audit` it,
#      `zipchain verify` the known transaction from the snapshot, and `zipchain check` the
#      writer's certificate alone and against the snapshot;
#   5. the verifier's trust checks on real artifacts nobody here wrote: a real AWS Nitro NSM
#      document (and a tampered one, expect exit 1) and a real Amazon Cognito ID token.
# Prints where the snapshot and the certificate are. Exit status 0 when every verdict is as
# expected. Environment: DEMO_OUT (default demo-out), DEMO_RATE and DEMO_SECONDS (the load:
# default 1000 tx/s for 3 s), ZIPCHAIN_VECTORS (default ../shared/vectors; step 4 is skipped
# with a note when absent).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

OUT=${DEMO_OUT:-demo-out}
RATE=${DEMO_RATE:-1000}
SECONDS_OF_LOAD=${DEMO_SECONDS:-3}
VECTORS=${ZIPCHAIN_VECTORS:-../shared/vectors}
for tool in curl; do
    command -v "$tool" >/dev/null || { echo "demo: needs $tool (apt-get install $tool)" >&2; exit 2; }
done

echo "==> building the writer, the load generator and the zipchain CLI"
# The dev profile (shared with the tests) optimises the hash and curve crates.
cargo build --quiet -p zipchain-writer -p zipchain-loadgen -p zipchain-cli
BIN=$(target_dir)/debug

# step EXPECTED_EXIT TITLE ARGS...: prints the command, runs it, checks its exit status.
step() {
    local expected=$1 title=$2
    shift 2
    printf '\n==> %s\n$ zipchain' "$title"
    printf ' %q' "$@"
    printf '\n'
    local status=0
    "$BIN/zipchain" "$@" || status=$?
    if ((status != expected)); then
        echo "demo: expected exit $expected, got $status" >&2
        exit 1
    fi
}

rm -rf "$OUT" && mkdir -p "$OUT"
DATA=$OUT/writer
WITNESS_KEYS=()
for w in 1 2; do
    mkdir -p "$OUT/witness-$w"
    printf '\n==> witness %s makes its key\n$ zipchain witness keygen --name witness-%s.demo -o %s\n' \
        "$w" "$w" "$OUT/witness-$w/key"
    VKEY=$("$BIN/zipchain" witness keygen --name "witness-$w.demo" -o "$OUT/witness-$w/key")
    echo "$VKEY"
    WITNESS_KEYS+=(--witness-key "$VKEY")
done
printf '\n==> starting zipchain-writer on %s (embedded stand-ins, six local stores, two witnesses, quorum 2)\n' "$DATA"
"$BIN/zipchain-writer" --data-dir "$DATA" --listen 127.0.0.1:0 "${WITNESS_KEYS[@]}" --quorum 2 2>"$OUT/writer.log" &
WRITER=$!
trap 'kill "$WRITER" 2>/dev/null || true' EXIT
URL=
for _ in $(seq 600); do
    URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$OUT/writer.log" | head -n1)
    [[ -n $URL ]] && break
    kill -0 "$WRITER" 2>/dev/null || { cat "$OUT/writer.log" >&2; echo "demo: the writer died" >&2; exit 1; }
    sleep 0.1
done
[[ -n $URL ]] || { echo "demo: the writer did not start (log: $OUT/writer.log)" >&2; exit 1; }
echo "writer at $URL (log: $OUT/writer.log)"

printf '\n==> writing %s tx/s for %s s and waiting until every acknowledged one is final\n' "$RATE" "$SECONDS_OF_LOAD"
"$BIN/zipchain-load" finality --url "$URL" --rate "$RATE" --duration "$SECONDS_OF_LOAD" \
    --connections 32 --final-timeout 60

printf '\n==> one known transaction through the API\n'
printf 'hello from the zipchain demo' >"$OUT/tx.bin"
ACK=$(curl -sS --fail-with-body -H 'Content-Type: application/octet-stream' --data-binary @"$OUT/tx.bin" "$URL/v1/transactions")
echo "POST /v1/transactions -> 202 $ACK"
TX=$(sed -n 's/.*"tx":"\([0-9a-f]*\)".*/\1/p' <<<"$ACK")
for _ in $(seq 600); do
    STATUS=$(curl -sS "$URL/v1/transactions/$TX")
    grep -q '"final"' <<<"$STATUS" && break
    sleep 0.1
done
echo "GET /v1/transactions/$TX -> $STATUS"
grep -q '"final"' <<<"$STATUS" || { echo "demo: $TX did not become final" >&2; exit 1; }
curl -sS --fail-with-body "$URL/v1/chain" -o "$OUT/chain.json"
echo "trust descriptor (v2: log key, two witnesses, quorum 2) -> $OUT/chain.json"
HEIGHT=$(sed -n 's/.*"height":\([0-9]*\).*/\1/p' <<<"$STATUS")

STORES=()
for i in 0 1 2 3 4 5; do STORES+=(--store "file://$(cd "$DATA/stores/store-$i" && pwd)"); done

# The writer signs a checkpoint within a seal period of each new final block.
for _ in $(seq 600); do
    curl -sS --fail-with-body "$URL/v1/checkpoint" -o "$OUT/checkpoint.note"
    SIZE=$(sed -n 2p "$OUT/checkpoint.note")
    ((SIZE > HEIGHT)) && break
    sleep 0.1
done
printf '\n==> GET /v1/checkpoint (the main chain'"'"'s log of %s entries, signed by the log key)\n' "$SIZE"
cat "$OUT/checkpoint.note"
for w in 1 2; do
    W=$OUT/witness-$w
    curl -sS --fail-with-body "$URL/v1/checkpoint" -o "$W/checkpoint.note"
    step 0 "witness $w pulls its own snapshot from the six stores" pull "${STORES[@]}" -o "$W/snapshot"
    printf '\n==> witness %s audits it and cosigns the checkpoint (SPEC §9.3)\n' "$w"
    printf '$ zipchain cosign %q --snapshot %q --chain %q --key %q --state %q\n' \
        "$W/checkpoint.note" "$W/snapshot" "$OUT/chain.json" "$W/key" "$W/state"
    "$BIN/zipchain" cosign "$W/checkpoint.note" --snapshot "$W/snapshot" --chain "$OUT/chain.json" \
        --key "$W/key" --state "$W/state" >"$W/cosigned.note"
    tail -n1 "$W/cosigned.note"
    ANSWER=$(curl -sS --fail-with-body --data-binary @"$W/cosigned.note" "$URL/v1/checkpoint/cosignatures")
    echo "POST /v1/checkpoint/cosignatures -> $ANSWER"
done
curl -sS --fail-with-body "$URL/v1/transactions/$TX/certificate" -o "$OUT/cert.json"
grep -q '"zipchain_certificate": *2' "$OUT/cert.json" ||
    { echo "demo: the writer's certificate is not v2 after the quorum cosigned" >&2; exit 1; }
echo "certificate v2 (with the cosigned checkpoint and its inclusion proof) -> $OUT/cert.json"
kill -TERM "$WRITER" && wait "$WRITER" || true
trap - EXIT
step 0 "rebuild a snapshot from the six stores" pull "${STORES[@]}" -o "$OUT/snapshot"
step 0 "audit the snapshot (expect: clean, every transaction final)" \
    audit "$OUT/snapshot" --chain "$OUT/chain.json"
step 0 "certificate of the known transaction, from the snapshot" \
    verify "$OUT/snapshot" --chain "$OUT/chain.json" --data "$OUT/tx.bin" -o "$OUT/cert-from-snapshot.json"
step 0 "check the writer's certificate alone, offline (expect: FINAL on the main chain, 2 of 2 witnesses)" \
    check "$OUT/cert.json" --chain "$OUT/chain.json"
grep -q '"main_chain_checked": *true' <<<"$("$BIN/zipchain" check "$OUT/cert.json" --chain "$OUT/chain.json" --json)" ||
    { echo "demo: the certificate alone did not check as final on the main chain" >&2; exit 1; }
step 0 "check the writer's certificate against the snapshot" \
    check "$OUT/cert.json" --chain "$OUT/chain.json" --snapshot "$OUT/snapshot"

if [[ -d $VECTORS/nitro/docs ]]; then
    DOCS=$VECTORS/nitro/docs
    POOL=us-east-1_PDsy6i0Bf
    step 0 "a real AWS Nitro NSM document, checked at its own timestamp (expect: valid)" \
        nsm verify "$DOCS/blocky_nitrite_nitro_attestation.cbor"
    if [[ -f $VECTORS/nitro/docs-current/tkhq_rust_sdk_lib_ce1e1c6e.cbor ]]; then
        step 0 "a real NSM document as enclaves encode it now (indefinite-length payload map; expect: valid)" \
            nsm verify "$VECTORS/nitro/docs-current/tkhq_rust_sdk_lib_ce1e1c6e.cbor"
    fi
    step 1 "a document with a bad COSE signature (expect: invalid, exit 1)" \
        nsm verify "$DOCS/NEGATIVE_eternis_invalid_attestation_badsig.cbor" --allow-debug
    step 0 "a real Amazon Cognito ID token with its pool's JWKS, archival (expect: valid)" \
        jwt verify "$VECTORS/jwt/cognito-$POOL/id.jwt" --jwks "$VECTORS/jwt/cognito-$POOL/jwks.json" \
        --issuer "https://cognito-idp.us-east-1.amazonaws.com/$POOL" --token-use id
else
    printf '\n(the shared vectors are not at %s: the real NSM and Cognito checks are skipped)\n' "$VECTORS"
fi

printf '\ndemo: every verdict was as expected\n'
printf '  snapshot:     %s/snapshot\n  trust:        %s/chain.json\n  certificate:  %s/cert.json (transaction %s)\n' \
    "$OUT" "$OUT" "$OUT" "$TX"
