// Shared by the package tests (npm/test/*.test.mjs). They run against the
// INSTALLED package: scripts/test-npm.sh installs the `npm pack` tarball into a
// scratch project, copies these files beside it and runs `node --test` there,
// with
//   ZIPCHAIN_VECTORS   the shared test vectors (absent: those tests are skipped)
//   ZIPCHAIN_FIXTURES  scripts/make-fixtures.sh's output (required)
//   ZIPCHAIN_TSC       the TypeScript compiler (optional: the types test is skipped)
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { init } from 'zipchain-verifier';

await init();

export const vectors = process.env.ZIPCHAIN_VECTORS ?? '';
/** `skip` for node:test: false, or why the vector tests cannot run. */
export const skipVectors =
  vectors && existsSync(join(vectors, 'nitro/docs/MANIFEST.json'))
    ? false
    : `test vectors not found at ${JSON.stringify(vectors)} (set ZIPCHAIN_VECTORS to shared/vectors)`;
if (skipVectors) console.log(`SKIPPED vector tests: ${skipVectors}`);

export const fixtures = process.env.ZIPCHAIN_FIXTURES ?? '';
assert.ok(
  fixtures && existsSync(join(fixtures, 'cert.json')),
  `set ZIPCHAIN_FIXTURES to the output of scripts/make-fixtures.sh (got ${JSON.stringify(fixtures)})`,
);

export const vectorBytes = (path) => new Uint8Array(readFileSync(join(vectors, path)));
export const vectorText = (path) => readFileSync(join(vectors, path), 'utf8');
export const fixtureBytes = (path) => new Uint8Array(readFileSync(join(fixtures, path)));
export const fixtureText = (path) => readFileSync(join(fixtures, path), 'utf8');

/** The names of the checks that ran, and of those that failed. */
export const summary = (verdict) => ({
  ran: verdict.checks.map((c) => c.name),
  failed: verdict.checks.filter((c) => !c.ok).map((c) => c.name),
});

/** The name of the first failed check, or null. */
export const firstFailure = (verdict) => verdict.checks.find((c) => !c.ok)?.name ?? null;

/** Every check is `{ name, ok, detail }`; `valid` is exactly "no check failed". */
export function assertCheckShape(verdict) {
  assert.equal(typeof verdict.valid, 'boolean');
  assert.ok(Array.isArray(verdict.checks) && verdict.checks.length > 0, 'at least one check');
  for (const check of verdict.checks) {
    assert.deepEqual(Object.keys(check).sort(), ['detail', 'name', 'ok']);
    assert.equal(typeof check.name, 'string');
    assert.equal(typeof check.ok, 'boolean');
    assert.equal(typeof check.detail, 'string');
    assert.ok(check.detail.length > 0, `check ${check.name} says what it found`);
  }
  assert.equal(verdict.valid, verdict.checks.every((c) => c.ok));
}

/**
 * A copy of the ustar archive `tar` with `entries` ([name, Uint8Array] pairs) added
 * after its last member: regular files, mode 0644, owner 0, mtime 0.
 */
export function tarWith(tar, entries) {
  let end = 0;
  while (end + 512 <= tar.length && tar.subarray(end, end + 512).some((b) => b !== 0)) {
    const size = parseInt(new TextDecoder().decode(tar.subarray(end + 124, end + 136)).replace(/\0.*$/, '').trim(), 8);
    end += 512 + Math.ceil(size / 512) * 512;
  }
  const parts = [tar.subarray(0, end)];
  for (const [name, data] of entries) {
    const header = new Uint8Array(512);
    const put = (at, text) => header.set(new TextEncoder().encode(text), at);
    put(0, name);
    put(100, '0000644\0');
    put(108, '0000000\0');
    put(116, '0000000\0');
    put(124, `${data.length.toString(8).padStart(11, '0')}\0`);
    put(136, '00000000000\0');
    put(148, '        ');
    put(156, '0');
    put(257, 'ustar\0');
    put(263, '00');
    const sum = header.reduce((a, b) => a + b, 0);
    put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
    const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
    padded.set(data);
    parts.push(header, padded);
  }
  parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
