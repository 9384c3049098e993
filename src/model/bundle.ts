// Bundle format v1 (DESIGN.md §3): media types, annotations, predicate and reference naming. Data + guards only.

/** Artifact type and config media type of a per-cluster configuration manifest. */
export const ARTIFACT_TYPE_CLUSTER = 'application/vnd.projectsveltos.airgap.cluster.v1+json';
export const MEDIA_TYPE_CLUSTER_CONFIG = ARTIFACT_TYPE_CLUSTER;
/** One layer per ConfigurationGroup: the group and its bundles as a multi-document YAML stream. */
export const MEDIA_TYPE_OBJECTS = 'application/vnd.projectsveltos.airgap.objects.v1+yaml';
/** The bundle root: an image index listing every signed manifest of the bundle. */
export const ARTIFACT_TYPE_BUNDLE = 'application/vnd.projectsveltos.airgap.bundle.v1+json';
/** Sigstore bundle v0.3, stored as the single layer of an OCI referrer of the root. */
export const MEDIA_TYPE_SIGSTORE_BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const PREDICATE_TYPE_BUNDLE = 'https://projectsveltos.io/airgap/bundle/v1';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const DSSE_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** Helm chart OCI artifact media types (as `helm push` writes them). */
export const MEDIA_TYPE_HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';
export const MEDIA_TYPE_HELM_CHART = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

export const ANNOTATION_CLUSTER = 'io.projectsveltos.airgap.cluster';
export const ANNOTATION_ROLE = 'io.projectsveltos.airgap.role';
export const ANNOTATION_GROUP = 'io.projectsveltos.airgap.group';
/**
 * On an image index carried for some platforms only (`export --platform`): the `os/arch[/variant]` list
 * kept. The index keeps its digest; the manifests of other platforms are not in the bundle.
 */
export const ANNOTATION_PLATFORMS = 'io.projectsveltos.airgap.platforms';
/** On a carried chart or image: the reference it was copied from (registry, repository, tag and digest). */
export const ANNOTATION_SOURCE = 'io.projectsveltos.airgap.source';
/** On a carried chart or image: `chart` or `image`. */
export const ANNOTATION_KIND = 'io.projectsveltos.airgap.kind';
/** On a carried chart: the clusters (`namespace/name`, comma separated) whose configuration uses it. */
export const ANNOTATION_CLUSTERS = 'io.projectsveltos.airgap.clusters';

/** Repository under which cluster configuration artifacts are named and served. */
export const CLUSTER_REPOSITORY_PREFIX = 'sveltos-airgap/clusters';
export const BUNDLE_REPOSITORY = 'sveltos-airgap/bundle';

/** clusterRef names the configuration artifact of cluster `ns/name` at `tag` (default `latest`). */
export function clusterRepository(namespace: string, name: string): string {
  return `${CLUSTER_REPOSITORY_PREFIX}/${namespace}/${name}`;
}

/** The predicate of the in-toto statement that signs a bundle. */
export interface BundlePredicate {
  /** Positive integer; must grow from one bundle to the next for a site. */
  sequence: number;
  createdAt: string;
  expiresAt: string;
  /** Free text naming the exporter (host, tool version). */
  source: string;
  /** `namespace/name` of every target cluster. */
  clusters: string[];
  /** The remoteURLs the configuration was fetched from (shown without user information or query), each with the digest of what was fetched. */
  remoteSources?: RemoteSourceRecord[];
}

/** RemoteSourceRecord is one remoteURL an export fetched: the http body's sha256 or the OCI manifest digest. */
export interface RemoteSourceRecord {
  url: string;
  digest: string;
}

export interface StatementSubject {
  name: string;
  digest: { sha256: string };
}

export interface Statement {
  _type: typeof IN_TOTO_STATEMENT_TYPE;
  subject: StatementSubject[];
  predicateType: typeof PREDICATE_TYPE_BUNDLE;
  predicate: BundlePredicate;
}

/** splitReference splits `repo:tag` or `repo@sha256:…` (the tag after the last '/'). */
export function splitReference(ref: string): { repository: string; tag?: string; digest?: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { repository: ref.slice(0, at), digest: ref.slice(at + 1) };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref };
}

/**
 * Split bundles (docs/format.md "Volumes"): every part's index.json lists one more signed manifest, the
 * volume set, whose single layer is the volume table: which part holds which blob, and the chunks of
 * blobs too large for one part.
 */
export const ARTIFACT_TYPE_VOLUMES = 'application/vnd.projectsveltos.airgap.volumes.v1+json';
export const MEDIA_TYPE_VOLUME_TABLE = ARTIFACT_TYPE_VOLUMES;
/** Media type named for a chunk of a blob in messages; chunks are plain blobs in the part's layout. */
export const MEDIA_TYPE_CHUNK = 'application/vnd.projectsveltos.airgap.chunk.v1';
/** `index.json` annotations of a part: its number (1-based) and the number of parts. Informational; the volume table decides. */
export const ANNOTATION_PART = 'io.projectsveltos.airgap.part';
export const ANNOTATION_PARTS = 'io.projectsveltos.airgap.parts';

/**
 * An objects layer encrypted to the site's keys (docs/format.md "Encrypted objects"): a JSON envelope
 * whose plaintext is a MEDIA_TYPE_OBJECTS stream. The signature covers the envelope (the ciphertext).
 */
export const MEDIA_TYPE_OBJECTS_ENCRYPTED = 'application/vnd.projectsveltos.airgap.objects.encrypted.v1+json';
/** Layer annotation: comma-separated key ids (hex SHA-256 of the SPKI DER) of the recipients. */
export const ANNOTATION_RECIPIENTS = 'io.projectsveltos.airgap.encryption.recipients';
/** Layer annotation: the key agreement and cipher, `ECDH-HKDF-SHA256+A256GCM`. */
export const ANNOTATION_ENCRYPTION = 'io.projectsveltos.airgap.encryption.algorithm';
