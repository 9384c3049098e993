// The bundle's inventory as an SPDX 2.3 JSON document: every carried chart and image (reference, where it was
// copied from, digest, platforms, the clusters using it) and every cluster's configuration artifact. Export
// stores it as a referrer of the bundle root (artifactType application/spdx+json), listed in index.json and
// named in the signed statement, so it is signed with the rest; `inspect --sbom` prints it.
// Reference: SPDX 2.3 (https://spdx.github.io/spdx-spec/v2.3/), schemas/spdx-schema.json.
import { createHash } from 'node:crypto';
import type { Descriptor } from '../model/oci.js';
import { proofsBySubject } from '../model/proofs.js';
import { VERSION } from '../version.js';

export const MEDIA_TYPE_SPDX = 'application/spdx+json';

/** SbomArtifact is one carried chart or image. */
export interface SbomArtifact {
  kind: 'chart' | 'image';
  /** The reference it is served under at the site. */
  ref: string;
  root: Descriptor;
  /** Where it was copied from (registry reference or repository URL). */
  source?: string;
  version?: string;
  platforms?: string[];
  clusters: string[];
}

export interface SbomInput {
  sequence: number;
  createdAt: string;
  clusters: { cluster: string; manifest: Descriptor }[];
  artifacts: SbomArtifact[];
}

type Json = Record<string, unknown>;

/** buildSBOM returns the SPDX 2.3 document of a bundle (deterministic: the same input gives the same bytes). */
export function buildSBOM(input: SbomInput): Json {
  const id = (kind: string, name: string) => `SPDXRef-${kind}-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
  const checksum = (d: Descriptor) => [{ algorithm: 'SHA256', checksumValue: d.digest.slice('sha256:'.length) }];
  const packages: Json[] = [];
  const proves = new Map<string, { ref: string; kind: string }>();
  for (const [subject, proofs] of proofsBySubject(input.artifacts.map((a) => ({ ref: a.ref, digest: a.root.digest })))) for (const p of proofs) proves.set(p.ref, { ref: subject, kind: p.kind });
  const relationships: Json[] = [];
  for (const a of [...input.artifacts].sort((x, y) => x.ref.localeCompare(y.ref))) {
    const [repo, tag] = splitRef(a.ref);
    const proof = proves.get(a.ref);
    // A proof (cosign signature, attestation, SBOM, referrers index) is listed as what it is, beside its subject.
    if (proof) relationships.push({ spdxElementId: id('Proof', a.ref), relationshipType: 'OTHER', relatedSpdxElement: id(input.artifacts.find((x) => x.ref === proof.ref)!.kind === 'chart' ? 'Chart' : 'Image', proof.ref), comment: `${proof.kind} of` });
    packages.push({
      SPDXID: id(proof ? 'Proof' : a.kind === 'chart' ? 'Chart' : 'Image', a.ref),
      name: a.ref,
      ...(a.version ?? tag ? { versionInfo: a.version ?? tag } : {}),
      downloadLocation: a.source ?? 'NOASSERTION',
      filesAnalyzed: false,
      checksums: checksum(a.root),
      primaryPackagePurpose: proof ? 'OTHER' : a.kind === 'chart' ? 'APPLICATION' : 'CONTAINER',
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:oci/${encodeURIComponent(repo.split('/').pop() ?? repo)}@${encodeURIComponent(a.root.digest)}?repository_url=${encodeURIComponent(repo)}` }],
      comment: [proof ? `${proof.kind} of ${proof.ref}` : '', `media type ${a.root.mediaType}`, a.platforms?.length ? `platforms ${a.platforms.join(',')}` : '', a.clusters.length ? `used by clusters ${a.clusters.join(',')}` : 'used by no cluster'].filter(Boolean).join('; '),
    });
  }
  for (const c of [...input.clusters].sort((x, y) => x.cluster.localeCompare(y.cluster))) {
    packages.push({
      SPDXID: id('Configuration', c.cluster),
      name: `configuration of ${c.cluster}`,
      versionInfo: String(input.sequence),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      checksums: checksum(c.manifest),
      primaryPackagePurpose: 'OTHER',
      comment: `the ConfigurationGroups and ConfigurationBundles served to the pull agent of ${c.cluster}`,
    });
  }
  const namespace = createHash('sha256').update(JSON.stringify([input.sequence, input.createdAt, packages.map((p) => p.checksums)])).digest('hex');
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `sveltos-airgap bundle ${input.sequence}`,
    documentNamespace: `https://projectsveltos.io/sveltos-airgap/bundles/${namespace}`,
    creationInfo: { created: input.createdAt.replace(/\.\d+Z$/, 'Z'), creators: [`Tool: sveltos-airgap-${VERSION}`] },
    packages,
    relationships: [...packages.map((p) => ({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: p.SPDXID })), ...relationships],
  };
}

// splitRef splits `repo:tag` (a digest-named reference keeps its whole name as the repository).
function splitRef(ref: string): [string, string | undefined] {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, undefined];
}
