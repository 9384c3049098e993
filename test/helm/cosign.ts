// Signatures and attestations in cosign's formats, made here with our own keys and pushed to a running
// docker-registry. Format read in cosign's specs/SIGNATURE_SPEC.md and pkg/cosign: a simple-signing payload
// layer naming the manifest digest, the base64 signature in the dev.cosignproject.cosign/signature layer
// annotation, tagged sha256-<digest>.sig; an attestation as an OCI 1.1 referrer listed in the tag-schema
// fallback index sha256-<digest> (OCI distribution spec, "Referrers Tag Schema").
import { sign, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import { sha256 } from '../../src/content/digest.js';
import { RegistryClient } from '../../src/registry/client.js';
import { ANNOTATION_COSIGN_SIGNATURE, cosignSignatureTag, MEDIA_TYPE_SIMPLE_SIGNING } from '../../src/registry/cosign-verify.js';
import { pushArtifact, type RunningRegistry } from './servers.js';

export const pem = (k: KeyObject): string => k.export({ type: 'spki', format: 'pem' }).toString();

/** cosignSign signs `digest` in `repository` as `cosign sign --key` does; `claimed` is the digest the payload names. */
export function cosignSign(registry: RunningRegistry, repository: string, digest: string, key: KeyObject, claimed = digest): Promise<string> {
  const payload = Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': `${registry.host}/${repository}` }, image: { 'docker-manifest-digest': claimed }, type: 'cosign container image signature' }, optional: null }));
  const signature = sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, key).toString('base64');
  return pushArtifact(registry, repository, cosignSignatureTag(digest), { mediaType: 'application/vnd.oci.image.config.v1+json', data: Buffer.from('{}') }, [
    { mediaType: MEDIA_TYPE_SIMPLE_SIGNING, data: payload, annotations: { [ANNOTATION_COSIGN_SIGNATURE]: signature } },
  ]);
}

/**
 * pushAttestation pushes an in-toto attestation of the manifest tagged `tag` as an OCI 1.1 referrer and lists
 * it in the fallback index (as a registry without the referrers API needs); returns its manifest digest.
 */
export async function pushAttestation(registry: RunningRegistry, repository: string, tag: string): Promise<string> {
  const client = new RegistryClient({ registry: registry.host, repository, plainHTTP: true });
  try {
    const subject = await client.resolve(tag);
    const att = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', predicateType: 'https://slsa.dev/provenance/v1' }));
    const attestation = await pushArtifact(registry, repository, 'att-upload', { mediaType: 'application/vnd.oci.empty.v1+json', data: Buffer.from('{}') }, [{ mediaType: 'application/vnd.in-toto+json', data: att }], {
      artifactType: 'application/vnd.in-toto+json',
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    });
    const listed = await client.resolve(attestation);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: listed.mediaType, digest: attestation, size: listed.size, artifactType: 'application/vnd.in-toto+json' }] }));
    const d = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(index), size: index.length };
    await client.push(d, Readable.from([index]));
    await client.tag(d, subject.digest.replace(':', '-'));
    return attestation;
  } finally {
    await client.close();
  }
}
