// Every class of hostile input the fuzz targets try (issue #18, docs/FUZZING.md
// "Hostile input is a clear answer"), given to each export: a verdict with
// `valid: false` and the failed check named, never an exception or a crash of the
// WebAssembly module (deep nesting included: its stack is 1 MiB).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { auditSnapshot, checkCertificate, verifyNsmDocument, verifyTimestamp } from 'zipchain-verifier';

import { assertCheckShape, firstFailure, fixtureBytes, fixtureText, skipVectors, summary, vectorBytes, vectorText } from './helpers.mjs';

const MB = 1 << 20;
const deepCbor = () => {
  const bytes = new Uint8Array(MB + 1).fill(0x81);
  bytes[MB] = 0;
  return bytes;
};
const deepJson = () => `${'['.repeat(MB)}0${']'.repeat(MB)}`;
const b64 = (text) => Buffer.from(text).toString('base64url');

test('hostile NSM documents: each a verdict naming its failed check', { skip: skipVectors }, () => {
  const real = vectorBytes('nitro/docs/blocky_nitrite_nitro_attestation.cbor');
  const flipped = real.slice();
  flipped[flipped.length - 1] ^= 1;
  const cases = [
    ['empty', new Uint8Array(), 'cbor'],
    ['truncated', real.slice(0, real.length / 2), 'cbor'],
    ['a trailing byte', new Uint8Array([...real, 0]), 'cbor'],
    ['deep nesting', deepCbor(), 'cbor'],
    ['not COSE', new Uint8Array([0x83, 1, 2, 3]), 'cose'],
    ['a signature bit flipped', flipped, 'signature'],
  ];
  for (const [what, bytes, check] of cases) {
    const v = verifyNsmDocument(bytes);
    assertCheckShape(v);
    assert.equal(v.valid, false, what);
    assert.equal(firstFailure(v), check, what);
  }
});

test('hostile timestamps and key sets: each a verdict naming its failed check', { skip: skipVectors }, () => {
  const dir = 'jwt/cognito-us-east-1_PDsy6i0Bf';
  const jwks = vectorText(`${dir}/jwks.json`);
  const issuer = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_PDsy6i0Bf';
  const [h, p, s] = vectorText(`${dir}/id.jwt`).trim().split('.');
  const cases = [
    ['two segments', `${h}.${p}`, 'format'],
    ['not base64url', `${h}.${p}.!!!`, 'format'],
    ['a deeply nested header', `${b64(deepJson())}.${p}.${s}`, 'header'],
    ['a header that is not an object', `${b64('[1]')}.${p}.${s}`, 'header'],
    ['alg none', `${b64('{"alg":"none"}')}.${p}.`, 'alg'],
    ['an unknown kid', `${b64('{"alg":"RS256","kid":"nope"}')}.${p}.${s}`, 'kid'],
    ['deeply nested claims', `${h}.${b64(deepJson())}.${s}`, 'signature'],
  ];
  for (const [what, token, check] of cases) {
    const v = verifyTimestamp(token, jwks, { issuer });
    assert.equal(v.valid, false, what);
    assert.equal(firstFailure(v), check, what);
  }
  for (const [what, keys] of [['not JSON', '{ not json'], ['deep JSON', deepJson()]]) {
    const v = verifyTimestamp(`${h}.${p}.${s}`, keys, { issuer });
    assert.deepEqual(summary(v), { ran: ['jwks'], failed: ['jwks'] }, what);
  }
  // A set that reads but holds no key cannot make a policy.
  const empty = verifyTimestamp(`${h}.${p}.${s}`, '{"keys":[]}', { issuer });
  assert.deepEqual(summary(empty), { ran: ['policy'], failed: ['policy'] });
});

test('hostile certificates, descriptors and snapshots: each a verdict naming its failed check', () => {
  const certText = fixtureText('cert.json');
  const chainText = fixtureText('chain.json');
  const tar = fixtureBytes('snapshot.tar');
  const with_ = (key, value) => JSON.stringify({ ...JSON.parse(certText), [key]: value });
  const cases = [
    ['deep JSON', deepJson(), 'format'],
    ['an unknown member', with_('extra', 1), 'format'],
    ['a block that is not hex', with_('block', 'zz'), 'format'],
    ['a truncated attestation', with_('attestation', 'hEShATgi'), 'attestation'],
  ];
  for (const [what, text, check] of cases) {
    const v = checkCertificate(text, chainText);
    assertCheckShape(v);
    assert.equal(v.valid, false, what);
    assert.equal(firstFailure(v), check, what);
  }
  assert.deepEqual(summary(checkCertificate(certText, deepJson())).failed, ['trust_descriptor']);
  const badSum = tar.slice();
  badSum[148] ^= 1;
  for (const [what, bytes] of [['a truncated tar', tar.slice(0, 700)], ['a bad header checksum', badSum]]) {
    const v = auditSnapshot(bytes, chainText);
    assert.deepEqual(summary(v).failed, ['snapshot'], what);
    assert.equal(firstFailure(checkCertificate(certText, chainText, { snapshot: bytes })), 'snapshot', what);
  }
});
