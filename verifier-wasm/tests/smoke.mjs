// Smoke test of the wasm-bindgen output for Node: the module loads, has no imports
// that only a bundler could satisfy, and its exports answer.
//
// scripts/test.sh builds verifier-wasm for wasm32 (release), runs
// `wasm-bindgen --target nodejs --out-dir DIR`, then runs this file with
// ZIPCHAIN_WASM_PKG=DIR. By hand:
//   ZIPCHAIN_WASM_PKG=target/wasm-bindgen/nodejs node --test verifier-wasm/tests/smoke.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const pkg = process.env.ZIPCHAIN_WASM_PKG;
assert.ok(pkg, 'set ZIPCHAIN_WASM_PKG to the directory `wasm-bindgen --target nodejs` wrote');
const dir = resolve(pkg);
const NAME = 'zipchain_verifier_wasm';

test('the module imports nothing from `env` (a missing host function fails at load)', () => {
  const module = new WebAssembly.Module(readFileSync(join(dir, `${NAME}_bg.wasm`)));
  const env = WebAssembly.Module.imports(module).filter((i) => i.module === 'env');
  assert.deepEqual(env, [], `unexpected env imports: ${JSON.stringify(env)}`);
});

test('sha3_256Hex gives the FIPS 202 answers', () => {
  const wasm = createRequire(import.meta.url)(join(dir, `${NAME}.js`));
  assert.equal(
    wasm.sha3_256Hex(new TextEncoder().encode('abc')),
    '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532',
  );
  assert.equal(
    wasm.sha3_256Hex(new Uint8Array()),
    'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a',
  );
});
