// Scale-out: push the charts and images of an import into the site's own registry (`import --to-registry`),
// under a prefix, with their digests unchanged. Cluster configuration artifacts and bundle roots stay in
// the store: they are served by the agent API, not pulled from a registry.
import { copyGraph } from '../content/copy.js';
import type { ReadOnlyStorage } from '../content/storage.js';
import { ARTIFACT_TYPE_BUNDLE, ARTIFACT_TYPE_CLUSTER, splitReference } from '../model/bundle.js';
import { ANNOTATION_REF_NAME, type Descriptor } from '../model/oci.js';
import type { RegistryClient } from './client.js';

export interface PushedArtifact {
  /** The reference inside the bundle. */
  source: string;
  /** Where it went: `host/prefix/repo:tag`. */
  target: string;
  digest: string;
  /** Blobs and manifests copied, and those the registry already had (and, for a manifest, all below it). */
  copied: number;
  present: number;
}

/** artifactsToPush picks the carried charts and images (named manifests that are not cluster artifacts or roots). */
export function artifactsToPush(manifests: Descriptor[]): { desc: Descriptor; ref: string }[] {
  return manifests.flatMap((d) => {
    const ref = d.annotations?.[ANNOTATION_REF_NAME];
    if (!ref || d.artifactType === ARTIFACT_TYPE_CLUSTER || d.artifactType === ARTIFACT_TYPE_BUNDLE) return [];
    return [{ desc: d, ref }];
  });
}

/**
 * pushArtifacts copies each artifact's graph to `<prefix>/<repository>` and tags it; returns what was pushed.
 * What the registry already holds is not sent again, so after a failed push a second run sends only the rest.
 */
export async function pushArtifacts(src: ReadOnlyStorage, manifests: Descriptor[], registry: RegistryClient, prefix: string, onPushed?: (p: PushedArtifact) => void): Promise<PushedArtifact[]> {
  const out: PushedArtifact[] = [];
  for (const { desc, ref } of artifactsToPush(manifests)) {
    const { repository, tag, digest } = splitReference(ref);
    const repo = prefix ? `${prefix}/${repository}` : repository;
    const client = registry.withRepository(repo);
    const plain: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
    let copied = 0;
    let present = 0;
    await copyGraph(src, client, plain, { postCopy: () => void copied++, onCopySkipped: () => void present++ });
    if (tag) await client.tag(plain, tag);
    const p: PushedArtifact = { source: ref, target: `${registry.registry}/${repo}${tag ? `:${tag}` : `@${digest ?? desc.digest}`}`, digest: desc.digest, copied, present };
    onPushed?.(p);
    out.push(p);
  }
  return out;
}
