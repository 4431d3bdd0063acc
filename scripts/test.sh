#!/usr/bin/env bash
# THE test command (README "Quick start": `scripts/setup.sh && scripts/test.sh`);
# .ci/run calls both. It installs nothing itself: it first checks that what
# scripts/setup.sh installs is there (and says to run it when not), then
#   1. checks formatting and clippy (native, with the sequencer's `enclave` feature too,
#      and wasm32 for the crates that ship there), and the dependency graph (cargo deny),
#   2. runs the native tests of the whole workspace, then a 75 s soak of the writer under
#      load with faults injected (scripts/soak.sh),
#   3. builds verifier-core for wasm32-unknown-unknown with default, no and all
#      (wasm-capable) features, and runs its tests there under Node,
#   4. builds the npm package zipchain-verifier (scripts/build-npm.sh) and runs
#      its node:test tests against the installed tarball (scripts/test-npm.sh),
#   5. builds the web page into web/dist and runs its tests in headless Chromium,
#   6. fuzzes every fuzz target of fuzz/ for a few seconds under AFL++ (scripts/fuzz.sh
#      short; docs/FUZZING.md), failing on any crash.
# Stops at the first failure, naming the section; exits nonzero if anything failed.
# `scripts/test.sh SECTION...` runs only the sections named (their short names:
# vectors fmt clippy deny clippy-wasm native native-all soak wasm-build wasm npm web fuzz), after
# the prerequisites check; `scripts/test.sh --list` lists them.
# The tests read ../shared/vectors in place; without that folder the vector tests
# report that they were skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

export RUST_BACKTRACE=1
WASM=wasm32-unknown-unknown
CORE=zipchain-verifier-core
WASM_CRATE=zipchain-verifier-wasm
# verifier-core features that cannot exist on wasm32 (threads; aws-lc-rs, C and
# assembly); left out of the wasm "all features" build (its dependency is native-only
# too, so a wasm32 --all-features build still compiles).
NATIVE_ONLY_FEATURES=(parallel aws-lc)

