// Building the manifests of a bundle (DESIGN.md §3): per-cluster configuration artifacts, the root index
// and the signature referrer. Pure construction over a Pusher: no file system, no clock.
import { pushBytes } from '../content/bytes.js';
import { sha256 } from '../content/digest.js';
import { canonicalJSON } from './sign.js';
import type { Pusher } from '../content/storage.js';
import {
  ANNOTATION_CLUSTER,
  ANNOTATION_GROUP,
  ANNOTATION_ROLE,
  ARTIFACT_TYPE_BUNDLE,
  ARTIFACT_TYPE_CLUSTER,
  MEDIA_TYPE_CLUSTER_CONFIG,
  MEDIA_TYPE_OBJECTS,
  MEDIA_TYPE_SIGSTORE_BUNDLE,
  clusterRepository,
} from '../model/bundle.js';
import {
  ANNOTATION_CREATED,
  ANNOTATION_REF_NAME,
  EMPTY_JSON_DESCRIPTOR,
  MEDIA_TYPE_IMAGE_INDEX,
  MEDIA_TYPE_IMAGE_MANIFEST,
  type Descriptor,
  type Index,
  type Manifest,
} from '../model/oci.js';

/** The tag under which a bundle names each cluster's configuration artifact. */
export const CLUSTER_TAG = 'latest';

/** ClusterArtifactInput is what a bundle carries for one cluster. */
export interface ClusterArtifactInput {
  namespace: string;
  name: string;
  /** JSON descriptor of the cluster (namespace, name, labels, matched profiles): the config blob. */
  config: Record<string, unknown>;
  /** One entry per ConfigurationGroup, in deploy order. */
  groups: { name: string; feature: string; requestor: string; yaml: string }[];
}

/** BufferPusher takes bytes at hand without a stream (their descriptor computed from them). */
export interface BufferPusher {
  pushBuffer(desc: Descriptor, data: Buffer): Promise<void>;
}

/** pushBlob computes the descriptor of `data` and pushes it (a no-op when already present). */
export async function pushBlob(store: Pusher & Partial<BufferPusher> & { exists?(d: Descriptor): Promise<boolean> }, mediaType: string, data: Buffer, extra: Partial<Descriptor> = {}): Promise<Descriptor> {
  const desc: Descriptor = { ...extra, mediaType, digest: sha256(data), size: data.length };
  if (store.pushBuffer) {
    await store.pushBuffer(desc, data);
    return desc;
  }
  if (store.exists && (await store.exists(desc))) return desc;
  return pushBytes(store, mediaType, data, extra);
}

/** pushJSON pushes a document as canonical JSON. */
export function pushJSON(store: Pusher, mediaType: string, doc: unknown, extra: Partial<Descriptor> = {}): Promise<Descriptor> {
  return pushBlob(store, mediaType, Buffer.from(canonicalJSON(doc)), extra);
}

/** clusterRef is the reference naming a cluster's artifact inside a bundle. */
export function clusterRef(namespace: string, name: string, tag = CLUSTER_TAG): string {
  return `${clusterRepository(namespace, name)}:${tag}`;
}

/**
 * LayerSealer turns a group's YAML into an encrypted layer (its media type, bytes and extra annotations), or
 * returns undefined to carry it in the clear.
 */
export type LayerSealer = (yaml: string) => Promise<{ mediaType: string; data: Buffer; annotations: Record<string, string> } | undefined>;

/**
 * buildClusterArtifact pushes the config, one layer per group and the manifest; returns the manifest descriptor
 * for index.json. The artifact is a function of the cluster's content only (no creation time), so a cluster
 * that did not change keeps its digest from one export to the next: the site, a delta export and the agent
 * API all see "no change". Only the bundle root and the signature carry the export time.
 */
