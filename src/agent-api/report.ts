// Collecting a site receipt (`report`): the blobs the store holds, the highest imported sequence, and per
// cluster its groups with the agent's status, its last heartbeat and its drift reports, as persisted.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { receiptStatement } from '../bundle/receipt.js';
import { openSiteLayout, readState } from '../bundle/site.js';
import { STATE_FILE, type SiteState } from '../bundle/state.js';
import { sha256 } from '../content/digest.js';
import type { ReceiptCluster, ReceiptGroup, ReceiptImport, ReceiptStatement } from '../model/receipt.js';
import { loadLedger } from './ledger.js';
import type { Entry } from './objects.js';
import { CONFIGURATION_GROUPS, RESOURCE_SUMMARIES, SVELTOS_CLUSTERS } from './resources.js';
import { requestorOf } from './served.js';
import { asRecord } from '../model/json.js';
import { manifestFromJSON } from '../content/descriptor.js';
import type { Fetcher } from '../content/storage.js';
import { DEFAULT_MAX_METADATA_BYTES, readAll } from '../content/verify.js';
import type { Descriptor } from '../model/oci.js';

export interface CollectReceiptOptions {
  now: Date;
  /** Names the site in the receipt. Default: empty. */
  site?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function groupOf(e: Entry): ReceiptGroup {
  const spec = asRecord(e.object.spec);
  const status = asRecord(e.object.status);
  const g: ReceiptGroup = {
    name: e.object.metadata.name,
    requestor: requestorOf(e.object),
    action: str(spec.action) ?? 'Deploy',
    generation: e.object.metadata.generation ?? 1,
  };
  if (str(status.status)) g.status = str(status.status)!;
  if (str(status.failureMessage)) g.failureMessage = str(status.failureMessage)!;
  if (Number.isSafeInteger(status.observedGeneration)) g.observedGeneration = status.observedGeneration as number;
  if (str(status.lastAppliedTime)) g.lastAppliedTime = str(status.lastAppliedTime)!;
  if (e.object.metadata.deletionTimestamp) g.deleting = true;
  if (Number.isSafeInteger(spec.tier)) g.tier = spec.tier as number;
  const source = asRecord(spec.sourceRef);
  if (str(source.kind) && str(source.name)) g.profile = `${str(source.kind)!} ${str(source.namespace) ? `${str(source.namespace)!}/` : ''}${str(source.name)!}`;
  return g;
}

// The labels each cluster configuration artifact carries, by manifest digest (content-addressed, so they
// never change): a cluster whose agent has not asked yet is not read by serve, but has its labels.
const LABELS_CACHE_MAX = 100_000;
const labelsByManifest = new Map<string, Record<string, string>>();

async function artifactLabels(layout: Fetcher, manifest: Descriptor): Promise<Record<string, string>> {
  const known = labelsByManifest.get(manifest.digest);
  if (known) return known;
  const m = manifestFromJSON(await readAll(await layout.fetch(manifest), manifest), manifest.digest);
  const config = asRecord(JSON.parse((await readAll(await layout.fetch(m.config), m.config, { limit: DEFAULT_MAX_METADATA_BYTES })).toString('utf8')));
  const labels = Object.fromEntries(Object.entries(asRecord(config.labels)).filter((e): e is [string, string] => typeof e[1] === 'string'));
  if (labelsByManifest.size >= LABELS_CACHE_MAX) labelsByManifest.clear();
  labelsByManifest.set(manifest.digest, labels);
  return labels;
}

/** collectClusters reads what each cluster runs and what its agent reported (the receipt's clusters), from the store (`opened`, when the caller has it open) and the agent state. */
export async function collectClusters(storeDir: string, opened?: Fetcher): Promise<{ state: SiteState; clusters: ReceiptCluster[] }> {
  const state = await readState(storeDir);
  const ledger = await loadLedger(storeDir);
  // The store's layout, opened only when a cluster's labels must be read from its artifact.
  let layout = opened;
  const byOwner = new Map<string, Entry[]>();
  for (const e of ledger.entries) if (e.owner) byOwner.set(e.owner, [...(byOwner.get(e.owner) ?? []), e]);
  const clusters: ReceiptCluster[] = [];
  for (const [cluster, st] of Object.entries(state.clusters)) {
    const entries = byOwner.get(cluster) ?? [];
    const sc = entries.find((e) => e.resource === SVELTOS_CLUSTERS);
    const hb = asRecord(sc?.object.status);
    const heartbeat: NonNullable<ReceiptCluster['heartbeat']> = {};
    if (typeof hb.ready === 'boolean') heartbeat.ready = hb.ready;
    if (str(hb.version)) heartbeat.version = str(hb.version)!;
    if (str(hb.agentLastReportTime)) heartbeat.agentLastReportTime = str(hb.agentLastReportTime)!;
    if (str(hb.failureMessage)) heartbeat.failureMessage = str(hb.failureMessage)!;
    const labels = sc ? sc.object.metadata.labels ?? {} : await artifactLabels((layout ??= await openSiteLayout(storeDir, false)), st.manifest);
    clusters.push({
      cluster,
      sequence: st.sequence,
      manifest: st.manifest.digest,
      ...(Object.keys(heartbeat).length ? { heartbeat } : {}),
      ...(Object.keys(labels).length ? { labels: { ...labels } } : {}),
      groups: entries.filter((e) => e.resource === CONFIGURATION_GROUPS).map(groupOf).sort((a, b) => a.name.localeCompare(b.name)),
      driftReports: entries
        .filter((e) => e.resource === RESOURCE_SUMMARIES)
        .map((e) => ({ name: e.object.metadata.name, ...(e.object.metadata.annotations ? { annotations: e.object.metadata.annotations } : {}), ...(e.object.status ? { status: asRecord(e.object.status) } : {}) }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    });
  }
  return { state, clusters };
}

/** importsOf is the site's import history as the status page shows it (a receipt keeps the last ones). */
export function importsOf(state: SiteState): ReceiptImport[] {
  return state.history.map((r) => ({ sequence: r.sequence, importedAt: r.importedAt, createdAt: r.createdAt, signer: r.keyHint, source: r.source, ...(r.bytes !== undefined ? { bytes: r.bytes } : {}), clusters: r.clusters }));
}

/** collectReceipt reads the store and the agent state into a receipt statement (not yet signed). */
export async function collectReceipt(storeDir: string, opts: CollectReceiptOptions): Promise<ReceiptStatement> {
  const layout = await openSiteLayout(storeDir, false);
  const stateText = await readFile(join(storeDir, STATE_FILE), 'utf8').catch(() => '');
  const blobs: string[] = [];
  for await (const b of layout.listBlobs()) blobs.push(b.digest);
  const { state, clusters } = await collectClusters(storeDir, layout);
  return receiptStatement({
    createdAt: opts.now,
    site: opts.site ?? '',
    highestSequence: state.highestSequence,
    blobs,
    clusters,
    imports: importsOf(state),
    subjects: [{ name: STATE_FILE, digest: sha256(stateText) }, ...state.history.map((h) => ({ name: `sveltos-airgap/bundle:${h.sequence}`, digest: h.root.digest }))],
  });
}
