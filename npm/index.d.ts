// Types of zipchain-verifier (SPEC §8). Hex strings are lowercase; times are Unix
// seconds unless the name says milliseconds.

/** Where the WebAssembly module comes from, for {@link init}. */
export type InitSource =
  | WebAssembly.Module
  | BufferSource
  | URL
  | string
  | Response
  | PromiseLike<Response>;

/**
 * Loads the WebAssembly module: in Node it reads the .wasm shipped beside the
 * package's index.js, in browsers it fetches it (relative to `import.meta.url`).
 * Harmless to call twice. Every other export throws an `Error` until it resolved.
 */
export function init(source?: InitSource): Promise<void>;

/** One check of a verdict, in the order run. */
export interface Check {
  /** Stable name of the check, e.g. `"signature"`, `"inclusion"`. */
  name: string;
  /** Whether it passed. */
  ok: boolean;
  /** What was checked, or why it failed, in words. */
  detail: string;
}

/** Names of the certificate checks (SPEC §3), in the order they run. */
export type CertificateCheckName =
  | 'trust_descriptor'
  | 'format'
  | 'chain'
  | 'lower_timestamp'
  | 'upper_timestamp'
  | 'upper_attests_block'
  | 'block_links_lower'
  | 'attestation'
  | 'attestation_binds_block'
  | 'attestation_time'
  | 'inclusion'
  | 'time_bounds'
  | 'main_chain'
  | 'first_occurrence'
  | 'snapshot';

/** A certificate check. */
export interface CertificateCheck extends Check {
  name: CertificateCheckName;
}

/** The certificate file `cert.json` (SPEC §3). */
export interface Certificate {
  zipchain_certificate: 1;
  chain: { genesis: string; sequencer_key: string };
  tx: string;
  height: number;
  sequence: number;
  /** The 81 block bytes, hex. */
  block: string;
  /** JWT `t_(i-1)`. */
  lower: string;
  /** JWT `t_i`. */
  upper: string;
  /** Standard padded base64 of the NSM document. */
  attestation: string;
  inclusion: { leaf_index: number; tree_size: number; path: string[] };
  not_before: number;
  not_after: number;
}

/** A JSON Web Key (RSA) as a JWKS lists it. */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  n?: string;
  e?: string;
  [member: string]: unknown;
}

/** A JWK Set. */
export interface Jwks {
  keys: Jwk[];
}

/** The trust descriptor `chain.json` (SPEC §1.6). */
export interface TrustDescriptor {
  zipchain_chain: 1;
  genesis: string;
  sequencer_key: string;
  timestamp: {
    issuer: string;
    token_use: 'id' | 'access';
    username_domain: string;
    jwks: Jwks;
  };
  nitro?: {
    root_pem?: string;
    pcrs?: Record<string, string>;
    allow_debug?: boolean;
  };
}

/** Options of {@link checkCertificate}. */
export interface CheckCertificateOptions {
  /** A `.tar` of a snapshot (SPEC §2.1): also check main-chain position. */
  snapshot?: Uint8Array;
}

/** The verdict of {@link checkCertificate}. */
export interface CertificateVerdict {
  /** Every check passed. */
  valid: boolean;
  /**
   * Whether main-chain position was checked: against a snapshot, or by a certificate
   * v2's passed `main_chain_proof` (SPEC §9.5).
   */
  mainChainChecked: boolean;
  /**
   * Present when a certificate v2's `main_chain_proof` passed: how many of the trust
   * descriptor's witnesses vouched for its checkpoint, and the quorum.
   */
  mainChainProof?: { witnesses: number; quorum: number };
  /**
   * Present with `mainChainProof`: the names of the witnesses whose cosignatures
   * counted (in the trust descriptor's order), of every witness the descriptor names,
   * and the size of the checkpoint they cosigned (main-chain entries).
   */
  mainChainWitnesses?: { vouched: string[]; known: string[]; checkpointSize: number };
  /** The checks that ran, in order. */
  checks: CertificateCheck[];
  /** The transaction id, hex (`null` when the certificate could not be read). */
  tx: string | null;
  /** The claimed main-chain height. */
  height: number | null;
  /** `lower.iat`. */
  notBefore: number | null;
  /** `upper.iat`. */
  notAfter: number | null;
}

/**
 * Checks a certificate (SPEC §3) offline. `cert` and `chain` as objects or JSON text.
 * Invalid input is a verdict; throws `TypeError` only for arguments of the wrong type.
 */
export function checkCertificate(
  cert: Certificate | string,
  chain: TrustDescriptor | string,
  options?: CheckCertificateOptions | null,
): CertificateVerdict;

/** Names of the NSM document checks (SPEC §1.5), in the order they run. */
export type NsmCheckName =
  | 'cbor'
  | 'cose'
  | 'fields'
  | 'root'
  | 'chain'
  | 'validity'
  | 'signature'
  | 'debug'
  | 'pcrs';

/** An NSM document check. */
export interface NsmCheck extends Check {
  name: NsmCheckName;
}

/** Options of {@link verifyNsmDocument}. */
export interface NsmOptions {
  /** The trusted root, one PEM certificate (default AWS Nitro Enclaves Root-G1). */
  root?: string;
  /** Check the certificates at this Unix time in milliseconds (default: the document's timestamp). */
  atMs?: number;
  /** Accept debug-mode documents (PCR0 all zero). Default false. */
  allowDebug?: boolean;
}