export async function buildClusterArtifact(store: Pusher, input: ClusterArtifactInput, seal?: LayerSealer): Promise<Descriptor> {
  const config = await pushJSON(store, MEDIA_TYPE_CLUSTER_CONFIG, input.config);
  const layers: Descriptor[] = [];
  for (const g of input.groups) {
    const annotations = {
      [ANNOTATION_GROUP]: g.name,
      'io.projectsveltos.airgap.feature': g.feature,
      'io.projectsveltos.airgap.requestor': g.requestor,
    };
    const sealed = await seal?.(g.yaml);
    layers.push(
      sealed
        ? await pushBlob(store, sealed.mediaType, sealed.data, { annotations: { ...annotations, ...sealed.annotations } })
        : await pushBlob(store, MEDIA_TYPE_OBJECTS, Buffer.from(g.yaml, 'utf8'), { annotations }),
    );
  }
  const cluster = `${input.namespace}/${input.name}`;
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_IMAGE_MANIFEST,
    artifactType: ARTIFACT_TYPE_CLUSTER,
    config,
    layers,
    annotations: { [ANNOTATION_CLUSTER]: cluster },
  };
  const desc = await pushJSON(store, MEDIA_TYPE_IMAGE_MANIFEST, manifest);
  return {
    ...desc,
    artifactType: ARTIFACT_TYPE_CLUSTER,
    annotations: { [ANNOTATION_CLUSTER]: cluster, [ANNOTATION_REF_NAME]: clusterRef(input.namespace, input.name) },
  };
}

/** buildRootIndex lists every manifest of the bundle; the signature referrer points at it. */
export async function buildRootIndex(store: Pusher, manifests: Descriptor[], sequence: number, createdAt: string): Promise<Descriptor> {
  const index: Index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_IMAGE_INDEX,
    artifactType: ARTIFACT_TYPE_BUNDLE,
    manifests,
    annotations: { [ANNOTATION_CREATED]: createdAt, 'io.projectsveltos.airgap.sequence': String(sequence) },
  };
  const desc = await pushJSON(store, MEDIA_TYPE_IMAGE_INDEX, index);
  return {
    ...desc,
    artifactType: ARTIFACT_TYPE_BUNDLE,
    annotations: { [ANNOTATION_ROLE]: 'root', [ANNOTATION_REF_NAME]: `sveltos-airgap/bundle:${sequence}` },
  };
}

/** buildSignatureReferrer stores the Sigstore bundle as an OCI referrer of the root. */
export async function buildSignatureReferrer(store: Pusher, sigstoreBundle: Buffer, root: Descriptor, annotations?: Record<string, string>): Promise<Descriptor> {
  const layer = await pushBlob(store, MEDIA_TYPE_SIGSTORE_BUNDLE, sigstoreBundle);
  const desc = await buildArtifactManifest(store, MEDIA_TYPE_SIGSTORE_BUNDLE, layer, root, annotations);
  return { ...desc, artifactType: MEDIA_TYPE_SIGSTORE_BUNDLE, annotations: { [ANNOTATION_ROLE]: 'signature' } };
}

/**
 * buildArtifactManifest stores an OCI artifact manifest of `artifactType` over one stored `layer`, with the empty
 * config, and `subject` (a referrer of it) and `annotations` when given.
 */
export async function buildArtifactManifest(store: Pusher, artifactType: string, layer: Descriptor, subject?: Descriptor, annotations?: Record<string, string>): Promise<Descriptor> {
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_IMAGE_MANIFEST,
    artifactType,
    config: EMPTY_JSON_DESCRIPTOR,
    layers: [layer],
    ...(subject ? { subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } } : {}),
    ...(annotations ? { annotations } : {}),
  };
  await pushBlob(store, EMPTY_JSON_DESCRIPTOR.mediaType, Buffer.from('{}'));
  return pushJSON(store, MEDIA_TYPE_IMAGE_MANIFEST, manifest);
}

/** subjectName is the statement subject name of an index.json entry. */
export function subjectName(desc: Descriptor): string {
  return desc.annotations?.[ANNOTATION_REF_NAME] ?? desc.annotations?.[ANNOTATION_CLUSTER] ?? desc.digest;
}
