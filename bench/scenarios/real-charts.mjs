// real-charts: `export` of real public charts (test/fixtures/public-charts, see SOURCES.md) served by a local
// docker-registry, one chart per profile set and all together, against what a user's own rendering costs:
// `helm template` of the chart (the whole process) and `helm pull` + `helm template`. Per round and
// interleaved: helm template, helm pull, our export cold (empty cache), warm (cache filled), and an export
// of the same cluster and profile without charts (the fixed start-up cost, subtracted from the warm export).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signingKeys } from '../lib/fixtures.mjs';
import { freePort, startServer, timed } from '../lib/measure.mjs';

const KUBE = 'v1.30.0';
const MiB = 1024 ** 2;
/** Peak RSS limits: the largest chart alone, all charts together. */
const RSS_LARGEST = 200 * MiB;
const RSS_ALL = 250 * MiB;

const fixtures = (ctx) => join(ctx.root, 'test', 'fixtures', 'public-charts');
const charts = (ctx) => JSON.parse(readFileSync(join(fixtures(ctx), 'charts.json'), 'utf8'));
const tgz = (ctx, c) => join(fixtures(ctx), `${c.chart}-${c.version}.tgz`);

function helmEnv(ctx) {
  const home = join(ctx.work, 'real-charts', 'helm-home');
  return { HOME: home, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
}

/** writeFleet writes one pull-mode cluster and one ClusterProfile naming `list` (none: a profile without charts). */
function writeFleet(dir, list, host) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cluster.yaml'), JSON.stringify({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name: 'edge', namespace: 'fleet', labels: { env: 'bench' } }, spec: { pullMode: true }, status: { version: KUBE } }));
  const helmCharts = list.map((c) => ({
    repositoryURL: `oci://${host}/charts`, repositoryName: 'public', chartName: c.chart, chartVersion: c.version,
    releaseName: c.release, releaseNamespace: c.namespace, values: c.values, registryCredentialsConfig: { plainHTTP: true },
  }));
  writeFileSync(join(dir, 'profile.yaml'), JSON.stringify({ apiVersion: 'config.projectsveltos.io/v1beta1', kind: 'ClusterProfile', metadata: { name: 'bench' }, spec: { clusterSelector: { matchLabels: { env: 'bench' } }, ...(list.length ? { helmCharts } : {}) } }));
}

let registry;
let helm;

