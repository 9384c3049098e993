// volumes: the bundle of the run written as three media-sized parts (`--size 3GiB` gives the 1 GiB parts of
// docs/format.md's example), then every part verified and all parts imported; the import is compared with
// extracting the concatenated parts and hashing every blob. Peak RSS of each step is reported; the export
// writes one part at a time and the import links what it verified, so neither needs more extra disk than
// one part (the export's temp file) or one blob (a join).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { imageLayout, IMAGE_REF, PACK_DRIVER, signingKeys } from '../lib/fixtures.mjs';
import { bash, sq, timed } from '../lib/measure.mjs';
import { formatBytes } from '../lib/scenario.mjs';

const partsOf = (dir) => readdirSync(dir).filter((n) => /^bundle\.part\d+-of-\d+\.tar$/.test(n)).sort((a, b) => Number(/part(\d+)/.exec(a)[1]) - Number(/part(\d+)/.exec(b)[1])).map((n) => join(dir, n));

export default {
  name: 'volumes',
  order: 35,
  title: (ctx) => `split ${formatBytes(ctx.bytes)} into ${formatBytes(Math.ceil(ctx.bytes / 3))} parts`,
  quick: true,
  unit: 's',
  better: 'lower',
  requires: ['tar', 'openssl', 'find', 'cat'],
  async setup(ctx) {
    await imageLayout(ctx);
    await signingKeys(ctx);
  },
  async run(ctx, round) {
    const { dir: layout } = await imageLayout(ctx);
    const { key, pub } = await signingKeys(ctx);
    const split = Math.ceil(ctx.bytes / 3);
    const partsDir = ctx.dir('volumes-parts');
    const exported = await timed(process.execPath, [PACK_DRIVER, layout, join(partsDir, 'bundle.tar'), key, IMAGE_REF, String(split)]);
    const parts = partsOf(partsDir);
    const verified = await timed(process.execPath, [ctx.cli, 'verify', ...parts, '--key', pub, '--quiet']);
    const store = join(ctx.work, 'volumes-store');
    const out = join(ctx.work, 'volumes-baseline');
    ctx.settle(store, out);
    const r = await ctx.interleave(
      round,
      async () => {
        const res = await timed(process.execPath, [ctx.cli, 'import', ...parts, '--store', store, '--key', pub, '--quiet']);
        ctx.settle(store);
        return res;
      },
      async () => {
        const res = await timed(...bash(`mkdir -p ${sq(out)} && cat ${parts.map(sq).join(' ')} | tar xi -C ${sq(out)} && find ${sq(join(out, 'blobs'))} -type f -exec openssl dgst -sha256 -r {} + >/dev/null && sync`));
        ctx.settle(out);
        return res;
      },
    );
    ctx.settle(partsDir);
    const notes = `${parts.length} parts of at most ${formatBytes(split)}`;
    return [
      { row: `export ${formatBytes(ctx.bytes)} as parts of ${formatBytes(split)}`, ours: exported.seconds, oursRss: exported.rss, notes },
      { row: `verify all ${formatBytes(split)} parts`, ours: verified.seconds, oursRss: verified.rss, notes },
      {
        row: `import all ${formatBytes(split)} parts`,
        ours: r.ours.seconds,
        baseline: r.baseline.seconds,
        oursRss: r.ours.rss,
        baselineRss: r.baseline.rss,
        baselineName: 'cat parts | tar xi + openssl dgst -sha256 of every blob + sync',
        target: { max: 1.5 },
        notes,
      },
    ];
  },
};
