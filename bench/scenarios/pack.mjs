// pack: write a signed bundle carrying the image's blobs, vs tar of the same files hashed in the same pass.
import { join } from 'node:path';
import { imageLayout, packArgs, signingKeys } from '../lib/fixtures.mjs';
import { bash, sq, timed } from '../lib/measure.mjs';
import { formatBytes } from '../lib/scenario.mjs';

export default {
  name: 'pack',
  order: 10,
  title: (ctx) => `pack ${formatBytes(ctx.bytes)} (${ctx.layers} blobs) into a bundle`,
  quick: true,
  unit: 's',
  better: 'lower',
  baselineName: 'tar cf - | tee FILE | openssl dgst -sha256',
  target: { max: 1.15 },
  requires: ['tar', 'tee', 'openssl'],
  async setup(ctx) {
    await imageLayout(ctx);
    await signingKeys(ctx);
  },
  async run(ctx, round) {
    const { dir } = await imageLayout(ctx);
    const { key } = await signingKeys(ctx);
    const ours = join(ctx.work, 'pack-ours.tar');
    const base = join(ctx.work, 'pack-baseline.tar');
    const r = await ctx.interleave(
      round,
      async () => {
        const res = await timed(process.execPath, packArgs(dir, ours, key));
        ctx.settle(ours);
        return res;
      },
      async () => {
        const res = await timed(...bash(`tar cf - -C ${sq(dir)} blobs index.json oci-layout | tee ${sq(base)} | openssl dgst -sha256 -r >/dev/null`));
        ctx.settle(base);
        return res;
      },
    );
    return { ours: r.ours.seconds, baseline: r.baseline.seconds, oursRss: r.ours.rss, baselineRss: r.baseline.rss };
  },
};
