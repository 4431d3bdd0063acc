#!/usr/bin/env bash
# Tests the npm package as a user gets it: installs the `npm pack` tarball that
# scripts/build-npm.sh wrote into a scratch project (<target>/npm/test-project),
# copies npm/test/ beside it and runs `node --test` there, so every test imports
# 'zipchain-verifier' through the installed package.json's `exports`.
# Needs: scripts/build-npm.sh (the tarball), scripts/make-fixtures.sh (the chain the
# certificate tests check; run here if missing), scripts/setup.sh (npm/tools: tsc).
# The vector tests read ../shared/vectors (or $ZIPCHAIN_VECTORS) in place, and
# are skipped with a note without them.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

TARGET=$(target_dir)
version=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version' "$TARGET/npm/package/package.json")
TGZ=$TARGET/npm/zipchain-verifier-$version.tgz
[[ -f $TGZ ]] || { echo "test-npm: $TGZ not found; run scripts/build-npm.sh" >&2; exit 1; }

bash scripts/make-fixtures.sh "$TARGET/fixtures"

PROJECT=$TARGET/npm/test-project
rm -rf "$PROJECT" && mkdir -p "$PROJECT"
printf '{ "name": "zipchain-verifier-test", "private": true, "type": "module" }\n' >"$PROJECT/package.json"
# The tarball has no dependencies: nothing is fetched.
(cd "$PROJECT" && run npm install --no-audit --no-fund --offline --no-save "$TGZ")
cp -r npm/test "$PROJECT/test"

VECTORS=${ZIPCHAIN_VECTORS:-../shared/vectors}
if [[ -d $VECTORS ]]; then
    export ZIPCHAIN_VECTORS=$(cd "$VECTORS" && pwd)
else
    echo "test-npm: WARNING: no test vectors at $VECTORS: the vector tests will be SKIPPED" >&2
    export ZIPCHAIN_VECTORS=
fi
export ZIPCHAIN_FIXTURES=$TARGET/fixtures
TSC=$PWD/npm/tools/node_modules/typescript/bin/tsc
if [[ -f $TSC ]]; then export ZIPCHAIN_TSC=$TSC; fi
(cd "$PROJECT" && run node --test test/*.test.mjs)
