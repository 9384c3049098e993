// What proves a carried chart or image, stored beside it as cosign and registries without the OCI 1.1
// referrers API keep it: tags `sha256-<hex>.sig` (signatures), `.att` (attestations), `.sbom` (SBOMs) and
// `sha256-<hex>` (the referrers index of the tag-schema fallback). Data and pure functions only.

/** PROOF_SUFFIXES are the tag suffixes after `sha256-<hex>`; '' is the OCI 1.1 referrers index. */
export const PROOF_SUFFIXES = ['.sig', '.att', '.sbom', ''] as const;
export type ProofSuffix = (typeof PROOF_SUFFIXES)[number];

/** PROOF_KINDS names each suffix for people. */
export const PROOF_KINDS: Record<ProofSuffix, string> = { '.sig': 'signature', '.att': 'attestation', '.sbom': 'sbom', '': 'referrers' };

/** proofTag is the tag of `digest`'s proof with `suffix`. */
export function proofTag(digest: string, suffix: ProofSuffix): string {
  return `${digest.replace(':', '-')}${suffix}`;
}

/** parseProofTag reads a proof tag: the subject's digest and the suffix; undefined for any other tag. */
export function parseProofTag(tag: string): { subject: string; suffix: ProofSuffix } | undefined {
  const m = /^sha256-([a-f0-9]{64})(\.sig|\.att|\.sbom)?$/.exec(tag);
  return m ? { subject: `sha256:${m[1]}`, suffix: (m[2] ?? '') as ProofSuffix } : undefined;
}

/** CarriedRef is a carried artifact as the bundle names it: `<repository>:<tag>` and its root digest. */
export interface CarriedRef {
  ref: string;
  digest: string;
}

/**
 * proofsBySubject pairs each proof the artifacts hold with its subject (an artifact of the same repository
 * whose digest the tag names): subject ref → the proofs' kinds and refs, in suffix order.
 */
export function proofsBySubject(artifacts: CarriedRef[]): Map<string, { kind: string; ref: string }[]> {
  const byDigest = new Map<string, string>();
  for (const a of artifacts) if (!parseProofTag(tagOf(a.ref))) byDigest.set(`${repositoryOf(a.ref)}@${a.digest}`, a.ref);
  const out = new Map<string, { kind: string; ref: string }[]>();
  for (const a of artifacts) {
    const p = parseProofTag(tagOf(a.ref));
    const subject = p && byDigest.get(`${repositoryOf(a.ref)}@${p.subject}`);
    if (!p || !subject) continue;
    out.set(subject, [...(out.get(subject) ?? []), { kind: PROOF_KINDS[p.suffix], ref: a.ref }].sort((x, y) => order(x.kind) - order(y.kind)));
  }
  return out;
}

const order = (kind: string) => Object.values(PROOF_KINDS).indexOf(kind);
const tagOf = (ref: string) => ref.slice(ref.lastIndexOf(':') + 1);
const repositoryOf = (ref: string) => ref.slice(0, ref.lastIndexOf(':'));

/**
 * proofTypes lists the media types a proof document declares, as `--referrer-type` matches them: a
 * manifest's artifactType, config and layer media types; an index's entries' artifact types.
 */
export function proofTypes(doc: unknown): string[] {
  const d = (doc ?? {}) as { artifactType?: unknown; config?: { mediaType?: unknown }; layers?: { mediaType?: unknown }[]; manifests?: { artifactType?: unknown }[] };
  const types = [d.artifactType, d.config?.mediaType, ...(Array.isArray(d.layers) ? d.layers.map((l) => l?.mediaType) : [])];
  return types.filter((t): t is string => typeof t === 'string' && t !== '');
}

/**
 * filterProof applies `--referrer-type` to a proof document: a manifest stays when one of its types is
 * wanted; an index (the referrers index) keeps the entries whose artifactType is wanted, as new bytes when
 * some go, and goes when none is left. Content that is not JSON goes (a proof is always JSON).
 */
export function filterProof(content: Buffer, wanted: readonly string[]): { keep: false } | { keep: true; content?: Buffer } {
  let doc: { manifests?: unknown };
  try {
    doc = JSON.parse(content.toString('utf8')) as { manifests?: unknown };
  } catch {
    return { keep: false };
  }
  if (!Array.isArray(doc.manifests)) return proofTypes(doc).some((t) => wanted.includes(t)) ? { keep: true } : { keep: false };
  const kept = doc.manifests.filter((m) => wanted.includes((m as { artifactType?: string } | null)?.artifactType ?? ''));
  if (kept.length === 0) return { keep: false };
  if (kept.length === doc.manifests.length) return { keep: true };
  return { keep: true, content: Buffer.from(JSON.stringify({ ...doc, manifests: kept })) };
}
