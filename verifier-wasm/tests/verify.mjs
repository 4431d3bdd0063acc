// The checks exported to JS (SPEC §8): verifyNsmDocument and verifyTimestamp on
// real vectors, through the wasm-bindgen output for Node.
//
// scripts/test.sh builds verifier-wasm for wasm32 (release), runs
// `wasm-bindgen --target nodejs --out-dir DIR`, then runs this file with
// ZIPCHAIN_WASM_PKG=DIR. The vectors are read in place from ../shared/vectors
// beside the repository (or $ZIPCHAIN_VECTORS); without them these tests are
// skipped with a note. By hand:
//   ZIPCHAIN_WASM_PKG=target/wasm-bindgen/nodejs node --test verifier-wasm/tests/verify.mjs
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkg = process.env.ZIPCHAIN_WASM_PKG;
assert.ok(pkg, 'set ZIPCHAIN_WASM_PKG to the directory `wasm-bindgen --target nodejs` wrote');
const wasm = createRequire(import.meta.url)(join(resolve(pkg), 'zipchain_verifier_wasm.js'));

const here = dirname(fileURLToPath(import.meta.url));
const vectors = resolve(process.env.ZIPCHAIN_VECTORS ?? join(here, '../../../shared/vectors'));
const skip = existsSync(join(vectors, 'nitro/docs/MANIFEST.json'))
  ? false
  : `test vectors not found at ${vectors} (set ZIPCHAIN_VECTORS)`;
if (skip) console.log(`SKIPPED vector tests: ${skip}`);

const doc = (name) => new Uint8Array(readFileSync(join(vectors, 'nitro/docs', name)));
const COGNITO = 'jwt/cognito-us-east-1_PDsy6i0Bf';
const ISSUER = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_PDsy6i0Bf';
const cognito = () => ({
  token: readFileSync(join(vectors, COGNITO, 'id.jwt'), 'utf8').trimEnd(),
  jwksText: readFileSync(join(vectors, COGNITO, 'jwks.json'), 'utf8'),
});

/** The names of the checks that ran, and the one that failed (if any). */
const summary = (verdict) => ({
  ran: verdict.checks.map((c) => c.name),
  failed: verdict.checks.filter((c) => !c.ok).map((c) => c.name),
});

const assertCheckShape = (verdict) => {
  assert.ok(Array.isArray(verdict.checks) && verdict.checks.length > 0);
  for (const check of verdict.checks) {
    assert.deepEqual(Object.keys(check).sort(), ['detail', 'name', 'ok']);
    assert.equal(typeof check.name, 'string');
    assert.equal(typeof check.ok, 'boolean');
    assert.equal(typeof check.detail, 'string');
  }
  // Every check but the last passed; the last one failed exactly when invalid.
  assert.ok(verdict.checks.slice(0, -1).every((c) => c.ok));
  assert.equal(verdict.checks.at(-1).ok, verdict.valid);
};

test('verifyNsmDocument: the Blocky production document is valid at its timestamp', { skip }, () => {
  const verdict = wasm.verifyNsmDocument(doc('blocky_nitrite_nitro_attestation.cbor'));
  assertCheckShape(verdict);
  assert.equal(verdict.valid, true, JSON.stringify(verdict.checks));
  assert.deepEqual(summary(verdict), {
    ran: ['cbor', 'cose', 'fields', 'root', 'chain', 'validity', 'signature', 'debug'],
    failed: [],
  });
  const d = verdict.document;
  assert.equal(d.moduleId, 'i-0a22e5c5f24d22174-enc0191cceb4289903f');
  assert.equal(d.digest, 'SHA384');
  assert.equal(d.timestamp, 1725719859545);
  assert.equal(d.debug, false);
  assert.equal(Object.keys(d.pcrs).length, 16);
  assert.equal(
    d.pcrs['0'],
    'e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a',
  );
  assert.equal(d.cabundle.length, 4);
  assert.equal(d.publicKey, '01'.repeat(1024));
  assert.equal(d.userData, '01'.repeat(1024));
  assert.equal(d.nonce, '01'.repeat(1024));
  assert.match(d.certificate, /^30[0-9a-f]+$/);
});

