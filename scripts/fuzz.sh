#!/usr/bin/env bash
# The fuzz targets of fuzz/ (issue #18, docs/FUZZING.md) under AFL++, through cargo-afl on
# the stable toolchain (scripts/setup.sh installs cargo-afl CARGO_AFL_VERSION and builds
# AFL++ with it):
#   scripts/fuzz.sh seeds                 writes the seed corpora into $FUZZ_DIR/seeds
#   scripts/fuzz.sh build                 builds the instrumented zipchain-fuzz
#   scripts/fuzz.sh short [SECONDS]       seeds, build, then every target for SECONDS
#                                         (default 8) of fuzzing; fails on any crash
#   scripts/fuzz.sh long TARGET [MINUTES] seeds, build, then TARGET until the fuzzer and
#                                         the target have used MINUTES (default 10) of CPU,
#                                         under nice -n 19; prints the line docs/FUZZING.md
#                                         records. Its corpus stays in $FUZZ_DIR/long/TARGET.
# FUZZ_DIR defaults to $CARGO_TARGET_DIR/fuzz (or target/fuzz); the instrumented build
# goes to $CARGO_TARGET_DIR/afl, apart from the normal builds (other RUSTFLAGS).
# FUZZ_PREBUILT=1 uses the seeds and the build already there (a campaign of long runs
# of one build).
# A crash is left in $FUZZ_DIR/.../crashes/; replay it without the fuzzer with
#   cargo run -p zipchain-fuzz --bin zipchain-fuzz -- TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

TARGET_ROOT=${CARGO_TARGET_DIR:-target}
FUZZ_DIR=${FUZZ_DIR:-$TARGET_ROOT/fuzz}
AFL_TARGET_DIR=$TARGET_ROOT/afl
FUZZER=${FUZZER:-$AFL_TARGET_DIR/release/zipchain-fuzz}

# AFL++ on a shared CI machine: no UI, no CPU pinning (other jobs run beside it), no
# complaint about the CPU governor or a core_pattern it cannot change.
export AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
# The target reads its fixtures (the conformance chain's audit) before the fork server
# starts: give it time on a slow machine.
export AFL_FORKSRV_INIT_TMOUT=60000
# Per input: 2 s (a snapshot is audited whole); memory: 1 GiB of address space, so that
# an allocation sized by a declared length is a crash, not a slow success.
AFL_TIMEOUT_MS=2000
AFL_MEMORY_MB=1024

seeds() {
    run cargo run --quiet -p zipchain-fuzz --features seeds --bin zipchain-fuzz-seeds -- "$FUZZ_DIR/seeds"
}

build() {
    CARGO_TARGET_DIR=$AFL_TARGET_DIR run cargo afl build --release -p zipchain-fuzz --bin zipchain-fuzz
}

targets() {
    "$FUZZER" --list | awk '{print $1}'
}

# Runs afl-fuzz on TARGET with corpus IN (a folder, or - to resume) and output OUT for
# SECONDS of wall time; extra arguments go to afl-fuzz.
afl() {
    local target=$1 in=$2 out=$3 seconds=$4
    shift 4
    cargo afl fuzz -i "$in" -o "$out" -V "$seconds" -t "$AFL_TIMEOUT_MS" -m "$AFL_MEMORY_MB" "$@" \
        -- "$FUZZER" "$target"
}

# A field of AFL's fuzzer_stats in OUT.
stat() {
    awk -F' *: *' -v k="$2" '$1 == k {print $2}' "$1/default/fuzzer_stats"
}

# Fails when OUT holds a crash, naming the files and how to replay them.
no_crashes() {
    local target=$1 out=$2
    local crashes
    crashes=$(find "$out/default/crashes" -type f -name 'id:*' 2>/dev/null | sort)
    if [[ -n $crashes ]]; then
        echo "FAIL: target $target crashed on:" >&2
        printf '  %s\n' $crashes >&2
        echo "replay: cargo run -p zipchain-fuzz --bin zipchain-fuzz -- $target FILE" >&2
        return 1
    fi
}

