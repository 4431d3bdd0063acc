// The zipchain drag-and-drop page (issue #5; SPEC §8). Plain ES module, no
// framework: files dropped on (or chosen with) the one file input are recognised
// by their content, handed to the zipchain-verifier package (WebAssembly), and
// the verdict is drawn with every check.
//
// Contract kept for tests and scripts (SPEC §8):
//   - one `input[type=file][multiple]`, #files, which also receives dropped files;
//   - the verdict in the element [data-verdict="valid"|"invalid"];
//   - each check in an element [data-check="<name>"][data-ok="true"|"false"].
// Beyond the contract (stable, for tests): the verdict element carries
// data-subject ("certificate" | "nsm" | "timestamp"), and for a certificate
// data-main-chain-checked and data-check-ms (milliseconds the check took).
//
// The page makes no network request: the module's bytes come from
// wasm-inline.js, a script of this origin, and the CSP in index.html has no
// connect-src.

import {
  init,
  checkCertificate,
  verifyNsmDocument,
  verifyTimestamp,
} from './zipchain-verifier/index.js';
// The page's one import past the package's API: a block's fields, decoded by the core.
import { describeBlock } from './zipchain-verifier/zipchain_verifier_wasm.js';
import { wasmBytes } from './wasm-inline.js';

const $ = (id) => document.getElementById(id);

