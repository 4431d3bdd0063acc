#!/usr/bin/env bash
# Installs what scripts/test.sh needs on a fresh machine, and nothing when it is
# already there (safe to run again; scripts/test.sh runs it first):
#   - the Rust toolchain's components and the wasm32-unknown-unknown target that
#     rust-toolchain.toml names;
#   - wasm-bindgen-cli (wasm-bindgen, wasm-bindgen-test-runner) at exactly the
#     version of the `wasm-bindgen` crate in Cargo.lock;
#   - cargo-deny at CARGO_DENY_VERSION (scripts/common.sh), for the supply-chain
#     check (deny.toml);
#   - npm/tools (npm ci): binaryen's wasm-opt and TypeScript for the npm package;
#   - Debian's Chromium (apt-get, when /usr/bin/chromium is missing) and web/'s
#     playwright-core (npm ci) for the web page's browser tests;
#   - moto[server] at MOTO_VERSION (scripts/common.sh) in the virtual environment
#     .venv/moto (pip, from PyPI): the S3 server with Object Lock that the store
#     tests start on loopback (replication/tests/s3_object_lock.rs,
#     writer/tests/s3_object_lock.rs);
#   - azurite at AZURITE_VERSION (npm ci in testkit/azurite), the Azure Blob server
#     of the az:// store tests, and gcp-storage-emulator at GCS_EMULATOR_VERSION in
#     .venv/gcs (pip, from PyPI), the GCS emulator of the gs:// store tests, with
#     testkit/gcs-emulator/xml-api.patch applied (Debian's patch when missing);
#   - cargo-afl at CARGO_AFL_VERSION (scripts/common.sh), which builds AFL++ from the
#     source it ships as it installs (Debian's make and gcc when missing): the fuzzer of
#     scripts/fuzz.sh, on the stable toolchain.
# Needs: rustup + cargo, Node.js >= 20, python3 >= 3.9 with venv and pip, apt-get
# (root or sudo) when Chromium or python3-venv is missing, network to crates.io,
# the npm registry, PyPI and Debian's archive.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh
trap 'finish setup.sh' EXIT

rust_toolchain() {
    # rustup installs what rust-toolchain.toml lists when it installs the
    # toolchain itself; a toolchain that was already there may lack some of it.
    run rustc --version
    local installed
    installed=$(rustup component list --installed)
    for component in rustfmt clippy; do
        if ! grep -q "^$component" <<<"$installed"; then
            run rustup component add "$component"
        fi
    done
    if ! grep -qx wasm32-unknown-unknown <<<"$(rustup target list --installed)"; then
        run rustup target add wasm32-unknown-unknown
    fi
    echo "rustfmt, clippy and wasm32-unknown-unknown are installed"
}

wasm_bindgen_cli() {
    local want
    want=$(locked_version wasm-bindgen)
    if [[ -z $want ]]; then
        echo "Cargo.lock names no wasm-bindgen (verifier-wasm pins it)" >&2
        return 1
    fi
    local have_bindgen have_runner
    have_bindgen=$(wasm-bindgen --version 2>/dev/null || true)
    have_runner=$(wasm-bindgen-test-runner --version 2>/dev/null || true)
    if [[ $have_bindgen == "wasm-bindgen $want" && $have_runner == "wasm-bindgen-test-runner $want" ]]; then
        echo "wasm-bindgen-cli $want already installed"
        return 0
    fi
    echo "need wasm-bindgen-cli $want (have: '${have_bindgen:-none}', '${have_runner:-none}'); about 5 minutes on 2 cores"
    # No --locked: wasm-bindgen-cli 0.2.130's own lockfile pins a webpki-roots
    # release that is not in the index (research/crates-FINDINGS.md §3).
    run cargo install wasm-bindgen-cli --version "=$want" --force
    run wasm-bindgen --version
}

