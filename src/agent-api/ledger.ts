// The agent API's durable state: one file per cluster under `<store>/agent/clusters/<ns>/<name>.json`
// holding its served objects with everything the agent wrote (status, finalizers, heartbeats, reports).
// Files are replaced atomically (write temp, fsync, rename), like state.json. Bundle contents are not
// copied: a ConfigurationBundle's spec is read again from the store when the file is loaded.
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../content/oci-layout/ingest.js';
import { ContentError } from '../errors.js';
import type { Entry, KubeObj, Origin } from './objects.js';
import { CONFIGURATION_BUNDLES, findResource, RESOURCES } from './resources.js';

export const AGENT_DIR = 'agent';
const CLUSTERS_DIR = 'clusters';

interface LedgerRecord {
  resource: string;
  origin: Origin;
  specHash?: string;
  object: KubeObj;
}

interface LedgerFile {
  version: 1;
  cluster: string;
  /** resourceVersion of the write that produced this file: the counter never goes back below it. */
  resourceVersion: number;
  /** What the objects were reconciled with: the imported manifest's digest and the site keys that read it. */
  source?: string;
  objects: LedgerRecord[];
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** ledgerPath is the file of cluster `ns/name`; names are checked before any path join. */
export function ledgerPath(storeDir: string, cluster: string): string {
  const [ns, name, extra] = cluster.split('/');
  if (!ns || !name || extra !== undefined || !NAME.test(ns) || !NAME.test(name)) {
    throw new ContentError('UNSAFE_PATH', `cluster ${JSON.stringify(cluster)}: expected namespace/name (DNS names)`, { details: { found: cluster } });
  }
  return join(storeDir, AGENT_DIR, CLUSTERS_DIR, ns, `${name}.json`);
}

/** saveCluster writes one cluster's entries (and the import they were reconciled with) atomically. */
export async function saveCluster(storeDir: string, cluster: string, entries: Entry[], resourceVersion: number, source?: string): Promise<void> {
  const path = ledgerPath(storeDir, cluster);
  await mkdir(join(path, '..'), { recursive: true });
  const file: LedgerFile = {
    version: 1,
    cluster,
    resourceVersion,
    ...(source !== undefined ? { source } : {}),
    objects: entries.map((e) => {
      const object = e.resource === CONFIGURATION_BUNDLES && e.origin === 'bundle' ? { ...e.object, spec: undefined } : e.object;
      return { resource: `${e.resource.group}/${e.resource.plural}`, origin: e.origin, ...(e.specHash ? { specHash: e.specHash } : {}), object };
    }),
  };
  await writeFileAtomic(path, `${JSON.stringify(file)}\n`);
}

/** LoadedLedger is every persisted entry, the highest resourceVersion any file records, and each cluster's source. */
export interface LoadedLedger {
  entries: Entry[];
  resourceVersion: number;
  sources: Map<string, string>;
}

/** loadLedger reads every cluster file; a damaged file fails loudly with its path (it is never half-used). */
export async function loadLedger(storeDir: string): Promise<LoadedLedger> {
  const root = join(storeDir, AGENT_DIR, CLUSTERS_DIR);
  const out: LoadedLedger = { entries: [], resourceVersion: 0, sources: new Map() };
  let namespaces: string[];
  try {
    namespaces = await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const ns of namespaces.sort()) {
    if (!NAME.test(ns)) continue;
    for (const f of (await readdir(join(root, ns))).sort()) {
      if (!f.endsWith('.json') || f.startsWith('.')) continue;
      const path = join(root, ns, f);
      const file = parseLedger(await readFile(path, 'utf8'), path);
      out.resourceVersion = Math.max(out.resourceVersion, file.resourceVersion);
      if (typeof file.source === 'string') out.sources.set(file.cluster, file.source);
      for (const rec of file.objects) {
        const [group, plural] = rec.resource.split('/') as [string, string];
        const resource = findResource(group, 'v1beta1', plural) ?? RESOURCES.find((r) => r.group === group && r.plural === plural);
        if (!resource) continue;
        out.entries.push({ resource, object: rec.object, owner: file.cluster, origin: rec.origin, ...(rec.specHash ? { specHash: rec.specHash } : {}) });
        out.resourceVersion = Math.max(out.resourceVersion, Number(rec.object.metadata.resourceVersion) || 0);
      }
    }
  }
  return out;
}

function parseLedger(text: string, path: string): LedgerFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ContentError('INVALID_LAYOUT', `${path}: not valid JSON (${(err as Error).message}): the agent state is damaged; restore it from backup or remove the file (the agent then reports again)`, { cause: err });
  }
  const f = v as Partial<LedgerFile>;
  if (typeof v !== 'object' || v === null || f.version !== 1 || typeof f.cluster !== 'string' || !Array.isArray(f.objects) || !Number.isSafeInteger(f.resourceVersion)) {
    throw new ContentError('INVALID_LAYOUT', `${path}: not an agent state file (version 1 with cluster, resourceVersion and objects)`);
  }
  for (const [i, o] of f.objects.entries()) {
    const obj = (o as Partial<LedgerRecord>)?.object;
    if (typeof obj !== 'object' || obj === null || typeof obj.metadata?.name !== 'string') {
      throw new ContentError('INVALID_LAYOUT', `${path}: objects[${i}]: expected an object with metadata.name`);
    }
  }
  return f as LedgerFile;
}
