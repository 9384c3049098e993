// What a cluster is served, for the status page: each ConfigurationGroup's objects (kind, namespace, name;
// YAML on request, Secrets with their keys only), its Helm releases, and the images the objects name with
// whether the store carries them; and the store itself (imports, disk, carried charts and images). Encrypted
// groups are listed as encrypted and never opened, even when `serve` holds the site key.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { manifestFromJSON } from '../content/descriptor.js';
import { readAll } from '../content/verify.js';
import { importsOf } from '../agent-api/report.js';
import { readDesiredCluster, type DesiredCluster } from '../agent-api/served.js';
import { envelopeRecipients } from '../bundle/secrets.js';
import { openSiteLayout } from '../bundle/site.js';
import type { SiteState } from '../bundle/state.js';
import { ANNOTATION_CLUSTER, ANNOTATION_CLUSTERS, ANNOTATION_GROUP, ANNOTATION_KIND, ANNOTATION_SOURCE, MEDIA_TYPE_OBJECTS_ENCRYPTED } from '../model/bundle.js';
import { isPlainObject } from '../model/json.js';
import { ANNOTATION_REF_NAME } from '../model/oci.js';
import { proofsBySubject } from '../model/proofs.js';
import type { ReceiptImport } from '../model/receipt.js';
import type { KubeObject } from '../model/sveltos.js';
import { parseImageReference, podSpecImages } from '../resolve/images.js';
import { redactSecret } from '../resolve/redact.js';

/** ObjectRow is one object a group deploys; a Secret lists its keys, never its values. */
export interface ObjectRow {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  secretKeys?: string[];
}

export interface ContentView {
  cluster: string;
  groups: { name: string; encrypted: boolean; recipients?: string[]; objects: ObjectRow[] }[];
  releases: { group: string; release: string; chart: string; version: string; uninstall: boolean }[];
  images: { image: string; carried: boolean; objects: string[] }[];
  /** Layers that could not be read (they are not served either). */
  warnings: string[];
}

/** StoreView is the store page: imports in order, disk used, and what is carried with its users. */
export interface StoreView {
  highestSequence: number;
  /** Bytes under the store (not known offline, from a receipt). */
  diskBytes?: number;
  imports: { sequence: number; importedAt: string; createdAt: string; signer: string; source: string; bytes?: number; clusters: number }[];
  artifacts: { ref: string; kind: string; source?: string; version?: string; clusters: string[]; proofs: string[] }[];
}

/** importRows are a site's imports as the store page lists them: each with how many clusters it carried. */
export function importRows(imports: ReceiptImport[]): StoreView['imports'] {
  return imports.map((i) => ({ ...i, clusters: i.clusters.length }));
}

// objectsOf lists a group's objects in deploy order: its bundles' resources, each one YAML document.
function objectsOf(group: DesiredCluster['groups'][number]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const b of group.bundles) {
    const resources = isPlainObject(b.spec) && Array.isArray(b.spec.resources) ? b.spec.resources : [];
    for (const r of resources) {
      let v: unknown;
      try {
        v = parse(String(r), { maxAliasCount: 100 });
      } catch {
        v = undefined;
      }
      out.push(isPlainObject(v) ? v : { kind: '(unreadable)', metadata: { name: '?' } });
    }
  }
  return out;
}

const meta = (o: Record<string, unknown>) => (isPlainObject(o.metadata) ? o.metadata : {});

/** carriedImages is every image reference the store carries (as exported), normalised. */
export function carriedImages(state: SiteState): Set<string> {
  const out = new Set<string>();
  for (const r of state.history) for (const m of r.manifests) if (m.annotations?.[ANNOTATION_KIND] === 'image' && m.annotations[ANNOTATION_SOURCE]) out.add(parseImageReference(m.annotations[ANNOTATION_SOURCE])?.reference ?? m.annotations[ANNOTATION_SOURCE]);
  return out;
}

