// The web page (issue #5, SPEC §8) in a real browser: Debian's Chromium driven by
// playwright-core, the page served from web/dist/ by a small static server
// written here (node:http), the files set on the page's one file input.
//
// Needs: web/dist/ built (node web/build.mjs), the fixtures of
// scripts/make-fixtures.sh (<cargo target dir>/fixtures, or $ZIPCHAIN_FIXTURES),
// /usr/bin/chromium (or $CHROMIUM), and for the NSM and JWT cases the shared
// vectors (../shared/vectors beside the repository, or $ZIPCHAIN_VECTORS).
// scripts/test.sh (section "browser") does all of that, then:
//   node --test web/tests/
//
// Every page the tests open is watched: each request must go to the local
// server, and no console error, page error or CSP violation may occur.
// Also writes target/web-screenshot.png (desk) and target/web-screenshot-phone.png,
// and target/web-bench.json: the median time of one checkCertificate call in
// Chromium (recorded in BENCHMARKS.md; nothing is asserted about it).
//
// Finality and the timeline (issue #16): the fixtures' certificate v2 (cert-v2.json
// under chain-v2.json: three witnesses, quorum 2, two of them cosigned), and v1
// certificates whose times are one second apart, equal, or backwards. Asserted on the DOM (text, and the geometry of the timeline's
// labels: no two of them touch); screenshots in target/web-screenshot-*.png.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const dist = join(repo, 'web', 'dist');

function targetDir() {
  try {
    const meta = execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1'], {
      cwd: repo,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    return JSON.parse(meta).target_directory;
  } catch {
    return join(repo, 'target');
  }
}
const target = targetDir();
const fixtures = resolve(process.env.ZIPCHAIN_FIXTURES ?? join(target, 'fixtures'));
const vectors = resolve(process.env.ZIPCHAIN_VECTORS ?? join(repo, '../shared/vectors'));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// The brief's flags: nothing in the background may touch the network.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

for (const [what, path] of [
  ['web/dist (run node web/build.mjs)', join(dist, 'index.html')],
  ['the fixtures (run scripts/make-fixtures.sh)', join(fixtures, 'cert.json')],
  ['Chromium', CHROMIUM],
  ['the fixtures\' certificate v2 (run scripts/make-fixtures.sh)', join(fixtures, 'cert-v2.json')],
]) {
  assert.ok(existsSync(path), `${what}: ${path} is missing`);
}

const fixture = (name) => readFileSync(join(fixtures, name));
const haveVectors = existsSync(join(vectors, 'nitro/docs/MANIFEST.json'));
const skipVectors = haveVectors ? false : `no test vectors at ${vectors} (set ZIPCHAIN_VECTORS)`;

// ---------------------------------------------------------------------------
// A static server for web/dist

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

function serve(root) {
  const served = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    let path = normalize(join(root, decodeURIComponent(url.pathname)));
    if (!path.startsWith(root + sep) && path !== root) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
    if (!existsSync(path)) {
      served.push({ path: url.pathname, status: 404 });
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    served.push({ path: url.pathname, status: 200 });
    res.writeHead(200, {
      'content-type': MIME[extname(path)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(readFileSync(path));
  });
  return new Promise((resolveServer) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolveServer({ server, origin: `http://127.0.0.1:${port}`, served });
    });
  });
}

// ---------------------------------------------------------------------------
// Browser and watched pages

let web;
let context;
let userDataDir;
/** Every problem any page showed: requests elsewhere, console errors, CSP violations. */
const problems = [];
const allRequests = [];

before(async () => {
  web = await serve(dist);
  userDataDir = mkdtempSync(join(tmpdir(), 'zipchain-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 900 },
  });
  // Seen by the page before its own scripts run; CSP does not apply to it.
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
});

