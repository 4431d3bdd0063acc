// checkCertificate and auditSnapshot on the real chain scripts/make-fixtures.sh
// builds (testkit's stand-ins: RS256 timestamps, NSM documents under a test CA):
// the certificate of "block 3 tx 1" with and without the snapshot, tampered
// copies each failing with its check named, wrong trust descriptors, and the
// audit compared with `zipchain audit --json`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { auditSnapshot, checkCertificate, sha3_256Hex } from 'zipchain-verifier';

import {
  assertCheckShape,
  firstFailure,
  fixtureBytes,
  fixtureText,
  skipVectors,
  summary,
  tarWith,
  vectorBytes,
  vectorText,
} from './helpers.mjs';

const certText = fixtureText('cert.json');
const chainText = fixtureText('chain.json');
const cert = () => JSON.parse(certText);
const chain = () => JSON.parse(chainText);
const tar = fixtureBytes('snapshot.tar');

const CHECKS = [
  'format',
  'chain',
  'lower_timestamp',
  'upper_timestamp',
  'upper_attests_block',
  'block_links_lower',
  'attestation',
  'attestation_binds_block',
  'attestation_time',
  'inclusion',
  'time_bounds',
];

test('the certificate is valid alone; main-chain position not checked', () => {
  for (const [c, d] of [
    [certText, chainText],
    [cert(), chain()],
  ]) {
    const v = checkCertificate(c, d);
    assertCheckShape(v);
    assert.equal(v.valid, true, JSON.stringify(v.checks));
    assert.equal(v.mainChainChecked, false);
    assert.deepEqual(summary(v), { ran: CHECKS, failed: [] });
    assert.equal(v.tx, sha3_256Hex(fixtureBytes('tx.bin')));
    assert.equal(v.height, 3);
    assert.equal(v.notBefore, cert().not_before);
    assert.equal(v.notAfter, cert().not_after);
    assert.ok(v.notBefore <= v.notAfter);
  }
  assert.deepEqual(Object.keys(checkCertificate(certText, chainText)), [
    'valid',
    'mainChainChecked',
    'checks',
    'tx',
    'height',
    'notBefore',
    'notAfter',
  ]);
});

test('with the snapshot tar: valid, and main-chain position checked', () => {
  const v = checkCertificate(certText, chainText, { snapshot: tar });
  assertCheckShape(v);
  assert.equal(v.valid, true, JSON.stringify(v.checks));
  assert.equal(v.mainChainChecked, true);
  assert.deepEqual(summary(v), { ran: [...CHECKS, 'main_chain', 'first_occurrence'], failed: [] });
});

// SPEC §9.5: the fixtures' certificate v2 (the same transaction, its checkpoint cosigned
// by alpha.example and bravo.example; chain-v2.json names them and charlie.example,
// quorum 2).
const certV2Text = fixtureText('cert-v2.json');
const chainV2Text = fixtureText('chain-v2.json');

test('a certificate v2 alone is final on the main chain, with its witnesses by name', () => {
  const v = checkCertificate(certV2Text, chainV2Text);
  assertCheckShape(v);
  assert.equal(v.valid, true, JSON.stringify(v.checks));
  assert.equal(v.mainChainChecked, true);
  assert.deepEqual(summary(v), { ran: [...CHECKS, 'main_chain_proof'], failed: [] });
  assert.deepEqual(v.mainChainProof, { witnesses: 2, quorum: 2 });
  const size = Number(JSON.parse(certV2Text).main_chain.checkpoint.split('\n')[1]);
  assert.ok(size > v.height, `the checkpoint (${size} entries) covers height ${v.height}`);
  assert.deepEqual(v.mainChainWitnesses, {
    vouched: ['alpha.example', 'bravo.example'],
    known: ['alpha.example', 'bravo.example', 'charlie.example'],
    checkpointSize: size,
  });
  assert.deepEqual(Object.keys(v), [
    'valid',
    'mainChainChecked',
    'mainChainProof',
    'mainChainWitnesses',
    'checks',
    'tx',
    'height',
    'notBefore',
    'notAfter',
  ]);
  // With the snapshot it is checked as a v1 certificate (SPEC §9.5): no witnesses.
  const withTar = checkCertificate(certV2Text, chainV2Text, { snapshot: tar });
  assert.equal(withTar.valid, true, JSON.stringify(withTar.checks));
  assert.deepEqual(summary(withTar), { ran: [...CHECKS, 'main_chain', 'first_occurrence'], failed: [] });
  assert.equal(withTar.mainChainProof, undefined);
  assert.equal(withTar.mainChainWitnesses, undefined);
});

