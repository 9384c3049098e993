// import: verify a bundle (or parts of a split bundle), then ingest it atomically into a site store (DESIGN.md §5).
import { importBundle, type ImportResult } from '../../bundle/import.js';
import { BundleParts } from '../../bundle/volumes.js';
import { IncompleteError } from '../../errors.js';
import type { LimitFlags } from '../cli.js';
import { formatBytes, printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { loadSiteKeys, loadTrustedKeys } from '../keys.js';
import { parseClusterName, parseLimits, parseTime } from '../options.js';
import { describeMissing, missingParts, progressHooks, summarizeVerified } from './verify.js';

export interface ImportCommandOptions extends GlobalOptions, LimitFlags {
  bundles: string[];
  store: string;
  key: string[];
  allowDowngrade?: boolean;
  requireCluster?: string[];
  now?: string;
  siteKey?: string[];
  siteKeyPassphraseEnv?: string;
}

export async function importCommand(opts: ImportCommandOptions, io: CommandIO): Promise<ImportResult> {
  const reporter = new Reporter(io, opts);
  const trusted = await loadTrustedKeys(opts.key);
  const siteKeys = await loadSiteKeys(opts.siteKey ?? [], opts.siteKeyPassphraseEnv, io.env);
  const now = opts.now ? parseTime(opts.now, '--now') : new Date();
  const requireClusters = (opts.requireCluster ?? []).map((c) => parseClusterName(c, '--require-cluster'));
  const limits = parseLimits(opts);
  const src = await BundleParts.open(opts.bundles, limits);
  reporter.info(`importing ${opts.bundles.join(', ')} (${formatBytes(src.size)}) into ${opts.store}`);
  const result = await importBundle(src, {
    storeDir: opts.store,
    trusted,
    now,
    allowDowngrade: Boolean(opts.allowDowngrade),
    requireClusters,
    siteKeys,
    ...limits,
    ...progressHooks(reporter, 'import'),
  });
  reporter.done();
  const v = result.verified;
  if (!result.complete) {
    const kept = result.staged + result.resumed;
    throw new IncompleteError(
      'INCOMPLETE',
      `bundle sequence ${v.predicate.sequence} is incomplete: verified and kept ${kept} blob(s) (${result.staged} new) from part(s) ${v.volumes?.given.join(', ')} of ${v.volumes?.table.parts}; still missing ${describeMissing(result.missing)}: import those parts (in any order) to finish; nothing new is served until then`,
      { details: { sequence: v.predicate.sequence, given: v.volumes?.given, parts: v.volumes?.table.parts, missingParts: missingParts(result.missing), staged: result.staged, resumed: result.resumed } },
    );
  }
  if (v.encrypted.length && siteKeys.length === 0) {
    reporter.warn('ENCRYPTED', `${v.encrypted.length} objects layer(s) are encrypted to key(s) ${[...new Set(v.encrypted.flatMap((e) => e.recipients))].join(', ')}: they were not opened; serving them needs the site's private key`);
  }
  printResult(io, opts, { imported: true, ...summarizeVerified(v), added: result.added, reused: result.reused, resumed: result.resumed, store: opts.store }, () =>
    [
      `imported sequence ${v.predicate.sequence} into ${opts.store}`,
      `clusters:  ${v.clusters.map((c) => c.cluster).join(', ') || '(none)'}`,
      `blobs:     ${result.added} added, ${result.reused} already held${result.resumed ? `, ${result.resumed} kept from an earlier run` : ''}`,
    ].join('\n'),
  );
  return result;
}
