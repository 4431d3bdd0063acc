# Shared by the scripts in scripts/ and by .ci/run (sourced, not run).
#
# `section NAME FUNCTION [ARGS...]` runs one step under a header, times it, and
# records the time; `finish` (installed as the EXIT trap) prints the table of
# timings and, when the script is failing, the section it failed in. With
# `set -euo pipefail` the first failing command ends the script.

# Tools installed by `cargo install` land here; a fresh shell may not have it on PATH.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# moto[server], the S3 server the store tests start on loopback (issue #15):
# scripts/setup.sh installs exactly this version into MOTO_VENV, and
# scripts/test.sh checks that it is there.
MOTO_VERSION=5.2.5
MOTO_VENV=.venv/moto

# Azurite, the Azure Blob server of the az:// store tests: pinned in
# testkit/azurite/package.json (npm ci from its lockfile into AZURITE_DIR).
AZURITE_DIR=testkit/azurite
AZURITE_VERSION=3.37.0

# gcp-storage-emulator (PyPI), the GCS emulator of the gs:// store tests, in GCS_VENV,
# with GCS_EMULATOR_PATCH applied to it (the XML API that object_store's GCS client
# speaks; the patch's header says what and why).
GCS_EMULATOR_VERSION=2026.7.19
GCS_VENV=.venv/gcs
GCS_EMULATOR_PATCH=testkit/gcs-emulator/xml-api.patch

# cargo-afl (crates.io), the fuzzer of scripts/fuzz.sh on the stable toolchain: its
# `cargo install` also builds AFL++ from the source it ships (make and a C compiler;
# AFL++ 4.40c for 0.18.2). fuzz/Cargo.toml pins the `afl` crate to the same version.
CARGO_AFL_VERSION=0.18.2

# Whether cargo-afl CARGO_AFL_VERSION is installed with AFL++ built for this rustc.
cargo_afl_installed() {
    # The help text is read whole before it is searched: `cargo afl fuzz -h | grep -q`
    # under pipefail fails at random, as cargo-afl panics (exit 101) on the pipe grep
    # closed once it had its match.
    local help
    [[ $(cargo afl --version 2>/dev/null) == "cargo-afl $CARGO_AFL_VERSION "* ]] || return 1
    help=$(cargo afl fuzz -h 2>&1) || true
    [[ $help == *'afl-fuzz++'* ]]
}

# cargo-deny (crates.io), the supply-chain check of scripts/test.sh (section `deny`,
# deny.toml): scripts/setup.sh builds exactly this version (`cargo install --locked`).
CARGO_DENY_VERSION=0.20.2

# The cargo-deny version on PATH, or nothing.
cargo_deny_installed_version() {
    cargo deny --version 2>/dev/null | sed -n 's/^cargo-deny //p' || true
}

# The Azurite version installed in AZURITE_DIR, or nothing.
azurite_installed_version() {
    [[ -x $AZURITE_DIR/node_modules/.bin/azurite-blob ]] || return 0
    node -p 'require("./'"$AZURITE_DIR"'/node_modules/azurite/package.json").version' 2>/dev/null || true
}

# The gcp-storage-emulator version installed in GCS_VENV, or nothing.
gcs_emulator_installed_version() {
    [[ -x $GCS_VENV/bin/gcp-storage-emulator ]] || return 0
    "$GCS_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("gcp-storage-emulator"))' 2>/dev/null || true
}

# The site-packages directory of GCS_VENV, where GCS_EMULATOR_PATCH applies.
gcs_emulator_site() {
    "$GCS_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

# Whether GCS_EMULATOR_PATCH is applied, whole, to the emulator in GCS_VENV.
gcs_emulator_patched() {
    [[ -x $GCS_VENV/bin/python ]] && command -v patch >/dev/null || return 1
    patch -p1 -R --dry-run -s -f -d "$(gcs_emulator_site)" -i "$PWD/$GCS_EMULATOR_PATCH" >/dev/null 2>&1
}

# The moto version installed in MOTO_VENV, or nothing.
moto_installed_version() {
    [[ -x $MOTO_VENV/bin/moto_server ]] || return 0
    "$MOTO_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true
}

SECTION_TIMES=()
CURRENT_SECTION=""

section() {
    local name=$1
    shift
    CURRENT_SECTION=$name
    printf '\n==== %s ====\n' "$name"
    local start=$SECONDS
    "$@"
    local took=$((SECONDS - start))
    SECTION_TIMES+=("$(printf '%6ss  %s' "$took" "$name")")
    printf -- '---- %s: ok (%ss)\n' "$name" "$took"
    CURRENT_SECTION=""
}

# `listening_url LOG PID`: waits (up to 60 s) until the daemon PID writes the URL it
# listens on (`http://127.0.0.1:<port>`) into LOG, and echoes it; fails, showing the log,
# when the daemon exits or says nothing.
listening_url() {
    local log=$1 pid=$2 url=""
    for _ in $(seq 1 600); do
        url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n1 || true)
        [[ -n $url ]] && break
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "$log: the daemon exited" >&2; return 1; }
        sleep 0.1
    done
    [[ -n $url ]] || { cat "$log" >&2; echo "$log: the daemon did not say where it listens" >&2; return 1; }
    echo "$url"
}

# Echoes a command, then runs it.
run() {
    printf '+ %s\n' "$*"
    "$@"
}

finish() {
    local rc=$?
    local script=$1
    if ((${#SECTION_TIMES[@]})); then
        printf '\n==== %s: timings ====\n' "$script"
        printf '%s\n' "${SECTION_TIMES[@]}"
    fi
    if ((rc != 0)); then
        printf '\n%s: FAILED in section "%s" (exit %s)\n' "$script" "${CURRENT_SECTION:-?}" "$rc" >&2
    else
        printf '\n%s: all sections passed (%ss)\n' "$script" "$SECONDS"
    fi
    return "$rc"
}

# The version of a package as Cargo.lock pins it (the first entry of that name).
locked_version() {
    awk -v want="name = \"$1\"" '$0 == want { getline; gsub(/^version = "|"$/, ""); print; exit }' Cargo.lock
}

# Cargo's target directory (honours CARGO_TARGET_DIR and .cargo/config.toml).
target_dir() {
    cargo metadata --no-deps --format-version 1 |
        node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).target_directory)'
}