/** Creates an element with attributes and children (strings become text). */
function el(tag, attrs = {}, ...children) {
  const svg = tag.startsWith('svg:');
  const node = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.setAttribute('class', value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// ---------------------------------------------------------------------------
// Recognising files by content

const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const BASE64_RE = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;

/** The kinds a file can be, in the words the page uses for them. */
const KIND_NAMES = {
  cert: 'certificate',
  chain: 'trust descriptor (chain.json)',
  snapshot: 'snapshot (.tar)',
  nsm: 'Nitro attestation document',
  jwt: 'timestamp token (JWT)',
  jwks: 'key set (JWKS)',
  unknown: 'not recognised',
};

function looksLikeCose(bytes) {
  // COSE_Sign1: a CBOR array of 4 (0x84), untagged or under tag 18 (0xd2).
  return bytes.length > 1 && (bytes[0] === 0x84 || (bytes[0] === 0xd2 && bytes[1] === 0x84));
}

function isTar(bytes) {
  // POSIX ustar (and GNU tar's "ustar  ") magic at offset 257 of the first header.
  if (bytes.length < 512) return false;
  const magic = String.fromCharCode(...bytes.subarray(257, 262));
  return magic === 'ustar';
}

function decodeBase64(text) {
  const binary = atob(text.replace(/\s+/g, ''));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * What a file holds: `{ kind, name, ... }` with `bytes` (snapshot, nsm),
 * `text` (cert, chain, jwks, jwt: exactly as given, for signatures and hashes)
 * and `json` (parsed JSON kinds).
 */
export function recognise(name, bytes) {
  if (isTar(bytes)) return { kind: 'snapshot', name, bytes };
  if (looksLikeCose(bytes)) return { kind: 'nsm', name, bytes };
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { kind: 'unknown', name, why: 'binary, but neither a tar archive nor a COSE/CBOR document' };
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      return { kind: 'unknown', name, why: `JSON that does not parse: ${e.message}` };
    }
    if (json && typeof json === 'object' && !Array.isArray(json)) {
      if ('zipchain_certificate' in json) return { kind: 'cert', name, text, json };
      if ('zipchain_chain' in json) return { kind: 'chain', name, text, json };
      if (Array.isArray(json.keys)) return { kind: 'jwks', name, text, json };
    }
    return { kind: 'unknown', name, why: 'JSON, but not a certificate, chain.json or JWKS' };
  }
  if (JWT_RE.test(trimmed)) return { kind: 'jwt', name, text: trimmed };
  if (trimmed.length > 16 && BASE64_RE.test(trimmed)) {
    try {
      const decoded = decodeBase64(trimmed);
      if (looksLikeCose(decoded)) return { kind: 'nsm', name, bytes: decoded, base64: true };
    } catch {
      // not base64 after all
    }
  }
  return { kind: 'unknown', name, why: 'text, but not JSON, a JWT or a base64 attestation document' };
}

// ---------------------------------------------------------------------------
// Formatting

const CERT_CHECKS = {
  format: 'The certificate is well formed',
  chain: 'It names the chain you trust (genesis block, sequencer key)',
  lower_timestamp: 'The lower timestamp (not before) is valid',
  upper_timestamp: 'The upper timestamp (not after) is valid',
  upper_attests_block: 'The upper timestamp attests this block',
  block_links_lower: 'The block links to the lower timestamp',
  attestation: 'The enclave attestation is valid',
  attestation_binds_block: 'The attestation sequences this block',
  attestation_time: 'The attestation was made after the upper timestamp',
  inclusion: 'The transaction is in the block’s batch',
  time_bounds: 'The two times are the timestamps’ own',
  main_chain: 'The block is on the main chain at this height',
  main_chain_proof: 'Witnesses who audited the chain vouch for the block’s place on it',
  first_occurrence: 'This is the transaction’s first main-chain block',
};

const NSM_CHECKS = {
  cbor: 'Strict CBOR',
  cose: 'COSE_Sign1 with ES384',
  fields: 'The fields follow AWS’s rules',
  root: 'The trusted root certificate',
  chain: 'The certificate chain',
  validity: 'Every certificate valid at the document’s time',
  signature: 'The document’s signature',
  debug: 'Not a debug-mode enclave',
  pcrs: 'PCR values allowed',
};

const JWT_CHECKS = {
  format: 'Compact JWS with three segments',
  header: 'Header (RS256, kid, nothing forbidden)',
  alg: 'Algorithm RS256',
  kid: 'Key named by kid is in the key set',
  jwks: 'The key set is usable',
  signature: 'RS256 signature',
  claims: 'Claims well formed',
  issuer: 'Issuer',
  iss: 'Issuer',
  token_use: 'Token use',
  username: 'Username carries attested bytes',
  policy: 'Policy',
};

/** Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`. */
function utc(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '—';
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return String(seconds);
  return `${date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '').replace(/Z$/, '')} UTC`;
}

/** The time of day, UTC, of Unix seconds (the timeline's tick labels). */
function clock(seconds) {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString().slice(11, 19);
}

function utcMs(ms) {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return String(ms);
  return `${date.toISOString().replace('T', ' ').replace('Z', '')} UTC`;
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * A length of time in whole seconds (the timestamps' `iat` counts whole seconds), in
 * units a reader takes in at once: "1 second", "42 seconds", "2 min 5 s", "3 h 12 min",
 * "2 days 4 h". Zero is not a length: callers say "within the same second" instead.
 */
function duration(seconds) {
  const s = Math.round(Math.abs(seconds));
  if (s < 60) return plural(s, 'second');
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86400) {
    const m = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)} h${m ? ` ${m} min` : ''}`;
  }
  const h = Math.floor((s % 86400) / 3600);
  return `${plural(Math.floor(s / 86400), 'day')}${h ? ` ${h} h` : ''}`;
}

/** How long the window between two whole-second times is, as a phrase. */
function windowPhrase(notBefore, notAfter) {
  if (notBefore === notAfter) return 'within the same second';
  const length = `a window of ${duration(notAfter - notBefore)}`;
  return notAfter < notBefore ? `${length}, but backwards (not after is earlier)` : length;
}

// Unix times inside a check's detail: 10 digits (seconds, optionally followed by
// " s") or 13 digits followed by " ms", between 2001 and 2096.
const UNIX_TIME_RE = /\b(\d{13}) ms\b|\b(\d{10})\b(?: s\b)?/g;

/** A check's detail as text and nodes, with each Unix time followed by its UTC date. */
function withDates(detail) {
  const text = String(detail ?? '');
  const out = [];
  let last = 0;
  for (const m of text.matchAll(UNIX_TIME_RE)) {
    const ms = m[1] !== undefined ? Number(m[1]) : Number(m[2]) * 1000;
    if (!(ms >= 1e12 && ms < 4e12)) continue;
    const end = m.index + m[0].length;
    const iso = new Date(ms).toISOString();
    out.push(
      text.slice(last, end),
      ' (',
      el('time', { datetime: iso }, m[1] !== undefined ? utcMs(ms) : utc(ms / 1000)),
      ')',
    );
    last = end;
  }
  out.push(text.slice(last));
  return out;
}

const hexBlock = (hex) => el('code', { class: 'hex' }, hex);

/** Hex that may be long (1024-byte user data): its start, the whole on request. */
function hexField(hex) {
  if (hex.length <= 160) return hexBlock(hex);
  return el(
    'details',
    { class: 'long-hex' },
    el('summary', {}, el('code', {}, `${hex.slice(0, 32)}…`), ` (${hex.length / 2} bytes; show all)`),
    hexBlock(hex),
  );
}

function fieldList(rows) {
  return el(
    'dl',
    { class: 'fields' },
    rows
      .filter(Boolean)
      .map(([term, value, attrs = {}]) => [
        el('dt', {}, term),
        el('dd', attrs, value),
      ]),
  );
}

function checkList(checks, labels) {
  return el(
    'ol',
    { class: 'checks' },
    checks.map((check) =>
      el(
        'li',
        {
          'data-check': check.name,
          'data-ok': check.ok ? 'true' : 'false',
          class: check.ok ? 'ok' : 'failed',
        },
        el('span', { class: 'mark', 'aria-hidden': 'true' }, check.ok ? '✓' : '✗'),
        el(
          'span',
          { class: 'check-text' },
          el(
            'span',
            { class: 'check-title' },
            el('span', { class: 'visually-hidden' }, check.ok ? 'Passed: ' : 'Failed: '),
            labels[check.name] ?? check.name,
            ' ',
            el('code', { class: 'check-name' }, check.name),
          ),
          el('span', { class: 'check-detail' }, withDates(check.detail)),
        ),
      ),
    ),
  );
}

/**
 * The verdict element. `standing` is `valid`, `invalid`, or `unchecked`: valid, but
 * with less proven than a reader may take "valid" to mean (a certificate whose
 * main-chain position was not checked), drawn apart from a plain success.
 * `data-verdict` stays `valid` for it (SPEC §8's contract).
 */
function verdictBox(subject, standing, title, why, extra = {}) {
  const valid = standing !== 'invalid';
  const mark = { valid: '✓', invalid: '✗', unchecked: '!' }[standing];
  return el(
    'div',
    {
      id: 'verdict',
      class: `verdict ${standing}`,
      'data-verdict': valid ? 'valid' : 'invalid',
      'data-subject': subject,
      ...extra,
    },
    el('span', { class: 'verdict-mark', 'aria-hidden': 'true' }, mark),
    el(
      'span',
      { class: 'verdict-text' },
      el('strong', { 'data-headline': '' }, title),
      why ? el('span', {}, why) : null,
    ),
  );
}

// ---------------------------------------------------------------------------
// The timeline of the two trusted times

/**
 * The two trusted times on an axis. Labels never run into each other: the earlier
 * time's labels end before its tick, the later one's start after its tick (whichever
 * of not before / not after that is), and equal times (`iat` counts whole seconds, so
 * a block sealed in the second after its parent's timestamp has both) get one tick
 * and one label, "within the same second". Every label carries `data-label`.
 */
function timeline(notBefore, notAfter, proven) {
  const same = notBefore === notAfter;
  const lo = Math.min(notBefore, notAfter);
  const hi = Math.max(notBefore, notAfter);
  const span = Math.max(hi - lo, 1);
  const pad = span * 0.35;
  const from = lo - pad;
  const to = hi + pad;
  const W = 600;
  const GAP = 6; // between a tick and its labels, in viewBox units
  const x = (t) => 20 + ((t - from) / (to - from)) * (W - 40);
  const x0 = x(notBefore);
  const x1 = x(notAfter);
  const windowText = windowPhrase(notBefore, notAfter);
  const label = same
    ? `Timeline${proven ? '' : ' (claimed, not proven)'}: not before and not after are both ${utc(notBefore)}; the transaction was written within the same second.`
    : `Timeline${proven ? '' : ' (claimed, not proven)'}: not before ${utc(notBefore)}, not after ${utc(notAfter)}; the transaction was written in ${windowText} between them.`;

  /** The two labels (name above the axis, time below) of one tick. */
  const tickLabels = (role, t, tx, anchor) => {
    const dx = anchor === 'end' ? -GAP : anchor === 'start' ? GAP : 0;
    return [
      el('svg:text', { x: tx + dx, y: 18, 'text-anchor': anchor, class: 'tl-label', 'data-label': role }, role === 'both' ? 'not before = not after' : role.replace('-', ' ')),
      el(
        'svg:text',
        { x: tx + dx, y: 88, 'text-anchor': anchor, class: 'tl-time', 'data-label': `${role}-time` },
        role === 'both' ? `${clock(t)}, within the same second` : clock(t),
      ),
    ];
  };
  const labels = same
    ? tickLabels('both', notBefore, x0, 'middle')
    : [
        tickLabels('not-before', notBefore, x0, x0 < x1 ? 'end' : 'start'),
        tickLabels('not-after', notAfter, x1, x0 < x1 ? 'start' : 'end'),
      ];
  const windowWidth = same ? 8 : Math.abs(x1 - x0);
  return el(
    'figure',
    { class: 'timeline', 'data-same-second': same ? 'true' : 'false' },
    el(
      'svg:svg',
      { viewBox: `0 0 ${W} 96`, role: 'img', 'aria-label': label, preserveAspectRatio: 'xMidYMid meet' },
      el('svg:line', { x1: 10, y1: 48, x2: W - 10, y2: 48, class: 'axis' }),
      el('svg:rect', {
        x: (x0 + x1) / 2 - windowWidth / 2,
        y: 38,
        width: windowWidth,
        height: 20,
        rx: 4,
        class: proven ? 'window' : 'window unproven',
      }),
      el('svg:line', { x1: x0, y1: 26, x2: x0, y2: 70, class: 'tick before' }),
      same ? null : el('svg:line', { x1: x1, y1: 26, x2: x1, y2: 70, class: 'tick after' }),
      labels,
    ),
    el(
      'figcaption',
      {},
      proven
        ? same
          ? `Written within the same second, ${utc(notBefore)}: the lower and the upper timestamp were both issued in it (the timestamps count whole seconds). Both times are the timestamp service’s, not the writer’s.`
          : `Written between ${utc(notBefore)} (lower timestamp) and ${utc(notAfter)} (upper timestamp): ${windowText} (the timestamps count whole seconds). Both times are the timestamp service’s, not the writer’s.`
        : `The certificate claims ${utc(notBefore)} to ${utc(notAfter)} (${windowText}), but it is invalid, so these times prove nothing.`,
    ),
  );
}

// ---------------------------------------------------------------------------
// The three kinds of result

function blockFacts(certJson) {
  // The core decodes the block (SPEC §1.2); `null` when it is not one.
  return typeof certJson?.block === 'string' ? describeBlock(certJson.block) : null;
}

/**
 * Who vouched for a certificate v2's main-chain position, as the core says it: the
 * counts (`mainChainProof`) and the names of the witnesses whose cosignatures counted,
 * of all the descriptor's witnesses, and the checkpoint's size (`mainChainWitnesses`).
 */
function witnessFacts(verdict) {
  const proof = verdict.mainChainProof;
  const names = verdict.mainChainWitnesses;
  if (!proof || !names) return null;
  return {
    count: proof.witnesses,
    of: names.known.length,
    quorum: proof.quorum,
    vouched: names.vouched,
    known: names.known,
    size: names.checkpointSize,
  };
}

/** "2 of 3 witnesses, quorum 2". */
function witnessCount(w) {
  return `${w.count} of ${w.of} witness${w.of === 1 ? '' : 'es'}, quorum ${w.quorum}`;
}

/** Beside the timeline: what the block's place on the main chain rests on. */
function finalityAside(finality, verdict, witnesses, snapshotName) {
  if (finality === 'witnesses') {
    const vouched = new Set(witnesses.vouched);
    return el(
      'aside',
      { class: 'finality witnesses', 'data-finality': 'witnesses', 'aria-labelledby': 'finality-title' },
      el('h3', { id: 'finality-title' }, 'Witnesses'),
      el('p', { class: 'quorum', 'data-field': 'witness-count' }, witnessCount(witnesses)),
      el(
        'ul',
        { class: 'witness-list' },
        witnesses.known.map((name) => {
          const ok = vouched.has(name);
          return el(
            'li',
            { 'data-witness': name, 'data-vouched': String(ok), class: ok ? 'vouched' : 'silent' },
            el('span', { class: 'mark', 'aria-hidden': 'true' }, ok ? '✓' : '–'),
            el('code', {}, name),
            ok ? el('span', { class: 'visually-hidden' }, ' (vouched)') : el('span', { class: 'note' }, ' (no cosignature counted)'),
          );
        }),
      ),
      el(
        'p',
        { class: 'note' },
        `Each audited the chain under this chain.json and cosigned a checkpoint of ${plural(witnesses.size, 'main-chain entry', 'main-chain entries')} that includes this block at height ${verdict.height}.`,
      ),
    );
  }
  if (finality === 'snapshot') {
    return el(
      'aside',
      { class: 'finality snapshot', 'data-finality': 'snapshot', 'aria-labelledby': 'finality-title' },
      el('h3', { id: 'finality-title' }, 'Main-chain position'),
      el('p', {}, `Checked here against the snapshot ${snapshotName}: the block is on the main chain at height ${verdict.height}.`),
    );
  }
  return el(
    'aside',
    { class: 'finality unchecked', 'data-finality': 'unchecked', 'aria-labelledby': 'finality-title' },
    el('h3', { id: 'finality-title' }, 'Main-chain position: not checked'),
    el('p', {}, 'A block on a losing fork passes every check above too. To know the block is final, add either:'),
    el(
      'ul',
      {},
      el('li', {}, 'the chain’s snapshot (.tar), checked here;'),
      el('li', {}, 'or a certificate v2 for this transaction: it carries a checkpoint cosigned by the chain’s witnesses.'),
    ),
  );
}

function certificateResult(verdict, certJson, snapshotName, ms) {
  const failed = verdict.checks.filter((c) => !c.ok);
  const witnesses = witnessFacts(verdict);
  // What the block's place on the main chain rests on, for a valid certificate.
  const finality = !verdict.valid
    ? null
    : verdict.mainChainChecked
      ? witnesses
        ? 'witnesses'
        : 'snapshot'
      : 'unchecked';
  const standing = !verdict.valid ? 'invalid' : finality === 'unchecked' ? 'unchecked' : 'valid';
  const title = {
    invalid: 'Invalid certificate',
    witnesses: `Final on the main chain at height ${verdict.height}`,
    snapshot: `Final on the main chain at height ${verdict.height}`,
    unchecked: 'Valid certificate — main-chain position not checked',
  }[finality ?? 'invalid'];
  const why = {
    invalid: [`${failed.length} of ${verdict.checks.length} checks failed; first: ${failed[0]?.name} — `, withDates(failed[0]?.detail)],
    witnesses: witnesses
      ? `Vouched for by ${witnesses.count} of the chain’s ${witnesses.of} witnesses (${witnesses.vouched.join(', ')}), quorum ${witnesses.quorum}: they audited the chain themselves and cosigned a checkpoint that includes this block. Every other check passed too.`
      : '',
    snapshot: 'Every check passed, including the block’s place on the main chain, checked against the snapshot.',
    unchecked:
      'The certificate’s own checks passed: the transaction is in a block the timestamp service dated and the enclave sequenced. Whether that block is on the main chain — and so final — was NOT checked. For that, add the chain’s snapshot (.tar), or use a certificate v2, whose checkpoint is cosigned by the chain’s witnesses.',
  }[finality ?? 'invalid'];
  const block = blockFacts(certJson);
  const parts = [
    verdictBox('certificate', standing, title, why, {
      'data-main-chain-checked': verdict.mainChainChecked ? 'true' : 'false',
      'data-finality': finality ?? 'none',
      'data-check-ms': ms.toFixed(2),
    }),
  ];
  if (typeof verdict.notBefore === 'number' && typeof verdict.notAfter === 'number') {
    const figure = timeline(verdict.notBefore, verdict.notAfter, verdict.valid);
    parts.push(
      el('h2', {}, verdict.valid ? 'When' : 'When (as the certificate claims: not proven)'),
      finality ? el('div', { class: 'when' }, figure, finalityAside(finality, verdict, witnesses, snapshotName)) : figure,
    );
  } else if (finality) {
    parts.push(finalityAside(finality, verdict, witnesses, snapshotName));
  }
  const position = {
    witnesses: witnesses
      ? `checked: vouched for by ${witnessCount(witnesses)} (the certificate’s cosigned checkpoint)`
      : '',
    snapshot: 'checked against the snapshot',
  }[finality];
  parts.push(
    el('h2', {}, 'Where in the chain'),
    fieldList([
      ['Transaction', verdict.tx ? hexBlock(verdict.tx) : '—'],
      ['Height', verdict.height ?? '—', { 'data-field': 'height' }],
      ['Sequence number', certJson?.sequence ?? '—', { 'data-field': 'sequence' }],
      [
        'Main-chain position',
        position ??
          (snapshotName
            ? el('strong', {}, 'not checked')
            : [el('strong', {}, 'not checked'), ' (no snapshot given, and no cosigned checkpoint in the certificate)']),
        { 'data-field': 'main-chain-checked' },
      ],
      block && ['Block id (u)', hexBlock(block.uuid)],
      block && ['Batch root (mᴴ)', hexBlock(block.batchRoot)],
      certJson?.inclusion && [
        'Leaf',
        `${certJson.inclusion.leaf_index} of ${certJson.inclusion.tree_size} in the batch`,
      ],
    ]),
    el('h2', {}, `Checks (${verdict.checks.length - failed.length} of ${verdict.checks.length} passed)`),
    checkList(verdict.checks, CERT_CHECKS),
  );
  return parts;
}

function nsmResult(verdict, file) {
  const doc = verdict.document;
  const failed = verdict.checks.find((c) => !c.ok);
  const parts = [
    verdictBox(
      'nsm',
      verdict.valid ? 'valid' : 'invalid',
      verdict.valid ? 'Valid Nitro attestation document' : 'Invalid Nitro attestation document',
      verdict.valid
        ? 'Signed by an enclave whose certificate chain leads to AWS Nitro Enclaves Root-G1.'
        : failed
          ? `${failed.name}: ${failed.detail}`
          : null,
    ),
  ];
  if (doc) {
    const pcrs = Object.entries(doc.pcrs ?? {}).sort((a, b) => Number(a[0]) - Number(b[0]));
    const zero = pcrs.filter(([, v]) => /^0*$/.test(v)).map(([i]) => i);
    const set = pcrs.filter(([, v]) => !/^0*$/.test(v));
    const seq = doc.sequence ?? null;
    parts.push(
      el('h2', {}, verdict.valid ? 'Document' : 'Document (not authenticated)'),
      fieldList([
        ['File', file.name],
        ['Module id', el('code', {}, doc.moduleId), { 'data-field': 'module_id' }],
        ['Timestamp', `${utcMs(doc.timestamp)} (${doc.timestamp} ms)`, { 'data-field': 'timestamp' }],
        ['Digest', doc.digest],
        ['Debug mode', doc.debug ? 'yes (PCR0 all zero)' : 'no'],
        ['Public key', doc.publicKey ? hexField(doc.publicKey) : 'none', { 'data-field': 'public_key' }],
        ['User data', doc.userData ? hexField(doc.userData) : 'none', { 'data-field': 'user_data' }],
        seq !== null && ['Sequence number', `${seq} (user data is a zipchain sequence attestation)`],
        ['Nonce', doc.nonce ? hexField(doc.nonce) : 'none'],
        ['Certificates', `leaf + ${doc.cabundle?.length ?? 0} in the CA bundle`],
      ]),
      el('h2', {}, 'PCRs'),
      el(
        'table',
        { class: 'pcrs' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'PCR'), el('th', { scope: 'col' }, 'Value (SHA-384)'))),
        el(
          'tbody',
          {},
          set.map(([i, v]) => el('tr', { 'data-pcr': i }, el('th', { scope: 'row' }, i), el('td', {}, hexBlock(v)))),
        ),
      ),
      zero.length ? el('p', { class: 'note' }, `All zero: PCR ${zero.join(', ')}.`) : null,
    );
  }
  parts.push(el('h2', {}, 'Checks'), checkList(verdict.checks, NSM_CHECKS));
  return parts;
}

function base64UrlJson(segment) {
  const b64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = decodeBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
}

function claimValue(name, value) {
  if (['iat', 'exp', 'auth_time', 'nbf'].includes(name) && typeof value === 'number') {
    return `${value} (${utc(value)})`;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function timestampResult(verdict, jwt, issuerFrom, keySource) {
  const failed = verdict.checks.find((c) => !c.ok);
  const claims = verdict.claims;
  const parts = [
    verdictBox(
      'timestamp',
      verdict.valid ? 'valid' : 'invalid',
      verdict.valid ? 'Valid timestamp token' : 'Invalid timestamp token',
      verdict.valid
        ? `Signed by a key of ${keySource}; issuer ${issuerFrom}.`
        : failed
          ? `${failed.name}: ${failed.detail}`
          : null,
    ),
  ];
  let shown = claims;
  let authenticated = true;
  if (!shown) {
    authenticated = false;
    try {
      shown = base64UrlJson(jwt.text.split('.')[1]);
    } catch {
      shown = null;
    }
  }
  if (shown && typeof shown === 'object') {
    parts.push(
      el('h2', {}, authenticated ? 'Claims' : 'Claims (not authenticated)'),
      fieldList(Object.entries(shown).map(([k, v]) => [k, claimValue(k, v), { 'data-claim': k }])),
    );
    if (typeof shown.iat === 'number') {
      parts.push(el('p', { class: 'note' }, `Attested time: ${utc(shown.iat)} (iat).`));
    }
    if (verdict.attested) parts.push(fieldList([['Attested bytes', hexBlock(verdict.attested)]]));
  }
  parts.push(el('h2', {}, 'Checks'), checkList(verdict.checks, JWT_CHECKS));
  return parts;
}

// ---------------------------------------------------------------------------
// State and flow

/** The latest file of each kind; `subject` is what the page shows a verdict on. */
const state = { cert: null, chain: null, snapshot: null, nsm: null, jwt: null, jwks: null, subject: null };
let ready = null;

function showLoaded(items) {
  const known = ['cert', 'chain', 'snapshot', 'nsm', 'jwt', 'jwks'].filter((k) => state[k]);
  const list = known.map((k) => `${KIND_NAMES[k]}: ${state[k].name}`);
  const unknown = items.filter((i) => i.kind === 'unknown');
  const loaded = $('loaded');
  loaded.replaceChildren(
    list.length ? `Loaded — ${list.join('; ')}.` : 'No usable files yet.',
    ...unknown.map((u) => el('span', { class: 'unknown', 'data-unrecognised': u.name }, ` Not recognised: ${u.name} (${u.why}).`)),
  );
  $('clear').hidden = known.length === 0;
}

function setStatus(text) {
  $('status').textContent = text;
}

async function handleFiles(fileList) {
  const files = Array.from(fileList ?? []);
  if (!files.length) return;
  const items = await Promise.all(
    files.map(async (f) => recognise(f.name, new Uint8Array(await f.arrayBuffer()))),
  );
  let subject = null;
  for (const item of items) {
    if (item.kind === 'unknown') continue;
    state[item.kind] = item;
    if (item.kind === 'cert') subject = 'cert';
    else if (item.kind === 'nsm' && subject !== 'cert') subject = 'nsm';
    else if (item.kind === 'jwt' && !subject) subject = 'jwt';
  }
  if (subject) state.subject = subject;
  showLoaded(items);
  await render();
}

async function render() {
  const report = $('report');
  const results = $('results');
  results.setAttribute('aria-busy', 'true');
  try {
    await ready;
    report.replaceChildren(...(await renderSubject()));
  } catch (e) {
    report.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not check: ${e?.message ?? e}`));
    setStatus('');
  } finally {
    results.setAttribute('aria-busy', 'false');
  }
}