export default {
  name: 'real-charts',
  order: 52,
  title: 'real-charts',
  quick: true,
  unit: 's',
  better: 'lower',
  async available(ctx) {
    if (!existsSync('/usr/bin/docker-registry')) return 'not available: docker-registry not installed';
    if (!existsSync(join(ctx.root, 'dist', 'cli', 'index.js'))) return 'not available: dist/ is missing (npm run build)';
    return undefined;
  },
  async setup(ctx) {
    const { ensureHelm } = await import('../../scripts/helm-binary.mjs');
    helm = process.env.SVELTOS_AIRGAP_HELM ?? (await ensureHelm(ctx.root));
    const dir = ctx.dir('real-charts');
    const port = await freePort();
    writeFileSync(join(dir, 'registry.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
    registry = { host: `127.0.0.1:${port}`, server: await startServer('/usr/bin/docker-registry', ['serve', join(dir, 'registry.yml')], { readyUrl: `http://127.0.0.1:${port}/v2/` }) };
    for (const c of charts(ctx)) {
      await timed(helm, ['push', tgz(ctx, c), `oci://${registry.host}/charts`, '--plain-http'], { env: helmEnv(ctx), rss: false });
      writeFileSync(join(dir, `${c.release}.values.yaml`), c.values);
      writeFleet(join(dir, `fleet-${c.chart}`), [c], registry.host);
    }
    writeFleet(join(dir, 'fleet-all'), charts(ctx), registry.host);
    writeFleet(join(dir, 'fleet-none'), [], registry.host);
  },
  async teardown() {
    await registry?.server.stop();
    registry = undefined;
  },
  async run(ctx, round) {
    const { key } = await signingKeys(ctx);
    const dir = join(ctx.work, 'real-charts');
    const env = { ...helmEnv(ctx), SVELTOS_AIRGAP_HELM: helm };
    const exportOnce = (name, cache) => {
      rmSync(join(dir, 'bundle.tar'), { force: true });
      return timed(process.execPath, [ctx.cli, 'export', '--from', join(dir, `fleet-${name}`), '--key', key, '--out', join(dir, 'bundle.tar'), '--sequence', '1', '--plain-http-registry', registry.host, '--cache-dir', cache, '--quiet'], { env, timeoutMs: 10 * 60_000 });
    };
    // What a user runs per chart: `helm template` of the package, and `helm pull` of it from the registry.
    const template = async (list) => {
      let s = 0;
      for (const c of list) s += (await timed(helm, ['template', c.release, tgz(ctx, c), '--namespace', c.namespace, '--include-crds', '--kube-version', KUBE, '--values', join(dir, `${c.release}.values.yaml`)], { env: helmEnv(ctx), rss: false })).seconds;
      return s;
    };
    const pull = async (list) => {
      let s = 0;
      for (const c of list) {
        const to = join(dir, 'pulled');
        rmSync(to, { recursive: true, force: true });
        mkdirSync(to);
        s += (await timed(helm, ['pull', `oci://${registry.host}/charts/${c.chart}`, '--version', c.version, '--plain-http', '--destination', to], { env: helmEnv(ctx), rss: false })).seconds;
      }
      return s;
    };
    const all = charts(ctx);
    const largest = all.reduce((a, b) => (readFileSync(tgz(ctx, b)).length > readFileSync(tgz(ctx, a)).length ? b : a));
    const subjects = [...all.map((c) => ({ name: c.chart, list: [c] })), { name: 'all', list: all }];
    const rows = [];
    for (const s of round % 2 ? [...subjects].reverse() : subjects) {
      const cache = join(dir, `cache-${s.name}`);
      rmSync(cache, { recursive: true, force: true });
      const measured = await ctx.interleave(
        round,
        async () => {
          const cold = await exportOnce(s.name, cache);
          const warm = await exportOnce(s.name, cache);
          const none = await exportOnce('none', join(dir, 'cache-none'));
          return { cold, warm, none };
        },
        async () => ({ template: await template(s.list), pull: await pull(s.list) }),
      );
      const { cold, warm, none } = measured.ours;
      const { template: t, pull: p } = measured.baseline;
      const label = s.name === 'all' ? `all ${all.length} charts` : `${s.name} ${s.list[0].version}`;
      rows.push(
        { row: `real-charts: ${label}: warm export minus the no-chart export's start-up, vs helm template`, ours: warm.seconds - none.seconds, baseline: t, baselineName: 'helm template (whole process, per chart in turn)', target: { max: 0.5 } },
        { row: `real-charts: ${label}: cold export (empty cache), vs helm pull + helm template`, ours: cold.seconds, baseline: t + p, baselineName: 'helm pull + helm template', target: { max: 1.6 }, oursRss: cold.rss },
        { row: `real-charts: ${label}: warm export (whole process, for reference)`, ours: warm.seconds, baseline: t, baselineName: 'helm template', oursRss: warm.rss },
        { row: `real-charts: ${label}: no-chart export (fixed start-up, for reference)`, ours: none.seconds, oursRss: none.rss },
      );
      const limit = s.name === 'all' ? RSS_ALL : s.list[0] === largest ? RSS_LARGEST : undefined;
      if (limit !== undefined) {
        rows.push({ row: `real-charts: ${label}: peak RSS of the export, cold or warm (MiB)`, unit: 'MiB', ours: Math.max(cold.rss ?? NaN, warm.rss ?? NaN) / MiB, baseline: limit / MiB, baselineName: 'limit', target: { max: 1 } });
      }
    }
    return rows;
  },
};