node_js() {
    if ! command -v node >/dev/null; then
        echo "Node.js >= 18 is needed for the wasm tests (wasm-bindgen-test-runner, node:test)" >&2
        return 1
    fi
    local version
    version=$(node --version)
    echo "node $version"
    local major=${version#v}
    major=${major%%.*}
    if ((major < 18)); then
        echo "Node.js $version is too old: node:test needs 18 or newer" >&2
        return 1
    fi
}

node_packages() {
    # npm/tools: binaryen's wasm-opt (the npm build; Debian's binaryen 108 breaks
    # these modules) for scripts/build-npm.sh, and TypeScript for the package's
    # types test. `npm ci` from the committed lockfile, skipped when it already
    # ran after the lockfile last changed; npm's cache makes a rerun work offline.
    local dir=npm/tools
    if [[ -x $dir/node_modules/.bin/wasm-opt && -f $dir/node_modules/typescript/bin/tsc &&
        $dir/node_modules/.package-lock.json -nt $dir/package-lock.json ]]; then
        echo "npm/tools is installed ($($dir/node_modules/.bin/wasm-opt --version))"
        return 0
    fi
    (cd "$dir" && run npm ci --no-audit --no-fund --prefer-offline)
    run "$dir/node_modules/.bin/wasm-opt" --version
}

browser_setup() {
    # The web page's tests (web/tests/) drive Debian's Chromium through
    # playwright-core, never a test tool's own browser download (that fails on
    # this network and is not what users run).
    if [[ -x /usr/bin/chromium ]]; then
        echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
    else
        local sudo=()
        if ((EUID != 0)); then
            sudo=(sudo)
        fi
        run "${sudo[@]}" apt-get update
        run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
    fi
    # playwright-core only (web/package-lock.json); it downloads no browser.
    (cd web && run npm ci --no-audit --no-fund)
}

moto_server() {
    # moto's S3 (and, for later backends of issue #15, its other services) in a
    # virtual environment of its own, so that neither the system's nor the user's
    # Python packages change; the tests find .venv/moto/bin/moto_server
    # (ZIPCHAIN_MOTO_SERVER overrides it). Reinstalled only when the pinned
    # version is not the one installed.
    local venv=$MOTO_VENV
    if [[ $(moto_installed_version) == "$MOTO_VERSION" ]]; then
        echo "moto[server] $MOTO_VERSION is installed in $venv"
        return 0
    fi
    python_venv "$venv" "moto_server (the S3 store tests)"
    run "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet "moto[server]==$MOTO_VERSION"
    run "$venv/bin/moto_server" --help >/dev/null
    echo "moto[server] $MOTO_VERSION installed in $venv"
}

python_venv() {
    # Makes the virtual environment $1 with the system's python3, installing
    # Debian's python3-venv when python3 cannot make one by itself; $2 names
    # what it is for in the message when there is no python3 (default: $1).
    local venv=$1 what=${2:-$1}
    [[ -x $venv/bin/python ]] && return 0
    if ! command -v python3 >/dev/null; then
        echo "python3 is needed for $what" >&2
        return 1
    fi
    run python3 --version
    if ! python3 -m venv "$venv"; then
        # Debian's python3 leaves ensurepip to the python3-venv package.
        rm -rf "$venv"
        local sudo=()
        if ((EUID != 0)); then
            sudo=(sudo)
        fi
        run "${sudo[@]}" apt-get update
        run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv
        run python3 -m venv "$venv"
    fi
}

azurite() {
    # The Azure Blob server of the az:// store tests, npm ci from the committed
    # lockfile (testkit/azurite), skipped when the pinned version is there; the
    # tests start its azurite-blob with --disableTelemetry (ZIPCHAIN_AZURITE
    # overrides it).
    if [[ $(azurite_installed_version) == "$AZURITE_VERSION" &&
        $AZURITE_DIR/node_modules/.package-lock.json -nt $AZURITE_DIR/package-lock.json ]]; then
        echo "azurite $AZURITE_VERSION is installed in $AZURITE_DIR"
        return 0
    fi
    (cd "$AZURITE_DIR" && run npm ci --no-audit --no-fund --prefer-offline)
    [[ $(azurite_installed_version) == "$AZURITE_VERSION" ]] || {
        echo "$AZURITE_DIR/package.json does not pin azurite $AZURITE_VERSION" >&2
        return 1
    }
    echo "azurite $AZURITE_VERSION installed in $AZURITE_DIR"
}

gcs_emulator() {
    # The GCS emulator of the gs:// store tests, pure Python, in a virtual
    # environment of its own (ZIPCHAIN_GCS_EMULATOR overrides it), patched with
    # GCS_EMULATOR_PATCH: the XML API object_store's GCS client speaks.
    if [[ $(gcs_emulator_installed_version) == "$GCS_EMULATOR_VERSION" ]] && gcs_emulator_patched; then
        echo "gcp-storage-emulator $GCS_EMULATOR_VERSION is installed in $GCS_VENV, patched"
        return 0
    fi
    if ! command -v patch >/dev/null; then
        local sudo=()
        if ((EUID != 0)); then
            sudo=(sudo)
        fi
        run "${sudo[@]}" apt-get update
        run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends patch
    fi
    python_venv "$GCS_VENV"
    # --force-reinstall: the release's own files, whatever was there, for the patch.
    run "$GCS_VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet --force-reinstall "gcp-storage-emulator==$GCS_EMULATOR_VERSION"
    run patch -p1 --forward -d "$(gcs_emulator_site)" -i "$PWD/$GCS_EMULATOR_PATCH"
    gcs_emulator_patched
    run "$GCS_VENV/bin/gcp-storage-emulator" --help >/dev/null
    echo "gcp-storage-emulator $GCS_EMULATOR_VERSION installed in $GCS_VENV, patched with $GCS_EMULATOR_PATCH"
}

cargo_afl() {
    # AFL++ through cargo-afl: cargo-fuzz would need a nightly toolchain, which these
    # machines cannot install (docs/FUZZING.md). Its install builds AFL++ (make, a C
    # compiler) for the current rustc; a rustc upgrade needs it built again.
    if cargo_afl_installed; then
        echo "$(cargo afl --version) is installed"
        return 0
    fi
    if ! command -v make >/dev/null || ! command -v cc >/dev/null; then
        local sudo=()
        if ((EUID != 0)); then
            sudo=(sudo)
        fi
        run "${sudo[@]}" apt-get update
        run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends make gcc libc6-dev
    fi
    if [[ $(cargo afl --version 2>/dev/null) != "cargo-afl $CARGO_AFL_VERSION "* ]]; then
        echo "need cargo-afl $CARGO_AFL_VERSION; about 2 minutes on 2 cores (AFL++ included)"
        run cargo install cargo-afl --version "=$CARGO_AFL_VERSION" --locked --force
    fi
    if ! cargo_afl_installed; then
        run cargo afl config --build --force
    fi
    cargo_afl_installed
    echo "$(cargo afl --version) installed"
}

cargo_deny() {
    # The dependency graph's bans, licenses and sources (deny.toml), checked offline by
    # scripts/test.sh. Built from crates.io with the crate's own lock file (--locked),
    # at exactly CARGO_DENY_VERSION; about 5 minutes on 2 cores, once.
    if [[ $(cargo_deny_installed_version) == "$CARGO_DENY_VERSION" ]]; then
        echo "cargo-deny $CARGO_DENY_VERSION is installed"
        return 0
    fi
    run cargo install cargo-deny --version "=$CARGO_DENY_VERSION" --locked --force
    run cargo deny --version
}

section "rust toolchain" rust_toolchain
section "cargo-deny" cargo_deny
section "wasm-bindgen-cli" wasm_bindgen_cli
section "node" node_js
section "node packages (npm/tools)" node_packages
section "browser (chromium, web/ node packages)" browser_setup
section "moto_server (S3 with Object Lock, for the store tests)" moto_server
section "azurite (Azure Blob, for the store tests)" azurite
section "gcp-storage-emulator (GCS, for the store tests)" gcs_emulator
section "cargo-afl (AFL++, for scripts/fuzz.sh)" cargo_afl
