// one-blob: verify and import of a bundle whose image is a single blob of the whole size, vs hashing the
// tar once. Memory must not grow with blob size: peak RSS is the figure to watch here.
import { join } from 'node:path';
import { writeImageLayout } from '../lib/data.mjs';
import { packArgs, signingKeys } from '../lib/fixtures.mjs';
import { timed } from '../lib/measure.mjs';
import { importRound } from '../lib/rounds.mjs';
import { formatBytes } from '../lib/scenario.mjs';

let file;

export default {
  name: 'one-blob',
  order: 35,
  title: (ctx) => `verify a bundle with one ${formatBytes(ctx.bytes)} blob`,
  quick: true,
  unit: 's',
  better: 'lower',
  baselineName: 'openssl dgst -sha256 bundle.tar',
  // Issue target: verify throughput at least 0.7x of openssl's, i.e. at most 1/0.7 = 1.43x its time.
  target: { max: 1.43 },
  requires: ['openssl', 'tar', 'find'],
  async setup(ctx) {
    const dir = join(ctx.work, 'data', 'one-blob-layout');
    writeImageLayout(dir, { seed: `${ctx.seed}/one-blob`, bytes: ctx.bytes, layers: 1 });
    const { key } = await signingKeys(ctx);
    file = join(ctx.work, 'data', 'one-blob.tar');
    await timed(process.execPath, packArgs(dir, file, key), { rss: false });
  },
  async run(ctx, round) {
    const { pub } = await signingKeys(ctx);
    const v = await ctx.interleave(
      round,
      () => timed(process.execPath, [ctx.cli, 'verify', file, '--key', pub, '--quiet']),
      () => timed('openssl', ['dgst', '-sha256', '-r', file]),
    );
    const i = await importRound(ctx, round, file, pub, 'one-blob');
    return [
      { ours: v.ours.seconds, baseline: v.baseline.seconds, oursRss: v.ours.rss, baselineRss: v.baseline.rss },
      {
        row: `import a bundle with one ${formatBytes(ctx.bytes)} blob`,
        baselineName: 'tar xf + openssl dgst -sha256 of every blob + sync',
        target: { max: 1.15 },
        ours: i.ours.seconds,
        baseline: i.baseline.seconds,
        oursRss: i.ours.rss,
        baselineRss: i.baseline.rss,
      },
    ];
  },
};
