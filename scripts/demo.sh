#!/usr/bin/env bash
# The main job, for now: the verifier's two trust checks on real artifacts that
# nobody here wrote (README "Quick start"). Later issues make this the full local
# end-to-end demo (the writer on its embedded stand-ins, then audit, verify and
# check); until then it runs SPEC §6's single-object commands:
#   1. `zipchain nsm verify` on a real AWS Nitro attestation document (Blocky's
#      production document) at its own timestamp, under the embedded AWS root;
#   2. the same on a document whose COSE signature was tampered with (expect exit 1);
#   3. `zipchain jwt verify` on a real Amazon Cognito ID token with its pool's JWKS,
#      archival (the token expired in 2020; `exp` is not checked).
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

echo "==> building the zipchain CLI"
cargo build --quiet -p zipchain-cli --bin zipchain
ZIPCHAIN=$(target_dir)/debug/zipchain

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
