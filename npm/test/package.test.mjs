// The package itself: what it ships, init(), and the module's imports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

import * as verifier from 'zipchain-verifier';

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('zipchain-verifier/package.json'));
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));

test('package.json: name, ES module, exports with types first', () => {
  assert.equal(pkg.name, 'zipchain-verifier');
  assert.equal(pkg.type, 'module');
  assert.match(pkg.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(Object.keys(pkg.exports['.']), ['types', 'default']);
  for (const file of ['index.js', 'index.d.ts', 'README.md', 'zipchain_verifier_wasm_bg.wasm']) {
    assert.ok(pkg.files.includes(file), `${file} is shipped`);
    readFileSync(join(pkgDir, file));
  }
});

test('the exports are the ones SPEC §8 names (and sha3_256Hex)', () => {
  assert.deepEqual(Object.keys(verifier).sort(), [
    'auditSnapshot',
    'checkCertificate',
    'init',
    'sha3_256Hex',
    'verifyNsmDocument',
    'verifyTimestamp',
  ]);
});

test('the module imports nothing from `env` (a missing host function fails at load)', () => {
  const module = new WebAssembly.Module(readFileSync(join(pkgDir, 'zipchain_verifier_wasm_bg.wasm')));
  const env = WebAssembly.Module.imports(module).filter((i) => i.module === 'env');
  assert.deepEqual(env, [], `unexpected env imports: ${JSON.stringify(env)}`);
});

test('init() is harmless twice, and concurrently', async () => {
  await verifier.init();
  await Promise.all([verifier.init(), verifier.init()]);
  assert.equal(
    verifier.sha3_256Hex(new TextEncoder().encode('abc')),
    '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532',
  );
  assert.equal(
    verifier.sha3_256Hex(new Uint8Array()),
    'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a',
  );
});

test('calling a function before init() throws an Error saying so', async () => {
  // A query string gives a fresh copy of the wrapper, whose init() has not run
  // (wasm-bindgen's module under it is shared, and loads once).
  const fresh = await import(`${new URL('index.js', `file://${pkgDir}/`).href}?fresh`);
  assert.throws(() => fresh.sha3_256Hex(new Uint8Array()), /sha3_256Hex\(\) called before .*await init\(\) first/);
  assert.throws(
    () => fresh.verifyNsmDocument(new Uint8Array()),
    (e) => e instanceof Error && !(e instanceof TypeError),
  );
  await fresh.init();
  assert.equal(fresh.sha3_256Hex(new Uint8Array()).length, 64);
});

test('init() takes a compiled WebAssembly.Module or the bytes (fresh processes)', () => {
  for (const make of ['new WebAssembly.Module(bytes)', 'bytes', 'bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)']) {
    const script = `
      import { readFileSync } from 'node:fs';
      import { init, verifyNsmDocument } from 'zipchain-verifier';
      const bytes = readFileSync(${JSON.stringify(join(pkgDir, 'zipchain_verifier_wasm_bg.wasm'))});
      await init(${make});
      await init();
      if (verifyNsmDocument(new Uint8Array([0xff])).checks[0].name !== 'cbor') process.exit(3);
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: process.cwd(),
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, `init(${make}): ${run.stderr}`);
  }
});
