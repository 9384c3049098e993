// import: verify a bundle (or parts of a split bundle), then ingest it atomically into a site store (DESIGN.md §5).
// What only --to-registry, --apply or --dry-run use is loaded when they are given: an import starts without it.
import type { ApplyResult } from '../../agent-api/apply.js';
import type { KeyObject } from 'node:crypto';
import { importBundle, rollbackPolicy, type ImportResult } from '../../bundle/import.js';
import { openSiteLayout, readState, SiteView } from '../../bundle/site.js';
import { verifyBundle } from '../../bundle/verify.js';
import type { BundleDiff } from '../../diff/compare.js';
import { BundleParts } from '../../bundle/volumes.js';
import { IncompleteError, ValidationError } from '../../errors.js';
import type { PushedArtifact } from '../../registry/push.js';
import type { LimitFlags } from '../cli.js';
import { formatBytes, printResult, Reporter, someOf, type CommandIO, type GlobalOptions } from '../io.js';
import { loadSiteKeys, loadTrustedKeys } from '../keys.js';
import { parseClusterName, parseLimits, parsePositiveInt, parseTime } from '../options.js';
import { describeMissing, missingParts, progressHooks, summarizeVerified } from './verify.js';
import { readArgText } from '../files.js';

export interface ImportCommandOptions extends GlobalOptions, LimitFlags {
  /** A bundle tar, or any parts of a split bundle. */
  bundles: string[];
  store: string;
  key: string[];
  allowDowngrade?: boolean;
  requireCluster?: string[];
  now?: string;
  /** The site's private keys (decrypt and check encrypted objects). */
  siteKey?: string[];
  siteKeyPassphraseEnv?: string;
  /** Push the carried charts and images into this registry: `oci://HOST[:PORT]/PREFIX`. */
  toRegistry?: string;
  /** Credentials for --to-registry: a Docker auth file or `USER:PASSWORD`. */
  registryCredentials?: string;
  /** Talk plain http to --to-registry. */
  plainHttp?: boolean;
  /** Write the served objects into the API server of --kubeconfig. */
  apply?: boolean;
  kubeconfig?: string;
  /** At least this many distinct trusted keys must have signed. */
  threshold?: string;
  /** Verify and print what the import would change (diff against the store); write nothing. */
  dryRun?: boolean;
  /** With dryRun: names only, no YAML diffs. */
  diff?: boolean;
}

export interface ImportCommandResult extends ImportResult {
  pushed?: PushedArtifact[];
  applied?: ApplyResult[];
}