async function renderSubject() {
  const s = state.subject;
  if (s === 'cert') {
    if (!state.chain) {
      setStatus('Certificate loaded. Now add the chain’s chain.json (the trust descriptor it is checked against).');
      return [];
    }
    const options = state.snapshot ? { snapshot: state.snapshot.bytes } : undefined;
    const t0 = performance.now();
    const verdict = checkCertificate(state.cert.text, state.chain.text, options);
    const ms = performance.now() - t0;
    setStatus(`Checked ${state.cert.name} against ${state.chain.name}${state.snapshot ? ` and ${state.snapshot.name}` : ''} in ${ms.toFixed(1)} ms.`);
    return certificateResult(verdict, state.cert.json, state.snapshot?.name ?? null, ms);
  }
  if (s === 'nsm') {
    const options = {};
    const rootPem = state.chain?.json?.nitro?.root_pem;
    if (typeof rootPem === 'string') options.root = rootPem;
    if (state.chain?.json?.nitro?.allow_debug === true) options.allowDebug = true;
    const verdict = verifyNsmDocument(state.nsm.bytes, options);
    setStatus(
      `Checked ${state.nsm.name}${options.root ? ` against the root in ${state.chain.name}` : ' against AWS Nitro Enclaves Root-G1'}.`,
    );
    return nsmResult(verdict, state.nsm);
  }
  if (s === 'jwt') {
    const chainTs = state.chain?.json?.timestamp;
    const jwks = state.jwks?.json ?? chainTs?.jwks;
    if (!jwks) {
      setStatus('Token loaded. Now add the key set it is signed with: a JWKS .json file, or the chain.json.');
      return [];
    }
    let payload = {};
    try {
      payload = base64UrlJson(state.jwt.text.split('.')[1]);
    } catch {
      // the verifier reports the malformed token
    }
    const fromChain = Boolean(chainTs && !state.jwks);
    const issuer = fromChain ? chainTs.issuer : typeof payload.iss === 'string' ? payload.iss : '';
    const options = { issuer };
    const tokenUse = fromChain ? chainTs.token_use : payload.token_use;
    if (tokenUse === 'id' || tokenUse === 'access') options.tokenUse = tokenUse;
    const username = payload['cognito:username'] ?? payload.username;
    const domain = fromChain
      ? chainTs.username_domain
      : typeof username === 'string' && /^[0-9a-f]+@[^@]+$/.test(username)
        ? username.split('@')[1]
        : undefined;
    if (typeof domain === 'string') options.usernameDomain = domain;
    const verdict = verifyTimestamp(state.jwt.text, jwks, options);
    const keySource = state.jwks ? state.jwks.name : `${state.chain.name}’s timestamp.jwks`;
    const issuerFrom = fromChain
      ? `as ${state.chain.name} requires`
      : '(taken from the token itself: only the key set vouches for it)';
    setStatus(`Checked ${state.jwt.name} with ${keySource}.`);
    return timestampResult(verdict, state.jwt, issuerFrom, keySource);
  }
  setStatus('Ready. Drop a certificate, an attestation document or a timestamp token.');
  return [];
}

