// The text form of a diff: per cluster `+` added, `-` removed, `~` changed, with the unified diff of each
// changed object indented under it, then the charts and images, then a summary line.
import { formatBytes } from '../model/size.js';
import type { ArtifactChanges, BundleDiff, ClusterDiff, ObjectChange } from './compare.js';

const MARK = { added: '+', removed: '-', changed: '~' } as const;

/** renderDiff writes `d` for a reviewer; `verified` says whether the bundles' signatures were checked. */
export function renderDiff(d: BundleDiff, verified: boolean): string {
  const out: string[] = [];
  if (!verified) out.push('(unverified: no --key was given, so the bundles were not checked against a trusted key)');
  for (const c of d.clusters) {
    if (c.change === 'unchanged') continue;
    out.push(`cluster ${c.cluster}: ${clusterLine(c)}`);
    for (const o of c.objects) {
      out.push(`  ${MARK[o.change]} ${objectName(o)}${o.keys ? keysText(o.keys) : ''}`);
      if (o.diff) out.push(...o.diff.split('\n').map((l) => `      ${l}`));
    }
    for (const h of c.helm) {
      const was = h.from && (h.from.version !== h.version || h.from.chart !== h.chart) ? ` (was ${h.from.chart} ${h.from.version})` : '';
      out.push(`  ${MARK[h.change]} helm release ${h.namespace}/${h.name}: ${h.chart} ${h.version}${was}${h.what ? `; changed: ${h.what.join(', ')}` : ''}`);
    }
    for (const e of c.encrypted) out.push(`  ${MARK[e.change]} encrypted objects of ${e.requestor}${e.change === 'changed' ? ': encrypted, changed (give --site-key to see what)' : ''}`);
  }
  out.push(...artifactLines('chart', d.charts), ...artifactLines('image', d.images));
  const s = d.summary;
  out.push(
    `summary: ${d.clusters.length} cluster(s): ${s.clusters.changed} changed, ${s.clusters.added} added, ${s.clusters.removed} removed, ${s.clusters.unchanged} unchanged; objects: ${s.objects.added} added, ${s.objects.removed} removed, ${s.objects.changed} changed`,
  );
  return out.join('\n');
}

function clusterLine(c: ClusterDiff): string {
  const parts = [`${c.summary.added} added`, `${c.summary.removed} removed`, `${c.summary.changed} changed`];
  if (c.helm.length) parts.push(`${c.helm.length} helm release(s)`);
  if (c.encrypted.length) parts.push(`${c.encrypted.length} encrypted layer(s)`);
  return `${c.change} (${parts.join(', ')})`;
}

function objectName(o: ObjectChange): string {
  return `${o.apiVersion} ${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

function keysText(k: NonNullable<ObjectChange['keys']>): string {
  const parts = [k.changed.length && `data keys changed: ${k.changed.join(', ')}`, k.added.length && `added: ${k.added.join(', ')}`, k.removed.length && `removed: ${k.removed.join(', ')}`].filter(Boolean);
  return parts.length ? ` (${parts.join('; ')}; values not shown)` : '';
}

function artifactLines(what: string, a: ArtifactChanges): string[] {
  return [
    ...a.added.map((x) => `+ ${what} ${x.ref} (${formatBytes(x.bytes)})`),
    ...a.removed.map((x) => `- ${what} ${x.ref} (${formatBytes(x.bytes)})`),
    ...a.changed.map((x) => `~ ${what} ${x.ref}: ${x.from.slice(0, 19)}… -> ${x.to.slice(0, 19)}… (${formatBytes(x.bytes)})`),
  ];
}
