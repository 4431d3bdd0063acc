// verifyTimestamp on the real Amazon Cognito tokens of shared/vectors/jwt with
// their pools' JWKS (all long expired: archival validation ignores exp), and on
// the RFC 7515 / 7520 RS256 known answers.
import assert from 'node:assert/strict';
import { createSign, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';

import { verifyTimestamp } from 'zipchain-verifier';

import { assertCheckShape, skipVectors, summary, vectorText } from './helpers.mjs';

const JWT_CHECKS = ['format', 'header', 'alg', 'kid', 'signature', 'claims', 'issuer', 'token_use', 'username'];
const pool = (id) => `https://cognito-idp.us-east-1.amazonaws.com/${id}`;
const token = (path) => vectorText(`jwt/${path}`).trim();

// From shared/vectors/jwt/README.md.
const COGNITO = [
  { dir: 'cognito-us-east-1_PDsy6i0Bf', file: 'id.jwt', use: 'id', iat: 1587311838, user: '24e26910-e7b9-4aad-a994-387942f164e7' },
  { dir: 'cognito-us-east-1_iWcTPhZBA', file: 'id.jwt', use: 'id', iat: 1617954848, user: 'adfs_moghals\\bob' },
  { dir: 'cognito-us-east-1_iWcTPhZBA', file: 'access.jwt', use: 'access', iat: 1617954851, user: 'adfs_moghals\\bob' },
];

test('every real Cognito token is valid with its pool JWKS (as text and as an object)', { skip: skipVectors }, () => {
  for (const v of COGNITO) {
    const jwksText = vectorText(`jwt/${v.dir}/jwks.json`);
    const issuer = pool(v.dir.replace('cognito-', ''));
    for (const jwks of [jwksText, JSON.parse(jwksText)]) {
      const verdict = verifyTimestamp(token(`${v.dir}/${v.file}`), jwks, { issuer, tokenUse: v.use });
      const where = `${v.dir}/${v.file}`;
      assertCheckShape(verdict);
      assert.equal(verdict.valid, true, `${where}: ${JSON.stringify(verdict.checks)}`);
      assert.deepEqual(summary(verdict), { ran: JWT_CHECKS, failed: [] }, where);
      assert.equal(verdict.claims.iss, issuer);
      assert.equal(verdict.claims.token_use, v.use);
      assert.equal(verdict.claims.iat, v.iat, where);
      assert.equal(verdict.claims[v.use === 'id' ? 'cognito:username' : 'username'], v.user, where);
      assert.ok(verdict.claims.exp < Date.now() / 1000, 'expired, and still valid: archival');
      assert.equal(verdict.attested, null);
    }
  }
});

test('each failure is named: issuer, token_use, username, signature, kid, format, jwks', { skip: skipVectors }, () => {
  const dir = 'cognito-us-east-1_iWcTPhZBA';
  const jwks = vectorText(`jwt/${dir}/jwks.json`);
  const issuer = pool('us-east-1_iWcTPhZBA');
  const id = token(`${dir}/id.jwt`);
  const failed = (t, k, o) => summary(verifyTimestamp(t, k, o)).failed;
  assert.deepEqual(failed(id, jwks, { issuer: pool('us-east-1_other') }), ['issuer']);
  assert.deepEqual(failed(id, jwks, { issuer, tokenUse: 'access' }), ['token_use']);
  assert.deepEqual(failed(id, jwks, { issuer, usernameDomain: 'bky.sh' }), ['username']);
  const [h, p, s] = id.split('.');
  assert.deepEqual(failed(`${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`, jwks, { issuer }), ['signature']);
  // A payload changed by one claim: the signature no longer covers it.
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.iat += 1;
  assert.deepEqual(failed(`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`, jwks, { issuer }), ['signature']);
  // The other pool's keys do not include this kid.
  assert.deepEqual(failed(id, vectorText('jwt/cognito-us-east-1_PDsy6i0Bf/jwks.json'), { issuer }), ['kid']);
  assert.deepEqual(failed('not a jwt', jwks, { issuer }), ['format']);
  assert.deepEqual(failed(`${id} `, jwks, { issuer }), ['format']);
  const bad = verifyTimestamp(id, '{"keys": 1}', { issuer });
  assert.deepEqual(summary(bad), { ran: ['jwks'], failed: ['jwks'] });
  assert.equal(bad.claims, null);
});

test('RFC 7520 §4.1: the RS256 signature verifies, the payload is not claims', { skip: skipVectors }, () => {
  const v = verifyTimestamp(token('rfc7520-4.1/token.jws'), vectorText('jwt/rfc7520-4.1/jwks.json'), { issuer: 'x' });
  assert.deepEqual(summary(v), { ran: JWT_CHECKS.slice(0, 6), failed: ['claims'] });
});

test('RFC 7515 A.2: a token without kid fails at `kid`', { skip: skipVectors }, () => {
  const jwk = JSON.parse(vectorText('jwt/rfc7515-a2/jwk.public.json'));
  const v = verifyTimestamp(token('rfc7515-a2/token.jwt'), { keys: [{ ...jwk, kid: 'a2' }] }, { issuer: 'joe' });
  assert.deepEqual(summary(v).failed, ['kid']);
});

test('misuse throws a TypeError; an empty key set is a verdict', () => {
  const jwks = { keys: [] };
  assert.throws(() => verifyTimestamp(42, jwks, { issuer: 'x' }), TypeError);
  assert.throws(() => verifyTimestamp('a.b.c', 42, { issuer: 'x' }), TypeError);
  assert.throws(() => verifyTimestamp('a.b.c', null, { issuer: 'x' }), TypeError);
  assert.throws(() => verifyTimestamp('a.b.c', jwks), TypeError);
  assert.throws(() => verifyTimestamp('a.b.c', jwks, {}), TypeError);
  assert.throws(() => verifyTimestamp('a.b.c', jwks, { issuer: 'x', tokenUse: 'ID' }), TypeError);
  assert.throws(() => verifyTimestamp('a.b.c', jwks, { issuer: 'x', usernameDomian: 'd' }), TypeError);
  const verdict = verifyTimestamp('a.b.c', jwks, { issuer: 'x' });
  assert.equal(verdict.valid, false);
  assert.deepEqual(summary(verdict).failed, ['policy']);
});

test('claim relations fail at `claims`, after issuer, token_use and username passed (issue #13)', () => {
  // A token of our own key: the checks before it pass, then its times are wrong.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  const issuer = pool('us-east-1_relations');
  const sign = (claims) => {
    const part = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${part({ kid: 'k1', alg: 'RS256' })}.${part(claims)}`;
    return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
  };
  const base = { iss: issuer, token_use: 'access', username: 'alice', iat: 1_700_000_000 };
  const verdict = (claims) => verifyTimestamp(sign({ ...base, ...claims }), { keys: [jwk] }, { issuer, tokenUse: 'access' });
  assert.deepEqual(summary(verdict({ exp: base.iat + 3600, auth_time: base.iat })), { ran: JWT_CHECKS, failed: [] });
  for (const [claims, words] of [
    [{ auth_time: base.iat + 1 }, /auth_time/],
    [{ exp: base.iat }, /exp/],
    [{ exp: base.iat + 86_401 }, /86400/],
  ]) {
    const v = verdict(claims);
    assertCheckShape(v);
    assert.equal(v.valid, false);
    const passed = JWT_CHECKS.filter((name) => name !== 'claims');
    assert.deepEqual(summary(v), { ran: [...passed, 'claims'], failed: ['claims'] }, JSON.stringify(claims));
    assert.match(v.checks.at(-1).detail, words);
  }
});
