// inspect: list what a bundle holds (no trust decision; use verify for that).
import { inspectBundle, type Inspection } from '../../bundle/inspect.js';
import { TarLayoutStore } from '../../content/tarfs.js';
import { formatBytes, printResult, table, type CommandIO, type GlobalOptions } from '../io.js';

export interface InspectCommandOptions extends GlobalOptions {
  bundle: string;
  /** List every image the configuration names. */
  images?: boolean;
}

export async function inspect(opts: InspectCommandOptions, io: CommandIO): Promise<Inspection> {
  const src = await TarLayoutStore.open(opts.bundle);
  const result = await inspectBundle(src, { images: Boolean(opts.images) });
  printResult(io, opts, { bundle: opts.bundle, size: src.size, ...result }, () => {
    const s = result.signature;
    const lines = [
      `bundle:    ${opts.bundle} (${formatBytes(src.size)}, ${result.blobs} blobs)`,
      `signature: ${s ? `key ${s.keyHint ?? '?'}, sequence ${String(s.sequence)}, created ${String(s.createdAt)}, expires ${String(s.expiresAt)} (not verified: run verify)` : 'none'}`,
      '',
      table(
        ['CLUSTER', 'LABELS', 'PROFILES', 'GROUPS', 'SIZE'],
        result.clusters.map((c) => [
          c.cluster,
          Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-',
          c.profiles.join(', ') || '-',
          String(c.groups.length),
          formatBytes(c.bytes),
        ]),
      ),
    ];
    if (result.artifacts.length) {
      lines.push('', table(['ARTIFACT', 'KIND', 'VERSION', 'CLUSTERS', 'DIGEST', 'SIZE'], result.artifacts.map((a) => [
        a.ref,
        a.kind,
        a.version ?? (a.platforms ? a.platforms.join(',') : '-'),
        a.clusters?.join(',') ?? '-',
        a.digest.slice(0, 19),
        formatBytes(a.bytes),
      ])));
    }
    if (result.images) {
      lines.push('', table(['IMAGE', 'CARRIED', 'CLUSTERS', 'PROFILES', 'OBJECTS'], result.images.map((i) => [
        i.image,
        i.carried ? (i.platforms ? `yes (${i.platforms.join(',')})` : 'yes') : 'no',
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