test('a certificate v2 whose proof fails says why, and names no witnesses', () => {
  // Under the v1 descriptor no witness can vouch.
  const v1 = checkCertificate(certV2Text, chainText);
  assertCheckShape(v1);
  assert.equal(v1.valid, false);
  assert.equal(v1.mainChainChecked, false);
  assert.equal(firstFailure(v1), 'main_chain_proof');
  assert.match(v1.checks.at(-1).detail, /names no witnesses/);
  // One witness's signature changed (after its key id and time, 12 bytes): a known
  // key's bad signature fails the note.
  const c = JSON.parse(certV2Text);
  c.main_chain.checkpoint = c.main_chain.checkpoint.replace(
    /(\u2014 bravo\.example .{40})(.)/,
    (_, head, ch) => head + (ch === 'A' ? 'B' : 'A'),
  );
  const bad = checkCertificate(c, chainV2Text);
  assert.equal(bad.valid, false);
  assert.equal(firstFailure(bad), 'main_chain_proof');
  assert.match(bad.checks.at(-1).detail, /the signature of bravo\.example does not verify/);
  for (const v of [v1, bad]) {
    assert.equal(v.mainChainProof, undefined);
    assert.equal(v.mainChainWitnesses, undefined);
  }
});

/** Flips one hex digit of `s` at `i`. */
const flipHex = (s, i = 0) => s.slice(0, i) + (s[i] === '0' ? '1' : '0') + s.slice(i + 1);
/** Changes one character of a JWT's signature. */
const flipJwt = (t) => t.slice(0, -3) + (t.at(-3) === 'A' ? 'B' : 'A') + t.slice(-2);

const TAMPERED = [
  ['tx', (c) => (c.tx = sha3_256Hex(new TextEncoder().encode('another transaction'))), 'inclusion'],
  ['inclusion path', (c) => (c.inclusion.path[0] = flipHex(c.inclusion.path[0], 10)), 'inclusion'],
  ['inclusion leaf index', (c) => (c.inclusion.leaf_index = (c.inclusion.leaf_index + 1) % c.inclusion.tree_size), 'inclusion'],
  ['lower JWT', (c) => (c.lower = flipJwt(c.lower)), 'lower_timestamp'],
  ['upper JWT', (c) => (c.upper = flipJwt(c.upper)), 'upper_timestamp'],
  ['upper JWT of another block', (c, all) => (c.upper = c.lower), 'upper_attests_block'],
  ['block', (c) => (c.block = flipHex(c.block, 40)), 'upper_attests_block'],
  [
    'attestation',
    (c) => {
      const bytes = Buffer.from(c.attestation, 'base64');
      bytes[bytes.length - 10] ^= 1;
      c.attestation = bytes.toString('base64');
    },
    'attestation',
  ],
  ['sequence', (c) => (c.sequence += 1), 'attestation_binds_block'],
  ['not_before', (c) => (c.not_before -= 1), 'time_bounds'],
  ['not_after', (c) => (c.not_after += 1), 'time_bounds'],
  ['chain.genesis', (c) => (c.chain.genesis = flipHex(c.chain.genesis)), 'chain'],
  ['an unknown field', (c) => (c.extra = 1), 'format'],
  ['the version', (c) => (c.zipchain_certificate = 2), 'format'],
];

for (const [what, tamper, check] of TAMPERED) {
  test(`a certificate with a changed ${what} fails at \`${check}\``, () => {
    const c = cert();
    tamper(c);
    for (const options of [undefined, { snapshot: tar }]) {
      const v = checkCertificate(c, chainText, options);
      assertCheckShape(v);
      assert.equal(v.valid, false, what);
      assert.equal(firstFailure(v), check, `${what}: ${JSON.stringify(summary(v))}`);
    }
  });
}

