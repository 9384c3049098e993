// inspect-receipt: verify a site receipt with the site's public key and show it (exit 2 if altered).
import { verifyReceipt, type VerifiedReceipt } from '../../bundle/receipt.js';
import type { ReceiptStatement } from '../../model/receipt.js';
import { printResult, table, type CommandIO, type GlobalOptions } from '../io.js';
import { loadTrustedKeys } from '../keys.js';
import { readArgFile } from '../files.js';
import { writeFileAtomic } from '../../content/oci-layout/ingest.js';
import { importRows } from '../../ui/content.js';
import { clusterView, overview } from '../../ui/model.js';
import { statusPage } from '../../ui/page.js';

export interface InspectReceiptOptions extends GlobalOptions {
  receipt: string;
  key: string[];
  /** Also write the status page of the receipt, self-contained, to this file. */
  html?: string;
}

/** summarizeReceipt is the receipt's content without the (long) blob list. */
export function summarizeReceipt(s: ReceiptStatement) {
  const { blobs, ...rest } = s.predicate;
  return { ...rest, blobCount: blobs.length };
}

export async function inspectReceipt(opts: InspectReceiptOptions, io: CommandIO): Promise<VerifiedReceipt> {
  const trusted = await loadTrustedKeys(opts.key);
  const bytes = await readArgFile(opts.receipt, '', 'receipt');
  const verified = verifyReceipt(bytes, trusted, opts.receipt);
  const p = verified.statement.predicate;
  if (opts.html) await writeReceiptPage(opts.html, verified);
  printResult(io, opts, { verified: true, keyHint: verified.keyHint, predicate: p }, () => {
    const rows: string[][] = [];
    for (const c of p.clusters) {
      if (!c.groups.length) rows.push([c.cluster, '-', '-', '-', '-']);
      for (const g of c.groups) {
        rows.push([c.cluster, g.name, g.action, `${g.status ?? '(none)'}${g.failureMessage ? `: ${g.failureMessage}` : ''}`, `${g.observedGeneration ?? '-'}/${g.generation}`]);
      }
    }
    const beats = p.clusters.map((c) => `  ${c.cluster}: ${c.heartbeat?.agentLastReportTime ?? 'never'}${c.heartbeat?.version ? ` (${c.heartbeat.version})` : ''}, ${c.driftReports.length} drift report(s)`);
    return [
      `receipt ${opts.receipt}: signature OK (key ${verified.keyHint})`,
      `site:             ${p.site || '(unnamed)'}`,
      `created:          ${p.createdAt}`,
      `highest sequence: ${p.highestSequence}`,
      `blobs held:       ${p.blobs.length}`,
      'heartbeats:',
      ...beats,
      '',
      table(['CLUSTER', 'GROUP', 'ACTION', 'STATUS', 'OBSERVED/GEN'], rows),
    ].join('\n');
  });
  return verified;
}

// writeReceiptPage writes the site's status page as of the receipt, data inlined: it opens from file:// with no
// server and no network. Written beside the target and renamed over it.
async function writeReceiptPage(file: string, verified: VerifiedReceipt): Promise<void> {
  const p = verified.statement.predicate;
  const at = new Date(p.createdAt);
  const imports = p.imports ?? [];
  const html = statusPage({
    data: {
      title: `receipt of site ${p.site || '(unnamed)'} (key ${verified.keyHint.slice(0, 16)}…, verified), sequence ${p.highestSequence}`,
      generatedAt: p.createdAt,
      overview: overview(p.clusters, at, new Map(imports.map((i) => [i.sequence, i.importedAt]))),
      clusters: Object.fromEntries(p.clusters.map((c) => [c.cluster, clusterView(c, imports)])),
      // The receipt's imports; the store's disk use and artifacts are not in a receipt.
      store: { highestSequence: p.highestSequence, imports: importRows(imports), artifacts: [] },
    },
  });
  await writeFileAtomic(file, html);
}
