#!/usr/bin/env bash
# Writes the small real chain that the npm package's tests (and the web page's)
# check certificates and audits against:
#   OUT/snapshot/      a SPEC §2.1 snapshot directory (testkit's make-snapshot:
#                      20 main-chain blocks, a 2-block losing fork every 10 heights,
#                      4 transactions a block)
#   OUT/snapshot.tar   the same files as a tar, the layout at the archive's root
#                      (`chain.json`, `blocks/…`), names sorted, owner 0, mtime 0
#   OUT/chain.json     the trust descriptor (a copy of snapshot/chain.json)
#   OUT/tx.bin         the transaction "block 3 tx 1"
#   OUT/cert.json      its certificate (`zipchain verify`)
#   OUT/audit.json     `zipchain audit --json` of the snapshot, for comparison
#   OUT/equivocation.json  the four objects of a sibling of block 1 that a rolled-back
#                      sequencer also numbered 1; not in the snapshot (the npm tests add
#                      them to make one whose sequencer equivocated)
#   OUT/chain-v2.json  chain.json as a v2 descriptor (SPEC §9.4) naming three witnesses,
#                      alpha.example, bravo.example and charlie.example (keys made by
#                      `zipchain witness keygen`, not kept), quorum 2
#   OUT/cert-v2.json   the certificate v2 of tx.bin (SPEC §9.5): the audited checkpoint
#                      cosigned by alpha and bravo (`zipchain cosign`), `verify --checkpoint`
#   OUT/cognito-moto.json  tokens of two user pools of moto's Cognito for one y, made as
#                      the writer makes its timestamps (testkit's cognito-token, issue #15),
#                      with the first pool's issuer and JWKS; `{"skipped": …}` with
#                      ZIPCHAIN_SKIP_MOTO=1 (needs .venv/moto from scripts/setup.sh otherwise)
# Usage: scripts/make-fixtures.sh [OUT]   (default: <cargo target dir>/fixtures)
# Builds in the dev profile (shared with the tests; it optimises the crypto crates).
# Needs node (for chain-v2.json; the npm and web tests that use the fixtures need it too).
# Idempotent: when OUT already holds every file, made from the same sources (a hash of
# the Rust sources of the crates that write them, and of this script, in OUT/.sources),
# it is left alone; otherwise it is rebuilt from scratch, so fixtures never outlive a
# change of format. The chain's keys are fresh each time, so the contents differ
# between builds; the names never do.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

TARGET=$(target_dir)
OUT=${1:-$TARGET/fixtures}
FILES=(snapshot/chain.json snapshot.tar chain.json tx.bin cert.json audit.json equivocation.json
    chain-v2.json cert-v2.json cognito-moto.json)

# What the fixtures are made from: every source file of the crates that write them.
sources_hash() {
    find verifier-core/src verifier-cli/src testkit/src snapshot-fs/src nsm-issuer/src services/src \
        cognito/src \
        -type f -name '*.rs' -print0 | sort -z | xargs -0 sha256sum |
        cat - scripts/make-fixtures.sh Cargo.lock | sha256sum | cut -d' ' -f1
}
SOURCES=$(sources_hash)

complete() {
    local f
    for f in "${FILES[@]}"; do
        [[ -s $OUT/$f ]] || return 1
    done
    [[ $(cat "$OUT/.sources" 2>/dev/null) == "$SOURCES" ]]
}

if complete; then
    echo "make-fixtures: $OUT is complete and made from these sources; leaving it"
    exit 0
fi

run cargo build --quiet -p zipchain-cli --bin zipchain -p zipchain-testkit --bin make-snapshot \
    --bin cognito-token
ZIPCHAIN=$TARGET/debug/zipchain
MAKE_SNAPSHOT=$TARGET/debug/make-snapshot

# Build beside OUT, then move into place, so an interrupted run leaves no half OUT.
WORK=$OUT.tmp.$$
trap 'rm -rf "$WORK"' EXIT
rm -rf "$WORK" && mkdir -p "$WORK"
run "$MAKE_SNAPSHOT" -o "$WORK/snapshot" -n 20 --fork-every 10 --fork-len 2 --txs 4 \
    --equivocation-out "$WORK/equivocation.json"
cp "$WORK/snapshot/chain.json" "$WORK/chain.json"
# GNU tar: a deterministic archive of the directory's contents (`./chain.json`,
# `./blocks/<hex>`, …), which verifier-core's tar reader takes at the root.
run tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=ustar \
    -cf "$WORK/snapshot.tar" -C "$WORK/snapshot" .
printf 'block 3 tx 1' >"$WORK/tx.bin"
run "$ZIPCHAIN" verify "$WORK/snapshot" --chain "$WORK/chain.json" --data "$WORK/tx.bin" \
    -o "$WORK/cert.json"
"$ZIPCHAIN" audit "$WORK/snapshot.tar" --chain "$WORK/chain.json" --json >"$WORK/audit.json"
run "$ZIPCHAIN" check "$WORK/cert.json" --chain "$WORK/chain.json" --snapshot "$WORK/snapshot.tar"

# The certificate v2 (SPEC §9): three witnesses, quorum 2, two of them cosign after
# their own audit. The keys, checkpoints and witness states stay in $KEYS, removed.
KEYS=$WORK/witnesses
mkdir -p "$KEYS"
WITNESS_NAMES=(alpha.example bravo.example charlie.example)
VKEYS=()
for name in "${WITNESS_NAMES[@]}"; do
    VKEYS+=("$("$ZIPCHAIN" witness keygen --name "$name" -o "$KEYS/$name.key")")
done
node -e '
const [from, to, ...keys] = process.argv.slice(1);
const chain = JSON.parse(require("node:fs").readFileSync(from, "utf8"));
chain.zipchain_chain = 2;
chain.witnesses = { keys, quorum: 2 };
require("node:fs").writeFileSync(to, `${JSON.stringify(chain, null, 2)}\n`);
' "$WORK/chain.json" "$WORK/chain-v2.json" "${VKEYS[@]}"
run "$ZIPCHAIN" audit "$WORK/snapshot" --chain "$WORK/chain-v2.json" \
    --checkpoint-out "$KEYS/checkpoint" >/dev/null
NOTE=$KEYS/checkpoint
for name in "${WITNESS_NAMES[@]:0:2}"; do
    # Not through `run`: stdout is the cosigned note.
    "$ZIPCHAIN" cosign "$NOTE" --snapshot "$WORK/snapshot" --chain "$WORK/chain-v2.json" \
        --key "$KEYS/$name.key" --state "$KEYS/$name.state" >"$KEYS/$name.note"
    NOTE=$KEYS/$name.note
done
run "$ZIPCHAIN" verify "$WORK/snapshot" --chain "$WORK/chain-v2.json" --data "$WORK/tx.bin" \
    --checkpoint "$NOTE" -o "$WORK/cert-v2.json"
run "$ZIPCHAIN" check "$WORK/cert-v2.json" --chain "$WORK/chain-v2.json"
rm -rf "$KEYS"
run "$TARGET/debug/cognito-token" -o "$WORK/cognito-moto.json"
echo "$SOURCES" >"$WORK/.sources"

rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
mv "$WORK" "$OUT"
echo "make-fixtures: wrote $OUT ($(du -sh "$OUT" | cut -f1)): ${FILES[*]}"
