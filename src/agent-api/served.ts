// What the agent API serves for a cluster, read from the store: the cluster configuration artifact's
// config blob gives the SveltosCluster, each objects layer one ConfigurationGroup and its bundles.
import type { KeyObject } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { decryptObjects, envelopeRecipients } from '../bundle/secrets.js';
import { manifestFromJSON } from '../content/descriptor.js';
import type { Fetcher } from '../content/storage.js';
import { DEFAULT_MAX_METADATA_BYTES, readAll } from '../content/verify.js';
import { MEDIA_TYPE_OBJECTS, MEDIA_TYPE_OBJECTS_ENCRYPTED } from '../model/bundle.js';
import { expansionLimit, expansionUnits } from '../model/expansion.js';
import type { Descriptor } from '../model/oci.js';
import { ANNOTATION_REQUESTOR_NAME, LABEL_CLUSTER_NAME, LABEL_REQUESTOR_FEATURE, LABEL_REQUESTOR_KIND, LIB_API_VERSION } from '../model/sveltos.js';
import type { KubeObj } from './objects.js';
import { isPlainObject } from '../model/json.js';

/** MAX_OBJECTS_LAYER_BYTES bounds one group's YAML stream read into memory (rendered charts can be large). */
export const MAX_OBJECTS_LAYER_BYTES = 256 * 1024 * 1024;

/** Metadata the server manages; stripped from imported objects. */
const SERVER_FIELDS = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'finalizers', 'ownerReferences'];

/** DesiredGroup is one ConfigurationGroup as imported, with its bundles. */
export interface DesiredGroup {
  group: KubeObj;
  bundles: KubeObj[];
  /** Digest of the layer it was read from. */
  layer: string;
  /** `kind|name|feature` of the requestor: groups of the same requestor replace each other. */
  requestor: string;
}

/** DesiredCluster is everything served for one cluster by the current import. */
export interface DesiredCluster {
  cluster: string;
  namespace: string;
  name: string;
  manifest: Descriptor;
  sveltosCluster: KubeObj;
  groups: DesiredGroup[];
  /** Objects skipped because they do not belong to this cluster or do not parse. */
  warnings: string[];
}


function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isPlainObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** requestorOf names the requestor of a group: its kind, name and feature (sveltos-pullmode.md §2.4). */
export function requestorOf(group: KubeObj, layer?: Descriptor): string {
  const labels = group.metadata.labels ?? {};
  const kind = labels[LABEL_REQUESTOR_KIND] ?? '';
  const name = group.metadata.annotations?.[ANNOTATION_REQUESTOR_NAME] ?? layer?.annotations?.['io.projectsveltos.airgap.requestor'] ?? '';
  const feature = labels[LABEL_REQUESTOR_FEATURE] ?? layer?.annotations?.['io.projectsveltos.airgap.feature'] ?? '';
  return `${kind}|${name}|${feature}`;
}

/** ParsedLayer is one objects layer, parsed (or why it was skipped); cached by layer digest. */
export type ParsedLayer = { group: KubeObj; bundles: KubeObj[] } | string;

/** LayerCache keeps parsed layers by digest: most layers of a new import are the previous import's. */
export type LayerCache = Map<string, ParsedLayer>;

/**
 * readDesiredCluster reads a cluster's configuration artifact (every byte digest-verified). Layers found
 * in `cache` are not read or parsed again; every layer read is added to it. Encrypted objects layers are
 * decrypted with `siteKeys` (docs/format.md "Encrypted objects"); without a key that opens them they are
 * skipped with a warning.
 */
