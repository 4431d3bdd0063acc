// verifyNsmDocument on the real NSM documents of shared/vectors/nitro (the
// eighteen of docs/ and the three of docs-current/, as real enclaves encode them
// now), each against the verdict its MANIFEST.json implies, and its options.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { verifyNsmDocument } from 'zipchain-verifier';

import { assertCheckShape, skipVectors, summary, vectorBytes, vectorText } from './helpers.mjs';

const ALL = ['cbor', 'cose', 'fields', 'root', 'chain', 'validity', 'signature', 'debug'];
const folders = ['docs', 'docs-current'];
const manifest = skipVectors
  ? []
  : folders.flatMap((folder) =>
      JSON.parse(vectorText(`nitro/${folder}/MANIFEST.json`)).map((e) => ({ ...e, folder })),
    );
const byFile = new Map(manifest.map((e) => [e.file, e]));
const doc = (file) => vectorBytes(`nitro/${byFile.get(file)?.folder ?? 'docs'}/${file}`);
/** `"null"` or `"bstr[N]"`, as the manifests describe an optional field. */
const shape = (hex) => (hex === null ? 'null' : `bstr[${hex.length / 2}]`);

/** What the manifest says a document is. */
const kind = (e) =>
  e.cose_sig_valid !== true
    ? 'bad-signature'
    : e.chain_valid_at_doc_timestamp !== true
      ? 'not-aws'
      : e.debug_mode
        ? 'debug'
        : 'production';

test('every manifest document gets its verdict, with and without allowDebug', { skip: skipVectors }, () => {
  const counts = {};
  for (const e of manifest) {
    const k = kind(e);
    counts[k] = (counts[k] ?? 0) + 1;
    const strict = verifyNsmDocument(doc(e.file));
    const lenient = verifyNsmDocument(doc(e.file), { allowDebug: true });
    assertCheckShape(strict);
    assertCheckShape(lenient);
    const where = `${e.file} (${k})`;
    switch (k) {
      case 'production':
        for (const v of [strict, lenient]) {
          assert.equal(v.valid, true, `${where}: ${JSON.stringify(v.checks)}`);
          assert.deepEqual(summary(v).ran, ALL, where);
        }
        break;
      case 'debug':
        assert.equal(strict.valid, false, where);
        assert.deepEqual(summary(strict), { ran: ALL, failed: ['debug'] }, where);
        assert.equal(lenient.valid, true, `${where}: ${JSON.stringify(lenient.checks)}`);
        assert.match(lenient.checks.at(-1).detail, /allowDebug/, where);
        break;
      case 'bad-signature':
        for (const v of [strict, lenient]) assert.deepEqual(summary(v).failed, ['signature'], where);
        break;
      case 'not-aws':
        for (const v of [strict, lenient]) assert.equal(v.valid, false, where);
        break;
    }
    // The fields are shown whenever the document parses, valid or not.
    if (k !== 'not-aws') {
      const d = strict.document;
      assert.ok(d, where);
      assert.equal(d.moduleId, e.module_id, where);
      assert.equal(d.timestamp, e.timestamp_ms, where);
      assert.equal(d.digest, 'SHA384', where);
      assert.equal(Object.keys(d.pcrs).length, e.pcr_count, where);
      assert.equal(d.pcrs['0'], e.pcr0, where);
      assert.equal(d.pcrs['1'], e.pcr1, where);
      assert.equal(d.cabundle.length, e.cabundle_len, where);
      assert.equal(d.debug, e.debug_mode, where);
      assert.match(d.certificate, /^30[0-9a-f]+$/, where);
      assert.equal(shape(d.publicKey), e.public_key, where);
      assert.equal(shape(d.userData), e.user_data, where);
      assert.equal(shape(d.nonce), e.nonce, where);
    }
  }
  assert.deepEqual(counts, { production: 12, debug: 7, 'bad-signature': 1, 'not-aws': 1 });
});

