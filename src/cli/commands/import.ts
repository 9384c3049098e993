// import: verify a bundle, then ingest it atomically into a site store (DESIGN.md §5).
import { importBundle, type ImportResult } from '../../bundle/import.js';
import { TarLayoutStore } from '../../content/tarfs.js';
import { formatBytes, printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { loadTrustedKeys } from '../keys.js';
import { parseClusterName, parseTime } from '../options.js';
import { progressHooks, summarizeVerified } from './verify.js';

export interface ImportCommandOptions extends GlobalOptions {
  bundle: string;
  store: string;
  key: string[];
  allowDowngrade?: boolean;
  requireCluster?: string[];
  now?: string;
}

export async function importCommand(opts: ImportCommandOptions, io: CommandIO): Promise<ImportResult> {
  const reporter = new Reporter(io, opts);
  const trusted = await loadTrustedKeys(opts.key);
  const now = opts.now ? parseTime(opts.now, '--now') : new Date();
  const requireClusters = (opts.requireCluster ?? []).map((c) => parseClusterName(c, '--require-cluster'));
  const src = await TarLayoutStore.open(opts.bundle);
  reporter.info(`importing ${opts.bundle} (${formatBytes(src.size)}) into ${opts.store}`);
  const result = await importBundle(src, {
    storeDir: opts.store,
    trusted,
    now,
    allowDowngrade: Boolean(opts.allowDowngrade),
    requireClusters,
    ...progressHooks(reporter, 'import', src.size),
  });
  reporter.done();
  printResult(io, opts, { imported: true, ...summarizeVerified(result.verified), added: result.added, reused: result.reused, store: opts.store }, () =>
    [
      `imported sequence ${result.verified.predicate.sequence} into ${opts.store}`,
      `clusters:  ${result.verified.clusters.map((c) => c.cluster).join(', ') || '(none)'}`,
      `blobs:     ${result.added} added, ${result.reused} already held`,
    ].join('\n'),
  );
  return result;
}
