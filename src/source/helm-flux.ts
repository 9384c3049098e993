// Charts in Flux sources (a helmCharts repositoryURL `gitrepository://NS/NAME/PATH`): the chart directory of
// the fetched artifact, which addon-controller hands helm as a local chart. Dependencies Chart.yaml declares
// but charts/ lacks are fetched with `helm dependency build` (`helm template` refuses a chart without them,
// where addon-controller's install action would render without them); `helm package` then makes the archive,
// carried as a Helm OCI artifact like any chart. One package per (source, revision, path), kept in the chart
// cache: later exports reuse that archive (helm stamps the time it packages at, so a new package would have
// a new digest).
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isPlainObject } from '../model/sveltos.js';
import type { FluxChart } from '../resolve/flux.js';
import { ChartError, describeChart, repositoryFromURL, wrapChartArchive, type ChartCache, type FetchedChart } from './helm.js';
import { helmEnv, parseYamlStream } from './helm-render.js';
import { defaultRunner, type ProcessRunner } from './process-runner.js';

export interface FluxChartOptions {
  helm: string;
  cache: ChartCache;
  /** Dependencies cannot be fetched: a chart lacking them fails. */
  offline?: boolean;
  signal?: AbortSignal;
  runner?: ProcessRunner;
}

/** packageFluxChart returns the chart of `chart` as a cached Helm OCI artifact, packaging it when not cached yet. */
export async function packageFluxChart(chart: FluxChart, opts: FluxChartOptions): Promise<FetchedChart> {
  const [kind = '', ns = '', name = '', , path = ''] = chart.key.split('\0');
  const tag = `flux-${createHash('sha256').update(chart.key).digest('hex').slice(0, 24)}:chart`;
  const at = { repository: repositoryFromURL(['flux', kind, ns, name, ...path.split('/')].join('/')), origin: 'flux' as const, name: name || 'chart' };
  if ((await opts.cache.store.tags()).includes(tag)) return describeChart(opts.cache, await opts.cache.store.resolve(tag), { ...at, cached: true });
  const prefix = chart.path ? `${chart.path}/` : '';
  const meta = parseYamlStream(chart.tree.get(`${prefix}Chart.yaml`)!.toString('utf8'), `${chart.source}: Chart.yaml`)[0];
  if (!isPlainObject(meta) || typeof meta.name !== 'string' || !meta.name) throw new ChartError('INVALID', `${chart.source}: Chart.yaml names no chart`);
  const work = await mkdtemp(join(tmpdir(), 'sveltos-airgap-flux-chart-'));
  try {
    // The whole artifact, as addon-controller extracts it: a dependency may name a directory beside the chart.
    for (const [p, data] of chart.tree) {
      await mkdir(dirname(join(work, 'src', p)), { recursive: true });
      await writeFile(join(work, 'src', p), data);
    }
    const dir = join(work, 'src', chart.path);
    const helm = async (args: string[]) => {
      const r = await (opts.runner ?? defaultRunner).run(opts.helm, args, { env: helmEnv(join(work, 'home')), ...(opts.signal ? { signal: opts.signal } : {}) });
      if (r.code !== 0) throw new ChartError('INVALID', `${chart.source}: helm ${args.slice(0, args[0] === 'dependency' ? 2 : 1).join(' ')}: ${r.stderr.split(work).join('<chart>').trim().split('\n').slice(-3).join('; ') || `exit ${r.code}`}`);
    };
    const missing = missingDependencies(meta, [...chart.tree.keys()].filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length)));
    if (missing.length > 0) {
      if (opts.offline) throw new ChartError('INVALID', `${chart.source}: Chart.yaml declares ${missing.join(', ')}, missing from charts/, and --offline forbids fetching them; export once online, or commit charts/ with the dependencies`);
      await helm(['dependency', 'build', dir]);
    }
    await helm(['package', dir, '--destination', join(work, 'out')]);
    const [archive] = await readdir(join(work, 'out'));
    const manifest = await wrapChartArchive(opts.cache.store, await readFile(join(work, 'out', archive!)));
    await opts.cache.store.tag(manifest, tag);
    return describeChart(opts.cache, manifest, { ...at, cached: false });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** missingDependencies lists the dependencies Chart.yaml declares with neither charts/NAME/ nor charts/NAME-*.tgz. */
export function missingDependencies(meta: Record<string, unknown>, files: string[]): string[] {
  const deps = Array.isArray(meta.dependencies) ? meta.dependencies.filter(isPlainObject) : [];
  return deps
    .map((d) => String(d.name ?? ''))
    .filter((dep) => dep && !files.some((f) => f.startsWith(`charts/${dep}/`) || (f.startsWith(`charts/${dep}-`) && f.endsWith('.tgz') && !f.slice('charts/'.length).includes('/'))));
}