test('documents as enclaves make them now: indefinite-length payload maps, an empty public_key', { skip: skipVectors }, () => {
  // tkhq's production document of 2025-09-16: the outer payload map is bf … ff.
  const tkhq = verifyNsmDocument(doc('tkhq_rust_sdk_lib_ce1e1c6e.cbor'));
  assert.equal(tkhq.valid, true, JSON.stringify(tkhq.checks));
  assert.equal(tkhq.document.moduleId, 'i-02dc40d2256544b3a-enc01995469a96f5a2b');
  assert.equal(tkhq.document.publicKey.length, 260);
  assert.equal(tkhq.document.nonce, null);
  // worldcoin's of 2026-08-03 (indefinite too) and hf/nitrite's of 2021 with an empty
  // public_key: genuine debug-mode documents, valid when debug is allowed.
  for (const file of ['worldcoin_world_chain_real_attestation_13a44c64.cbor', 'hf_nitrite_nitrite_test_6c096a02.cbor']) {
    const strict = verifyNsmDocument(doc(file));
    assert.deepEqual(summary(strict).failed, ['debug'], file);
    const lenient = verifyNsmDocument(doc(file), { allowDebug: true });
    assert.equal(lenient.valid, true, `${file}: ${JSON.stringify(lenient.checks)}`);
  }
  assert.equal(verifyNsmDocument(doc('hf_nitrite_nitrite_test_6c096a02.cbor'), { allowDebug: true }).document.publicKey, '');
});

test('the self-signed (non-AWS format) document fails at `cose`', { skip: skipVectors }, () => {
  const v = verifyNsmDocument(doc('blocky_nitrite_selfsigned_attestation.cbor'), { allowDebug: true });
  assert.deepEqual(summary(v).failed, ['cose']);
  assert.equal(v.document, null);
});

test('the Blocky production document: fields, and certificates checked at atMs', { skip: skipVectors }, () => {
  const bytes = doc('blocky_nitrite_nitro_attestation.cbor');
  const v = verifyNsmDocument(bytes);
  assert.equal(v.valid, true);
  assert.equal(v.document.publicKey, '01'.repeat(1024));
  assert.equal(v.document.userData, '01'.repeat(1024));
  assert.equal(v.document.nonce, '01'.repeat(1024));
  // The leaf lives 3 hours: 2024-09-07T14:37:36Z .. 17:37:39Z.
  assert.equal(verifyNsmDocument(bytes, { atMs: 1725730659000 }).valid, true);
  const later = verifyNsmDocument(bytes, { atMs: 1725730660000 });
  assert.deepEqual(summary(later).failed, ['validity']);
  assert.ok(later.document, 'the fields are shown even when invalid');
  const before = verifyNsmDocument(bytes, { atMs: 1725719855000 });
  assert.deepEqual(summary(before).failed, ['validity']);
});

test('the root option pins another root', { skip: skipVectors }, () => {
  const bytes = doc('blocky_nitrite_nitro_attestation.cbor');
  const aws = vectorText('nitro/AWS_NitroEnclaves_Root-G1.pem');
  assert.equal(verifyNsmDocument(bytes, { root: aws }).valid, true);
  const bad = verifyNsmDocument(bytes, { root: 'not a PEM' });
  assert.deepEqual(summary(bad), { ran: ['root'], failed: ['root'] });
  assert.ok(bad.document, 'the fields are shown');
  // Another root (a leaf of the document's own chain): the chain does not lead to it.
  const leafPem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(bad.document.cabundle[1], 'hex')
    .toString('base64')
    .replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  const other = verifyNsmDocument(bytes, { root: leafPem });
  assert.equal(other.valid, false);
  assert.deepEqual(summary(other).failed, ['root']);
});

test('garbage is a verdict, not an exception', () => {
  for (const bytes of [new Uint8Array(), new Uint8Array([0x84, 0x40]), new Uint8Array(50).fill(0xff)]) {
    const v = verifyNsmDocument(bytes);
    assertCheckShape(v);
    assert.equal(v.valid, false);
    assert.equal(v.document, null);
  }
});

test('misuse throws a TypeError', () => {
  assert.throws(() => verifyNsmDocument('84a0'), TypeError);
  assert.throws(() => verifyNsmDocument([0x84]), TypeError);
  assert.throws(() => verifyNsmDocument(undefined), TypeError);
  assert.throws(() => verifyNsmDocument(new ArrayBuffer(4)), TypeError);
  const bytes = new Uint8Array([0x84]);
  assert.throws(() => verifyNsmDocument(bytes, { atMs: 'yesterday' }), TypeError);
  assert.throws(() => verifyNsmDocument(bytes, { atMs: -1 }), TypeError);
  assert.throws(() => verifyNsmDocument(bytes, { allowDebug: 'yes' }), TypeError);
  assert.throws(() => verifyNsmDocument(bytes, { root: 42 }), TypeError);
  assert.throws(() => verifyNsmDocument(bytes, { allowdebug: true }), TypeError);
  // No options, undefined or null are all "the defaults".
  assert.equal(verifyNsmDocument(bytes, null).valid, false);
  assert.equal(verifyNsmDocument(bytes, undefined).valid, false);
});