export async function readDesiredCluster(src: Fetcher, cluster: string, manifestDesc: Descriptor, cache: LayerCache = new Map(), siteKeys: KeyObject[] = []): Promise<DesiredCluster> {
  const [namespace, name] = cluster.split('/') as [string, string];
  const manifest = manifestFromJSON(await readAll(await src.fetch(manifestDesc), manifestDesc), `cluster ${cluster} manifest ${manifestDesc.digest}`);
  const config = JSON.parse((await readAll(await src.fetch(manifest.config), manifest.config, { limit: DEFAULT_MAX_METADATA_BYTES })).toString('utf8')) as unknown;
  const cfg = isPlainObject(config) ? config : {};
  const annotations = stringMap(cfg.annotations);
  const sveltosCluster: KubeObj = {
    apiVersion: LIB_API_VERSION,
    kind: 'SveltosCluster',
    metadata: { name, namespace, labels: stringMap(cfg.labels) ?? {}, ...(annotations && Object.keys(annotations).length ? { annotations } : {}) },
    spec: { ...(isPlainObject(cfg.spec) ? cfg.spec : {}), pullMode: true },
  };
  const out: DesiredCluster = { cluster, namespace, name, manifest: manifestDesc, sveltosCluster, groups: [], warnings: [] };
  const names = new Set<string>();
  for (const layer of manifest.layers) {
    const encrypted = layer.mediaType === MEDIA_TYPE_OBJECTS_ENCRYPTED;
    if (layer.mediaType !== MEDIA_TYPE_OBJECTS && !encrypted) continue;
    const where = `cluster ${cluster}: layer ${layer.digest}`;
    // The same bytes parse the same way for the same cluster (the namespace and name are checked).
    const cacheKey = `${cluster} ${layer.digest}`;
    let parsed = cache.get(cacheKey);
    if (parsed === undefined && encrypted && siteKeys.length === 0) {
      parsed = `${where}: encrypted to key(s) ${envelopeRecipients(layer).join(', ')}: serve it with --site-key (the site's private key); the layer is skipped`;
    } else if (parsed === undefined) {
      let data = await readAll(await src.fetch(layer), layer, { limit: MAX_OBJECTS_LAYER_BYTES });
      try {
        if (encrypted) data = decryptObjects(data, siteKeys, where);
        parsed = parseLayer(data.toString('utf8'), where, namespace, name);
      } catch (err) {
        parsed = `${(err as Error).message}; the layer is skipped`;
      }
      cache.set(cacheKey, parsed);
    }
    if (typeof parsed === 'string') {
      out.warnings.push(parsed);
      continue;
    }
    const dup = [parsed.group, ...parsed.bundles].find((o) => names.has(`${o.kind}/${o.metadata.name}`));
    if (dup) {
      out.warnings.push(`${where}: ${dup.kind} ${dup.metadata.name} is also in another layer; the layer is skipped`);
      continue;
    }
    for (const o of [parsed.group, ...parsed.bundles]) names.add(`${o.kind}/${o.metadata.name}`);
    out.groups.push({ ...parsed, layer: layer.digest, requestor: requestorOf(parsed.group, layer) });
  }
  return out;
}

// parseLayer reads one group and its bundles; a problem skips the whole layer (returned as a warning).
function parseLayer(text: string, where: string, namespace: string, clusterName: string): ParsedLayer {
  const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: true });
  if (!Array.isArray(docs)) return `${where}: not a YAML stream`;
  const objs: KubeObj[] = [];
  for (const [i, d] of docs.entries()) {
    if (d.errors.length) return `${where}: document ${i + 1}: ${d.errors[0]!.message}`;
    const v = d.toJS({ maxAliasCount: 100 }) as unknown;
    if (v === null || v === undefined) continue;
    // Aliases may not make a document bigger than its text (served objects are serialised in full).
    if (expansionUnits(v, expansionLimit(text.length)) > expansionLimit(text.length)) return `${where}: document ${i + 1}: YAML aliases expand it beyond ${expansionLimit(text.length)} nodes (an alias bomb); the layer is skipped`;
    const obj = checkServedObject(v, namespace, clusterName);
    if (typeof obj === 'string') return `${where}: document ${i + 1}: ${obj}; the layer is skipped`;
    objs.push(obj);
  }
  const [group, ...bundles] = objs;
  if (!group || group.kind !== 'ConfigurationGroup') return `${where}: expected a ConfigurationGroup first, found ${group ? group.kind : 'nothing'}`;
  const bad = bundles.find((b) => b.kind !== 'ConfigurationBundle');
  if (bad) return `${where}: expected only ConfigurationBundles after the group, found ${bad.kind}`;
  return { group, bundles };
}

// checkServedObject accepts a group or bundle of this cluster and strips server-managed fields.
function checkServedObject(v: unknown, namespace: string, clusterName: string): KubeObj | string {
  if (!isPlainObject(v) || !isPlainObject(v.metadata)) return 'expected a Kubernetes object with metadata';
  if (v.apiVersion !== LIB_API_VERSION || (v.kind !== 'ConfigurationGroup' && v.kind !== 'ConfigurationBundle')) {
    return `expected ${LIB_API_VERSION} ConfigurationGroup or ConfigurationBundle, found ${String(v.apiVersion)} ${String(v.kind)}`;
  }
  const meta = { ...v.metadata };
  if (typeof meta.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(meta.name)) return `${v.kind}: metadata.name: expected a DNS subdomain, found ${JSON.stringify(meta.name)}`;
  if (meta.namespace !== undefined && meta.namespace !== namespace) return `${v.kind} ${meta.name}: namespace ${JSON.stringify(meta.namespace)} is not the cluster's namespace ${namespace}`;
  const labels = stringMap(meta.labels) ?? {};
  if (labels[LABEL_CLUSTER_NAME] !== undefined && labels[LABEL_CLUSTER_NAME] !== clusterName) {
    return `${v.kind} ${meta.name}: label ${LABEL_CLUSTER_NAME}=${labels[LABEL_CLUSTER_NAME]} names another cluster than ${clusterName}`;
  }
  for (const f of SERVER_FIELDS) delete meta[f];
  const annotations = stringMap(meta.annotations);
  const obj: KubeObj = { ...(v as unknown as KubeObj), metadata: { ...meta, name: meta.name, namespace, labels: { ...labels, [LABEL_CLUSTER_NAME]: clusterName }, ...(annotations ? { annotations } : {}) } };
  // A group's status is the agent's; a bundle's status (its content hash) is part of what is served.
  if (v.kind === 'ConfigurationGroup') delete obj.status;
  return obj;
}