export async function importCommand(opts: ImportCommandOptions, io: CommandIO): Promise<ImportCommandResult | DryRunResult> {
  const reporter = new Reporter(io, opts);
  if (opts.apply && !opts.kubeconfig) throw new ValidationError('USAGE', '--apply needs --kubeconfig FILE (the API server to write the objects into)');
  if (opts.kubeconfig && !opts.apply) throw new ValidationError('USAGE', '--kubeconfig is used with --apply');
  const registries = opts.toRegistry ? await import('../../registry/client.js') : undefined;
  const target = registries && opts.toRegistry ? registries.parseRegistryTarget(opts.toRegistry) : undefined;
  const registry = registries && target
    ? new registries.RegistryClient({
        registry: target.registry,
        repository: target.prefix,
        plainHTTP: Boolean(opts.plainHttp),
        ...(opts.registryCredentials ? { credentials: registries.credentialsFromFile(await readArgText(opts.registryCredentials, '--registry-credentials'), target.registry, opts.registryCredentials) } : {}),
      })
    : undefined;
  const applying = opts.apply && opts.kubeconfig ? await import('./apply.js') : undefined;
  const kube = applying && opts.kubeconfig ? await applying.kubeClientFromFile(opts.kubeconfig) : undefined;
  const trusted = await loadTrustedKeys(opts.key);
  const siteKeys = await loadSiteKeys(opts.siteKey ?? [], opts.siteKeyPassphraseEnv, io.env);
  const now = opts.now ? parseTime(opts.now, '--now') : new Date();
  const requireClusters = (opts.requireCluster ?? []).map((c) => parseClusterName(c, '--require-cluster'));
  const limits = parseLimits(opts);
  const threshold = opts.threshold !== undefined ? parsePositiveInt(opts.threshold, '--threshold') : 1;
  const src = await BundleParts.open(opts.bundles, limits);
  if (opts.dryRun) {
    if (registry || kube) throw new ValidationError('USAGE', '--dry-run writes nothing: it is not used with --to-registry or --apply');
    return dryRun(src, opts, { trusted, threshold, siteKeys, now, requireClusters, limits }, io, reporter);
  }
  reporter.info(`importing ${opts.bundles.join(', ')} (${formatBytes(src.size)}) into ${opts.store}`);
  const result = await importBundle(src, {
    storeDir: opts.store,
    trusted,
    threshold,
    now,
    allowDowngrade: Boolean(opts.allowDowngrade),
    requireClusters,
    siteKeys,
    ...limits,
    ...progressHooks(reporter, 'import'),
  });
  reporter.done();
  const v = result.verified;
  const again = result.alreadyImported;
  if (again) {
    reporter.info(`already imported: sequence ${again.sequence} (root ${v.root.digest}) was imported into ${opts.store} at ${again.importedAt}; its signature checks out and nothing was written${again.current ? '' : ` (the store has since moved on to sequence ${result.state.highestSequence}; import it with --allow-downgrade to serve it again)`}`);
  }
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
  const out: ImportCommandResult = { ...result };
  if (registry && target) {
    const layout = await openSiteLayout(opts.store, false);
    const { pushArtifacts } = await import('../../registry/push.js');
    try {
      out.pushed = await pushArtifacts(layout, result.verified.manifests, registry, target.prefix, (p) =>
        reporter.info(`pushed ${p.source} -> ${p.target}${p.copied ? '' : ' (the registry had it already)'}`),
      );
    } catch (err) {
      reporter.warn('PUSH_FAILED', `sequence ${result.verified.predicate.sequence} is imported into ${opts.store}, but pushing to ${opts.toRegistry} failed: run the same import again to push what is missing (the store is not changed again)`);
      throw err;
    }
  }
  if (kube) {
    const { applyStore } = await import('../../agent-api/apply.js');
    out.applied = await applyStore(await SiteView.open(opts.store), kube, result.verified.clusters.map((c) => c.cluster), (m) => reporter.warn('SKIPPED', m), siteKeys);
  }
  printResult(
    io,
    opts,
    {
      imported: !again,
      ...(again ? { alreadyImported: again } : {}),
      ...summarizeVerified(result.verified),
      added: result.added,
      reused: result.reused,
      resumed: result.resumed,
      store: opts.store,
      ...(out.pushed ? { pushed: out.pushed } : {}),
      ...(out.applied ? { applied: out.applied } : {}),
    },
    () =>
      [
        again ? `already imported: sequence ${again.sequence} into ${opts.store} at ${again.importedAt}; nothing was written` : `imported sequence ${result.verified.predicate.sequence} into ${opts.store}`,
        `clusters:  ${someOf(result.verified.clusters.map((c) => c.cluster))}`,
        ...(again ? [] : [`blobs:     ${result.added} added, ${result.reused} already held${result.resumed ? `, ${result.resumed} kept from an earlier run` : ''}`]),
        ...(out.pushed ? [`pushed:    ${out.pushed.length} chart(s)/image(s) to ${opts.toRegistry} (${out.pushed.filter((p) => p.copied === 0).length} already there)`] : []),
        ...(out.applied && kube && applying ? [`applied to ${kube.server}:`, applying.applyResultsText(out.applied)] : []),
      ].join('\n'),
  );
  return out;
}


/** DryRunResult is what `import --dry-run` found: the bundle verified, and what importing it would change. */
export interface DryRunResult {
  dryRun: true;
  diff: BundleDiff;
}

// dryRun verifies the bundle as import would (signature, digests, rollback policy, required clusters) and prints
// the diff against what the store serves; nothing is written, the store not even created.
async function dryRun(
  src: BundleParts,
  o: ImportCommandOptions,
  k: { trusted: KeyObject[]; threshold: number; siteKeys: KeyObject[]; now: Date; requireClusters: string[]; limits: ReturnType<typeof parseLimits> },
  io: CommandIO,
  reporter: Reporter,
): Promise<DryRunResult> {
  const state = await readState(o.store);
  const held = Object.keys(state.clusters).length ? await openSiteLayout(o.store, false) : undefined;
  reporter.info(`dry run: verifying ${o.bundles.join(', ')} (${formatBytes(src.size)}) against ${o.store}; nothing is written`);
  await verifyBundle(src, {
    trusted: k.trusted,
    threshold: k.threshold,
    now: k.now,
    siteKeys: k.siteKeys,
    policy: rollbackPolicy(state, { allowDowngrade: Boolean(o.allowDowngrade), requireClusters: k.requireClusters }),
    ...(held ? { held } : {}),
    ...k.limits,
    ...progressHooks(reporter, 'verify'),
  });
  reporter.done();
  const [{ bundleView, storeView }, { compareViews }, { renderDiff }] = await Promise.all([import('../../bundle/diff-read.js'), import('../../diff/compare.js'), import('../../diff/render.js')]);
  const viewOpts = { ...(k.siteKeys.length ? { siteKeys: k.siteKeys } : {}), read: new Map() };
  const d = compareViews(await storeView(o.store, viewOpts), await bundleView(src, viewOpts, held), { diff: o.diff !== false });
  printResult(io, o, { dryRun: true, verified: true, ...d }, () => renderDiff(d, true));
  return { dryRun: true, diff: d };
}
