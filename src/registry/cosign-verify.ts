// Cosign key-based signatures (cosign's "v2" layout, as `cosign sign --key` writes it and `cosign verify --key`
// and Flux's OCIRepository `spec.verify` read it with the transparency log ignored): the signatures of the
// artifact `sha256:<hex>` are an image manifest tagged `sha256-<hex>.sig` in the same repository; each layer
// is a simple-signing payload (media type application/vnd.dev.cosign.simplesigning.v1+json) whose
// `critical.image.docker-manifest-digest` names the artifact, with the base64 signature of the payload's
// bytes in the layer annotation `dev.cosignproject.cosign/signature` (ECDSA and RSA PKCS#1 v1.5 over SHA-256,
// or Ed25519). Read from cosign's specs/SIGNATURE_SPEC.md and pkg/cosign (verify.go, the simple-signing
// claim check), and source-controller's internal/oci/cosign.
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { manifestFromJSON } from '../content/descriptor.js';
import type { Descriptor } from '../content/storage.js';
import { proofTag } from '../model/proofs.js';
import type { ResolvedContent } from '../content/storage.js';

export const MEDIA_TYPE_SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const ANNOTATION_COSIGN_SIGNATURE = 'dev.cosignproject.cosign/signature';
/** A payload over this size is not read (cosign's own payloads are a few hundred bytes). */
const MAX_PAYLOAD_BYTES = 1024 * 1024;
const MAX_SIGNATURE_MANIFEST_BYTES = 4 * 1024 * 1024;

/** cosignSignatureTag is the tag cosign stores the signatures of `digest` under. */
export function cosignSignatureTag(digest: string): string {
  return proofTag(digest, '.sig');
}

/**
 * SignatureSource is where signatures are read: a registry repository, or a cache holding what was copied
 * from it. A tag it lacks fails with code NOT_FOUND; fetch checks size and digest as it streams.
 */
export interface SignatureSource {
  resolveContent(reference: string, op?: { signal?: AbortSignal }): Promise<ResolvedContent>;
  fetch(d: Descriptor, op?: { signal?: AbortSignal }): Promise<AsyncIterable<unknown>>;
}

/** readPublicKey reads a PEM public key (ECDSA, RSA or Ed25519); undefined when it is not one. */
export function readPublicKey(pem: string): KeyObject | undefined {
  try {
    const key = createPublicKey(pem);
    return ['ec', 'rsa', 'ed25519'].includes(key.asymmetricKeyType ?? '') ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * checkSimpleSigning tells whether `signature` (base64) is `key`'s signature of `payload` and the payload
 * names `digest`; the reason when not.
 */
export function checkSimpleSigning(payload: Buffer, signature: string, key: KeyObject, digest: string): true | string {
  let ok = false;
  try {
    ok = verifySignature(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, key, Buffer.from(signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) return 'the signature does not verify with the key';
  let claimed: unknown;
  try {
    claimed = (JSON.parse(payload.toString('utf8')) as { critical?: { image?: { 'docker-manifest-digest'?: unknown } } }).critical?.image?.['docker-manifest-digest'];
  } catch {
    return 'the signed payload is not JSON';
  }
  return claimed === digest ? true : `the signed payload names ${JSON.stringify(claimed)}, not ${digest}`;
}

/** CosignResult is which key verified a signature of the artifact, or why none did (every signature's reason). */
export type CosignResult = { verified: true; key: number } | { verified: false; reasons: string[] };

/** verifyCosign looks for a signature of `digest` in `client` (a repository, or a cache of one) that one of `keys` made. */
export async function verifyCosign(client: SignatureSource, digest: string, keys: KeyObject[], op: { signal?: AbortSignal } = {}): Promise<CosignResult> {
  const tag = cosignSignatureTag(digest);
  let content: Buffer;
  try {
    const resolved = await client.resolveContent(tag, op);
    if (resolved.descriptor.size > MAX_SIGNATURE_MANIFEST_BYTES) return { verified: false, reasons: [`${tag} is ${resolved.descriptor.size} bytes, not a signature manifest`] };
    content = resolved.content;
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND') return { verified: false, reasons: [`no signature: the repository has no tag ${tag}`] };
    throw err;
  }
  let layers: Descriptor[];
  try {
    layers = manifestFromJSON(content, tag).layers;
  } catch (err) {
    return { verified: false, reasons: [`${tag}: ${(err as Error).message}`] };
  }
  const reasons: string[] = [];
  for (const layer of layers) {
    const signature = layer.annotations?.[ANNOTATION_COSIGN_SIGNATURE];
    if (layer.mediaType !== MEDIA_TYPE_SIMPLE_SIGNING || !signature) {
      reasons.push(`${layer.digest}: not a simple-signing layer with a ${ANNOTATION_COSIGN_SIGNATURE} annotation`);
      continue;
    }
    if (layer.size > MAX_PAYLOAD_BYTES) {
      reasons.push(`${layer.digest}: payload of ${layer.size} bytes`);
      continue;
    }
    const chunks: Buffer[] = [];
    // fetch checks the payload's size and digest as it streams.
    for await (const c of await client.fetch(layer, op)) chunks.push(c as Buffer);
    const payload = Buffer.concat(chunks);
    for (const [i, key] of keys.entries()) {
      const checked = checkSimpleSigning(payload, signature, key, digest);
      if (checked === true) return { verified: true, key: i };
      reasons.push(`${layer.digest} with key ${i + 1}: ${checked}`);
    }
  }
  return { verified: false, reasons: reasons.length ? reasons : [`${tag} has no layers`] };
}