short() {
    local seconds=${1:-8}
    seeds
    build
    local failed=() target out
    mkdir -p "$FUZZ_DIR/short"
    printf '%-24s %8s %8s %7s %7s\n' target execs corpus crashes hangs
    for target in $(targets); do
        out=$FUZZ_DIR/short/$target
        rm -rf "$out"
        afl "$target" "$FUZZ_DIR/seeds/$target" "$out" "$seconds" >"$out.log" 2>&1 || {
            echo "afl-fuzz failed on $target:" >&2
            tail -n 30 "$out.log" >&2
            failed+=("$target")
            continue
        }
        printf '%-24s %8s %8s %7s %7s\n' "$target" "$(stat "$out" execs_done)" \
            "$(stat "$out" corpus_count)" "$(stat "$out" saved_crashes)" "$(stat "$out" saved_hangs)"
        no_crashes "$target" "$out" || failed+=("$target")
    done
    if ((${#failed[@]})); then
        echo "fuzzing failed: ${failed[*]}" >&2
        return 1
    fi
    echo "$(targets | wc -l) targets fuzzed for ${seconds}s each, no crash"
}

# CPU seconds used so far by process ROOT and all its descendants (cargo-afl, afl-fuzz,
# and the fork servers and targets, which AFL++ puts in sessions of their own); what
# exited was counted into its parent's children time. A process may exit while /proc is
# read: cat skips it, and 0 stands for an unreadable answer.
tree_cpu_seconds() {
    local seconds
    seconds=$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" -v hz="$(getconf CLK_TCK)" '
        {
            pid = $1
            line = $0
            sub(/^.*\) /, "", line)
            split(line, f, " ")
            parent[pid] = f[2]
            ticks[pid] = f[12] + f[13] + f[14] + f[15]
        }
        END {
            total = 0
            for (p in parent) {
                for (q = p; q != "" && q != 0 && q != 1; q = parent[q]) {
                    if (q == root) { total += ticks[p]; break }
                }
            }
            print int(total / hz)
        }') || true
    [[ $seconds =~ ^[0-9]+$ ]] || seconds=0
    echo "$seconds"
}

long() {
    local target=${1:?long TARGET [MINUTES]} minutes=${2:-10}
    if [[ -z ${FUZZ_PREBUILT:-} ]]; then
        seeds
        build
    fi
    local out=$FUZZ_DIR/long/$target
    if pgrep -f "afl-fuzz .*-o $out " >/dev/null; then
        echo "an afl-fuzz already writes $out" >&2
        return 1
    fi
    rm -rf "$out"
    mkdir -p "$out"
    local start=$SECONDS
    nice -n 19 cargo afl fuzz -i "$FUZZ_DIR/seeds/$target" -o "$out" -V 86400 \
        -t "$AFL_TIMEOUT_MS" -m "$AFL_MEMORY_MB" -- "$FUZZER" "$target" >"$out.log" 2>&1 &
    local pid=$!
    local cpu=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 10
        cpu=$(tree_cpu_seconds "$pid")
        if ((cpu >= minutes * 60)); then
            pkill -INT -f "afl-fuzz .*-o $out " || true
            break
        fi
    done
    # afl-fuzz writes its last stats on SIGINT; past a minute it is killed.
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 60)); do
        sleep 1
        waited=$((waited + 1))
    done
    pkill -KILL -f "afl-fuzz .*-o $out " || true
    wait "$pid" || true
    local wall=$((SECONDS - start))
    no_crashes "$target" "$out" || true
    printf '| %s | AFL++ %s (cargo-afl %s) | %s | %s | %s | %s min | %s min | %s crashes, %s hangs |\n' \
        "$target" "$(stat "$out" afl_version)" "$CARGO_AFL_VERSION" "$(find "$FUZZ_DIR/seeds/$target" -type f | wc -l)" \
        "$(stat "$out" corpus_count)" "$(stat "$out" execs_done)" "$((cpu / 60))" "$((wall / 60))" \
        "$(stat "$out" saved_crashes)" "$(stat "$out" saved_hangs)" | tee "$out.result"
}

case ${1:-} in
seeds | build) "$1" ;;
short) short "${2:-}" ;;
long) long "${2:-}" "${3:-}" ;;
*)
    sed -n '2,17p' "$0" >&2
    exit 2
    ;;
esac