test('verifyNsmDocument: the certificates are checked at atMs', { skip }, () => {
  const bytes = doc('blocky_nitrite_nitro_attestation.cbor');
  // The leaf lives 3 hours: 2024-09-07T14:37:36Z .. 17:37:39Z.
  const inside = wasm.verifyNsmDocument(bytes, { atMs: 1725730659000 });
  assert.equal(inside.valid, true, JSON.stringify(inside.checks));
  const later = wasm.verifyNsmDocument(bytes, { atMs: 1725730660000 });
  assert.equal(later.valid, false);
  assert.deepEqual(summary(later).failed, ['validity']);
  assert.ok(later.document, 'the fields are shown even when invalid');
});

test('verifyNsmDocument: the bad-signature document fails at `signature`', { skip }, () => {
  const verdict = wasm.verifyNsmDocument(doc('NEGATIVE_eternis_invalid_attestation_badsig.cbor'), {
    allowDebug: true,
  });
  assertCheckShape(verdict);
  assert.equal(verdict.valid, false);
  assert.deepEqual(summary(verdict), {
    ran: ['cbor', 'cose', 'fields', 'root', 'chain', 'validity', 'signature'],
    failed: ['signature'],
  });
  assert.equal(verdict.document.moduleId, 'i-0809070ca8037095f-enc0190e0c0368d490d');
});

test('verifyNsmDocument: a debug document fails at `debug` unless allowDebug', { skip }, () => {
  const bytes = doc('blocky_nitrite_nitro_attestation_debug.cbor');
  const strict = wasm.verifyNsmDocument(bytes);
  assertCheckShape(strict);
  assert.equal(strict.valid, false);
  assert.deepEqual(summary(strict).failed, ['debug']);
  assert.equal(strict.document.debug, true);
  const allowed = wasm.verifyNsmDocument(bytes, { allowDebug: true });
  assert.equal(allowed.valid, true, JSON.stringify(allowed.checks));
  assert.match(allowed.checks.at(-1).detail, /allowDebug/);
});

test('verifyNsmDocument: the root option pins another root', { skip }, () => {
  const bytes = doc('blocky_nitrite_nitro_attestation.cbor');
  const awsPem = readFileSync(join(vectors, 'nitro/AWS_NitroEnclaves_Root-G1.pem'), 'utf8');
  assert.equal(wasm.verifyNsmDocument(bytes, { root: awsPem }).valid, true);
  const bad = wasm.verifyNsmDocument(bytes, { root: 'not a PEM' });
  assert.equal(bad.valid, false);
  assert.deepEqual(summary(bad), { ran: ['root'], failed: ['root'] });
});

test('verifyNsmDocument: garbage is a verdict, not an exception', () => {
  for (const bytes of [new Uint8Array(), new Uint8Array([0x84, 0x40]), new Uint8Array(50).fill(0xff)]) {
    const verdict = wasm.verifyNsmDocument(bytes);
    assertCheckShape(verdict);
    assert.equal(verdict.valid, false);
    assert.equal(verdict.document, null);
  }
});

test('verifyNsmDocument: misuse throws a TypeError', () => {
  assert.throws(() => wasm.verifyNsmDocument('84a0'), TypeError);
  assert.throws(() => wasm.verifyNsmDocument([0x84]), TypeError);
  assert.throws(() => wasm.verifyNsmDocument(undefined), TypeError);
  const bytes = new Uint8Array([0x84]);
  assert.throws(() => wasm.verifyNsmDocument(bytes, { atMs: 'yesterday' }), TypeError);
  assert.throws(() => wasm.verifyNsmDocument(bytes, { atMs: -1 }), TypeError);
  assert.throws(() => wasm.verifyNsmDocument(bytes, { allowDebug: 'yes' }), TypeError);
  assert.throws(() => wasm.verifyNsmDocument(bytes, { allowdebug: true }), TypeError);
  // No options, undefined or null are all "the defaults".
  assert.equal(wasm.verifyNsmDocument(bytes, null).valid, false);
});