/** An NSM document's fields; bytes as hex. Authenticated only when the verdict is valid. */
export interface NsmDocument {
  moduleId: string;
  /** `"SHA384"`. */
  digest: string;
  /** Unix milliseconds. */
  timestamp: number;
  /** PCR index (decimal string) to value (hex). */
  pcrs: Record<string, string>;
  /** The leaf certificate, DER hex. */
  certificate: string;
  /** The CA bundle, root first, DER hex. */
  cabundle: string[];
  publicKey: string | null;
  userData: string | null;
  nonce: string | null;
  /** PCR0 is all zero. */
  debug: boolean;
  /**
   * The sequence number k (decimal text: it may exceed 2^53) when the document is
   * shaped as a zipchain sequencer's (a 32-byte publicKey and userData a sequence
   * attestation, SPEC §1.4); authenticated only when the verdict is valid.
   */
  sequence: string | null;
}

/** The verdict of {@link verifyNsmDocument}. */
export interface NsmVerdict {
  valid: boolean;
  checks: NsmCheck[];
  /** The fields, whenever the document parses (even when invalid); else `null`. */
  document: NsmDocument | null;
}

/**
 * Verifies one AWS Nitro NSM attestation document (raw COSE_Sign1 bytes).
 * Throws `TypeError` only when `bytes` is not a `Uint8Array` or an option is unknown or mistyped.
 */
export function verifyNsmDocument(bytes: Uint8Array, options?: NsmOptions | null): NsmVerdict;

/** Names of the JWT checks (SPEC §1.3), in the order they run. */
export type TimestampCheckName =
  | 'jwks'
  | 'policy'
  | 'format'
  | 'header'
  | 'alg'
  | 'kid'
  | 'signature'
  | 'claims'
  | 'issuer'
  | 'token_use'
  | 'username';

/** A JWT check. */
export interface TimestampCheck extends Check {
  name: TimestampCheckName;
}

/** Options of {@link verifyTimestamp}. */
export interface TimestampOptions {
  /** The exact `iss`. */
  issuer: string;
  /** Default `"id"`. */
  tokenUse?: 'id' | 'access';
  /** When given, the username must be `<hex>@<domain>`; the hex is returned as `attested`. */
  usernameDomain?: string;
}

/** The claims of a Cognito token. */
export interface TimestampClaims {
  iss: string;
  token_use: 'id' | 'access';
  /** The attested time, Unix seconds. */
  iat: number;
  exp?: number;
  auth_time?: number;
  'cognito:username'?: string;
  username?: string;
  [claim: string]: unknown;
}

/** The verdict of {@link verifyTimestamp}. */
export interface TimestampVerdict {
  valid: boolean;
  checks: TimestampCheck[];
  /** The verified claims; `null` when invalid. */
  claims: TimestampClaims | null;
  /** The attested bytes (hex) when `usernameDomain` was given and the token is valid. */
  attested: string | null;
}

/**
 * Validates one Cognito-format RS256 JWT archivally (`exp` is not compared with any time).
 * Throws `TypeError` only for arguments or options of the wrong type.
 */
export function verifyTimestamp(
  token: string,
  jwks: Jwks | string,
  options: TimestampOptions,
): TimestampVerdict;

/** An object of a snapshot that failed its checks. */
export interface InvalidObject {
  kind: 'block' | 'timestamp' | 'attestation' | 'batch';
  /** Its file name. */
  key: string;
  reason: string;
}

/** Proof that the sequencer gave one sequence number to two different blocks. */
export interface Equivocation {
  sequence: number;
  /** `H(a)` of the attestations, hex, sorted. */
  attestations: string[];
  /** The distinct `y` they sequence, hex, sorted. */
  ys: string[];
}

/** Names of the audit's checks. */
export type AuditCheckName = 'trust_descriptor' | 'snapshot' | 'main_chain' | 'equivocation';

/** An audit check. */
export interface AuditCheck extends Check {
  name: AuditCheckName;
}

/** The result of {@link auditSnapshot}: `zipchain audit --json` in camelCase, and more. */
export interface AuditReport {
  /** Height of the tip (`b0` is 0); `null` for an empty chain. */
  mainChainHeight: number | null;
  mainChainTip: string | null;
  blocks: number;
  timestamps: number;
  attestations: number;
  batches: number;
  orphanedBlocks: string[];
  invalidObjects: InvalidObject[];
  sequenceGapAt: number | null;
  equivocations: Equivocation[];
  transactionsFinal: number;
  firstTime: number | null;
  lastTime: number | null;
  /** The main chain's block hashes, `b0` first. */
  mainChain: string[];
  /** As `zipchain audit`'s exit status: a non-empty main chain and no equivocation. */
  valid: boolean;
  checks: AuditCheck[];
}

/**
 * Audits a snapshot `.tar` against a trust descriptor; `onProgress(done, total)` is
 * called while objects are examined. Throws `TypeError` only for arguments of the
 * wrong type (and rethrows what `onProgress` throws).
 */
export function auditSnapshot(
  tarBytes: Uint8Array,
  chain: TrustDescriptor | string,
  onProgress?: ((done: number, total: number) => void) | null,
): AuditReport;

/** SHA3-256 of `bytes`, lowercase hex. */
export function sha3_256Hex(bytes: Uint8Array): string;
