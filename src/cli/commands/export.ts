// export: resolve profiles for the target clusters, pack the result into a signed bundle.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { hostname } from 'node:os';
import type { PackResult } from '../../bundle/pack.js';
import { KeySigner } from '../../bundle/sign.js';
import { ValidationError } from '../../errors.js';
import { exportBundle } from '../../export/export.js';
import { describeLicense } from '../../resolve/license.js';
import { formatBytes, printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { loadRecipientKeys, loadSigningKey, loadTrustedKeys } from '../keys.js';
import { planSource } from '../live.js';
import { driftDetectionFlags, type DriftDetectionOptions, type LiveClusterOptions, parseClusterName, parseDuration, parseEpochSeconds, parsePositiveInt, parseSplitSize, parseTime } from '../options.js';
import { readArgFile } from '../files.js';
import { VERSION } from '../../version.js';

export interface ExportCommandOptions extends GlobalOptions, DriftDetectionOptions, LiveClusterOptions {
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
  /** kustomize binary (or kubectl, run as `kubectl kustomize`). */
  kustomize?: string;
  kubeVersion?: string;
  offline?: boolean;
  cacheDir?: string;
  includeImages?: boolean;
  referrers?: boolean;
  referrerType?: string[];
  verifyImages?: string[];
  verifyImagesPolicy?: string;
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
  /** A file holding the sveltos-license Secret. */
  license?: string;
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
  // Loaded here: receipts are verified with the Sigstore verifier, which an export without --since never needs.
  const { deltaBaseFromReceipt } = await import('../../bundle/delta.js');
  const base = deltaBaseFromReceipt(bytes, await loadTrustedKeys(opts.siteKey, '--site-key'), opts.since);
  reporter.info(`delta against ${opts.since}: the site holds ${base.omit.size} blobs (sequence ${base.receipt.statement.predicate.highestSequence})`);
  return base.omit;
}

export async function exportCommand(opts: ExportCommandOptions, io: CommandIO): Promise<PackResult> {
  const reporter = new Reporter(io, opts);
  const createdAt = opts.createdAt ? parseTime(opts.createdAt, '--created-at') : new Date();
  const expiresMs = parseDuration(opts.expires ?? '30d', '--expires');
  // The default sequence is the creation time in seconds: it grows from one export to the next.
  const sequence = opts.sequence ? parsePositiveInt(opts.sequence, '--sequence') : Math.floor(createdAt.getTime() / 1000);
  const epochText = opts.sourceDateEpoch ?? io.env.SOURCE_DATE_EPOCH;
  const sourceDateEpoch = epochText ? parseEpochSeconds(epochText, opts.sourceDateEpoch ? '--source-date-epoch' : 'SOURCE_DATE_EPOCH') : 0;
  if ((opts.verifyImages?.length || opts.verifyImagesPolicy) && !opts.includeImages) throw new ValidationError('USAGE', `${opts.verifyImagesPolicy ? '--verify-images-policy' : '--verify-images'} checks the images export carries: give --include-images too`);
  const clusters = (opts.cluster ?? []).map((c) => parseClusterName(c));
  await checkWritableDir(opts.out);
  const signer = new KeySigner(await loadSigningKey(opts.key, opts.passphraseEnv, io.env));
  const omit = await readDeltaBase(opts, reporter);
  const splitSize = opts.splitSize ? parseSplitSize(opts.splitSize) : undefined;
  const encryptTo = opts.encryptTo?.length ? await loadRecipientKeys(opts.encryptTo) : undefined;

  const result = await exportBundle(
    {
      from: await planSource(opts, io.env),
      clusters,
      env: io.env,
      carry: opts,
      ...(opts.license ? { license: opts.license } : {}),
      driftDetection: driftDetectionFlags(opts),
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
    },
    reporter,
  );
  reporter.done();
  const written = result.parts?.map((p) => p.file) ?? [opts.out];
  printResult(
    io,
    opts,
    { out: opts.out, files: written, parts: result.parts ?? [], sequence, root: result.root.digest, clusters: result.clusters, blobs: result.blobs, bytes: result.bytes, omitted: result.omitted.length, encrypted: result.encrypted.map((e) => ({ layer: e.layer.digest, recipients: e.recipients })), license: result.license?.facts ?? (result.license ? {} : null), keyHint: signer.hint },
    () =>
      [
        `wrote ${written.join(', ')}: sequence ${sequence}, ${result.clusters.length} cluster(s), ${result.blobs} blobs, ${formatBytes(result.bytes)}${result.omitted.length ? ` (delta: ${result.omitted.length} blobs the site holds left out)` : ''}; signed with key ${signer.hint.slice(0, 16)}…`,
        `Sveltos license: ${result.license ? describeLicense(result.license.facts) : 'none carried'}`,
        ...(result.encrypted.length ? [`encrypted: ${result.encrypted.length} layer(s) carrying Secrets, to ${[...new Set(result.encrypted.flatMap((e) => e.recipients))].join(', ')}`] : []),
      ].join('\n'),
  );
  return result;
}
