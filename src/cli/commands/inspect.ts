// inspect: list what a bundle (or parts of a split bundle) holds (no trust decision; use verify for that).
import { inspectBundle, type InspectedSignature, type Inspection } from '../../bundle/inspect.js';
import { BundleParts } from '../../bundle/volumes.js';
import { describeLicense } from '../../resolve/license.js';
import { formatBytes, printResult, table, type CommandIO, type GlobalOptions } from '../io.js';
import { loadTrustedKeys } from '../keys.js';
import { ValidationError } from '../../errors.js';

export interface InspectCommandOptions extends GlobalOptions {
  bundles: string[];
  /** List every image the configuration names. */
  images?: boolean;
  /** Show the signatures only. */
  signatures?: boolean;
  /** Print the SBOM (SPDX 2.3 JSON) only. */
  sbom?: boolean;
  /** Trusted public keys to check the signatures with. */
  key?: string[];
}

export async function inspect(opts: InspectCommandOptions, io: CommandIO): Promise<Inspection> {
  const src = await BundleParts.open(opts.bundles);
  const trusted = opts.key?.length ? await loadTrustedKeys(opts.key) : [];
  const result = await inspectBundle(src, { images: Boolean(opts.images), trusted });
  const name = opts.bundles.join(', ');
  if (opts.sbom) {
    if (!result.sbom) throw new ValidationError('INVALID', `${name}: the bundle carries no SBOM (bundles exported before SBOMs were written have none)`);
    io.stdout.write(`${JSON.stringify(result.sbom, null, 2)}\n`);
    return result;
  }
  if (opts.signatures) {
    printResult(io, opts, { bundle: name, signatures: result.signatures }, () => signaturesTable(result.signatures));
    return result;
  }
  printResult(io, opts, { bundle: name, size: src.size, ...result }, () => {
    const s = result.signature;
    const v = result.volumes;
    const lines = [
      `bundle:    ${name} (${formatBytes(src.size)}, ${result.blobs} blobs)`,
      `signature: ${s ? `key ${s.keyHint ?? '?'}, sequence ${String(s.sequence)}, created ${String(s.createdAt)}, expires ${String(s.expiresAt)} (not verified: run verify)` : 'none'}`,
      `license:   ${result.license ? `${describeLicense(result.license.facts)} on ${result.license.clusters} of ${result.clusters.length} cluster(s)${result.license.distinct > 1 ? ` (${result.license.distinct} different licenses)` : ''}` : 'none carried'}`,
      ...remoteSourceLines(s?.remoteSources),
      ...(v ? [`parts:     ${v.given.join(', ')} of ${v.parts} given${v.given.length < v.parts ? ` (missing ${v.perPart.filter((p) => !p.given).map((p) => p.part).join(', ')})` : ''}; ${v.chunked} blob(s) split into chunks`] : []),
      '',
      table(
        ['CLUSTER', 'LABELS', 'PROFILES', 'GROUPS', 'SIZE'],
        result.clusters.map((c) => [
          c.cluster,
          Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-',
          c.profiles.join(', ') || '-',
          `${c.groups.length}${c.groups.some((g) => g.encrypted) ? ` (${c.groups.filter((g) => g.encrypted).length} encrypted)` : ''}`,
          formatBytes(c.bytes),
        ]),
      ),
    ];
    if (result.signatures.length > 1) lines.push('', signaturesTable(result.signatures));
    const encrypted = result.clusters.flatMap((c) => c.groups.filter((g) => g.encrypted).map((g) => [c.cluster, g.name, g.recipients.join(', ')]));
    if (encrypted.length) lines.push('', table(['CLUSTER', 'ENCRYPTED GROUP', 'RECIPIENTS (site key ids)'], encrypted));
    if (result.artifacts.length) {
      lines.push('', table(['ARTIFACT', 'KIND', 'VERSION', 'CLUSTERS', 'DIGEST', 'SIZE'], result.artifacts.map((a) => [
        a.ref,
        a.proofOf ? `${a.proofOf.kind} of ${a.proofOf.ref.slice(a.proofOf.ref.lastIndexOf(':') + 1)}` : a.kind,
        a.version ?? (a.platforms ? a.platforms.join(',') : '-'),
        a.clusters?.join(',') ?? '-',
        a.digest.slice(0, 19),
        formatBytes(a.bytes),
      ])));
    }
    if (result.images) {
      lines.push('', table(['IMAGE', 'CARRIED', 'PROOFS', 'CLUSTERS', 'PROFILES', 'OBJECTS'], result.images.map((i) => [
        i.image,
        i.carried ? (i.platforms ? `yes (${i.platforms.join(',')})` : 'yes') : 'no',
        i.carried ? i.proofs?.join(',') || 'none' : '-',
        i.clusters.join(',') || '-',
        i.profiles.join(',') || '-',
        String(i.objects.length),
      ])));
    }
    for (const p of result.problems) lines.push(`problem: ${p}`);
    return lines.join('\n');
  });
  return result;
}

// remoteSourceLines lists the signed remoteURLs with their digests (unverified, as the rest of inspect).
function remoteSourceLines(sources: unknown): string[] {
  if (!Array.isArray(sources) || sources.length === 0) return [];
  return sources.map((r: unknown, i) => {
    const rec = (typeof r === 'object' && r !== null ? r : {}) as { url?: unknown; digest?: unknown };
    return `${i === 0 ? 'remoteURL: ' : '           '}${String(rec.url)} ${String(rec.digest)}`;
  });
}

// signaturesTable lists who signed: key hint, when and with what note (as `sign` recorded them), and whether checked.
function signaturesTable(sigs: InspectedSignature[]): string {
  return table(
    ['SIGNED BY (KEY HINT)', 'CHECKED', 'SIGNED AT', 'NOTE'],
    sigs.map((s) => [s.keyHint, s.checked === true ? 'yes' : s.checked === false ? 'FAILED' : 'no (key not given)', s.signedAt ?? '-', s.note ?? '-']),
  );
}
