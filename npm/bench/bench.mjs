// Speed of the npm package's exports under Node (issue #5; figures in BENCHMARKS.md):
//   wasm nsm/blocky/cold  verifyNsmDocument on the Blocky production document. Each
//                         call builds a fresh verifier, so nothing is cached: the
//                         same work as the native `nsm/blocky/cold`.
//   wasm jwt/cognito      verifyTimestamp on the real Cognito ID token, the JWKS
//                         passed as an object, so each call also parses the keys:
//                         compare with the native `jwt/cognito+jwks`.
// Both include turning the verdict into JS objects.
//
// Method: 1 s of warm-up, then 7 runs of about 2 s each; prints the median and
// the range of calls per second. Build the package first:
//   scripts/build-npm.sh && node npm/bench/bench.mjs
// Env: ZIPCHAIN_NPM_PKG (default <repo>/target/npm/package, the assembled
// package), ZIPCHAIN_VECTORS (default ../shared/vectors beside the repository),
// RUNS, RUN_MS.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const pkg = resolve(process.env.ZIPCHAIN_NPM_PKG ?? join(repo, 'target/npm/package'));
const vectors = resolve(process.env.ZIPCHAIN_VECTORS ?? join(repo, '../shared/vectors'));
const RUNS = Number(process.env.RUNS ?? 7);
const RUN_MS = Number(process.env.RUN_MS ?? 2000);

const wasm = await import(pathToFileURL(join(pkg, 'index.js')).href);
await wasm.init();
if (!existsSync(join(vectors, 'nitro/docs/MANIFEST.json'))) {
  console.log(`SKIPPED: test vectors not found at ${vectors} (set ZIPCHAIN_VECTORS)`);
  process.exit(0);
}

const doc = new Uint8Array(
  readFileSync(join(vectors, 'nitro/docs/blocky_nitrite_nitro_attestation.cbor')),
);
const cognito = join(vectors, 'jwt/cognito-us-east-1_PDsy6i0Bf');
const token = readFileSync(join(cognito, 'id.jwt'), 'utf8').trimEnd();
const jwks = JSON.parse(readFileSync(join(cognito, 'jwks.json'), 'utf8'));
const options = { issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_PDsy6i0Bf' };

const cases = {
  'nsm/blocky/cold': () => wasm.verifyNsmDocument(doc),
  'jwt/cognito': () => wasm.verifyTimestamp(token, jwks, options),
};

/** Calls `f` for about `ms` milliseconds; returns calls per second. */
function run(f, ms) {
  const budget = BigInt(ms) * 1_000_000n;
  const start = process.hrtime.bigint();
  let calls = 0;
  let elapsed = 0n;
  do {
    f();
    calls += 1;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return calls / (Number(elapsed) / 1e9);
}

console.log(`node ${process.version}, module ${pkg}`);
for (const [name, f] of Object.entries(cases)) {
  assert.equal(f().valid, true, `${name} must verify before it is timed`);
  run(f, 1000);
  const rates = Array.from({ length: RUNS }, () => run(f, RUN_MS)).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  const fmt = (x) => x.toFixed(1);
  console.log(
    `wasm ${name.padEnd(16)} ${fmt(median)} /s (${(1000 / median).toFixed(3)} ms/op; ` +
      `runs ${fmt(rates[0])}..${fmt(rates.at(-1))} /s)`,
  );
}