test('a changed height passes alone but fails at `main_chain` with the snapshot', () => {
  const c = cert();
  c.height += 1;
  const alone = checkCertificate(c, chainText);
  assert.equal(alone.valid, true, 'height is a claim only the snapshot can check');
  assert.equal(alone.mainChainChecked, false);
  const checked = checkCertificate(c, chainText, { snapshot: tar });
  assert.equal(checked.valid, false);
  assert.equal(firstFailure(checked), 'main_chain');
  assert.equal(checked.height, c.height);
});

test('text that is not a certificate is a verdict naming `format`', () => {
  for (const text of ['', '{', '[]', '"cert"', '{"zipchain_certificate": 1}']) {
    const v = checkCertificate(text, chainText);
    assertCheckShape(v);
    assert.deepEqual(summary(v), { ran: ['format'], failed: ['format'] }, text);
    assert.equal(v.tx, null);
    assert.equal(v.height, null);
  }
  assert.equal(firstFailure(checkCertificate([1, 2], chainText)), 'format');
});

test('a wrong chain.json: another chain, other keys, or no descriptor at all', () => {
  const other = chain();
  other.genesis = flipHex(other.genesis);
  assert.equal(firstFailure(checkCertificate(certText, other)), 'chain');
  const sequencer = chain();
  sequencer.sequencer_key = flipHex(sequencer.sequencer_key, 63);
  const vs = checkCertificate(certText, sequencer);
  assert.equal(vs.valid, false);
  // A timestamp service with other keys: both timestamps fail.
  const keys = chain();
  keys.timestamp.issuer = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other';
  assert.deepEqual(
    summary(checkCertificate(certText, keys)).failed.slice(0, 2),
    ['lower_timestamp', 'upper_timestamp'],
  );
  for (const bad of ['', '{', '{}', JSON.stringify({ ...chain(), extra: 1 }), JSON.stringify({ ...chain(), zipchain_chain: 3 })]) {
    const v = checkCertificate(certText, bad);
    assertCheckShape(v);
    assert.deepEqual(summary(v), { ran: ['trust_descriptor'], failed: ['trust_descriptor'] }, bad);
    assert.equal(v.mainChainChecked, false);
  }
});

test('a snapshot that is not a tar is a failed `snapshot` check', () => {
  for (const bytes of [new Uint8Array([1, 2, 3]), tar.slice(0, 700)]) {
    const v = checkCertificate(certText, chainText, { snapshot: bytes });
    assertCheckShape(v);
    assert.equal(v.valid, false);
    assert.equal(v.mainChainChecked, false);
    assert.equal(v.checks.at(-1).name, 'snapshot');
    assert.equal(firstFailure(v), 'snapshot');
  }
  // An empty tar holds no chain: the block is not on it.
  const empty = checkCertificate(certText, chainText, { snapshot: new Uint8Array(1024) });
  assert.equal(empty.valid, false);
  assert.equal(firstFailure(empty), 'main_chain');
});

test('checkCertificate misuse throws a TypeError', () => {
  assert.throws(() => checkCertificate(42, chainText), TypeError);
  assert.throws(() => checkCertificate(undefined, chainText), TypeError);
  assert.throws(() => checkCertificate(certText, null), TypeError);
  assert.throws(() => checkCertificate(certText, 7), TypeError);
  assert.throws(() => checkCertificate(certText, chainText, 'snapshot.tar'), TypeError);
  assert.throws(() => checkCertificate(certText, chainText, { snapshot: 'snapshot.tar' }), TypeError);
  assert.throws(() => checkCertificate(certText, chainText, { snapshot: [...tar.slice(0, 10)] }), TypeError);
  assert.throws(() => checkCertificate(certText, chainText, { snapshots: tar }), TypeError);
  assert.equal(checkCertificate(certText, chainText, null).valid, true);
  assert.equal(checkCertificate(certText, chainText, {}).valid, true);
});

