// zipchain-verifier: the offline zipchain verifier in WebAssembly (SPEC §8).
//
// One build for Node 20+ and browsers: `wasm-bindgen --target web` output
// (zipchain_verifier_wasm.js + zipchain_verifier_wasm_bg.wasm) behind this
// wrapper. `init()` loads the module: in Node by reading the .wasm beside this
// file, in browsers (plain ES modules or bundlers) by fetching
// `new URL('./zipchain_verifier_wasm_bg.wasm', import.meta.url)`.
// The verification itself is all in Rust (verifier-core); nothing here decides.
import initWasm, * as wasm from './zipchain_verifier_wasm.js';

const WASM_FILE = './zipchain_verifier_wasm_bg.wasm';

let ready = false;
let loading = null;

/**
 * Loads the WebAssembly module. Harmless to call more than once (and
 * concurrently): every call after the first waits for the same load.
 *
 * `source` (optional) says where the module is: a `WebAssembly.Module`, the
 * .wasm bytes (`ArrayBuffer`, typed array), a `URL` or URL string, a `Response`
 * or a promise of one. By default the .wasm shipped beside this file is used.
 */
export async function init(source) {
  if (ready) return;
  if (!loading) {
    loading = (async () => {
      const input = source ?? (await defaultSource());
      await initWasm({ module_or_path: input });
      ready = true;
    })();
    // A failed load (say, a wrong URL) may be retried with another source.
    loading.catch(() => {
      loading = null;
    });
  }
  await loading;
}

/** The shipped .wasm: its bytes where the URL is a file (Node), else its URL. */
async function defaultSource() {
  const url = new URL(WASM_FILE, import.meta.url);
  if (url.protocol === 'file:' && typeof process === 'object' && process.versions?.node) {
    // A computed specifier, so that bundlers for browsers leave it alone.
    const fsPromises = 'node:fs/promises';
    const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fsPromises);
    return readFile(url);
  }
  return url;
}

function loaded(name) {
  if (!ready) {
    throw new Error(`zipchain-verifier: ${name}() called before the module was loaded; await init() first`);
  }
}

/** Checks a certificate (SPEC §3) against a trust descriptor, offline. */
export function checkCertificate(cert, chain, options) {
  loaded('checkCertificate');
  return wasm.checkCertificate(cert, chain, options);
}

/** Verifies one AWS Nitro NSM attestation document (SPEC §1.5). */
export function verifyNsmDocument(bytes, options) {
  loaded('verifyNsmDocument');
  return wasm.verifyNsmDocument(bytes, options);
}

/** Validates one Cognito-format RS256 timestamp JWT, archivally (SPEC §1.3). */
export function verifyTimestamp(token, jwks, options) {
  loaded('verifyTimestamp');
  return wasm.verifyTimestamp(token, jwks, options);
}

/** Audits a snapshot `.tar` (SPEC §6): the fields of `zipchain audit --json`, camelCase. */
export function auditSnapshot(tarBytes, chain, onProgress) {
  loaded('auditSnapshot');
  return wasm.auditSnapshot(tarBytes, chain, onProgress);
}

/** SHA3-256 of `bytes` as lowercase hex (`H` of SPEC §0). */
export function sha3_256Hex(bytes) {
  loaded('sha3_256Hex');
  return wasm.sha3_256Hex(bytes);
}
