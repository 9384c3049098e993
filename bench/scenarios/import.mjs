// import: verify and ingest a bundle into a fresh site store, vs extracting the tar, hashing every blob and
// syncing.
import { bundle, signingKeys } from '../lib/fixtures.mjs';
import { importRound } from '../lib/rounds.mjs';
import { formatBytes } from '../lib/scenario.mjs';

export default {
  name: 'import',
  order: 30,
  title: (ctx) => `import a ${formatBytes(ctx.bytes)} bundle into a new store`,
  quick: true,
  unit: 's',
  better: 'lower',
  baselineName: 'tar xf + openssl dgst -sha256 of every blob + sync',
  target: { max: 1.15 },
  requires: ['tar', 'openssl', 'find'],
  async setup(ctx) {
    await bundle(ctx);
  },
  async run(ctx, round) {
    const { file } = await bundle(ctx);
    const { pub } = await signingKeys(ctx);
    const r = await importRound(ctx, round, file, pub, 'import');
    return { ours: r.ours.seconds, baseline: r.baseline.seconds, oursRss: r.ours.rss, baselineRss: r.baseline.rss };
  },
};
