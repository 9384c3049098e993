// What proves an OCI chart: its cosign tags and referrers index (src/model/proofs.ts), copied from its
// registry into the chart cache beside the chart (tagged `<source key>:sha256-<hex>.sig` and so on), so an
// `--offline` export carries and checks them too. Sveltos's `signatureVerification` (provider PublicKey)
// is checked against the cached `.sig`, as addon-controller checks it with cosign (controllers/
// source_integrity.go: the `cosign.pub` key of the referenced Secret, transparency log ignored).
import type { KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import { copyGraph } from '../content/copy.js';
import { sha256 } from '../content/digest.js';
import type { OciLayoutStore } from '../content/oci-layout/store.js';
import { readAll } from '../content/verify.js';
import { ValidationError, VerificationError } from '../errors.js';
import type { Descriptor } from '../model/oci.js';
import { filterProof, PROOF_SUFFIXES, proofTag } from '../model/proofs.js';
import { isPlainObject, type KubeObject } from '../model/sveltos.js';
import type { RegistryClient } from '../registry/client.js';
import { readPublicKey, verifyCosign, type SignatureSource } from '../registry/cosign-verify.js';

/** ChartProof is one proof of a chart held in the cache: its tag beside the chart and its root. */
export interface ChartProof {
  tag: string;
  root: Descriptor;
}

/** CosignVerification is a `helmCharts[].signatureVerification` (Sveltos field names). */
export interface CosignVerification {
  provider?: string;
  secretRef?: { name?: string; namespace?: string };
  matchOIDCIdentity?: { issuer?: string; subject?: string }[];
}

const isNotFound = (err: unknown) => (err as { code?: string } | undefined)?.code === 'NOT_FOUND';

/**
 * chartVerifyKeys reads a chart's signatureVerification against the `--from` objects: provider PublicKey
 * takes the PEM key `cosign.pub` of the Secret (an empty namespace is the cluster's). Keyless needs the
 * Sigstore public-good instance (Fulcio, Rekor), so it is refused, as a check skipped would be silent.
 */
export function chartVerifyKeys(where: string, sv: CosignVerification | undefined, objects: KubeObject[], defaultNamespace: string): KeyObject[] | undefined {
  if (!sv) return undefined;
  if (sv.provider === 'Keyless') {
    throw new ValidationError('INVALID', `${where}: signatureVerification.provider Keyless is UNSUPPORTED by this exporter (it needs Sigstore's Fulcio and Rekor); sign the chart with a key and use provider PublicKey, or remove signatureVerification`);
  }
  if (sv.provider !== 'PublicKey') throw new ValidationError('INVALID', `${where}: signatureVerification.provider ${JSON.stringify(sv.provider ?? '')}: expected PublicKey or Keyless`);
  if (!sv.secretRef?.name) throw new ValidationError('INVALID', `${where}: signatureVerification.secretRef is required when provider is PublicKey`);
  const ns = sv.secretRef.namespace || defaultNamespace;
  const secret = objects.find((o) => o.kind === 'Secret' && o.apiVersion === 'v1' && o.metadata.name === sv.secretRef!.name && o.metadata.namespace === ns);
  if (!secret) throw new ValidationError('INVALID', `${where}: signatureVerification.secretRef: Secret ${ns}/${sv.secretRef.name} not found`);
  const data = isPlainObject(secret.data) ? secret.data : {};
  if (typeof data['cosign.pub'] !== 'string') throw new ValidationError('INVALID', `${where}: Secret ${ns}/${sv.secretRef.name} has no key "cosign.pub"`);
  const key = readPublicKey(Buffer.from(data['cosign.pub'], 'base64').toString('utf8'));
  if (!key) throw new ValidationError('INVALID', `${where}: Secret ${ns}/${sv.secretRef.name}: "cosign.pub" is not a PEM ECDSA, RSA or Ed25519 public key`);
  return [key];
}

/**
 * copyChartProofs copies every proof of the chart `manifest` the repository holds into the cache, tagged
 * beside the chart with one index write (with the tag that says they were copied); a proof the repository
 * no longer has is untagged. The tags are looked up at once.
 */
export async function copyChartProofs(client: RegistryClient, store: OciLayoutStore, key: string, manifest: Descriptor, op: { signal?: AbortSignal } = {}): Promise<void> {
  const found = await Promise.all(
    PROOF_SUFFIXES.map(async (suffix) => {
      const tag = proofTag(manifest.digest, suffix);
      try {
        return { tag, ...(await client.resolveContent(tag, op)) };
      } catch (err) {
        if (!isNotFound(err)) throw err;
        return { tag };
      }
    }),
  );
  const tags: { desc: Descriptor; reference: string }[] = [];
  for (const f of found) {
    if (!('descriptor' in f)) {
      await store.untag(`${key}:${f.tag}`).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
      continue;
    }
    await copyGraph(client, store, f.descriptor, { rootContent: f.content, ...(op.signal ? { signal: op.signal } : {}) });
    tags.push({ desc: f.descriptor, reference: `${key}:${f.tag}` });
  }
  if (await store.exists(manifest)) tags.push({ desc: manifest, reference: copiedTag(key, manifest.digest) });
  await store.tagAll(tags);
}

// A tag beside the chart saying its proofs were copied (it names the chart's own manifest): a chart cached
// before proofs were carried gets them on its next online export.
const copiedTag = (key: string, digest: string) => `${key}:proofs-copied-${digest.replace(':', '-')}`;

/** isProofsCopiedTag tells the marker tag (`proofs-copied-sha256-<hex>`, after the source key) from versions. */
export const isProofsCopiedTag = (tag: string): boolean => tag.startsWith('proofs-copied-');

/** markProofsCopied records that the proofs of the chart `manifest` (held in the cache) were copied. */
export async function markProofsCopied(store: OciLayoutStore, key: string, manifest: Descriptor): Promise<void> {
  await store.tag(manifest, copiedTag(key, manifest.digest));
}

/** proofsCopied tells whether the proofs of the chart `digest` were copied into the cache. */
export async function proofsCopied(store: OciLayoutStore, key: string, digest: string): Promise<boolean> {
  return (await store.tags()).includes(copiedTag(key, digest));
}

/** cachedSignatures reads the cosign signatures the cache holds beside the chart `key`. */
export function cachedSignatures(store: OciLayoutStore, key: string): SignatureSource {
  return {
    resolveContent: async (tag, op) => {
      const descriptor = await store.resolve(`${key}:${tag}`, op);
      return { descriptor, content: await readAll(await store.fetch(descriptor, op), descriptor) };
    },
    fetch: async (d, op) => store.fetch(d, op),
  };
}

/** verifyChartSignature fails (exit 2) unless one of `keys` made a cosign signature of the chart `digest`. */
export async function verifyChartSignature(label: string, signatures: SignatureSource, digest: string, keys: KeyObject[], op: { signal?: AbortSignal } = {}): Promise<void> {
  const result = await verifyCosign(signatures, digest, keys, op);
  if (!result.verified) {
    throw new VerificationError('SIGNATURE_INVALID', `${label}@${digest}: signatureVerification: no cosign signature verifies with the Secret's cosign.pub: ${result.reasons.join('; ')}`, { details: { chart: label, digest } });
  }
}

/**
 * cachedChartProofs lists the proofs of `digest` the cache holds, with `types` (`--referrer-type`) applied:
 * a referrers index that keeps only some entries is written to the cache as a new index.
 */
export async function cachedChartProofs(store: OciLayoutStore, key: string, digest: string, types?: readonly string[]): Promise<ChartProof[]> {
  const tags = new Set(await store.tags());
  const out: ChartProof[] = [];
  for (const suffix of PROOF_SUFFIXES) {
    const tag = proofTag(digest, suffix);
    if (!tags.has(`${key}:${tag}`)) continue;
    const root = await store.resolve(`${key}:${tag}`);
    if (!types?.length) {
      out.push({ tag, root });
      continue;
    }
    const kept = filterProof(await readAll(await store.fetch(root), root), types);
    if (!kept.keep) continue;
    if (!kept.content) {
      out.push({ tag, root });
      continue;
    }
    const filtered = { mediaType: root.mediaType, digest: sha256(kept.content), size: kept.content.length };
    if (!(await store.exists(filtered))) await store.push(filtered, Readable.from([kept.content]));
    out.push({ tag, root: filtered });
  }
  return out;
}
