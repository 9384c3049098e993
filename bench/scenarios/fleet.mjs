// fleet: a bundle of the shape real fleets have (bench/lib/export-fleet.mjs: pull-mode clusters in 20
// namespaces, 50 templated ClusterProfiles, about 17 profiles of 2 KB per cluster), at two sizes so the
// growth shows: export (linear in clusters from the smaller fleet), verify and import (against extracting
// the tar, hashing every blob and syncing), and serve's start on the imported store (time until `/v2/` and
// an agent's list of its ConfigurationGroups answer, with the server's peak RSS).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeExportFleet } from '../lib/export-fleet.mjs';
import { signingKeys } from '../lib/fixtures.mjs';
import { bash, freePort, peakRss, timed } from '../lib/measure.mjs';
import { extractScript, importRound } from '../lib/rounds.mjs';

const EXTRACT = 'tar xf + openssl dgst -sha256 of every blob + sync';

/** fleetSizes: cluster counts (full: 500 and 2,000; --quick: 100 and 400), scaled by --scale. */
export function fleetSizes(ctx) {
  return (ctx.quick ? [100, 400] : [500, 2000]).map((n) => Math.max(10, Math.round(n * ctx.scale)));
}

const label = (n) => `${n.toLocaleString('en-US')} clusters`;

export default {
  name: 'fleet',
  order: 45,
  title: (ctx) => `fleet: export ${label(fleetSizes(ctx)[0])}`,
  quick: true,
  unit: 's',
  better: 'lower',
  requires: ['tar', 'openssl', 'find'],
  async setup(ctx) {
    for (const n of fleetSizes(ctx)) writeExportFleet(join(ctx.dir(`fleet-${n}`), 'input'), { clusters: n, seed: ctx.seed });
  },
  async run(ctx, round) {
    const { key, pub } = await signingKeys(ctx);
    const rows = [];
    let first;
    for (const n of fleetSizes(ctx)) {
      const dir = join(ctx.work, `fleet-${n}`);
      const file = join(dir, 'bundle.tar');
      ctx.settle(file);
      const exported = await timed(process.execPath, [ctx.cli, 'export', '--from', join(dir, 'input'), '--key', key, '--out', file, '--sequence', '1', '--quiet'], { timeoutMs: 30 * 60_000 });
      first ??= { n, seconds: exported.seconds };
      const linear = n === first.n ? undefined : (first.seconds * n) / first.n;
      rows.push({
        row: `fleet: export ${label(n)}`,
        ours: exported.seconds,
        baseline: linear,
        baselineName: linear === undefined ? undefined : `linear from ${label(first.n)}`,
        target: linear === undefined ? undefined : { max: 1.2 },
        oursRss: exported.rss,
      });
      const out = join(ctx.work, 'fleet-extract');
      const v = await ctx.interleave(
        round,
        () => timed(process.execPath, [ctx.cli, 'verify', file, '--key', pub, '--quiet']),
        async () => {
          const res = await timed(...bash(extractScript(file, out)));
          ctx.setAside(out);
          return res;
        },
      );
      rows.push({ row: `fleet: verify ${label(n)}`, ours: v.ours.seconds, baseline: v.baseline.seconds, baselineName: EXTRACT, target: { max: 1.5 }, oursRss: v.ours.rss, baselineRss: v.baseline.rss });
      const i = await importRound(ctx, round, file, pub, `fleet-import-${n}`, { keep: true, many: true });
      rows.push({ row: `fleet: import ${label(n)}`, ours: i.ours.seconds, baseline: i.baseline.seconds, baselineName: EXTRACT, target: { max: 2 }, oursRss: i.ours.rss, baselineRss: i.baseline.rss });
      const s = await serveStart(ctx, i.store, n);
      rows.push({ row: `fleet: serve ${label(n)}, start until /v2/ answers (target ≤ 2 s)`, ours: s.registry, oursRss: s.rss });
      rows.push({ row: `fleet: serve ${label(n)}, start until an agent's list answers (target ≤ 2 s)`, ours: s.list, oursRss: s.rss });
      rows.push({ row: `fleet: serve ${label(n)}, one agent's list afterwards (median of 20)`, unit: 'ms', ours: s.listMs, oursRss: s.rss });
      ctx.setAside(i.store);
      ctx.settle(file);
    }
    return rows;
  },
};

/**
 * serveStart starts `serve` on `store` and measures, from the spawn, when `/v2/` first answers 200 and
 * when a cluster's agent first lists its ConfigurationGroups; then 20 more lists; then the peak RSS.
 */
async function serveStart(ctx, store, clusters) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const cluster = { namespace: `fleet-${(clusters - 1) % 20}`, name: `cluster-${clusters - 1}` };
  const issued = await timed(process.execPath, [ctx.cli, 'agent-kubeconfig', '--store', store, '--cluster', `${cluster.namespace}/${cluster.name}`, '--server', base], { rss: false });
  const token = /token: *"?([^"\s]+)/.exec(issued.stdout)?.[1];
  if (!token) throw new Error('agent-kubeconfig printed no token');
  const listPath = `/apis/lib.projectsveltos.io/v1beta1/namespaces/${cluster.namespace}/configurationgroups?labelSelector=${encodeURIComponent(`pullmode.projectsveltos.io/clustername=${cluster.name}`)}`;
  const list = async () => {
    const res = await fetch(base + listPath, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`list: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    if (!(body.items?.length > 0)) throw new Error(`list of ${cluster.namespace}/${cluster.name}: no ConfigurationGroup`);
  };
  const started = performance.now();
  const child = spawn(process.execPath, [ctx.cli, 'serve', '--store', store, '--listen', `127.0.0.1:${port}`, '--quiet'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const registry = await until(started, async () => (await fetch(`${base}/v2/`)).status === 200, child);
    const listed = await until(started, async () => (await list(), true), child);
    const times = [];
    for (let k = 0; k < 20; k++) {
      const t = performance.now();
      await list();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { registry, list: listed, listMs: (times[9] + times[10]) / 2, rss: peakRss(child.pid) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

/** until polls `probe` every 20 ms until it returns true and gives the seconds since `started`; 5 minutes at most. */
async function until(started, probe, child) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited (${child.exitCode}) before it answered`);
    const ok = await probe().catch(() => false);
    if (ok) return (performance.now() - started) / 1000;
    if (performance.now() - started > 300_000) throw new Error('serve did not answer within 5 minutes');
    await new Promise((r) => setTimeout(r, 20));
  }
}
