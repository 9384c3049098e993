// The name index: for each imported cluster artifact, the kind/name of every object it serves, written by
// import (which has them at hand from its collision check) so that serve can tell at start, without reading
// any layer, whether a cluster's objects could contend for a name with another cluster's. Derived data keyed
// by the manifest digest: a missing or damaged index file only means the slow path (the artifact is read).
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Descriptor } from '../model/oci.js';
import type { ServedName } from './served-names.js';

/** Beside the agent API's state, which it serves (derived data, like it). */
const NAMES_DIR = join('agent', 'names');
const HEX = /^sha256:([a-f0-9]{64})$/;

interface NameIndexFile {
  version: 1;
  manifest: string;
  /** `Kind/name` of every served object, in the cluster's namespace. */
  names: string[];
}

function indexPath(storeDir: string, manifest: string): string | undefined {
  const m = HEX.exec(manifest);
  return m ? join(storeDir, NAMES_DIR, `${m[1]}.json`) : undefined;
}

/**
 * writeNameIndexes records the names each cluster artifact serves. A cluster with an objects layer whose
 * names are not all known (encrypted, not opened) gets no index. Not fsynced: written once the import has
 * committed, and a file lost or torn by a crash is ignored by `readNameIndex` (the artifact is read instead).
 * Written with synchronous calls: a fleet has thousands of these small files, and a thread-pool round trip
 * per call costs more than the call.
 */
export async function writeNameIndexes(storeDir: string, clusters: { cluster: string; manifest: Descriptor }[], served: ServedName[], unopened: ReadonlySet<string>): Promise<void> {
  const byCluster = new Map<string, Set<string>>();
  for (const n of served) {
    let s = byCluster.get(n.cluster);
    if (!s) byCluster.set(n.cluster, (s = new Set()));
    s.add(`${n.kind}/${n.name}`);
  }
  await mkdir(join(storeDir, NAMES_DIR), { recursive: true });
  for (const { cluster, manifest } of clusters) {
    const path = indexPath(storeDir, manifest.digest);
    if (!path || unopened.has(cluster)) continue;
    const file: NameIndexFile = { version: 1, manifest: manifest.digest, names: [...(byCluster.get(cluster) ?? [])].sort() };
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(file));
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }
}

/** readNameIndex returns the `Kind/name`s the artifact `manifest` serves, or undefined when no valid index is stored. */
export async function readNameIndex(storeDir: string, manifest: string): Promise<string[] | undefined> {
  const path = indexPath(storeDir, manifest);
  if (!path) return undefined;
  let v: Partial<NameIndexFile>;
  try {
    v = JSON.parse(await readFile(path, 'utf8')) as Partial<NameIndexFile>;
  } catch {
    return undefined;
  }
  if (v?.version !== 1 || v.manifest !== manifest || !Array.isArray(v.names) || !v.names.every((n) => typeof n === 'string')) return undefined;
  return v.names;
}
