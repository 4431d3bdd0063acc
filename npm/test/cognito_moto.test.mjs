// verifyTimestamp on tokens of moto's Cognito (issue #15): the timestamps the writer's
// Cognito backend makes (AdminCreateUser `hex(y)@domain`, a permanent password,
// AdminInitiateAuth), from scripts/make-fixtures.sh's cognito-moto.json (testkit's
// cognito-token). A pool's token is valid under its issuer and JWKS and attests y; the
// other pool's token for the same y is refused by the issuer check.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { verifyTimestamp } from 'zipchain-verifier';

import { summary } from './helpers.mjs';

const fixtures = process.env.ZIPCHAIN_FIXTURES;
const tokens = fixtures ? JSON.parse(readFileSync(join(fixtures, 'cognito-moto.json'), 'utf8')) : null;
const skip = !tokens ? 'ZIPCHAIN_FIXTURES is not set (scripts/test-npm.sh sets it)' : tokens.skipped ?? false;

test("a token of moto's Cognito is valid under its pool's JWKS and attests y", { skip }, () => {
  const options = { issuer: tokens.issuer, tokenUse: 'id', usernameDomain: tokens.username_domain };
  const verdict = verifyTimestamp(tokens.token, tokens.jwks, options);
  assert.equal(verdict.valid, true, JSON.stringify(verdict.checks));
  assert.equal(verdict.claims.iss, tokens.issuer);
  assert.equal(verdict.claims['cognito:username'], `${tokens.y}@${tokens.username_domain}`);
  assert.equal(verdict.attested, tokens.y);
});

test("another pool's token for the same y is refused: its issuer", { skip }, () => {
  const options = { issuer: tokens.issuer, tokenUse: 'id', usernameDomain: tokens.username_domain };
  const verdict = verifyTimestamp(tokens.other_token, tokens.jwks, options);
  assert.equal(verdict.valid, false);
  assert.deepEqual(summary(verdict).failed, ['issuer']);
  // Under its own issuer it is valid: the refusal is about the pool, not the token.
  const own = verifyTimestamp(tokens.other_token, tokens.jwks, { ...options, issuer: tokens.other_issuer });
  assert.equal(own.valid, true, JSON.stringify(own.checks));
});
