// Type-checked by npm/test/types.test.mjs (tsc --strict --noEmit) against the
// installed package's index.d.ts: the README's uses compile, and misuse does not.
import {
  auditSnapshot,
  checkCertificate,
  init,
  verifyNsmDocument,
  verifyTimestamp,
  type AuditReport,
  type CertificateVerdict,
  type NsmVerdict,
  type TimestampVerdict,
} from 'zipchain-verifier';

export async function usage(cert: string, chain: string, tar: Uint8Array, doc: Uint8Array): Promise<void> {
  await init();
  await init(new URL('https://example.org/zipchain_verifier_wasm_bg.wasm'));
  const v: CertificateVerdict = checkCertificate(cert, chain, { snapshot: tar });
  const first: string | undefined = v.checks.find((c) => !c.ok)?.name;
  const when: number | null = v.notBefore;
  const checked: boolean = v.mainChainChecked;
  const quorum: number | undefined = v.mainChainProof?.quorum;
  const vouched: string[] | undefined = v.mainChainWitnesses?.vouched;
  const entries: number | undefined = v.mainChainWitnesses?.checkpointSize;
  const a: AuditReport = auditSnapshot(tar, JSON.parse(chain), (done: number, total: number) => void [done, total]);
  const height: number | null = a.mainChainHeight;
  const kinds: string[] = a.invalidObjects.map((o) => o.kind);
  const n: NsmVerdict = verifyNsmDocument(doc, { atMs: 1725730659000, allowDebug: true });
  const pcr0: string | undefined = n.document?.pcrs['0'];
  const t: TimestampVerdict = verifyTimestamp('a.b.c', { keys: [] }, { issuer: 'x', tokenUse: 'access' });
  const iat: number | undefined = t.claims?.iat;
  void [first, when, checked, quorum, vouched, entries, height, kinds, pcr0, iat];

  // @ts-expect-error: bytes, not a string
  verifyNsmDocument('84a0');
  // @ts-expect-error: issuer is required
  verifyTimestamp('a.b.c', { keys: [] }, {});
  // @ts-expect-error: tokenUse is "id" or "access"
  verifyTimestamp('a.b.c', { keys: [] }, { issuer: 'x', tokenUse: 'ID' });
  // @ts-expect-error: the snapshot is bytes
  checkCertificate(cert, chain, { snapshot: 'snapshot.tar' });
  // @ts-expect-error: unknown option
  verifyNsmDocument(doc, { allowdebug: true });
}