/** snake_case keys to camelCase, deeply. */
const camel = (value) =>
  Array.isArray(value)
    ? value.map(camel)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), camel(v)]))
      : value;

test('auditSnapshot matches `zipchain audit --json`, camelCased, and reports progress', () => {
  const expected = camel(JSON.parse(fixtureText('audit.json')));
  const calls = [];
  const report = auditSnapshot(tar, chainText, (done, total) => calls.push([done, total]));
  const spec = Object.fromEntries(Object.keys(expected).map((k) => [k, report[k]]));
  assert.deepEqual(spec, expected);
  assert.deepEqual(Object.keys(report).slice(0, Object.keys(expected).length), Object.keys(expected));
  assert.equal(report.mainChainHeight, 20);
  assert.equal(report.mainChain.length, 21);
  assert.equal(report.mainChain.at(-1), report.mainChainTip);
  assert.equal(report.orphanedBlocks.length, 4);
  assert.equal(report.valid, true);
  assertCheckShape(report);
  assert.deepEqual(summary(report).ran, ['trust_descriptor', 'snapshot', 'main_chain', 'equivocation']);
  // Progress: increasing, ending at (total, total) with total the objects read.
  const total = expected.blocks + expected.timestamps + expected.attestations + expected.batches;
  assert.ok(calls.length >= 2, `onProgress called ${calls.length} times`);
  assert.deepEqual(calls.at(-1), [total, total]);
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i][0] > calls[i - 1][0]);
  // The chain as an object, and no callback, give the same report.
  assert.deepEqual(auditSnapshot(tar, chain()), report);
});

test('auditSnapshot: an invalid object is reported, not fatal', () => {
  // Change one byte inside the first block file's data (its name no longer matches).
  const bytes = tar.slice();
  const text = new TextDecoder('latin1').decode(bytes);
  const at = text.search(/\.\/blocks\/[0-9a-f]{64}/);
  assert.ok(at >= 0);
  bytes[at + 512 + 20] ^= 1; // the 512-byte header, then the block's bytes
  const report = auditSnapshot(bytes, chainText);
  assert.equal(report.invalidObjects.length, 1);
  assert.equal(report.invalidObjects[0].kind, 'block');
  assert.deepEqual(Object.keys(report.invalidObjects[0]).sort(), ['key', 'kind', 'reason']);
});

test('auditSnapshot reads the attestations of the fixture chain and real current NSM documents', { skip: skipVectors }, () => {
  // The fixture chain's attestations come from the stand-in enclave, which encodes the
  // payload map as AWS does now (indefinite length); they all verify.
  const report = auditSnapshot(tar, chainText);
  assert.equal(report.invalidObjects.length, 0);
  assert.ok(report.attestations > 20);
  // The three real documents of docs-current, filed as attestations: each is read past
  // its CBOR and fields, and fails where it must, at the descriptor's test root.
  const current = JSON.parse(vectorText('nitro/docs-current/MANIFEST.json'));
  const added = current.map((e) => {
    const bytes = vectorBytes(`nitro/docs-current/${e.file}`);
    return [`./attestations/${sha3_256Hex(bytes)}`, bytes];
  });
  const mixed = auditSnapshot(tarWith(tar, added), chainText);
  assert.equal(mixed.attestations, report.attestations + 3);
  assert.equal(mixed.mainChainHeight, 20);
  assert.equal(mixed.invalidObjects.length, 3);
  for (const o of mixed.invalidObjects) {
    assert.equal(o.kind, 'attestation');
    assert.match(o.reason, /cabundle\[0\]/, o.reason);
    assert.doesNotMatch(o.reason, /CBOR/, o.reason);
  }
});

