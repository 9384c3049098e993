// verify: full offline verification of a bundle (DESIGN.md §4).
import { verifyBundle, type VerifiedBundle } from '../../bundle/verify.js';
import { TarLayoutStore } from '../../content/tarfs.js';
import { formatBytes, printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { loadTrustedKeys } from '../keys.js';
import { parseTime } from '../options.js';

export interface VerifyCommandOptions extends GlobalOptions {
  bundle: string;
  key: string[];
  now?: string;
  strict?: boolean;
}

/** summarizeVerified is the machine-readable result of verify and import. */
export function summarizeVerified(v: VerifiedBundle): Record<string, unknown> {
  return {
    sequence: v.predicate.sequence,
    createdAt: v.predicate.createdAt,
    expiresAt: v.predicate.expiresAt,
    source: v.predicate.source,
    keyHint: v.keyHint,
    root: v.root.digest,
    signature: v.signature.digest,
    clusters: v.clusters.map((c) => ({ cluster: c.cluster, manifest: c.manifest.digest })),
    manifests: v.manifests.length,
    blobs: v.blobs.length,
    bytes: v.totalBytes,
  };
}

/** progressHooks wires verification progress to the reporter (TTY only). */
export function progressHooks(reporter: Reporter, label: string, totalBytes: number) {
  return {
    warn: (code: string, message: string) => reporter.warn(code, message),
    onProgress: (e: { bytes: number }) => reporter.progress(label, e.bytes, totalBytes),
  };
}

export async function verify(opts: VerifyCommandOptions, io: CommandIO): Promise<VerifiedBundle> {
  const reporter = new Reporter(io, opts);
  const trusted = await loadTrustedKeys(opts.key);
  const now = opts.now ? parseTime(opts.now, '--now') : new Date();
  const src = await TarLayoutStore.open(opts.bundle);
  reporter.info(`verifying ${opts.bundle} (${formatBytes(src.size)})`);
  const verified = await verifyBundle(src, { trusted, now, strict: Boolean(opts.strict), ...progressHooks(reporter, 'verify', src.size) });
  reporter.done();
  printResult(io, opts, { verified: true, ...summarizeVerified(verified) }, () =>
    [
      `OK: ${opts.bundle} is signed by key ${verified.keyHint.slice(0, 16)}… and every digest matches`,
      `sequence:  ${verified.predicate.sequence}`,
      `created:   ${verified.predicate.createdAt}`,
      `expires:   ${verified.predicate.expiresAt}`,
      `clusters:  ${verified.clusters.map((c) => c.cluster).join(', ') || '(none)'}`,
      `content:   ${verified.blobs.length} blobs, ${formatBytes(verified.totalBytes)}`,
    ].join('\n'),
  );
  return verified;
}
