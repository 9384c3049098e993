// verify: full offline verification of a bundle (DESIGN.md §4), or of any parts of a split bundle.
import { verifyBundle, type MissingBlob, type VerifiedBundle } from '../../bundle/verify.js';
import { openSiteLayout } from '../../bundle/site.js';
import { BundleParts } from '../../bundle/volumes.js';
import type { LimitFlags } from '../cli.js';
import { formatBytes, printResult, Reporter, someOf, type CommandIO, type GlobalOptions } from '../io.js';
import { loadSiteKeys, loadTrustedKeys } from '../keys.js';
import { parseLimits, parsePositiveInt, parseTime } from '../options.js';

export interface VerifyCommandOptions extends GlobalOptions, LimitFlags {
  bundles: string[];
  key: string[];
  now?: string;
  strict?: boolean;
  siteKey?: string[];
  siteKeyPassphraseEnv?: string;
  /** A site store: blobs a delta bundle leaves out are read from it (verified, read-only). */
  store?: string;
  /** At least this many distinct trusted keys must have signed. */
  threshold?: string;
}

/** missingParts groups missing blobs by the part that holds them. */
export function missingParts(missing: MissingBlob[]): { part: number; blobs: number; bytes: number; digests: string[] }[] {
  const by = new Map<number, MissingBlob[]>();
  for (const m of missing) by.set(m.part, [...(by.get(m.part) ?? []), m]);
  return [...by].sort(([a], [b]) => a - b).map(([part, list]) => ({ part, blobs: list.length, bytes: list.reduce((n, m) => n + m.size, 0), digests: list.map((m) => m.digest) }));
}

/** describeMissing names the missing parts and their first blobs, for messages. */
export function describeMissing(missing: MissingBlob[]): string {
  return missingParts(missing)
    .map((p) => `part ${p.part} (${p.blobs} blob${p.blobs === 1 ? '' : 's'}, ${formatBytes(p.bytes)}: ${p.digests.slice(0, 3).join(', ')}${p.digests.length > 3 ? ', …' : ''})`)
    .join(', ');
}

/** summarizeVerified is the machine-readable result of verify and import. */
export function summarizeVerified(v: VerifiedBundle): Record<string, unknown> {
  return {
    sequence: v.predicate.sequence,
    createdAt: v.predicate.createdAt,
    expiresAt: v.predicate.expiresAt,
    source: v.predicate.source,
    keyHint: v.keyHint,
    signatures: v.signatures,
    root: v.root.digest,
    signature: v.signature.digest,
    clusters: v.clusters.map((c) => ({ cluster: c.cluster, manifest: c.manifest.digest })),
    manifests: v.manifests.length,
    blobs: v.blobs.length,
    bytes: v.totalBytes,
    fromStore: v.fromStore,
    complete: v.complete,
    ...(v.volumes ? { parts: v.volumes.table.parts, partsGiven: v.volumes.given, missingParts: missingParts(v.missing) } : {}),
    encrypted: v.encrypted.map((e) => ({ cluster: e.cluster, layer: e.layer.digest, recipients: e.recipients })),
  };
}

/** progressHooks wires verification progress to the reporter (TTY only). */
export function progressHooks(reporter: Reporter, label: string) {
  return {
    warn: (code: string, message: string) => reporter.warn(code, message),
    onProgress: (e: { bytes: number; totalBytes: number }) => reporter.progress(label, e.bytes, e.totalBytes),
  };
}

export async function verify(opts: VerifyCommandOptions, io: CommandIO): Promise<VerifiedBundle> {
  const reporter = new Reporter(io, opts);
  const trusted = await loadTrustedKeys(opts.key);
  const siteKeys = await loadSiteKeys(opts.siteKey ?? [], opts.siteKeyPassphraseEnv, io.env);
  const now = opts.now ? parseTime(opts.now, '--now') : new Date();
  const limits = parseLimits(opts);
  const src = await BundleParts.open(opts.bundles, limits);
  const held = opts.store ? await openSiteLayout(opts.store, false) : undefined;
  const name = opts.bundles.join(', ');
  reporter.info(`verifying ${name} (${formatBytes(src.size)})${held ? `, reading what it leaves out from ${opts.store}` : ''}`);
  const threshold = opts.threshold !== undefined ? parsePositiveInt(opts.threshold, '--threshold') : 1;
  const verified = await verifyBundle(src, { trusted, threshold, now, strict: Boolean(opts.strict), siteKeys, ...(held ? { held } : {}), ...limits, ...progressHooks(reporter, 'verify') });
  reporter.done();
  if (!verified.complete) reporter.warn('INCOMPLETE', `the bundle is not complete without ${describeMissing(verified.missing)}`);
  printResult(io, opts, { verified: true, ...summarizeVerified(verified) }, () => {
    const v = verified.volumes;
    return [
      `OK: ${v ? `part${v.given.length === 1 ? '' : 's'} ${v.given.join(', ')} of ${v.table.parts}` : name} signed by key ${verified.keyHint.slice(0, 16)}… and every digest matches`,
      ...(verified.signatures.length > 1 ? [`signers:   ${signersText(verified.signatures)}`] : []),
      `sequence:  ${verified.predicate.sequence}`,
      `created:   ${verified.predicate.createdAt}`,
      `expires:   ${verified.predicate.expiresAt}`,
      `clusters:  ${someOf(verified.clusters.map((c) => c.cluster))}`,
      `content:   ${verified.blobs.length} blobs, ${formatBytes(verified.totalBytes)}${held ? `, ${verified.fromStore} of them read from ${opts.store}` : ''}`,
      ...(v ? [`parts:     ${verified.complete ? `complete (${v.given.length} of ${v.table.parts} given)` : `missing ${describeMissing(verified.missing)}`}`] : []),
      ...(verified.encrypted.length ? [`encrypted: ${verified.encrypted.length} objects layer(s)${siteKeys.length ? ', decrypted and checked with the site key' : ' (not opened: no --site-key)'}`] : []),
    ].join('\n');
  });
  return verified;
}

/** signersText names each signature's key, whether a trusted key checked it, and its note. */
export function signersText(sigs: VerifiedBundle['signatures']): string {
  return sigs.map((s) => `${s.keyHint.slice(0, 16)}… (${s.checked ? 'trusted, checked' : 'not trusted'})${s.note ? ` "${s.note}"` : ''}`).join(', ');
}
