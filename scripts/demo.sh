#!/usr/bin/env bash
# The main job (README "Quick start"): a local end-to-end run on the embedded
# stand-ins, then the verifier's trust checks on real artifacts nobody here wrote.
#   1. make a chain on the embedded stand-ins (a local RS256 timestamp authority of the
#      Cognito shape, the sequencer with its AWS-shaped test CA): `make-snapshot` writes
#      a snapshot of $DEMO_BLOCKS blocks with forks and its chain.json to demo-out/;
#   2. `zipchain audit` it; `zipchain verify` writes the certificate of one transaction;
#      `zipchain check` checks it with and without the snapshot;
#   3. `zipchain nsm verify` on a real AWS Nitro attestation document (Blocky's
#      production document) at its own timestamp, under the embedded AWS root, and on
#      one whose COSE signature was tampered with (expect exit 1);
#   4. `zipchain jwt verify` on a real Amazon Cognito ID token with its pool's JWKS,
#      archival (the token expired in 2020; `exp` is not checked).
# Until the writer daemon lands (issue #4), step 1 builds the chain in-process.
# Reads ../shared/vectors in place. Exit status: 0 when every verdict is as expected.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

VECTORS=${ZIPCHAIN_VECTORS:-../shared/vectors}
if [[ ! -d $VECTORS/nitro/docs ]]; then
    echo "demo: the shared vectors are not at $VECTORS (set ZIPCHAIN_VECTORS)" >&2
    exit 2
fi

echo "==> building the zipchain CLI and the chain maker"
# The dev profile (shared with the tests) optimises the hash and curve crates.
cargo build --quiet -p zipchain-cli --bin zipchain -p zipchain-testkit --bin make-snapshot
ZIPCHAIN=$(target_dir)/debug/zipchain
MAKE_SNAPSHOT=$(target_dir)/debug/make-snapshot
OUT=${DEMO_OUT:-demo-out}
DEMO_BLOCKS=${DEMO_BLOCKS:-300}

# step EXPECTED_EXIT TITLE ARGS...: prints the command, runs it, checks its exit status.
step() {
    local expected=$1 title=$2
    shift 2
    printf '\n==> %s\n$ zipchain' "$title"
    printf ' %q' "$@"
    printf '\n'
    local status=0
    "$ZIPCHAIN" "$@" || status=$?
    if ((status != expected)); then
        echo "demo: expected exit $expected, got $status" >&2
        exit 1
    fi
}

rm -rf "$OUT" && mkdir -p "$OUT"
printf '\n==> a chain of %s blocks on the embedded stand-ins -> %s/snapshot\n' "$DEMO_BLOCKS" "$OUT"
"$MAKE_SNAPSHOT" -o "$OUT/snapshot" -n "$DEMO_BLOCKS" --fork-every 50 --fork-len 2 --txs 4
cp "$OUT/snapshot/chain.json" "$OUT/chain.json"
step 0 "audit the snapshot (expect: clean, forks drawn)" \
    audit "$OUT/snapshot" --chain "$OUT/chain.json"
printf 'block 123 tx 2' > "$OUT/tx.bin"
step 0 "certificate of the transaction 'block 123 tx 2'" \
    verify "$OUT/snapshot" --chain "$OUT/chain.json" --data "$OUT/tx.bin" -o "$OUT/cert.json"
step 0 "check the certificate alone (main-chain position not checked)" \
    check "$OUT/cert.json" --chain "$OUT/chain.json"
step 0 "check the certificate against the snapshot" \
    check "$OUT/cert.json" --chain "$OUT/chain.json" --snapshot "$OUT/snapshot"

DOCS=$VECTORS/nitro/docs
POOL=us-east-1_PDsy6i0Bf
step 0 "a real AWS Nitro NSM document, checked at its own timestamp (expect: valid)" \
    nsm verify "$DOCS/blocky_nitrite_nitro_attestation.cbor"
step 1 "a document with a bad COSE signature (expect: invalid, exit 1)" \
    nsm verify "$DOCS/NEGATIVE_eternis_invalid_attestation_badsig.cbor" --allow-debug
step 0 "a real Amazon Cognito ID token with its pool's JWKS, archival (expect: valid)" \
    jwt verify "$VECTORS/jwt/cognito-$POOL/id.jwt" --jwks "$VECTORS/jwt/cognito-$POOL/jwks.json" \
    --issuer "https://cognito-idp.us-east-1.amazonaws.com/$POOL" --token-use id

printf '\ndemo: every verdict was as expected\n'
printf '  snapshot:     %s/snapshot\n  trust:        %s/chain.json\n  certificate:  %s/cert.json\n' "$OUT" "$OUT" "$OUT"
