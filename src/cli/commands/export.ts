// export: resolve profiles for the target clusters, pack the result into a signed bundle.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { hostname } from 'node:os';
import { deltaBaseFromReceipt } from '../../bundle/delta.js';
import type { ClusterArtifactInput } from '../../bundle/manifest.js';
import { packBundle, type ExtraArtifact, type PackResult } from '../../bundle/pack.js';
import { KeySigner } from '../../bundle/sign.js';
import { ValidationError } from '../../errors.js';
import { ImageStage } from '../../export/image-stage.js';
import { ANNOTATION_REQUESTOR_NAME, LABEL_REQUESTOR_FEATURE, type KubeObject } from '../../model/sveltos.js';
import { imageReport } from '../../resolve/images.js';
import { clusterGroupsToYAML, type ClusterPlan, type ExportPlan } from '../../resolve/plan.js';
import { defaultCacheDir } from '../../source/helm.js';
import { ImageCache, ImageResolver, loadDockerConfig } from '../../source/images.js';
import { renderPlan } from '../helm.js';
import { formatBytes, printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { loadRecipientKeys, loadSigningKey, loadTrustedKeys } from '../keys.js';
import { parseClusterName, parseDuration, parseEpochSeconds, parsePositiveInt, parseSplitSize, parseTime } from '../options.js';
import { loadPlan } from './resolve.js';
import { readArgFile } from '../files.js';
import { VERSION } from '../../version.js';

export interface ExportCommandOptions extends GlobalOptions {
  from: string[];
  out: string;
  key: string;
  passphraseEnv?: string;
  cluster?: string[];
  sequence?: string;
  expires?: string;
  createdAt?: string;
  sourceDateEpoch?: string;
  signatureOut?: string;
  /** Free text naming the exporter in the signed predicate. Default: tool version and host name. */
  sourceText?: string;
  helm?: string;
  kubeVersion?: string;
  offline?: boolean;
  cacheDir?: string;
  includeImages?: boolean;
  platform?: string[];
  registryAuth?: string;
  plainHttpRegistry?: string[];
  insecureRegistry?: string[];
  /** A site receipt (`report`): leave out every blob the site holds (a delta bundle). */
  since?: string;
  /** The site's public key(s) that sign its receipts. */
  siteKey?: string[];
  /** Write parts of at most this size (`4G`, `4.7GB`, `fat32`). */
  splitSize?: string;
  /** Site public keys that carried Secrets are encrypted to. */
  encryptTo?: string[];
}

/** checkWritableDir fails early, before any work, when the bundle cannot be written where `--out` says. */
async function checkWritableDir(out: string): Promise<void> {
  const dir = dirname(resolvePath(out));
  try {
    await access(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ValidationError('USAGE', `--out ${out}: cannot write into ${dir} (${code === 'ENOENT' ? 'no such directory' : code ?? (err as Error).message})`, { cause: err });
  }
}

/** readDeltaBase verifies `--since RECEIPT` with `--site-key` and returns the digests to leave out. */
async function readDeltaBase(opts: ExportCommandOptions, reporter: Reporter): Promise<ReadonlySet<string> | undefined> {
  if (!opts.since) {
    if (opts.siteKey?.length) throw new ValidationError('USAGE', '--site-key is used with --since RECEIPT');
    return undefined;
  }
  if (!opts.siteKey?.length) throw new ValidationError('USAGE', '--since: the receipt must be verified: give the site\'s public key with --site-key SITE.pub');
  const bytes = await readArgFile(opts.since, '--since', 'receipt');
  const base = deltaBaseFromReceipt(bytes, await loadTrustedKeys(opts.siteKey, '--site-key'), opts.since);
  reporter.info(`delta against ${opts.since}: the site holds ${base.omit.size} blobs (sequence ${base.receipt.statement.predicate.highestSequence})`);
  return base.omit;
}

/**
 * renderAndCarry renders the plan's charts and, with --include-images, copies every image the configuration
 * names into the image cache: each as soon as it is known, while charts still render.
 */
async function renderAndCarry(plan: ExportPlan, objects: KubeObject[], opts: ExportCommandOptions, io: CommandIO, reporter: Reporter): Promise<{ plan: ExportPlan; extras: ExtraArtifact[] }> {
  if (!opts.includeImages) {
    const rendered = await renderPlan(plan, objects, opts, io, reporter);
    return { plan: rendered.plan, extras: rendered.charts };
  }
  const resolver = new ImageResolver({
    ...(opts.registryAuth ? { credentials: await loadDockerConfig(opts.registryAuth) } : {}),
    plainHTTP: opts.plainHttpRegistry ?? [],
    insecure: opts.insecureRegistry ?? [],
  });
  const images = new ImageStage({
    resolver,
    cache: await ImageCache.open(opts.cacheDir ?? defaultCacheDir(io.env)),
    ...(opts.platform?.length ? { platforms: opts.platform } : {}),
    ...(opts.offline ? { offline: true } : {}),
    onEvent: (e) =>
      reporter.info(`image ${e.image}: ${e.digest}${e.platforms ? ` (${e.platforms.join(',')})` : ''}: ${e.offline ? 'from cache' : `${formatBytes(e.copied)} copied${e.held ? `, ${formatBytes(e.held)} already cached` : ''}`}`),
  });
  try {
    // An image that cannot be carried stops the renders too; it is then the error to report.
    const rendered = await renderPlan(plan, objects, opts, io, reporter, { onImages: (uses) => images.add(uses), signal: images.signal }).catch((err: unknown) => {
      throw images.failure ?? err;
    });
    const report = imageReport(rendered.images);
    for (const r of report.filter((x) => !x.valid)) reporter.warn('IMAGE', `${JSON.stringify(r.image)} (${r.objects.join('; ')}): not an image reference; not carried`);
    return { plan: rendered.plan, extras: [...rendered.charts, ...(await images.extras(report))] };
  } finally {
    await images.close();
    await resolver.close();
  }
}

/** clusterArtifact turns one cluster's plan into what the bundle carries for it. */
export function clusterArtifact(c: ClusterPlan): ClusterArtifactInput {
  const [namespace, name] = c.cluster.split('/') as [string, string];
  return {
    namespace,
    name,
    config: { namespace, name, labels: c.labels, profiles: c.profiles, notCarried: c.notCarried },
    groups: c.groups.map(({ group, bundles }) => ({
      name: group.metadata.name,
      feature: group.metadata.labels[LABEL_REQUESTOR_FEATURE] ?? '',
      requestor: group.metadata.annotations[ANNOTATION_REQUESTOR_NAME] ?? '',
      yaml: clusterGroupsToYAML(group, bundles),
    })),
  };
}

export async function exportCommand(opts: ExportCommandOptions, io: CommandIO): Promise<PackResult> {
  const reporter = new Reporter(io, opts);
  const createdAt = opts.createdAt ? parseTime(opts.createdAt, '--created-at') : new Date();
  const expiresMs = parseDuration(opts.expires ?? '30d', '--expires');
  // The default sequence is the creation time in seconds: it grows from one export to the next.
  const sequence = opts.sequence ? parsePositiveInt(opts.sequence, '--sequence') : Math.floor(createdAt.getTime() / 1000);
  const epochText = opts.sourceDateEpoch ?? io.env.SOURCE_DATE_EPOCH;
  const sourceDateEpoch = epochText ? parseEpochSeconds(epochText, opts.sourceDateEpoch ? '--source-date-epoch' : 'SOURCE_DATE_EPOCH') : 0;
  const clusters = (opts.cluster ?? []).map((c) => parseClusterName(c));
  await checkWritableDir(opts.out);
  const signer = new KeySigner(await loadSigningKey(opts.key, opts.passphraseEnv, io.env));
  const omit = await readDeltaBase(opts, reporter);
  const splitSize = opts.splitSize ? parseSplitSize(opts.splitSize) : undefined;
  const encryptTo = opts.encryptTo?.length ? await loadRecipientKeys(opts.encryptTo) : undefined;

  const resolved = await loadPlan(opts.from, clusters, createdAt, reporter);
  const { plan, extras } = await renderAndCarry(resolved.plan, resolved.objects, opts, io, reporter);
  if (plan.clusters.length === 0) {
    throw new ValidationError('INVALID', `no cluster to export: the input has no eligible SveltosCluster${clusters.length ? ` named ${clusters.join(', ')}` : ''} (paused clusters are skipped)`);
  }
  for (const c of plan.clusters) {
    reporter.info(`${c.cluster}: ${c.profiles.length} profile(s), ${c.groups.length} group(s), ${c.groups.reduce((n, g) => n + g.bundles.length, 0)} bundle(s)`);
    for (const n of c.notCarried) reporter.warn('NOT_CARRIED', `${c.cluster}: ${n.profile}: ${n.ref}: ${n.reason}`);
  }
  const result = await packBundle({
    clusters: plan.clusters.map(clusterArtifact),
    extras,
    ...(omit ? { omit } : {}),
    ...(splitSize ? { splitSize } : {}),
    ...(encryptTo ? { encryptTo } : {}),
    signer,
    sequence,
    createdAt,
    expiresAt: new Date(createdAt.getTime() + expiresMs),
    source: opts.sourceText ?? `sveltos-airgap ${VERSION} on ${hostname()}`,
    out: opts.out,
    sourceDateEpoch,
    ...(opts.signatureOut ? { signatureOut: opts.signatureOut } : {}),
    onProgress: (e) => reporter.progress(e.phase === 'write' ? 'write' : 'build', e.done, e.total, e.phase === 'write' ? 'bytes' : 'items'),
  });
  reporter.done();
  const written = result.parts?.map((p) => p.file) ?? [opts.out];
  printResult(
    io,
    opts,
    { out: opts.out, files: written, parts: result.parts ?? [], sequence, root: result.root.digest, clusters: plan.clusters.map((c) => c.cluster), blobs: result.blobs, bytes: result.bytes, omitted: result.omitted.length, encrypted: result.encrypted.map((e) => ({ layer: e.layer.digest, recipients: e.recipients })), keyHint: signer.hint },
    () =>
      [
        `wrote ${written.join(', ')}: sequence ${sequence}, ${plan.clusters.length} cluster(s), ${result.blobs} blobs, ${formatBytes(result.bytes)}${result.omitted.length ? ` (delta: ${result.omitted.length} blobs the site holds left out)` : ''}; signed with key ${signer.hint.slice(0, 16)}…`,
        ...(result.encrypted.length ? [`encrypted: ${result.encrypted.length} layer(s) carrying Secrets, to ${[...new Set(result.encrypted.flatMap((e) => e.recipients))].join(', ')}`] : []),
      ].join('\n'),
  );
  return result;
}
