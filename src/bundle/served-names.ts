// The names a bundle makes the agent API serve. Each objects layer of a cluster serves one ConfigurationGroup
// and its ConfigurationBundles in the cluster's namespace; two objects of one kind cannot share a namespace and
// a name in a Kubernetes API, so a bundle (or a bundle and the clusters a store keeps serving) that would need
// two is refused before anything is served: which cluster got the name would otherwise depend on load order.
import { manifestFromJSON } from '../content/descriptor.js';
import type { Fetcher } from '../content/storage.js';
import { readDocument } from '../content/verify.js';
import { VerificationError } from '../errors.js';
import { ANNOTATION_GROUP } from '../model/bundle.js';
import { isPlainObject } from '../model/json.js';
import type { Descriptor } from '../model/oci.js';
import { LIB_API_VERSION } from '../model/sveltos.js';
import { isObjectsLayer, readLayerNames, type ReadObjectsOptions } from './objects.js';
import { isEncryptedObjects } from './secrets.js';

const SERVED_KINDS: ReadonlySet<unknown> = new Set(['ConfigurationGroup', 'ConfigurationBundle']);

/** ServedName is one object a cluster's configuration artifact serves, and the layer that carries it. */
export interface ServedName {
  kind: string;
  namespace: string;
  name: string;
  /** The cluster (`NS/NAME`) it is served for. */
  cluster: string;
  /** Digest of the objects layer that carries it. */
  layer: string;
}

/** NameCollision is one kind/namespace/name that more than one layer would serve. */
export interface NameCollision {
  kind: string;
  namespace: string;
  name: string;
  holders: { cluster: string; layer: string }[];
}

/**
 * servedNames lists what one objects layer of `cluster` serves. `docs` are its parsed documents; undefined for
 * a layer that was not opened (encrypted, and no site key given): then only its group, named by the signed
 * layer annotation, is known.
 */
export function servedNames(cluster: string, layer: Descriptor, docs: Record<string, unknown>[] | undefined): ServedName[] {
  const clusterNamespace = cluster.slice(0, cluster.indexOf('/'));
  const at = { cluster, layer: layer.digest };
  if (docs === undefined) {
    const group = layer.annotations?.[ANNOTATION_GROUP];
    return group ? [{ kind: 'ConfigurationGroup', namespace: clusterNamespace, name: group, ...at }] : [];
  }
  const out: ServedName[] = [];
  for (const doc of docs) {
    const meta = doc.metadata;
    // Only groups and bundles of the cluster's own namespace are served (the agent API skips anything else).
    if (doc.apiVersion !== LIB_API_VERSION || !SERVED_KINDS.has(doc.kind) || !isPlainObject(meta) || typeof meta.name !== 'string') continue;
    if (meta.namespace !== undefined && meta.namespace !== clusterNamespace) continue;
    out.push({ kind: doc.kind as string, namespace: clusterNamespace, name: meta.name, ...at });
  }
  return out;
}

const nameKey = (n: ServedName): string => `${n.kind}\0${n.namespace}\0${n.name}`;

/**
 * NameIndex tells whether names are free of collisions, taking them a few at a time (a caller indexes them as they
 * come, while it waits for more); findCollisions lists the collisions of names that are not.
 */
export class NameIndex {
  // The first holder of each name, by kind, namespace and name: maps keyed by the strings the names carry (their
  // hashes are kept with them), not by a key string made per name, as a fleet has hundreds of thousands.
  readonly #first = new Map<string, Map<string, Map<string, ServedName>>>();
  #clean = true;

  /** add indexes `names`; the same name served twice by one layer for one cluster is one object. */
  add(names: Iterable<ServedName>): void {
    for (const n of names) {
      let byNamespace = this.#first.get(n.kind);
      if (!byNamespace) this.#first.set(n.kind, (byNamespace = new Map()));
      let byName = byNamespace.get(n.namespace);
      if (!byName) byNamespace.set(n.namespace, (byName = new Map()));
      const first = byName.get(n.name);
      if (!first) byName.set(n.name, n);
      else if (first.cluster !== n.cluster || first.layer !== n.layer) this.#clean = false;
    }
  }

