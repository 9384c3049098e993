#!/usr/bin/env node
// Scenario: export of a profile set with N charts and M images from a local docker-registry, against
// `skopeo copy` of the same images into an `oci:` layout in the same run.
//
// Usage: npm run build && node bench/helm-export.mjs [--charts 20] [--images 10] [--layer-mib 200] [--keep]
// Needs: docker-registry, skopeo, umoci (Debian packages); /usr/bin/time (package `time`) for peak RSS.
// Prints one JSON object on stdout (logs on stderr):
//   { scenario, charts, images, layerBytes, bundleBytes, exportSeconds, skopeoSeconds, ratio,
//     peakRssMiB, targets: { ratioMax, peakRssMiBMax }, ok }
// Exit code 0 when the run completed (whether or not the targets were met), 1 when it could not run.
// BENCH_LAPS=1 also prints the export's phase times on stderr.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(`helm-export: ${m}\n`);

function args(argv) {
  const o = { charts: 20, images: 10, layerMiB: 200, keep: false, child: undefined, harness: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    // Run by bench/run.mjs: rows in its format; --quick shrinks the data; its other flags do not apply here.
    if (a === '--json') o.harness = true;
    else if (a === '--quick') Object.assign(o, { charts: 5, images: 3, layerMiB: 40 });
    else if (['--runs', '--size', '--scale', '--seed', '--work'].includes(a)) i++;
    else if (a === '--charts') o.charts = Number(argv[++i]);
    else if (a === '--images') o.images = Number(argv[++i]);
    else if (a === '--layer-mib') o.layerMiB = Number(argv[++i]);
    else if (a === '--keep') o.keep = true;
    else if (a === '--child') o.child = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

function run(cmd, argv, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`${cmd} ${argv.join(' ')}: exit ${code}\n${stderr.slice(-2000)}`))));
  });
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function startRegistry(dir) {
  await mkdir(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  await writeFile(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('/usr/bin/docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/v2/`;
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: `127.0.0.1:${port}`, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

async function writeChart(dir, i) {
  const c = join(dir, `bench-${i}`);
  await mkdir(join(c, 'templates'), { recursive: true });
  await writeFile(join(c, 'Chart.yaml'), `apiVersion: v2\nname: bench-${i}\nversion: 1.0.${i}\n`);
  await writeFile(join(c, 'values.yaml'), 'image: busybox\nconfigMaps: 10\n');
  await writeFile(join(c, 'templates', 'deploy.yaml'), [
    'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: {{ .Release.Name }}', 'spec:', '  selector: {matchLabels: {app: x}}', '  template:',
    '    metadata: {labels: {app: x}}', '    spec:', '      containers:', '        - name: main', '          image: {{ .Values.image }}', '',
  ].join('\n'));
  await writeFile(join(c, 'templates', 'cm.yaml'), '{{- range $i := until (int .Values.configMaps) }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ $.Release.Name }}-{{ $i }}\ndata: {i: "{{ $i }}"}\n{{- end }}\n');
  return c;
}

async function prepare(work, o, helm, registry) {
  const helmEnv = { ...process.env, HELM_CACHE_HOME: join(work, 'helm', 'cache'), HELM_CONFIG_HOME: join(work, 'helm', 'config'), HELM_DATA_HOME: join(work, 'helm', 'data') };
  for (let i = 0; i < o.charts; i++) {
    const dir = await writeChart(join(work, 'charts'), i);
    await run(helm, ['package', dir, '--destination', join(work, 'pkg')], { env: helmEnv });
    await run(helm, ['push', join(work, 'pkg', `bench-${i}-1.0.${i}.tgz`), `oci://${registry.host}/charts`, '--plain-http'], { env: helmEnv });
  }
  const layout = join(work, 'layout');
  await run('umoci', ['init', '--layout', layout]);
  const layerBytes = Math.floor((o.layerMiB * 1024 * 1024) / o.images);
  for (let i = 0; i < o.images; i++) {
    const tag = `img-${i}`;
    await run('umoci', ['new', '--image', `${layout}:${tag}`]);
    const file = join(work, `${tag}.bin`);
    await writeFile(file, randomBytes(layerBytes));
    await run('umoci', ['insert', '--rootless', '--image', `${layout}:${tag}`, file, `/data/${tag}.bin`]);
    await rm(file);
    await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${registry.host}/bench/${tag}:1`]);
  }
  return layerBytes * o.images;
}

// child: the measured export, in its own process so /usr/bin/time sees only it.
async function child(configPath) {
  const cfg = JSON.parse(await readFile(configPath, 'utf8'));
  const mod = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
  const [{ renderHelmForPlan, chartExtras, imageExtras, imageReport }, { ChartCache }, { ImageResolver }, { packBundle }, { KeySigner }, { generateKeyPair, loadPrivateKey }] = await Promise.all([
    mod('export/helm-stage.js'), mod('source/helm.js'), mod('source/images.js'), mod('bundle/pack.js'), mod('bundle/sign.js'), mod('bundle/keys.js'),
  ]);
  const started = process.hrtime.bigint();
  const cache = await ChartCache.open(cfg.cacheDir);
  const cluster = { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'SveltosCluster', metadata: { name: 'edge', namespace: 'fleet', labels: {} }, status: { version: 'v1.30.0' } };
  const inputs = Array.from({ length: cfg.charts }, (_, i) => ({
    cluster: { namespace: 'fleet', name: 'edge' },
    clusterObject: cluster,
    profile: { kind: 'ClusterProfile', name: 'bench' },
    chart: {
      repositoryURL: `oci://${cfg.registry}/charts`, repositoryName: 'bench', chartName: `bench-${i}`, chartVersion: `1.0.${i}`,
      releaseName: `rel-${i}`, releaseNamespace: 'bench', values: `image: ${cfg.registry}/bench/img-${i % cfg.images}:1\n`,
      registryCredentialsConfig: { plainHTTP: true },
    },
  }));
  const lap = (m) => process.env.BENCH_LAPS && process.stderr.write(`lap ${m}: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(3)}s\n`);
  const stage = await renderHelmForPlan(inputs, { helm: cfg.helm, cache, ...(process.env.BENCH_LAPS ? { onEvent: (m) => lap(m) } : {}) });
  lap('helm stage');
  const resolver = new ImageResolver({ plainHTTP: [cfg.registry] });
  const extras = [...chartExtras(stage, cache), ...(await imageExtras(imageReport(stage.results.flatMap((r) => r.images)), resolver))];
  const yaml = stage.results.flatMap((r) => r.bundles.map((b) => JSON.stringify({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationBundle', metadata: { name: b.index }, spec: { ...b.spec, resources: b.resources.map((x) => JSON.stringify(x)) } }))).join('\n---\n');
  lap('images resolved');
  let firstWrite = false;
  const keys = generateKeyPair();
  const now = new Date();
  const res = await packBundle({
    clusters: [{ namespace: 'fleet', name: 'edge', config: { namespace: 'fleet', name: 'edge' }, groups: [{ name: 'helm', feature: 'Helm', requestor: 'bench', yaml }] }],
    extras, signer: new KeySigner(loadPrivateKey(keys.privateKeyPem)), sequence: 1, createdAt: now, expiresAt: new Date(now.getTime() + 3600_000), source: 'bench', out: cfg.out,
    ...(process.env.BENCH_LAPS ? { onProgress: (e) => { if (e.phase === 'write' && (e.done === e.total || !firstWrite)) { firstWrite = true; lap(`write ${e.done}/${e.total}`); } } } : {}),
  });
  lap('packed');
  await resolver.close();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ seconds, renders: stage.renders, extras: extras.length, blobs: res.blobs, bytes: (await stat(cfg.out)).size }));
}

async function main() {
  const o = args(process.argv.slice(2));
  if (o.child) return child(o.child);
  for (const bin of ['/usr/bin/docker-registry', '/usr/bin/skopeo', '/usr/bin/umoci']) if (!existsSync(bin)) throw new Error(`${bin} is missing (Debian packages docker-registry, skopeo, umoci)`);
  if (!existsSync(join(root, 'dist', 'export', 'helm-stage.js'))) throw new Error('dist/ is missing: run npm run build first');
  const { ensureHelm } = await import('../scripts/helm-binary.mjs');
  const helm = process.env.SVELTOS_AIRGAP_HELM ?? (await ensureHelm(root));
  const work = await mkdtemp(join(tmpdir(), 'bench-helm-export-'));
  const registry = await startRegistry(join(work, 'registry'));
  try {
    log(`preparing ${o.charts} charts and ${o.images} images (${o.layerMiB} MiB of layers) in ${registry.host}`);
    const layerBytes = await prepare(work, o, helm, registry);
    const cfgPath = join(work, 'child.json');
    await writeFile(cfgPath, JSON.stringify({ registry: registry.host, charts: o.charts, images: o.images, helm, cacheDir: join(work, 'cache'), out: join(work, 'bundle.tar') }));

    log('export (measured)');
    const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
    const childArgs = [fileURLToPath(import.meta.url), '--child', cfgPath];
    const r = timeBin ? await run(timeBin, ['-v', process.execPath, ...childArgs]) : await run(process.execPath, childArgs);
    const exp = JSON.parse(r.stdout);
    if (process.env.BENCH_LAPS) process.stderr.write(r.stderr.split('\n').filter((l) => l.startsWith('lap ')).join('\n') + '\n');
    const rssKiB = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1];

    log('skopeo copy of the same images into an oci: layout (measured)');
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < o.images; i++) {
      await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/bench/img-${i}:1`, `oci:${join(work, 'skopeo-layout')}:img-${i}`]);
    }
    const skopeoSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

    const ratio = exp.seconds / skopeoSeconds;
    const peakRssMiB = rssKiB ? Math.round((Number(rssKiB) / 1024) * 10) / 10 : null;
    const targets = { ratioMax: 1.2, peakRssMiBMax: 300 };
    if (o.harness) {
      process.stdout.write(`${JSON.stringify({
        rows: [
          {
            row: `export of ${o.charts} charts and ${o.images} images (${o.layerMiB} MiB of layers) from a local registry`,
            unit: 's',
            better: 'lower',
            baselineName: 'skopeo copy of the same images into an oci: layout',
            target: { max: targets.ratioMax },
            ours: exp.seconds,
            baseline: skopeoSeconds,
            ...(rssKiB ? { oursRss: Number(rssKiB) * 1024 } : {}),
          },
        ],
      })}\n`);
      return;
    }
    process.stdout.write(`${JSON.stringify({
      scenario: 'helm-export',
      charts: o.charts,
      images: o.images,
      layerBytes,
      bundleBytes: exp.bytes,
      renders: exp.renders,
      exportSeconds: Math.round(exp.seconds * 1000) / 1000,
      skopeoSeconds: Math.round(skopeoSeconds * 1000) / 1000,
      ratio: Math.round(ratio * 1000) / 1000,
      peakRssMiB,
      targets,
      ok: ratio <= targets.ratioMax && (peakRssMiB === null || peakRssMiB <= targets.peakRssMiBMax),
    })}\n`);
  } finally {
    await registry.stop();
    if (!o.keep) await rm(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
}

main().catch((err) => {
  log(String(err?.stack ?? err));
  process.exit(1);
});