# What scripts/setup.sh installs, checked without installing anything.
prerequisites() {
    local missing=()
    grep -qx "$WASM" <<<"$(rustup target list --installed)" || missing+=("the $WASM target")
    local want
    want=$(locked_version wasm-bindgen)
    [[ $(wasm-bindgen --version 2>/dev/null) == "wasm-bindgen $want" ]] ||
        missing+=("wasm-bindgen-cli $want")
    [[ -x npm/tools/node_modules/.bin/wasm-opt ]] || missing+=("npm/tools (binaryen, TypeScript)")
    [[ -x /usr/bin/chromium ]] || missing+=("Chromium (/usr/bin/chromium)")
    [[ -d web/node_modules/playwright-core ]] || missing+=("web/node_modules (playwright-core)")
    [[ $(cargo_deny_installed_version) == "$CARGO_DENY_VERSION" ]] ||
        missing+=("cargo-deny $CARGO_DENY_VERSION")
    [[ $(moto_installed_version) == "$MOTO_VERSION" ]] ||
        missing+=("moto[server] $MOTO_VERSION in $MOTO_VENV (the S3 store tests start its moto_server)")
    [[ $(azurite_installed_version) == "$AZURITE_VERSION" ]] ||
        missing+=("azurite $AZURITE_VERSION in $AZURITE_DIR/node_modules (the Azure store tests start it)")
    if [[ $(gcs_emulator_installed_version) != "$GCS_EMULATOR_VERSION" ]] || ! gcs_emulator_patched; then
        missing+=("gcp-storage-emulator $GCS_EMULATOR_VERSION in $GCS_VENV, patched with $GCS_EMULATOR_PATCH (the GCS store tests start it)")
    fi
    cargo_afl_installed || missing+=("cargo-afl $CARGO_AFL_VERSION with AFL++ built for $(rustc --version)")
    if ((${#missing[@]})); then
        printf 'missing: %s
' "${missing[@]}" >&2
        echo "run scripts/setup.sh first (it installs all of these)" >&2
        return 1
    fi
    echo "the wasm32 target, wasm-bindgen-cli $want, cargo-deny $CARGO_DENY_VERSION, npm/tools, Chromium, playwright-core, moto[server] $MOTO_VERSION, azurite $AZURITE_VERSION, gcp-storage-emulator $GCS_EMULATOR_VERSION (patched) and cargo-afl $CARGO_AFL_VERSION are installed"
}

vectors() {
    if [[ -f ../shared/vectors/nitro/docs/MANIFEST.json ]]; then
        echo "test vectors: $(cd ../shared/vectors && pwd)"
    elif [[ -n ${ZIPCHAIN_VECTORS:-} ]]; then
        echo "test vectors: ZIPCHAIN_VECTORS=$ZIPCHAIN_VECTORS"
    else
        echo "WARNING: ../shared/vectors not found and ZIPCHAIN_VECTORS unset: vector tests will be SKIPPED" >&2
    fi
}

fmt() {
    run cargo fmt --all --check
}

clippy_native() {
    run cargo clippy --workspace --all-targets -- -D warnings
    # The sequencer's enclave mode (/dev/nsm, vsock; docs/ENCLAVE.md), off by default:
    # compiled and linted here (no Nitro hardware needed; none of it runs in CI). Its
    # unit tests: cargo test -p zipchain-services --features enclave --lib
    run cargo clippy -p zipchain-services --features enclave --all-targets -- -D warnings
    # The fuzz crate's seed generator (feature `seeds`, the test kit's chains).
    run cargo clippy -p zipchain-fuzz --features seeds --all-targets -- -D warnings
    # Doc comments link only to what exists and is public.
    RUSTDOCFLAGS="-D warnings" run cargo doc --workspace --no-deps
}

deny() {
    # The dependency graph (deny.toml; SECURITY.md, "Supply chain"): no crate from another
    # registry or git, only the licenses listed, no wildcard versions, no OpenSSL, and a
    # Cargo.lock that needs no change. The advisory check needs the RustSec database from
    # GitHub, which CI cannot reach: run `cargo deny check advisories` with network access.
    run cargo deny --locked check bans licenses sources
}

clippy_wasm() {
    run cargo clippy -p "$CORE" -p "$WASM_CRATE" --target "$WASM" --lib --tests -- -D warnings
}

tests_native() {
    run cargo test --workspace
}

tests_native_all_features() {
    run cargo test -p "$CORE" --all-features
    # The aws-lc backend without `parallel` (the one-thread audit, as on wasm32): every
    # verifier test runs on each backend compiled in, and tests/crypto_differential.rs
    # feeds both the same real and mutated inputs (issue #19).
    run cargo test -p "$CORE" --features aws-lc
}

# verifier-core's features minus `default` and the native-only ones, comma-separated.
wasm_features() {
    cargo metadata --no-deps --format-version 1 | node -e '
        const [core, ...skip] = process.argv.slice(1);
        const meta = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const pkg = meta.packages.find((p) => p.name === core);
        if (!pkg) throw new Error(`no package ${core} in cargo metadata`);
        const out = Object.keys(pkg.features).filter((f) => f !== "default" && !skip.includes(f));
        console.log(out.join(","));
    ' "$CORE" "${NATIVE_ONLY_FEATURES[@]}"
}

build_wasm_matrix() {
    run cargo build -p "$CORE" --target "$WASM" --lib
    run cargo build -p "$CORE" --target "$WASM" --lib --no-default-features
    local features
    features=$(wasm_features)
    if [[ -n $features ]]; then
        run cargo build -p "$CORE" --target "$WASM" --lib --features "$features"
    else
        echo "verifier-core has no features beyond default that build on wasm32 (native-only: ${NATIVE_ONLY_FEATURES[*]})"
    fi
}

tests_wasm() {
    # The runner, wasm-bindgen-test-runner, comes from .cargo/config.toml.
    run cargo test -p "$CORE" --target "$WASM"
}

wasm_module() {
    # The npm package as users get it (SPEC §8): scripts/build-npm.sh builds the
    # module (wasm-release profile, wasm-bindgen --target web, wasm-opt), checks
    # its size and packs the tarball; scripts/test-npm.sh installs that tarball
    # into a scratch project and runs npm/test/*.test.mjs against it (the module
    # has no `env` imports; every export on the shared vectors and on a real chain
    # from scripts/make-fixtures.sh; index.d.ts under tsc --strict).
    run bash scripts/build-npm.sh
    run bash scripts/test-npm.sh
}

soak() {
    # A short soak (issue #18; the 10-minute one is in BENCHMARKS.md): the writer, debug
    # build, under 1,000 tx/s for 75 s while faults come at random (SIGKILL and restart,
    # a store gone, the sequencer and the timestamp service down, hung or slow); fails if
    # anything acknowledged is lost or duplicated (checked from a pull of the stores).
    PROFILE=dev SOAK_SECONDS=75 SOAK_RATE=1000 SAMPLE_EVERY=50 \
        FAULT_GAP_MIN=3 FAULT_GAP_MAX=5 FAULT_LEN_MIN=2 FAULT_LEN_MAX=5 \
        run bash scripts/soak.sh
}

browser_tests() {
    # The web page (web/): build it into web/dist (web/build.mjs runs
    # scripts/build-npm.sh when the package is missing or stale), make the small
    # real chain it checks (scripts/make-fixtures.sh; kept when already there),
    # then drive it in headless Chromium (web/tests/*.test.mjs). Writes
    # target/web-screenshot.png and target/web-bench.json.
    run node web/build.mjs
    run bash scripts/make-fixtures.sh
    run node --test web/tests/
}

fuzzing() {
    # Every target of fuzz/ under AFL++ for 8 seconds (docs/FUZZING.md): about 5 minutes
    # with the instrumented build cached, 10 more for a cold one.
    run bash scripts/fuzz.sh short 8
}

# Short name, title, function: the sections in the order they run.
SECTIONS=(
    "vectors|test vectors|vectors"
    "fmt|fmt|fmt"
    "clippy|clippy (native)|clippy_native"
    "deny|supply chain (cargo deny: bans, licenses, sources)|deny"
    "clippy-wasm|clippy (wasm32)|clippy_wasm"
    "native|tests (native)|tests_native"
    "native-all|tests (native, verifier-core all features)|tests_native_all_features"
    "soak|soak (75 s of faults under load, nothing acknowledged lost)|soak"
    "wasm-build|build verifier-core (wasm32: default, no, all features)|build_wasm_matrix"
    "wasm|tests (wasm32, node)|tests_wasm"
    "npm|wasm module and npm package (build-npm.sh, test-npm.sh)|wasm_module"
    "web|web page in Chromium|browser_tests"
    "fuzz|fuzz targets under AFL++ (scripts/fuzz.sh short)|fuzzing"
)

if [[ ${1:-} == --list ]]; then
    for entry in "${SECTIONS[@]}"; do
        IFS='|' read -r short title _ <<<"$entry"
        printf '%-12s %s\n' "$short" "$title"
    done
    exit 0
fi
for wanted in "$@"; do
    if ! grep -q "^$wanted|" <<<"$(printf '%s\n' "${SECTIONS[@]}")"; then
        echo "test.sh: no section named '$wanted' (scripts/test.sh --list)" >&2
        exit 2
    fi
done

trap 'finish test.sh' EXIT
section "prerequisites (installed by scripts/setup.sh)" prerequisites
for entry in "${SECTIONS[@]}"; do
    IFS='|' read -r short title function <<<"$entry"
    if (($# == 0)) || grep -qx "$short" <<<"$(printf '%s\n' "$@")"; then
        section "$title" "$function"
    fi
done
