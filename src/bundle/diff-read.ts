// Reading what a bundle, or a site store, makes each cluster's agent deploy, for `diff` and `import --dry-run`
// (the comparison itself is src/diff/, pure). Layers are read under the limits of objects.ts; encrypted layers
// are opened with the site keys given, else compared by digest only.
import type { KeyObject } from 'node:crypto';
import { manifestFromJSON } from '../content/descriptor.js';
import type { ReadOnlyStorage } from '../content/storage.js';
import { DEFAULT_MAX_METADATA_BYTES, readDocument } from '../content/verify.js';
import { clusterView, emptyView, type ArtifactEntry, type BundleView, type ClusterView, type EncryptedEntry, type ParsedLayer } from '../diff/view.js';
import { ANNOTATION_CLUSTER, ARTIFACT_TYPE_BUNDLE, ARTIFACT_TYPE_CLUSTER, ARTIFACT_TYPE_VOLUMES, MEDIA_TYPE_SIGSTORE_BUNDLE } from '../model/bundle.js';
import { ANNOTATION_REF_NAME, type Descriptor, type Index } from '../model/oci.js';
import { isPlainObject } from '../model/sveltos.js';
import { artifactFacts } from './inspect.js';
import { isObjectsLayer, parseObjects, readObjectsLayer } from './objects.js';
import { isEncryptedObjects } from './secrets.js';
import { orHeld } from './verify.js';
import { openSiteLayout, readState } from './site.js';

export interface ViewOptions {
  /** Site private keys that open encrypted objects layers. */
  siteKeys?: KeyObject[];
  /**
   * Cluster views read so far, by the digest of the cluster's manifest: given to both sides of a comparison, a
   * cluster artifact they share (every unchanged cluster of a delta) is read once. Each layer is read verified
   * against its digest, so equal digests are equal views.
   */
  read?: Map<string, Promise<ClusterView>>;
}

/** bundleView reads what the bundle `bundle` deploys per cluster; the blobs a delta leaves out are read from `held`. */
export async function bundleView(bundle: ReadOnlyStorage & { index(): Index }, opts: ViewOptions = {}, held?: ReadOnlyStorage): Promise<BundleView> {
  const view = emptyView();
  const src = orHeld(bundle, held);
  for (const d of bundle.index().manifests) {
    if (d.artifactType === ARTIFACT_TYPE_CLUSTER) view.clusters.set(d.annotations?.[ANNOTATION_CLUSTER] ?? d.digest, await readCluster(src, d, opts));
    else if (![ARTIFACT_TYPE_BUNDLE, ARTIFACT_TYPE_VOLUMES, MEDIA_TYPE_SIGSTORE_BUNDLE].includes(d.artifactType ?? '')) await addArtifact(view, src, d);
  }
  return view;
}

/** storeView reads what the store at `dir` serves now; an empty or missing store serves nothing. */
export async function storeView(dir: string, opts: ViewOptions = {}): Promise<BundleView> {
  const state = await readState(dir);
  const view = emptyView();
  if (Object.keys(state.clusters).length === 0 && Object.keys(state.refs).length === 0) return view;
  const layout = await openSiteLayout(dir, false);
  for (const [cluster, c] of Object.entries(state.clusters)) view.clusters.set(cluster, await readCluster(layout, c.manifest, opts));
  for (const [ref, d] of Object.entries(state.refs)) {
    if (ref.startsWith('sveltos-airgap/clusters/') || ref.startsWith('sveltos-airgap/bundle:')) continue;
    await addArtifact(view, layout, { ...d, annotations: { ...d.annotations, [ANNOTATION_REF_NAME]: ref } });
  }
  return view;
}

/** addArtifact puts a carried artifact (its descriptor named with its reference) into the view as what it is. */
export async function addArtifact(view: BundleView, src: ReadOnlyStorage, d: Descriptor): Promise<void> {
  const a = await artifactFacts(src, d);
  const entry: ArtifactEntry = { ref: a.ref, digest: a.digest, bytes: a.bytes };
  if (a.kind === 'chart') view.charts.set(a.ref, entry);
  else if (a.kind === 'image') view.images.set(a.ref, entry);
}

// readCluster reads what a cluster artifact deploys (once per manifest digest, where opts.read is given).
function readCluster(src: ReadOnlyStorage, d: Descriptor, opts: ViewOptions): Promise<ClusterView> {
  let view = opts.read?.get(d.digest);
  if (!view) {
    view = readClusterOnce(src, d, opts);
    opts.read?.set(d.digest, view);
  }
  return view;
}

async function readClusterOnce(src: ReadOnlyStorage, d: Descriptor, opts: ViewOptions): Promise<ClusterView> {
  const m = manifestFromJSON(await readDocument(src, d, { limit: DEFAULT_MAX_METADATA_BYTES }), d.digest);
  const layers: ParsedLayer[] = [];
  const encrypted: EncryptedEntry[] = [];
  for (const layer of m.layers.filter(isObjectsLayer)) {
    const requestor = layer.annotations?.['io.projectsveltos.airgap.requestor'] ?? layer.digest;
    if (isEncryptedObjects(layer) && !opts.siteKeys?.length) {
      encrypted.push({ requestor, digest: layer.digest });
      continue;
    }
    const docs = await readObjectsLayer(src, layer, { ...(opts.siteKeys ? { siteKeys: opts.siteKeys } : {}) });
    layers.push({ bundles: docs.filter((doc) => doc.kind === 'ConfigurationBundle').map((b) => bundleContents(b, `objects layer ${layer.digest}`)) });
  }
  return clusterView(layers, encrypted);
}

/** bundleContents parses a ConfigurationBundle's resources; one that does not parse is kept as text, so a change to it still shows. */
export function bundleContents(b: Record<string, unknown>, where: string): ParsedLayer['bundles'][number] {
  const spec = isPlainObject(b.spec) ? b.spec : {};
  const name = isPlainObject(b.metadata) ? String(b.metadata.name ?? '') : '';
  const objects = (Array.isArray(spec.resources) ? spec.resources : []).flatMap((r, i): Record<string, unknown>[] => {
    try {
      return parseObjects(Buffer.from(String(r)), `${where}: ConfigurationBundle ${name}`).filter(isPlainObject);
    } catch {
      return [{ apiVersion: '', kind: '(not YAML)', metadata: { name: `${name}[${i}]` }, text: String(r) }];
    }
  });
  return { spec, objects };
}
