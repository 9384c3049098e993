// The status page's views, from what a receipt holds (the store's clusters and what each agent reported): the
// overview (one row per cluster) and a cluster's groups. Pure: the same views serve the live page of `serve`
// and the offline page written from a verified receipt. No object content is here, so no Secret value can be.
import type { ReceiptCluster } from '../model/receipt.js';

/** STALE_AFTER_MS: a heartbeat older than this is stale (sveltoscluster-manager's judgement). */
export const STALE_AFTER_MS = 10 * 60 * 1000;

export const STATES = ['Provisioned', 'Provisioning', 'Failed', 'Removing'] as const;
export type GroupState = (typeof STATES)[number];

export interface OverviewRow {
  cluster: string;
  labels: Record<string, string>;
  sequence: number;
  importedAt?: string;
  groups: Record<GroupState, number>;
  /** The worst state of its groups: Failed, then Removing, Provisioning, Provisioned; none without groups. */
  state: GroupState | 'none';
  heartbeat?: string;
  heartbeatAgeSeconds?: number;
  stale: boolean;
  ready?: boolean;
  driftReports: number;
}

export interface ClusterView {
  cluster: string;
  sequence: number;
  labels: Record<string, string>;
  heartbeat?: ReceiptCluster['heartbeat'];
  groups: { name: string; requestor: string; profile: string; feature: string; tier: number; action: string; state: GroupState; failureMessage?: string; lastAppliedTime?: string }[];
  driftReports: { name: string }[];
  /** Imports and agent reports in time order, for the timeline. */
  timeline: TimelineEvent[];
}

/** TimelineEvent is one point of a cluster's timeline: an import of its configuration, or what its agent reported. */
export interface TimelineEvent {
  time: string;
  kind: 'import' | 'applied' | 'failed' | 'heartbeat';
  label: string;
}

/** ImportFact is what the timeline needs of an import: when, which sequence, which clusters. */
export interface ImportFact {
  sequence: number;
  importedAt: string;
  clusters: string[];
}

/** groupState is what a group's status says, as the overview counts it. */
export function groupState(g: ReceiptCluster['groups'][number]): GroupState {
  if (g.deleting || g.action === 'Remove') return 'Removing';
  if (g.status === 'Failed' || g.status === 'FailedNonRetriable') return 'Failed';
  if (g.status === 'Provisioned' && (g.observedGeneration === undefined || g.observedGeneration >= g.generation)) return 'Provisioned';
  return 'Provisioning';
}

/** overview is one row per cluster, in name order. */
export function overview(clusters: ReceiptCluster[], now: Date, importedAt: Map<number, string> = new Map()): OverviewRow[] {
  return [...clusters]
    .sort((a, b) => a.cluster.localeCompare(b.cluster))
    .map((c) => {
      const groups = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<GroupState, number>;
      for (const g of c.groups) groups[groupState(g)]++;
      const state = (['Failed', 'Removing', 'Provisioning', 'Provisioned'] as const).find((s) => groups[s] > 0) ?? 'none';
      const beat = c.heartbeat?.agentLastReportTime;
      const age = beat ? Math.max(0, Math.round((now.getTime() - Date.parse(beat)) / 1000)) : undefined;
      const at = importedAt.get(c.sequence);
      return {
        cluster: c.cluster,
        labels: c.labels ?? {},
        sequence: c.sequence,
        ...(at ? { importedAt: at } : {}),
        groups,
        state,
        ...(beat ? { heartbeat: beat, heartbeatAgeSeconds: age } : {}),
        stale: age === undefined || age * 1000 > STALE_AFTER_MS,
        ...(c.heartbeat?.ready !== undefined ? { ready: c.heartbeat.ready } : {}),
        driftReports: c.driftReports.length,
      };
    });
}

/**
 * clusterView is one cluster's groups with their agent status and failure message, and its timeline: the
 * imports that carried its configuration (`imports`; none from a receipt), when each group was last applied
 * (or failed), and the last heartbeat.
 */
export function clusterView(c: ReceiptCluster, imports: ImportFact[] = []): ClusterView {
  const timeline: TimelineEvent[] = imports.filter((i) => i.clusters.includes(c.cluster)).map((i) => ({ time: i.importedAt, kind: 'import', label: `bundle sequence ${i.sequence} imported` }));
  for (const g of c.groups) {
    if (!g.lastAppliedTime) continue;
    const failed = groupState(g) === 'Failed';
    timeline.push({ time: g.lastAppliedTime, kind: failed ? 'failed' : 'applied', label: `${g.name}: ${failed ? `failed${g.failureMessage ? `: ${g.failureMessage}` : ''}` : 'applied'}` });
  }
  const beat = c.heartbeat?.agentLastReportTime;
  if (beat) timeline.push({ time: beat, kind: 'heartbeat', label: `agent heartbeat${c.heartbeat?.version ? ` (${c.heartbeat.version})` : ''}` });
  timeline.sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || a.kind.localeCompare(b.kind));
  return {
    cluster: c.cluster,
    sequence: c.sequence,
    labels: c.labels ?? {},
    ...(c.heartbeat ? { heartbeat: c.heartbeat } : {}),
    timeline,
    groups: c.groups.map((g) => ({
      name: g.name,
      requestor: g.requestor,
      profile: g.profile ?? requestorPart(g.requestor, 0, 1),
      feature: requestorPart(g.requestor, 2),
      tier: g.tier ?? 100,
      action: g.action,
      state: groupState(g),
      ...(g.failureMessage ? { failureMessage: g.failureMessage } : {}),
      ...(g.lastAppliedTime ? { lastAppliedTime: g.lastAppliedTime } : {}),
    })),
    driftReports: c.driftReports.map((d) => ({ name: d.name })),
  };
}

// requestorPart reads `kind|name|feature`: parts [from, to) joined by a space (the profile is `kind name`).
function requestorPart(requestor: string, from: number, to = from): string {
  return requestor.split('|').slice(from, to + 1).filter(Boolean).join(' ');
}
