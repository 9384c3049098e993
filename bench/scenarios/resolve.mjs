// resolve: planExport over generated fleets of growing size; the "baseline" of each larger fleet is the
// smallest fleet's time scaled linearly by cluster count, so the ratio shows how far from linear it is.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { timed } from '../lib/measure.mjs';

const DRIVER = new URL('../lib/resolve-fleet.mjs', import.meta.url).pathname;

/** fleetSizes: cluster counts and profiles per fleet (full: 1k/5k/10k x 500; --quick: 200/1k/2k x 100). */
export function fleetSizes(ctx) {
  const clusters = (ctx.quick ? [200, 1000, 2000] : [1000, 5000, 10000]).map((n) => Math.max(10, Math.round(n * ctx.scale)));
  return { clusters, profiles: ctx.quick ? 100 : 500 };
}

const label = (n) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

export default {
  name: 'resolve',
  order: 50,
  title: (ctx) => `resolve ${fleetSizes(ctx).clusters.map(label).join('/')} clusters x ${fleetSizes(ctx).profiles} profiles`,
  quick: true,
  unit: 's',
  better: 'lower',
  available(ctx) {
    if (!existsSync(join(ctx.root, 'dist', 'resolve', 'plan.js'))) return 'not available: dist/resolve/plan.js (planExport) is not built in this tree';
    return true;
  },
  async run(ctx) {
    const { clusters, profiles } = fleetSizes(ctx);
    const out = [];
    let first;
    for (const n of clusters) {
      const res = await timed(process.execPath, [DRIVER, String(n), String(profiles), ctx.seed], { timeoutMs: 30 * 60_000 });
      const { seconds } = JSON.parse(res.stdout.trim().split('\n').pop());
      first ??= { n, seconds };
      const linear = n === first.n ? undefined : (first.seconds * n) / first.n;
      out.push({
        row: `resolve ${label(n)} clusters x ${profiles} profiles`,
        ours: seconds,
        baseline: linear,
        baselineName: linear === undefined ? undefined : `linear from ${label(first.n)}`,
        target: linear === undefined ? undefined : { max: 1.2 },
        oursRss: res.rss,
      });
    }
    return out;
  },
};
