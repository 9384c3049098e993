// verify: full offline verification of a bundle (signature and every blob digest), vs hashing the tar once.
import { bundle, signingKeys } from '../lib/fixtures.mjs';
import { timed } from '../lib/measure.mjs';
import { formatBytes } from '../lib/scenario.mjs';

export default {
  name: 'verify',
  order: 20,
  title: (ctx) => `verify a ${formatBytes(ctx.bytes)} bundle`,
  quick: true,
  unit: 's',
  better: 'lower',
  baselineName: 'openssl dgst -sha256 bundle.tar',
  target: { max: 1.3 },
  requires: ['openssl'],
  async setup(ctx) {
    await bundle(ctx);
  },
  async run(ctx, round) {
    const { file } = await bundle(ctx);
    const { pub } = await signingKeys(ctx);
    const r = await ctx.interleave(
      round,
      () => timed(process.execPath, [ctx.cli, 'verify', file, '--key', pub, '--quiet']),
      () => timed('openssl', ['dgst', '-sha256', '-r', file]),
    );
    return { ours: r.ours.seconds, baseline: r.baseline.seconds, oursRss: r.ours.rss, baselineRss: r.baseline.rss };
  },
};