test('verifyTimestamp: a real Cognito token is valid with its JWKS', { skip }, () => {
  const { token, jwksText } = cognito();
  for (const jwks of [jwksText, JSON.parse(jwksText)]) {
    const verdict = wasm.verifyTimestamp(token, jwks, { issuer: ISSUER, tokenUse: 'id' });
    assertCheckShape(verdict);
    assert.equal(verdict.valid, true, JSON.stringify(verdict.checks));
    assert.deepEqual(summary(verdict), {
      ran: ['format', 'header', 'alg', 'kid', 'signature', 'claims', 'issuer', 'token_use', 'username'],
      failed: [],
    });
    assert.equal(verdict.claims.iss, ISSUER);
    assert.equal(verdict.claims.iat, 1587311838);
    assert.equal(verdict.claims['cognito:username'], '24e26910-e7b9-4aad-a994-387942f164e7');
    assert.equal(verdict.attested, null);
  }
});

test('verifyTimestamp: a wrong issuer is invalid and named', { skip }, () => {
  const { token, jwksText } = cognito();
  const verdict = wasm.verifyTimestamp(token, jwksText, {
    issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other',
  });
  assertCheckShape(verdict);
  assert.equal(verdict.valid, false);
  assert.deepEqual(summary(verdict).failed, ['issuer']);
  assert.equal(verdict.claims, null);
});

test('verifyTimestamp: tampering, a wrong token_use and a username domain are named', { skip }, () => {
  const { token, jwksText } = cognito();
  const [h, p, s] = token.split('.');
  const flipped = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
  assert.deepEqual(summary(wasm.verifyTimestamp(flipped, jwksText, { issuer: ISSUER })).failed, ['signature']);
  assert.deepEqual(
    summary(wasm.verifyTimestamp(token, jwksText, { issuer: ISSUER, tokenUse: 'access' })).failed,
    ['token_use'],
  );
  assert.deepEqual(
    summary(wasm.verifyTimestamp(token, jwksText, { issuer: ISSUER, usernameDomain: 'bky.sh' })).failed,
    ['username'],
  );
  assert.deepEqual(summary(wasm.verifyTimestamp('not a jwt', jwksText, { issuer: ISSUER })).failed, ['format']);
  const bad = wasm.verifyTimestamp(token, '{"keys": 1}', { issuer: ISSUER });
  assert.deepEqual(summary(bad), { ran: ['jwks'], failed: ['jwks'] });
});

test('verifyTimestamp: misuse throws a TypeError', () => {
  const jwks = { keys: [] };
  assert.throws(() => wasm.verifyTimestamp(42, jwks, { issuer: 'x' }), TypeError);
  assert.throws(() => wasm.verifyTimestamp('a.b.c', 42, { issuer: 'x' }), TypeError);
  assert.throws(() => wasm.verifyTimestamp('a.b.c', null, { issuer: 'x' }), TypeError);
  assert.throws(() => wasm.verifyTimestamp('a.b.c', jwks), TypeError);
  assert.throws(() => wasm.verifyTimestamp('a.b.c', jwks, {}), TypeError);
  assert.throws(() => wasm.verifyTimestamp('a.b.c', jwks, { issuer: 'x', tokenUse: 'ID' }), TypeError);
  assert.throws(() => wasm.verifyTimestamp('a.b.c', jwks, { issuer: 'x', usernameDomian: 'd' }), TypeError);
  // An empty key set is invalid input, not misuse.
  const verdict = wasm.verifyTimestamp('a.b.c', jwks, { issuer: 'x' });
  assert.equal(verdict.valid, false);
  assert.deepEqual(summary(verdict).failed, ['policy']);
});