/** contentView lists what the cluster is served: objects per group, Helm releases, images (pure). */
export function contentView(desired: DesiredCluster, encrypted: { group: string; recipients: string[] }[], carried: Set<string>): ContentView {
  const out: ContentView = { cluster: desired.cluster, groups: [], releases: [], images: [], warnings: desired.warnings.filter((w) => !/encrypted to key/.test(w)) };
  const images = new Map<string, Set<string>>();
  for (const g of desired.groups) {
    const name = g.group.metadata.name;
    const objects = objectsOf(g);
    out.groups.push({
      name,
      encrypted: false,
      objects: objects.map((o) => {
        const m = meta(o);
        const row: ObjectRow = { apiVersion: String(o.apiVersion ?? ''), kind: String(o.kind ?? ''), name: String(m.name ?? '') };
        if (typeof m.namespace === 'string' && m.namespace) row.namespace = m.namespace;
        const secret = redactSecret(o).values;
        if (secret) row.secretKeys = [...secret.keys()].sort();
        return row;
      }),
    });
    for (const b of g.bundles) {
      const spec = isPlainObject(b.spec) ? b.spec : {};
      if (typeof spec.helmReleaseName !== 'string' || !spec.helmReleaseName) continue;
      const release = `${String(spec.helmReleaseNamespace ?? '')}/${spec.helmReleaseName}`;
      if (out.releases.some((r) => r.group === name && r.release === release)) continue;
      out.releases.push({ group: name, release, chart: String(spec.helmRepoURL ?? ''), version: String(spec.helmChartVersion ?? ''), uninstall: spec.helmReleaseUninstall === true });
    }
    for (const o of objects) {
      const m = meta(o);
      for (const im of podSpecImages(o as unknown as KubeObject)) {
        const ref = parseImageReference(im.image)?.reference ?? im.image;
        images.set(ref, (images.get(ref) ?? new Set()).add(`${String(o.kind)} ${m.namespace ? `${String(m.namespace)}/` : ''}${String(m.name ?? '')}`));
      }
    }
  }
  for (const e of encrypted) out.groups.push({ name: e.group, encrypted: true, recipients: e.recipients, objects: [] });
  out.groups.sort((a, b) => a.name.localeCompare(b.name));
  out.images = [...images].sort(([a], [b]) => a.localeCompare(b)).map(([image, users]) => ({ image, carried: carried.has(image), objects: [...users].sort() }));
  return out;
}

/** objectYAML is one object of a group as YAML, a Secret's values replaced; undefined when there is no such object. */
export function objectYAML(desired: DesiredCluster, group: string, index: number): string | undefined {
  const g = desired.groups.find((x) => x.group.metadata.name === group);
  const o = g ? objectsOf(g)[index] : undefined;
  return o && stringify(redactSecret(o).shown);
}

/** storeView is the store page (pure): every import, and each carried chart and image with its users. */
export function storeView(state: SiteState, diskBytes: number): StoreView {
  const latest = new Map<string, NonNullable<SiteState['history'][number]['manifests'][number]>>();
  for (const r of state.history) for (const m of r.manifests) if (m.annotations?.[ANNOTATION_REF_NAME] && !m.annotations[ANNOTATION_CLUSTER]) latest.set(m.annotations[ANNOTATION_REF_NAME], m);
  const proofs = proofsBySubject([...latest].map(([ref, m]) => ({ ref, digest: m.digest })));
  const isProof = new Set([...proofs.values()].flat().map((p) => p.ref));
  return {
    highestSequence: state.highestSequence,
    diskBytes,
    imports: importRows(importsOf(state)),
    artifacts: [...latest]
      .filter(([ref]) => !isProof.has(ref))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([ref, m]) => {
        const a = m.annotations ?? {};
        return {
          ref,
          kind: a[ANNOTATION_KIND] ?? 'other',
          ...(a[ANNOTATION_SOURCE] ? { source: a[ANNOTATION_SOURCE] } : {}),
          ...(a['org.opencontainers.image.version'] ? { version: a['org.opencontainers.image.version'] } : {}),
          clusters: a[ANNOTATION_CLUSTERS] ? a[ANNOTATION_CLUSTERS].split(',') : [],
          proofs: (proofs.get(ref) ?? []).map((p) => p.kind),
        };
      }),
  };
}

/** readClusterContent reads what the store serves `cluster` now (undefined for a cluster it does not serve). */
export async function readClusterContent(storeDir: string, state: SiteState, cluster: string): Promise<{ desired: DesiredCluster; encrypted: { group: string; recipients: string[] }[] } | undefined> {
  const st = state.clusters[cluster];
  if (!st) return undefined;
  const layout = await openSiteLayout(storeDir, false);
  const desired = await readDesiredCluster(layout, cluster, st.manifest);
  const manifest = manifestFromJSON(await readAll(await layout.fetch(st.manifest), st.manifest), st.manifest.digest);
  const encrypted = manifest.layers.filter((l) => l.mediaType === MEDIA_TYPE_OBJECTS_ENCRYPTED).map((l) => ({ group: l.annotations?.[ANNOTATION_GROUP] ?? l.digest, recipients: envelopeRecipients(l) }));
  return { desired, encrypted };
}

/** diskUsage is the bytes of every file under `dir` (links not followed). */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await diskUsage(p);
    else if (e.isFile()) total += (await lstat(p)).size;
  }
  return total;
}