after(async () => {
  await context?.close();
  await new Promise((r) => (web ? web.server.close(r) : r()));
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** Opens the page, watching everything it does; resolves once the verifier is loaded. */
async function openPage(viewport) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const seen = { requests: [], console: [] };
  page.on('request', (req) => {
    seen.requests.push(req.url());
    allRequests.push(req.url());
    if (!req.url().startsWith(`${web.origin}/`)) problems.push(`request to ${req.url()}`);
  });
  page.on('console', (msg) => {
    seen.console.push(`${msg.type()}: ${msg.text()}`);
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  await page.goto(`${web.origin}/index.html`);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 30_000 });
  return {
    page,
    seen,
    async close() {
      const csp = await page.evaluate(() => window.__cspViolations);
      for (const v of csp) problems.push(`CSP violation: ${v}`);
      await page.close();
    },
  };
}

const file = (name, content, mimeType = 'application/octet-stream') => ({
  name,
  mimeType,
  buffer: Buffer.isBuffer(content) ? content : Buffer.from(content),
});

/** Sets files on the page's input and waits for the verdict they give. */
async function verdictOf(page, files) {
  await page.setInputFiles('input[type=file]', files);
  const verdict = page.locator('[data-verdict]');
  await verdict.waitFor({ timeout: 30_000 });
  return verdict;
}

/** Every check on the page: name -> ok. */
const checksOn = (page) =>
  page.$$eval('[data-check]', (els) =>
    els.map((e) => ({ name: e.dataset.check, ok: e.dataset.ok, text: e.textContent })),
  );

const certText = () => fixture('cert.json').toString('utf8');
const chainFile = () => file('chain.json', fixture('chain.json'), 'application/json');

const CERT_CHECKS = [
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

// ---------------------------------------------------------------------------
// Certificates

describe('a certificate', () => {
  test('with its chain.json is valid, every check passed, main-chain position not checked', async () => {
    const { page, close } = await openPage();
    const verdict = await verdictOf(page, [
      // Names that say nothing: the page recognises files by content.
      file('a', fixture('cert.json')),
      file('b', fixture('chain.json')),
    ]);
    assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
    assert.equal(await verdict.getAttribute('data-main-chain-checked'), 'false');
    const checks = await checksOn(page);
    assert.deepEqual(
      checks.map((c) => c.name),
      CERT_CHECKS,
    );
    for (const c of checks) assert.equal(c.ok, 'true', `${c.name}: ${c.text}`);
    const cert = JSON.parse(certText());
    assert.equal(await page.textContent('[data-field=height]'), String(cert.height));
    assert.equal(await page.textContent('[data-field=sequence]'), String(cert.sequence));
    assert.match(await page.textContent('[data-field=main-chain-checked]'), /not checked/);
    // The timeline shows both trusted times.
    assert.equal(await page.locator('.timeline svg').count(), 1);
    const caption = await page.textContent('.timeline figcaption');
    for (const t of [cert.not_before, cert.not_after]) {
      const iso = new Date(t * 1000).toISOString().slice(0, 19).replace('T', ' ');
      assert.ok(caption.includes(iso), `timeline caption names ${iso}: ${caption}`);
    }
    // Results are announced: the verdict is inside the aria-live region.
    assert.equal(await page.locator('[aria-live] [data-verdict]').count(), 1);
    await close();
  });

  test('with the snapshot .tar too: main-chain position checked, and a screenshot', async () => {
    const { page, close } = await openPage();
    const verdict = await verdictOf(page, [
      file('cert.json', fixture('cert.json'), 'application/json'),
      chainFile(),
      file('snapshot.tar', fixture('snapshot.tar'), 'application/x-tar'),
    ]);
    assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
    assert.equal(await verdict.getAttribute('data-main-chain-checked'), 'true');
    const checks = await checksOn(page);
    assert.deepEqual(
      checks.map((c) => c.name),
      [...CERT_CHECKS, 'main_chain', 'first_occurrence'],
    );
    for (const c of checks) assert.equal(c.ok, 'true', `${c.name}: ${c.text}`);
    assert.match(await page.textContent('[data-field=main-chain-checked]'), /checked against the snapshot/);
    await page.screenshot({ path: join(target, 'web-screenshot.png'), fullPage: true });
    await close();

    const phone = await openPage({ width: 390, height: 844 });
    await verdictOf(phone.page, [
      file('cert.json', fixture('cert.json')),
      chainFile(),
      file('snapshot.tar', fixture('snapshot.tar')),
    ]);
    // Nothing wider than the phone's screen.
    const overflow = await phone.page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 390px screen`);
    await phone.page.screenshot({ path: join(target, 'web-screenshot-phone.png'), fullPage: true });
    await phone.close();
  });

  test('dropped on the drop zone lands in the file input and is checked', async () => {
    const { page, close } = await openPage();
    const dataTransfer = await page.evaluateHandle(
      ([cert, chain]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([cert], 'cert.json', { type: 'application/json' }));
        dt.items.add(new File([chain], 'chain.json', { type: 'application/json' }));
        return dt;
      },
      [certText(), fixture('chain.json').toString('utf8')],
    );
    await page.dispatchEvent('#drop', 'drop', { dataTransfer });
    const verdict = page.locator('[data-verdict]');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
    assert.deepEqual(
      await page.$eval('input[type=file]', (input) => [...input.files].map((f) => f.name)),
      ['cert.json', 'chain.json'],
    );
    await close();
  });

  test('given alone, asks for the chain.json and shows no verdict', async () => {
    const { page, close } = await openPage();
    await page.setInputFiles('input[type=file]', [file('cert.json', fixture('cert.json'))]);
    await page.waitForFunction(() => /chain\.json/.test(document.getElementById('status').textContent));
    assert.equal(await page.locator('[data-verdict]').count(), 0);
    // ... and the chain added afterwards (a second pick) completes it.
    const verdict = await verdictOf(page, [chainFile()]);
    assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
    await close();
  });

  // Each tampering, and the check that must name it.
  const flipHex = (hex, at) => {
    const i = at < 0 ? hex.length + at : at;
    return hex.slice(0, i) + (hex[i] === '0' ? '1' : '0') + hex.slice(i + 1);
  };
  const flipJwtSignature = (jwt) => {
    const [h, p, s] = jwt.split('.');
    const i = Math.floor(s.length / 2);
    return `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
  };
  const TAMPERINGS = [
    ['the transaction id changed', 'inclusion', (c) => ({ ...c, tx: flipHex(c.tx, -1) })],
    ['the upper JWT changed', 'upper_timestamp', (c) => ({ ...c, upper: flipJwtSignature(c.upper) })],
    ['the lower JWT changed', 'lower_timestamp', (c) => ({ ...c, lower: flipJwtSignature(c.lower) })],
    [
      'the inclusion path changed',
      'inclusion',
      (c) => {
        assert.ok(c.inclusion.path.length > 0, 'the fixture certificate has an inclusion path');
        const path = [...c.inclusion.path];
        path[0] = flipHex(path[0], 5);
        return { ...c, inclusion: { ...c.inclusion, path } };
      },
    ],
    [
      'the attestation changed',
      'attestation',
      (c) => {
        const bytes = Buffer.from(c.attestation, 'base64');
        bytes[bytes.length - 10] ^= 0x01; // inside the COSE signature
        return { ...c, attestation: bytes.toString('base64') };
      },
    ],
    ['the height changed (with the snapshot)', 'main_chain', (c) => ({ ...c, height: c.height + 1 }), true],
  ];

  for (const [what, failing, tamper, withSnapshot] of TAMPERINGS) {
    test(`is invalid when ${what}: check ${failing} fails`, async () => {
      const { page, close } = await openPage();
      const tampered = JSON.stringify(tamper(JSON.parse(certText())), null, 2);
      const files = [file('cert.json', tampered, 'application/json'), chainFile()];
      if (withSnapshot) files.push(file('snapshot.tar', fixture('snapshot.tar')));
      const verdict = await verdictOf(page, files);
      assert.equal(await verdict.getAttribute('data-verdict'), 'invalid');
      const check = page.locator(`[data-check="${failing}"]`);
      assert.equal(await check.count(), 1, `one element for check ${failing}`);
      assert.equal(await check.getAttribute('data-ok'), 'false');
      // The reason is shown beside it.
      assert.ok((await check.locator('.check-detail').textContent()).trim().length > 0);
      await close();
    });
  }
});

// ---------------------------------------------------------------------------
// Finality (certificate v2, SPEC §9.5) and the timeline's labels (issue #16)

/** The fixtures' certificate v2 and its v2 trust descriptor (JSON text). */
const certificateV2 = () => ({
  cert: fixture('cert-v2.json').toString('utf8'),
  chain: fixture('chain-v2.json').toString('utf8'),
});

/** The timeline's labels (names and times), with their boxes on the page. */
const timelineLabels = (page) =>
  page.$$eval('.timeline [data-label]', (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { label: e.dataset.label, text: e.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
    }),
  );

const box = (page, selector) =>
  page.$eval(selector, (e) => {
    const r = e.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
  });

/**
 * No two labels of the timeline overlap or touch (at least `gap` px apart across or
 * down), and each lies inside the timeline's figure.
 */
async function assertLabelsApart(page, what, gap = 4) {
  const labels = await timelineLabels(page);
  assert.ok(labels.length >= 2, `${what}: the timeline has labels: ${JSON.stringify(labels)}`);
  const figure = await box(page, '.timeline');
  for (const l of labels) {
    assert.ok(l.right - l.left > 0 && l.bottom - l.top > 0, `${what}: label ${l.label} is drawn`);
    assert.ok(
      l.left >= figure.left && l.right <= figure.right && l.top >= figure.top && l.bottom <= figure.bottom,
      `${what}: label ${l.label} (${JSON.stringify(l)}) lies inside the timeline ${JSON.stringify(figure)}`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const [a, b] = [labels[i], labels[j]];
      const apartAcross = a.right + gap <= b.left || b.right + gap <= a.left;
      const apartDown = a.bottom + gap <= b.top || b.bottom + gap <= a.top;
      assert.ok(
        apartAcross || apartDown,
        `${what}: labels "${a.text}" and "${b.text}" run into each other: ${JSON.stringify([a, b])}`,
      );
    }
  }
  return labels;
}

const ISO_UTC = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/;
const isoOf = (t) => new Date(t * 1000).toISOString().slice(0, 19).replace('T', ' ');

describe('finality and the timeline', () => {
  let v2;
  before(() => {
    v2 = certificateV2();
  });

  test('a certificate v2 whose witnesses vouched: final at its height, the witnesses beside the timeline', async () => {
    const cert = JSON.parse(v2.cert);
    for (const [viewport, shot] of [
      [undefined, 'web-screenshot-v2.png'],
      [{ width: 390, height: 844 }, 'web-screenshot-v2-phone.png'],
    ]) {
      const what = viewport ? 'phone' : 'desk';
      const { page, close } = await openPage(viewport);
      const verdict = await verdictOf(page, [file('cert-v2.json', v2.cert), file('chain.json', v2.chain)]);
      assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
      assert.equal(await verdict.getAttribute('data-main-chain-checked'), 'true');
      assert.equal(await verdict.getAttribute('data-finality'), 'witnesses');
      assert.match(await verdict.getAttribute('class'), /\bvalid\b/);
      assert.equal(
        (await page.textContent('[data-verdict] [data-headline]')).trim(),
        `Final on the main chain at height ${cert.height}`,
      );
      assert.match(await verdict.textContent(), /2 of the chain’s 3 witnesses \(alpha\.example, bravo\.example\), quorum 2/);
      const checks = await checksOn(page);
      assert.deepEqual(checks.map((c) => c.name), [...CERT_CHECKS, 'main_chain_proof']);
      for (const c of checks) assert.equal(c.ok, 'true', `${c.name}: ${c.text}`);

      // The witnesses: who vouched and who did not, and how many of how many.
      const aside = page.locator('aside[data-finality=witnesses]');
      assert.equal(await aside.count(), 1);
      assert.equal((await page.textContent('[data-field=witness-count]')).trim(), '2 of 3 witnesses, quorum 2');
      assert.deepEqual(
        await page.$$eval('[data-witness]', (els) => els.map((e) => [e.dataset.witness, e.dataset.vouched])),
        [
          ['alpha.example', 'true'],
          ['bravo.example', 'true'],
          ['charlie.example', 'false'],
        ],
      );
      const size = cert.main_chain.checkpoint.split('\n')[1];
      assert.ok(
        (await aside.textContent()).includes(`checkpoint of ${size} main-chain entries that includes this block at height ${cert.height}`),
        await aside.textContent(),
      );
      assert.match(await page.textContent('[data-field=main-chain-checked]'), /vouched for by 2 of 3 witnesses, quorum 2/);

      // Beside the timeline on a desk, below it on a phone; never over it.
      const fig = await box(page, '.timeline');
      const side = await box(page, 'aside[data-finality]');
      if (viewport) assert.ok(side.top >= fig.bottom, `${what}: the witnesses are below the timeline`);
      else {
        assert.ok(side.left >= fig.right, `${what}: the witnesses are right of the timeline: ${JSON.stringify([fig, side])}`);
        assert.ok(side.top < fig.bottom && fig.top < side.bottom, `${what}: ... and level with it`);
      }
      await assertLabelsApart(page, `v2 (${what})`);
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      assert.ok(overflow <= 0, `${what}: the page is ${overflow}px wider than its screen`);
      await page.screenshot({ path: join(target, shot), fullPage: true });
      await close();
    }
  });

  test('a certificate v1 is valid but says plainly that its main-chain position was not checked', async () => {
    const cert = JSON.parse(certText());
    assert.equal(cert.not_after - cert.not_before, 1, 'the fixture certificate spans one second');
    const { page, close } = await openPage();
    const verdict = await verdictOf(page, [file('cert.json', fixture('cert.json')), chainFile()]);
    assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
    assert.equal(await verdict.getAttribute('data-finality'), 'unchecked');
    // Not drawn as a plain success.
    const cls = await verdict.getAttribute('class');
    assert.match(cls, /\bunchecked\b/);
    assert.doesNotMatch(cls, /\bvalid\b/);
    const colours = await page.$eval('[data-verdict]', (e) => getComputedStyle(e).borderTopColor);
    const okColour = await page.evaluate(() => {
      const probe = document.createElement('div');
      probe.className = 'verdict valid';
      document.body.append(probe);
      const c = getComputedStyle(probe).borderTopColor;
      probe.remove();
      return c;
    });
    assert.notEqual(colours, okColour, 'the unchecked verdict is not drawn in the success colour');
    assert.equal(
      (await page.textContent('[data-verdict] [data-headline]')).trim(),
      'Valid certificate — main-chain position not checked',
    );
    assert.match(await verdict.textContent(), /was NOT checked/);
    assert.match(await verdict.textContent(), /snapshot \(\.tar\)/);
    assert.match(await verdict.textContent(), /cosigned by the chain’s witnesses/);
    const aside = page.locator('aside[data-finality=unchecked]');
    assert.equal(await aside.count(), 1);
    assert.match(await aside.textContent(), /not checked/);

    // One second apart: a window of 1 second, labels apart.
    const caption = await page.textContent('.timeline figcaption');
    assert.match(caption, /a window of 1 second\b/);
    assert.doesNotMatch(caption, /\b0 s\b|within the same second/);
    const labels = await assertLabelsApart(page, 'v1, one second apart');
    assert.deepEqual(labels.map((l) => l.label).sort(), ['not-after', 'not-after-time', 'not-before', 'not-before-time']);

    // Check details: each Unix time with its UTC date.
    const lower = await page.textContent('[data-check=lower_timestamp] .check-detail');
    assert.equal(lower, `valid, issued at ${cert.not_before} (${isoOf(cert.not_before)} UTC)`);
    const bounds = await page.textContent('[data-check=time_bounds] .check-detail');
    assert.ok(bounds.includes(`${cert.not_after} (${isoOf(cert.not_after)} UTC)`), bounds);
    const attestationTime = await page.textContent('[data-check=attestation_time] .check-detail');
    assert.match(attestationTime, /\d{13} ms \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC\)/);
    assert.match(attestationTime, new RegExp(`${cert.not_after} s \\(${isoOf(cert.not_after)} UTC\\)`));
    assert.ok(
      (await page.$$eval('[data-check] .check-detail time[datetime]', (els) => els.length)) >= 5,
      'the dates are <time datetime> elements',
    );
    // Hex is left alone.
    assert.doesNotMatch(await page.textContent('[data-check=upper_attests_block] .check-detail'), ISO_UTC);
    await page.screenshot({ path: join(target, 'web-screenshot-v1-unchecked.png'), fullPage: true });
    await close();
  });

  // Certificates whose times are equal or backwards do not pass time_bounds (the
  // fixtures' timestamps are one second apart), but the page draws their claimed
  // times all the same: the same code lays the labels out.
  for (const [what, tamper, shot] of [
    ['equal', (c) => ({ ...c, not_before: c.not_after }), 'web-screenshot-same-second.png'],
    ['backwards', (c) => ({ ...c, not_before: c.not_after, not_after: c.not_before })],
    ['far apart', (c) => ({ ...c, not_before: c.not_before - 3 * 86400 - 7200 })],
  ]) {
    test(`a certificate whose times are ${what}: the timeline's labels stay apart`, async () => {
      const cert = tamper(JSON.parse(certText()));
      for (const viewport of [undefined, { width: 390, height: 844 }]) {
        const { page, close } = await openPage(viewport);
        const verdict = await verdictOf(page, [file('cert.json', JSON.stringify(cert)), chainFile()]);
        assert.equal(await verdict.getAttribute('data-verdict'), 'invalid');
        assert.equal(await page.getAttribute('[data-check=time_bounds]', 'data-ok'), 'false');
        const labels = await assertLabelsApart(page, `${what} (${viewport ? 'phone' : 'desk'})`);
        const caption = await page.textContent('.timeline figcaption');
        if (what === 'equal') {
          assert.equal(await page.getAttribute('.timeline', 'data-same-second'), 'true');
          assert.deepEqual(labels.map((l) => l.label), ['both', 'both-time']);
          assert.equal(labels[0].text, 'not before = not after');
          assert.match(labels[1].text, /^\d\d:\d\d:\d\d, within the same second$/);
          assert.match(caption, /within the same second/);
          assert.doesNotMatch(caption, /window of 0/);
          assert.equal(await page.locator('.timeline .tick').count(), 1);
        } else if (what === 'backwards') {
          assert.match(caption, /backwards/);
          // The earlier time's labels are on the left, whichever name it has.
          const at = Object.fromEntries(labels.map((l) => [l.label, l]));
          assert.ok(at['not-after'].right < at['not-before'].left);
        } else {
          assert.match(caption, /a window of 3 days 2 h 1 s|a window of 3 days 2 h\b/);
        }
        if (shot && !viewport) await page.screenshot({ path: join(target, shot), fullPage: true });
        await close();
      }
    });
  }
});

// ---------------------------------------------------------------------------
// The conformance chain of an independent implementation (vectors/chain)

describe('the conformance chain (vectors/chain)', () => {
  const dir = join(vectors, 'chain');
  const have = existsSync(join(dir, 'chain.json'));
  const skip = have ? false : `no conformance chain at ${dir} (set ZIPCHAIN_VECTORS)`;
  let tar;
  before(() => {
    if (!have) return;
    // The snapshot directory as a .tar (GNU tar, the layout at the archive's root).
    const tmp = mkdtempSync(join(tmpdir(), 'zipchain-web-tar-'));
    execFileSync('tar', ['--format=ustar', '-cf', join(tmp, 'snapshot.tar'), '-C', join(dir, 'snapshot'), '.']);
    tar = readFileSync(join(tmp, 'snapshot.tar'));
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const [name, height] of [
    ['tx-1a', 1],
    ['tx-2d', 2],
    ['tx-5b', 5],
  ]) {
    test(`${name}'s certificate is valid, and on the main chain at height ${height}`, { skip }, async () => {
      const { page, close } = await openPage();
      const files = [
        file(`${name}.json`, readFileSync(join(dir, 'certificates', `${name}.json`))),
        file('chain.json', readFileSync(join(dir, 'chain.json'))),
      ];
      let verdict = await verdictOf(page, files);
      assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
      assert.equal(await verdict.getAttribute('data-main-chain-checked'), 'false');
      // Adding the snapshot afterwards re-checks with main-chain position.
      await page.setInputFiles('input[type=file]', [file('snapshot.tar', tar)]);
      await page.waitForSelector('[data-verdict][data-main-chain-checked="true"]');
      verdict = page.locator('[data-verdict]');
      assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
      assert.equal((await page.textContent('[data-field=height]')).trim(), String(height));
      for (const c of await checksOn(page)) assert.equal(c.ok, 'true', `${c.name}: ${c.text}`);
      await close();
    });
  }
});

// ---------------------------------------------------------------------------
// A single NSM document, a single JWT

describe('on its own', () => {
  test('a real AWS Nitro attestation document shows its module_id and PCRs', { skip: skipVectors }, async () => {
    const manifest = JSON.parse(readFileSync(join(vectors, 'nitro/docs/MANIFEST.json'), 'utf8'));
    const entry = manifest.find(
      (e) => e.cose_sig_valid && e.chain_valid_at_doc_timestamp && !e.debug_mode && e.file.endsWith('.cbor'),
    );
    assert.ok(entry, 'MANIFEST.json names a valid production document');
    const { page, close } = await openPage();
    const verdict = await verdictOf(page, [
      file(entry.file, readFileSync(join(vectors, 'nitro/docs', entry.file))),
    ]);
    assert.equal(await verdict.getAttribute('data-subject'), 'nsm');
    assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
    assert.equal((await page.textContent('[data-field=module_id]')).trim(), entry.module_id);
    assert.equal(
      (await page.textContent('[data-pcr="0"] td')).trim(),
      entry.pcr0,
      'PCR0 is shown',
    );
    for (const c of await checksOn(page)) assert.equal(c.ok, 'true', `${c.name}: ${c.text}`);
    await close();
  });

  test('real NSM documents as enclaves make them now: indefinite-length payload maps, an empty public_key', { skip: skipVectors }, async () => {
    const dir = join(vectors, 'nitro/docs-current');
    const manifest = JSON.parse(readFileSync(join(dir, 'MANIFEST.json'), 'utf8'));
    assert.equal(manifest.length, 3);
    for (const entry of manifest) {
      const { page, close } = await openPage();
      const verdict = await verdictOf(page, [file(entry.file, readFileSync(join(dir, entry.file)))]);
      assert.equal(await verdict.getAttribute('data-subject'), 'nsm', entry.file);
      assert.equal((await page.textContent('[data-field=module_id]')).trim(), entry.module_id, entry.file);
      if (/^0*$/.test(entry.pcr0)) {
        // The page lists all-zero registers in one line instead of a row each.
        assert.match(await page.textContent('.pcrs + .note'), /^All zero: PCR 0, 1, 2\b/, entry.file);
      } else {
        assert.equal((await page.textContent('[data-pcr="0"] td')).trim(), entry.pcr0, entry.file);
      }
      const checks = await checksOn(page);
      const failed = checks.filter((c) => c.ok !== 'true').map((c) => c.name);
      // Genuine at their own time: only the debug-mode ones fail, and only at `debug`.
      assert.deepEqual(failed, entry.debug_mode ? ['debug'] : [], `${entry.file}: ${JSON.stringify(checks)}`);
      assert.equal(await verdict.getAttribute('data-verdict'), entry.debug_mode ? 'invalid' : 'valid', entry.file);
      await close();
    }
  });

  test('a real Cognito ID token with its pool JWKS shows its claims', { skip: skipVectors }, async () => {
    const dir = join(vectors, 'jwt/cognito-us-east-1_PDsy6i0Bf');
    const { page, close } = await openPage();
    const verdict = await verdictOf(page, [
      file('id.jwt', readFileSync(join(dir, 'id.jwt'))),
      file('jwks.json', readFileSync(join(dir, 'jwks.json'))),
    ]);
    assert.equal(await verdict.getAttribute('data-subject'), 'timestamp');
    assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
    assert.equal(
      (await page.textContent('[data-claim=iss]')).trim(),
      'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_PDsy6i0Bf',
    );
    assert.match(await page.textContent('[data-claim=iat]'), /^1587311838 /);
    for (const c of await checksOn(page)) assert.equal(c.ok, 'true', `${c.name}: ${c.text}`);
    await close();
  });

  test("a certificate's timestamp token with the chain.json is checked under the descriptor's policy", async () => {
    const cert = JSON.parse(certText());
    const { page, close } = await openPage();
    const verdict = await verdictOf(page, [file('upper.jwt', `${cert.upper}\n`), chainFile()]);
    assert.equal(await verdict.getAttribute('data-subject'), 'timestamp');
    assert.equal(await verdict.getAttribute('data-verdict'), 'valid');
    assert.equal(Number.parseInt(await page.textContent('[data-claim=iat]'), 10), cert.not_after);
    const names = (await checksOn(page)).map((c) => c.name);
    assert.ok(names.includes('username'), `the username domain was checked: ${names}`);
    await close();
  });

  // Issue #18 (docs/FUZZING.md "Hostile input is a clear answer"): the classes the
  // fuzz targets try, each shown as an invalid verdict naming its failed check (or, for
  // what is not even one of the page's kinds, named as not recognised), never a crash of
  // the page or of its WebAssembly module.
  test('hostile files are an invalid verdict naming the failed check', async () => {
    const MB = 1 << 20;
    const deepCose = Buffer.concat([Buffer.from([0x84, 0x44, 0xa1, 0x01, 0x38, 0x22, 0xa0]), Buffer.alloc(MB, 0x81), Buffer.from([0])]);
    const cert = JSON.parse(certText());
    const [h, p, s] = cert.upper.split('.');
    const b64 = (t) => Buffer.from(t).toString('base64url');
    const deepJson = `${'['.repeat(MB)}0${']'.repeat(MB)}`;
    const cases = [
      ['a COSE envelope nested a megabyte deep', [file('deep.cbor', deepCose)], 'nsm', 'cbor'],
      ['a truncated COSE envelope', [file('short.cbor', Buffer.from([0x84, 0x44, 0xa1, 0x01]))], 'nsm', 'cbor'],
      ['a token whose header nests a megabyte deep', [file('t.jwt', `${b64(deepJson)}.${p}.${s}`), chainFile()], 'timestamp', 'header'],
      ['a token whose header says alg none', [file('t.jwt', `${b64('{"alg":"none"}')}.${p}.${s}`), chainFile()], 'timestamp', 'alg'],
      ['a token naming an unknown kid', [file('t.jwt', `${b64('{"alg":"RS256","kid":"nope"}')}.${p}.${s}`), chainFile()], 'timestamp', 'kid'],
      ['a certificate whose block is not hex', [file('cert.json', JSON.stringify({ ...cert, block: 'zz' })), chainFile()], 'certificate', 'format'],
      ['a certificate with a truncated snapshot', [file('cert.json', certText()), chainFile(), file('snapshot.tar', fixture('snapshot.tar').subarray(0, 700))], 'certificate', 'snapshot'],
    ];
    for (const [what, files, subject, failing] of cases) {
      const { page, close } = await openPage();
      const verdict = await verdictOf(page, files);
      assert.equal(await verdict.getAttribute('data-subject'), subject, what);
      assert.equal(await verdict.getAttribute('data-verdict'), 'invalid', what);
      const check = page.locator(`[data-check="${failing}"]`);
      assert.equal(await check.getAttribute('data-ok'), 'false', `${what}: check ${failing}`);
      await close();
    }
    // What is not even one of the page's kinds is named, not shown as a verdict: JSON
    // nested a megabyte deep, a certificate that is not JSON, a token of two segments.
    const { page, close } = await openPage();
    await page.setInputFiles('input[type=file]', [
      file('deep.json', `{"a":${deepJson}}`),
      file('cert.json', '{"zipchain_certificate": 1,'),
      file('two.jwt', `${h}.${p}`),
    ]);
    for (const name of ['deep.json', 'cert.json', 'two.jwt']) await page.waitForSelector(`[data-unrecognised="${name}"]`);
    await close();
  });

  test('a file that is none of these is named as not recognised', async () => {
    const { page, close } = await openPage();
    await page.setInputFiles('input[type=file]', [file('notes.txt', 'hello, world')]);
    await page.waitForSelector('[data-unrecognised="notes.txt"]');
    assert.equal(await page.locator('[data-verdict]').count(), 0);
    await close();
  });
});

// ---------------------------------------------------------------------------
// The page itself

describe('the page', () => {
  test('is keyboard usable: the labelled file input is the first focus stop', async () => {
    const { page, close } = await openPage();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'files');
    const input = page.locator('input[type=file]');
    assert.equal(await input.count(), 1, 'exactly one file input');
    assert.equal(await input.getAttribute('multiple'), '');
    const label = page.locator('label[for=files]');
    assert.ok(await label.isVisible());
    assert.match(await label.textContent(), /Drop files here/);
    assert.equal(await page.locator('[aria-live]').count(), 1);
    const viewport = await page.getAttribute('meta[name=viewport]', 'content');
    assert.match(viewport, /width=device-width/);
    await close();
  });

  test('forbids every connection in its CSP', async () => {
    const { page, close } = await openPage();
    const csp = await page.getAttribute('meta[http-equiv=Content-Security-Policy]', 'content');
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /connect-src/, 'no connect-src: connections fall back to none');
    // A fetch, even to the page's own host, is refused by the browser.
    const before = problems.length;
    const refused = await page.evaluate(() =>
      fetch('index.html').then(
        () => false,
        () => true,
      ),
    );
    assert.equal(refused, true);
    // That violation was provoked here: check it was reported, then forget it.
    const violations = await page.evaluate(() => window.__cspViolations.splice(0));
    assert.deepEqual(violations, [`connect-src ${new URL('index.html', page.url()).href}`]);
    await new Promise((r) => setTimeout(r, 200)); // let its console message arrive
    const provoked = problems.splice(before);
    assert.ok(
      provoked.every((p) => /connect|index\.html/i.test(p)),
      `only the provoked refusal was reported: ${JSON.stringify(provoked)}`,
    );
    await close();
  });

  test('time to check one certificate in Chromium (recorded, not asserted)', async (t) => {
    const { page, close } = await openPage();
    const cert = certText();
    const chain = fixture('chain.json').toString('utf8');
    const tar = [...fixture('snapshot.tar')];
    const v2 = certificateV2();
    const result = await page.evaluate(
      async ({ cert, chain, tar, v2, runs }) => {
        const m = await import(new URL('zipchain-verifier/index.js', location.href).href);
        const snapshot = new Uint8Array(tar);
        const time = (f) => {
          const ms = [];
          for (let i = 0; i < runs; i++) {
            const t0 = performance.now();
            const v = f();
            ms.push(performance.now() - t0);
            if (!v.valid) throw new Error(`not valid: ${JSON.stringify(v.checks)}`);
          }
          ms.sort((a, b) => a - b);
          return { median: ms[Math.floor(runs / 2)], min: ms[0], max: ms[runs - 1], runs };
        };
        return {
          certificate: time(() => m.checkCertificate(cert, chain)),
          withSnapshot: time(() => m.checkCertificate(cert, chain, { snapshot })),
          // SPEC §9.5: the same block's certificate v2, main_chain_proof included.
          certificateV2: time(() => m.checkCertificate(v2.cert, v2.chain)),
          userAgent: navigator.userAgent,
        };
      },
      { cert, chain, tar, v2, runs: 21 },
    );
    // Issue #16's target: at most 2 ms more than the v1 check (recorded, not asserted).
    result.v2ExtraMs = result.certificateV2.median - result.certificate.median;
    result.snapshotBytes = tar.length;
    // Navigation to a usable verifier (module decoded, compiled, instantiated).
    result.readyMs = Number(await page.getAttribute('html', 'data-ready-ms'));
    writeFileSync(join(target, 'web-bench.json'), `${JSON.stringify(result, null, 2)}\n`);
    t.diagnostic(
      `checkCertificate in Chromium: median ${result.certificate.median.toFixed(2)} ms ` +
        `(min ${result.certificate.min.toFixed(2)}, max ${result.certificate.max.toFixed(2)}, ${result.certificate.runs} runs); ` +
        `with the ${tar.length}-byte snapshot: median ${result.withSnapshot.median.toFixed(2)} ms; ` +
        `a certificate v2: median ${result.certificateV2.median.toFixed(2)} ms (${result.v2ExtraMs.toFixed(2)} ms more); ` +
        `page ready ${result.readyMs} ms after navigation`,
    );
    await close();
  });

  // Last: every page above was watched.
  test('made no request but to the local server, and no console error or CSP violation', () => {
    assert.ok(allRequests.length > 0, 'requests were recorded');
    assert.deepEqual(problems, []);
    assert.ok(
      !web.served.some((r) => r.status !== 200),
      `every request was for a file of web/dist: ${JSON.stringify(web.served.filter((r) => r.status !== 200))}`,
    );
  });
});
