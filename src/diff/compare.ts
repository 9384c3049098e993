// Comparing two views: per cluster, the objects added, removed and changed (with a unified diff of the YAML a
// reviewer may see; a Secret reports which data keys changed, never a value), the Helm releases, the
// encrypted layers, and the charts and images carried. Pure.
import { unifiedDiff } from './lines.js';
import { type ArtifactEntry, type BundleView, type ClusterView, type HelmEntry, type ObjectEntry } from './view.js';

export type Change = 'added' | 'removed' | 'changed';

export interface ObjectChange {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  change: Change;
  /** Unified diff of the shown YAML (changed objects; empty when only Secret values changed). */
  diff?: string;
  /** A Secret's data keys by what happened to their values. */
  keys?: { added: string[]; removed: string[]; changed: string[] };
}

export interface HelmChange {
  namespace: string;
  name: string;
  change: Change;
  chart: string;
  version: string;
  /** The release before, when it changed. */
  from?: { chart: string; version: string };
  /** What changed: `version`, `chart`, `rendered objects`, `uninstall`. */
  what?: string[];
}

export interface EncryptedChange {
  requestor: string;
  change: Change;
}

export interface ClusterDiff {
  cluster: string;
  change: Change | 'unchanged';
  objects: ObjectChange[];
  helm: HelmChange[];
  encrypted: EncryptedChange[];
  summary: { added: number; removed: number; changed: number };
}

export interface ArtifactChanges {
  added: ArtifactEntry[];
  removed: ArtifactEntry[];
  /** The same reference, other content. */
  changed: { ref: string; from: string; to: string; bytes: number }[];
}

export interface BundleDiff {
  clusters: ClusterDiff[];
  charts: ArtifactChanges;
  images: ArtifactChanges;
  summary: { clusters: Record<ClusterDiff['change'], number>; objects: { added: number; removed: number; changed: number }; changes: boolean };
}

const EMPTY: ClusterView = { objects: new Map(), helm: new Map(), encrypted: new Map() };

/** compareViews says what going from `before` to `after` changes. `diff: false` leaves the YAML diffs out. */
export function compareViews(before: BundleView, after: BundleView, opts: { diff?: boolean } = {}): BundleDiff {
  const names = [...new Set([...before.clusters.keys(), ...after.clusters.keys()])].sort();
  const clusters = names.map((cluster): ClusterDiff => {
    const a = before.clusters.get(cluster);
    const b = after.clusters.get(cluster);
    const d = compareCluster(a ?? EMPTY, b ?? EMPTY, opts.diff !== false);
    const changed = d.objects.length + d.helm.length + d.encrypted.length > 0;
    return { cluster, change: !a ? 'added' : !b ? 'removed' : changed ? 'changed' : 'unchanged', ...d };
  });
  const count = (c: ClusterDiff['change']) => clusters.filter((x) => x.change === c).length;
  const objects = { added: 0, removed: 0, changed: 0 };
  for (const c of clusters) for (const k of ['added', 'removed', 'changed'] as const) objects[k] += c.summary[k];
  const charts = compareArtifacts(before.charts, after.charts);
  const images = compareArtifacts(before.images, after.images);
  const artifactChanges = [charts, images].some((x) => x.added.length + x.removed.length + x.changed.length > 0);
  return {
    clusters,
    charts,
    images,
    summary: { clusters: { added: count('added'), removed: count('removed'), changed: count('changed'), unchanged: count('unchanged') }, objects, changes: clusters.some((c) => c.change !== 'unchanged') || artifactChanges },
  };
}

function compareCluster(a: ClusterView, b: ClusterView, withDiff: boolean): Omit<ClusterDiff, 'cluster' | 'change'> {
  const objects: ObjectChange[] = [];
  for (const [, x, y] of pairs(a.objects, b.objects)) {
    const id = (e: ObjectEntry) => ({ apiVersion: e.apiVersion, kind: e.kind, namespace: e.namespace, name: e.name });
    if (!x) objects.push({ ...id(y!), change: 'added' });
    else if (!y) objects.push({ ...id(x), change: 'removed' });
    else {
      const keys = x.secret || y.secret ? secretKeys(x.secret ?? new Map(), y.secret ?? new Map()) : undefined;
      const keysChanged = keys && keys.added.length + keys.removed.length + keys.changed.length > 0;
      if (x.shown === y.shown && !keysChanged) continue;
      objects.push({ ...id(y), change: 'changed', ...(withDiff ? { diff: unifiedDiff(x.shown, y.shown) } : {}), ...(keys ? { keys } : {}) });
    }
  }
  const helm: HelmChange[] = [];
  for (const [, x, y] of pairs(a.helm, b.helm)) {
    const base = (e: HelmEntry) => ({ namespace: e.namespace, name: e.name, chart: e.chart, version: e.version });
    if (!x) helm.push({ ...base(y!), change: 'added' });
    else if (!y) helm.push({ ...base(x), change: 'removed' });
    else {
      const what = [x.version !== y.version && 'version', x.chart !== y.chart && 'chart', x.rendered !== y.rendered && 'rendered objects', x.uninstall !== y.uninstall && 'uninstall'].filter((w): w is string => Boolean(w));
      if (what.length) helm.push({ ...base(y), change: 'changed', from: { chart: x.chart, version: x.version }, what });
    }
  }
  const encrypted: EncryptedChange[] = [];
  for (const [key, x, y] of pairs(a.encrypted, b.encrypted)) {
    if (!x) encrypted.push({ requestor: key, change: 'added' });
    else if (!y) encrypted.push({ requestor: key, change: 'removed' });
    else if (x.digest !== y.digest) encrypted.push({ requestor: key, change: 'changed' });
  }
  const n = (c: Change) => objects.filter((o) => o.change === c).length;
  return { objects, helm, encrypted, summary: { added: n('added'), removed: n('removed'), changed: n('changed') } };
}

// pairs walks the keys of both maps in order, with each side's value (undefined where that side lacks the key).
function pairs<V>(a: Map<string, V>, b: Map<string, V>): [string, V | undefined, V | undefined][] {
  return [...new Set([...a.keys(), ...b.keys()])].sort().map((k) => [k, a.get(k), b.get(k)]);
}

// split sorts the keys of two maps into added, removed and changed (`same` tells values apart).
function split<V>(a: Map<string, V>, b: Map<string, V>, same: (x: V, y: V) => boolean): { added: [string, V][]; removed: [string, V][]; changed: [string, V, V][] } {
  const out = { added: [] as [string, V][], removed: [] as [string, V][], changed: [] as [string, V, V][] };
  for (const [k, x, y] of pairs(a, b)) {
    if (x === undefined) out.added.push([k, y!]);
    else if (y === undefined) out.removed.push([k, x]);
    else if (!same(x, y)) out.changed.push([k, x, y]);
  }
  return out;
}

function secretKeys(a: Map<string, string>, b: Map<string, string>): NonNullable<ObjectChange['keys']> {
  const { added, removed, changed } = split(a, b, (x, y) => x === y);
  return { added: added.map(([k]) => k), removed: removed.map(([k]) => k), changed: changed.map(([k]) => k) };
}

function compareArtifacts(a: Map<string, ArtifactEntry>, b: Map<string, ArtifactEntry>): ArtifactChanges {
  const { added, removed, changed } = split(a, b, (x, y) => x.digest === y.digest);
  return { added: added.map(([, e]) => e), removed: removed.map(([, e]) => e), changed: changed.map(([ref, x, y]) => ({ ref, from: x.digest, to: y.digest, bytes: y.bytes })) };
}