function clear() {
  for (const key of Object.keys(state)) state[key] = null;
  $('files').value = '';
  $('report').replaceChildren();
  showLoaded([]);
  setStatus('Cleared. Drop a certificate, an attestation document or a timestamp token.');
  $('files').focus();
}

function setUp() {
  const input = $('files');
  const zone = $('drop');
  input.addEventListener('change', () => handleFiles(input.files));
  // A drop anywhere on the page (the input itself lies over the drop zone) is
  // put into the input, so the input holds what was dropped as if picked.
  let depth = 0;
  document.addEventListener('dragenter', (e) => {
    e.preventDefault();
    depth++;
    zone.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove('dragging');
  });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    depth = 0;
    zone.classList.remove('dragging');
    e.preventDefault();
    const files = e.dataTransfer?.files;
    if (files?.length) {
      try {
        input.files = files; // fires no `change`: handled just below
      } catch {
        // a browser that will not set them: the files stay on the event only
      }
      handleFiles(files);
    }
  });
  $('clear').addEventListener('click', clear);

  ready = init(wasmBytes()).then(
    () => {
      // When the verifier became usable, ms since navigation (for the benchmarks).
      document.documentElement.dataset.readyMs = performance.now().toFixed(1);
      document.documentElement.dataset.ready = 'true';
      setStatus('Ready. Drop a certificate, an attestation document or a timestamp token.');
    },
    (e) => {
      setStatus(`The verifier could not be loaded: ${e?.message ?? e}`);
      throw e;
    },
  );
  // A selection made before this module ran (a fast user, a restored form).
  if (input.files?.length) handleFiles(input.files);
}

setUp();
