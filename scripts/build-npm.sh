#!/usr/bin/env bash
# Builds the npm package `zipchain-verifier` (SPEC §8) from verifier-wasm:
#   1. cargo build (wasm32-unknown-unknown, profile wasm-release: opt-level z, fat
#      LTO; root Cargo.toml) of zipchain-verifier-wasm, with sha2's compact (rolled)
#      compression functions (`--cfg sha2_backend_soft="compact"`);
#   2. wasm-bindgen --target web: one module for Node 20+ and browsers, which
#      npm/index.js loads (Node: reads the .wasm; browsers: fetches it);
#   3. wasm-opt (binaryen from npm, installed by scripts/setup.sh into npm/tools;
#      never Debian's binaryen 108, which breaks these modules);
#   4. assembles <target>/npm/package/ from the npm/ template (package.json with
#      the workspace's version, index.js, index.d.ts, README.md) and the module;
#   5. npm pack -> <target>/npm/zipchain-verifier-<version>.tgz.
# Prints the .wasm sizes; fails when the optimised module is over WASM_MAX_BYTES.
# The limit is issue #5's goal, 600 KiB (614400 B); the module is 612 KB with -Oz
# (docs/benchmarks-history.md: what each change saved).
# Env: WASM_OPT_LEVEL (default -Oz since SPEC §9's checkpoint checks joined the module:
# with -O3 it is 623 KB; -Oz's NSM check ran about 1.6 times slower under Node when
# last measured; docs/DECISIONS.md), WASM_MAX_BYTES (default 614400).
# The passes run until the module stops shrinking (--converge: about 600 B smaller than one
# -Oz round, for about 45 s more) and the producers section (which compiler built it) is
# dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

WASM=wasm32-unknown-unknown
CRATE=zipchain-verifier-wasm
NAME=zipchain_verifier_wasm
PROFILE=wasm-release
OPT_LEVEL=${WASM_OPT_LEVEL:--Oz}
MAX_BYTES=${WASM_MAX_BYTES:-614400}
WASM_OPT=npm/tools/node_modules/.bin/wasm-opt

if [[ ! -x $WASM_OPT ]]; then
    echo "build-npm: $WASM_OPT is missing; run scripts/setup.sh (npm ci in npm/tools)" >&2
    exit 1
fi

TARGET=$(target_dir)
OUT=$TARGET/npm
BINDGEN=$OUT/bindgen
PKG=$OUT/package
VERSION=$(cargo metadata --no-deps --format-version 1 |
    node -e 'const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
             const p = m.packages.find((p) => p.name === process.argv[1]);
             if (!p) throw new Error("no package " + process.argv[1]);
             console.log(p.version);' "$CRATE")

# sha2's rolled rounds: 12 KB smaller; SHA-256/384/512 are a small part of any check.
RUSTFLAGS="${RUSTFLAGS:-} --cfg sha2_backend_soft=\"compact\"" \
    run cargo build -p "$CRATE" --target "$WASM" --profile "$PROFILE"
RAW=$TARGET/$WASM/$PROFILE/$NAME.wasm

rm -rf "$BINDGEN" "$PKG" && mkdir -p "$BINDGEN" "$PKG"
run wasm-bindgen --target web --no-typescript --out-dir "$BINDGEN" "$RAW"
# The features rustc enables by default for wasm32-unknown-unknown; wasm-bindgen
# drops the target_features section wasm-opt would otherwise read them from.
# --low-memory-unused lets wasm-opt fold small constants into load and store offsets
# (4.5 KB): it changes only an access whose address would wrap past 4 GiB into the
# first 1 KiB, which Rust's code never makes (docs/DECISIONS.md, "The npm module's size").
run "$WASM_OPT" "$OPT_LEVEL" --converge --strip-producers --low-memory-unused \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$BINDGEN/${NAME}_bg.wasm" -o "$PKG/${NAME}_bg.wasm"
cp "$BINDGEN/$NAME.js" "$PKG/"
cp npm/index.js npm/index.d.ts npm/README.md "$PKG/"
node -e '
    const fs = require("fs");
    const [template, out, version] = process.argv.slice(1);
    const pkg = JSON.parse(fs.readFileSync(template, "utf8"));
    pkg.version = version;
    fs.writeFileSync(out, JSON.stringify(pkg, null, 2) + "\n");
' npm/package.json "$PKG/package.json" "$VERSION"

size() { stat -c %s "$1"; }
raw_bytes=$(size "$RAW")
bindgen_bytes=$(size "$BINDGEN/${NAME}_bg.wasm")
opt_bytes=$(size "$PKG/${NAME}_bg.wasm")
gzip_bytes=$(gzip -9 -c "$PKG/${NAME}_bg.wasm" | wc -c)
printf 'wasm sizes: cargo %s B, wasm-bindgen %s B, wasm-opt %s %s B (gzip -9: %s B); limit %s B\n' \
    "$raw_bytes" "$bindgen_bytes" "$OPT_LEVEL" "$opt_bytes" "$gzip_bytes" "$MAX_BYTES"
if ((opt_bytes > MAX_BYTES)); then
    echo "build-npm: the optimised module is $opt_bytes bytes, over the $MAX_BYTES limit" >&2
    exit 1
fi

(cd "$OUT" && rm -f zipchain-verifier-*.tgz && run npm pack --silent "$PKG" >/dev/null)
TGZ=$OUT/zipchain-verifier-$VERSION.tgz
[[ -f $TGZ ]] || { echo "build-npm: npm pack wrote no $TGZ" >&2; exit 1; }
echo "build-npm: $TGZ ($(size "$TGZ") B)"