test('auditSnapshot: unreadable input is a verdict naming it', () => {
  const badTar = auditSnapshot(new Uint8Array([1, 2, 3]), chainText);
  assert.equal(badTar.valid, false);
  assert.deepEqual(summary(badTar), { ran: ['trust_descriptor', 'snapshot'], failed: ['snapshot'] });
  assert.equal(badTar.mainChainHeight, null);
  const badChain = auditSnapshot(tar, '{}');
  assert.deepEqual(summary(badChain), { ran: ['trust_descriptor'], failed: ['trust_descriptor'] });
  const empty = auditSnapshot(new Uint8Array(1024), chainText);
  assert.equal(empty.valid, false);
  assert.equal(firstFailure(empty), 'main_chain');
  assert.equal(empty.blocks, 0);
});

test('auditSnapshot misuse throws a TypeError; what onProgress throws is rethrown', () => {
  assert.throws(() => auditSnapshot('snapshot.tar', chainText), TypeError);
  assert.throws(() => auditSnapshot(tar.buffer, chainText), TypeError);
  assert.throws(() => auditSnapshot(tar, 5), TypeError);
  assert.throws(() => auditSnapshot(tar, chainText, 'progress'), TypeError);
  let calls = 0;
  assert.throws(
    () =>
      auditSnapshot(tar, chainText, () => {
        calls += 1;
        throw new RangeError('stop');
      }),
    RangeError,
  );
  assert.equal(calls, 1, 'not called again after it threw');
});

// Issue #13: what a snapshot proves against a certificate.

/** The fixture snapshot plus a sibling of block 1 that a rolled-back sequencer also numbered. */
const equivocation = () => JSON.parse(fixtureText('equivocation.json'));
const equivocatingTar = () =>
  tarWith(
    tar,
    equivocation().objects.map(({ path, base64 }) => [`./${path}`, new Uint8Array(Buffer.from(base64, 'base64'))]),
  );

test('a snapshot whose sequencer equivocated fails the certificate at `equivocation`', () => {
  const { sequence } = equivocation();
  const bad = equivocatingTar();
  const audit = auditSnapshot(bad, chainText);
  assert.equal(audit.valid, false);
  assert.deepEqual(audit.equivocations.map((e) => e.sequence), [sequence]);
  const v = checkCertificate(certText, chainText, { snapshot: bad });
  assertCheckShape(v);
  assert.equal(v.valid, false);
  assert.equal(v.mainChainChecked, true);
  const last = v.checks.at(-1);
  assert.equal(last.name, 'equivocation');
  assert.equal(last.ok, false);
  assert.ok(last.detail.includes(`sequence number ${sequence} `), last.detail);
  // Alone the certificate cannot know, and says main-chain position was not checked.
  const alone = checkCertificate(certText, chainText);
  assert.equal(alone.valid, true);
  assert.equal(alone.mainChainChecked, false);
  assert.ok(!summary(alone).ran.includes('equivocation'));
  // A clean snapshot has no `equivocation` check at all.
  assert.ok(!summary(checkCertificate(certText, chainText, { snapshot: tar })).ran.includes('equivocation'));
});

test('a forged leaf position passes alone, saying it is not proven, and fails `inclusion` with the snapshot', () => {
  const c = cert();
  // "block 3 tx 1" is leaf 1 of 4: its path [leaf 0, node(2,3)] also leads to the root as leaf 1 of 3.
  assert.deepEqual([c.inclusion.leaf_index, c.inclusion.tree_size], [1, 4]);
  c.inclusion.tree_size = 3;
  const alone = checkCertificate(c, chainText);
  assertCheckShape(alone);
  assert.equal(alone.valid, true, JSON.stringify(alone.checks));
  const inclusion = alone.checks.find((x) => x.name === 'inclusion');
  assert.match(inclusion.detail, /position within the block is NOT proven/);
  const checked = checkCertificate(c, chainText, { snapshot: tar });
  assertCheckShape(checked);
  assert.equal(checked.valid, false);
  assert.deepEqual(summary(checked).failed, ['inclusion']);
  assert.match(checked.checks.find((x) => x.name === 'inclusion').detail, /first at leaf 1 of 4, not at leaf 1 of 3/);
  // The honest certificate's position is proven against the batch.
  const honest = checkCertificate(certText, chainText, { snapshot: tar });
  assert.match(honest.checks.find((x) => x.name === 'inclusion').detail, /position proven/);
});
