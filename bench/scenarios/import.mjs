// import: verify and ingest a bundle into a fresh site store, vs extracting the tar and hashing every blob.
import { join } from 'node:path';
import { bundle, signingKeys } from '../lib/fixtures.mjs';
import { bash, sq, timed } from '../lib/measure.mjs';
import { formatBytes } from '../lib/scenario.mjs';

export default {
  name: 'import',
  order: 30,
  title: (ctx) => `import a ${formatBytes(ctx.bytes)} bundle into a new store`,
  quick: true,
  unit: 's',
  better: 'lower',
  baselineName: 'tar xf + openssl dgst -sha256 of every blob',
  target: { max: 1.5 },
  requires: ['tar', 'openssl', 'find'],
  async setup(ctx) {
    await bundle(ctx);
  },
  async run(ctx, round) {
    const { file } = await bundle(ctx);
    const { pub } = await signingKeys(ctx);
    const store = join(ctx.work, 'import-ours');
    const out = join(ctx.work, 'import-baseline');
    ctx.settle(store, out);
    const r = await ctx.interleave(
      round,
      async () => {
        const res = await timed(process.execPath, [ctx.cli, 'import', file, '--store', store, '--key', pub, '--quiet']);
        ctx.settle(store);
        return res;
      },
      async () => {
        const res = await timed(...bash(`mkdir -p ${sq(out)} && tar xf ${sq(file)} -C ${sq(out)} && find ${sq(join(out, 'blobs'))} -type f -exec openssl dgst -sha256 -r {} + >/dev/null`));
        ctx.settle(out);
        return res;
      },
    );
    return { ours: r.ours.seconds, baseline: r.baseline.seconds, oursRss: r.ours.rss, baselineRss: r.baseline.rss };
  },
};