  /** clean is true while no name indexed is served by two layers or for two clusters. */
  get clean(): boolean {
    return this.#clean;
  }
}

/** findCollisions returns every kind/namespace/name served by more than one layer, sorted. */
export function findCollisions(names: Iterable<ServedName>): NameCollision[] {
  const byKey = new Map<string, NameCollision>();
  for (const n of names) {
    const key = nameKey(n);
    const c = byKey.get(key);
    if (!c) byKey.set(key, { kind: n.kind, namespace: n.namespace, name: n.name, holders: [{ cluster: n.cluster, layer: n.layer }] });
    // The same layer listed twice by one cluster is one object; anything else is a second holder.
    else if (!c.holders.some((h) => h.cluster === n.cluster && h.layer === n.layer)) c.holders.push({ cluster: n.cluster, layer: n.layer });
  }
  return [...byKey.entries()]
    .filter(([, c]) => c.holders.length > 1)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, c]) => c);
}

// At most this many collisions, and holders of each, are named in the message (all are in the details).
const SHOWN = 10;
const SHOWN_HOLDERS = 3;

function describeCollision(c: NameCollision): string {
  const clusters = [...new Set(c.holders.map((h) => h.cluster))];
  const more = c.holders.length > SHOWN_HOLDERS ? ` and ${c.holders.length - SHOWN_HOLDERS} more` : '';
  const shown = c.holders.slice(0, SHOWN_HOLDERS);
  const where =
    clusters.length === 1
      ? `${c.holders.length === 2 ? 'twice' : `${c.holders.length} times`} for cluster ${clusters[0]} (layers ${shown.map((h) => h.layer).join(' and ')}${more})`
      : `for clusters ${shown.map((h) => `${h.cluster} (layer ${h.layer})`).join(' and ')}${more}`;
  return `${c.kind} ${c.namespace}/${c.name} is served ${where}`;
}

/**
 * assertNoCollisions refuses names that one Kubernetes API could not hold twice, naming every collision (the
 * first ten in the message, all in `details`). `what` says what was checked ("bundle", "bundle and store …").
 */
export function assertNoCollisions(names: Iterable<ServedName>, what: string): void {
  const collisions = findCollisions(names);
  if (!collisions.length) return;
  const shown = collisions.slice(0, SHOWN).map(describeCollision);
  const more = collisions.length > SHOWN ? `; and ${collisions.length - SHOWN} more` : '';
  throw new VerificationError(
    'NAME_COLLISION',
    `${what}: ${collisions.length} object name(s) would be served more than once: ${shown.join('; ')}${more}: two objects of one kind cannot share a namespace and name in the agent API; export again with names unique per cluster (the resolver derives them from the cluster)`,
    { details: { collisions } },
  );
}

/**
 * readServedNames reads what a stored cluster artifact serves (every byte digest-verified). Encrypted layers
 * are opened with `siteKeys` when given; otherwise only their group name is known.
 */
export async function readServedNames(src: Fetcher, cluster: string, manifestDesc: Descriptor, opts: ReadObjectsOptions & { maxMetadataBytes?: number }): Promise<ServedName[]> {
  const manifest = manifestFromJSON(await readDocument(src, manifestDesc, opts.maxMetadataBytes ? { limit: opts.maxMetadataBytes } : {}), `cluster ${cluster} manifest ${manifestDesc.digest}`);
  const out: ServedName[] = [];
  for (const layer of manifest.layers.filter(isObjectsLayer)) {
    let docs: Record<string, unknown>[] | undefined;
    if (!isEncryptedObjects(layer)) docs = await readLayerNames(src, layer, opts);
    // A stored layer encrypted to another site key than those given is known by its group name alone.
    else if (opts.siteKeys?.length) docs = await readLayerNames(src, layer, opts).catch(() => undefined);
    out.push(...servedNames(cluster, layer, docs));
  }
  return out;
}
