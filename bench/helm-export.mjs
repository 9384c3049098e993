#!/usr/bin/env node
// Scenario: export of a profile set with N charts and M images from a local docker-registry, against
// `skopeo copy` of the same images into an `oci:` layout in the same run.
//
// The measured export is the real CLI (`sveltos-airgap export --include-images` on a generated profile set,
// whole process, cold cache), run with the baseline and reference rows in interleaved rounds: the same export
// with warm caches (charts, images, renders); the same export with --no-referrers (every image and chart is
// signed in cosign's format, so this is what carrying their signatures costs); its two halves apart, cold (the images alone, named by a policyRefs Deployment, and the
// charts alone, without --include-images); and `helm template` of the charts alone (what rendering costs here).
// A second baseline is the script users run instead of this tool (as Zarf does it), one step after the
// other: per release `helm pull` of the chart then `helm template` of it to a file, per image `skopeo copy`
// to an oci: layout; targets: cold export ≤ 0.5x and warm export ≤ 0.25x of it.
//
// Usage: npm run build && node bench/helm-export.mjs [--charts 20] [--images 10] [--layer-mib 200] [--runs 3] [--keep]
// Needs: docker-registry, skopeo, umoci (Debian packages); /usr/bin/time (package `time`) for peak RSS.
// Prints one JSON object on stdout (logs on stderr), times per round:
//   { scenario, charts, images, rounds, layerBytes, bundleBytes, exportSeconds, warmExportSeconds, noReferrersSeconds,
//     imagesAloneSeconds, chartsAloneSeconds, renderFloorSeconds, skopeoSeconds, scriptSeconds, ratio,
//     warmRatio, referrersRatio, imagesAloneRatio, chartsAloneRatio, renderFloorRatio, scriptRatio, warmScriptRatio,
//     peakRssMiB, targets, ok }
// Exit code 0 when the run completed (whether or not the targets were met), 1 when it could not run.
// BENCH_LAPS=1 also prints the export's log lines on stderr, each with the seconds since it started.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(`helm-export: ${m}\n`);

function args(argv) {
  const o = { charts: 20, images: 10, layerMiB: 200, runs: 3, keep: false, harness: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    // Run by bench/run.mjs: rows in its format; --quick shrinks the data; its other flags do not apply here.
    if (a === '--json') o.harness = true;
    else if (a === '--quick') Object.assign(o, { charts: 5, images: 3, layerMiB: 40 });
    else if (a === '--runs') o.runs = Math.max(1, Number(argv[++i]));
    else if (['--size', '--scale', '--seed', '--work'].includes(a)) i++;
    else if (a === '--charts') o.charts = Number(argv[++i]);
    else if (a === '--images') o.images = Number(argv[++i]);
    else if (a === '--layer-mib') o.layerMiB = Number(argv[++i]);
    else if (a === '--keep') o.keep = true;
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
    const t0 = process.hrtime.bigint();
    child.stderr.on('data', (c) => {
      stderr += c;
      // BENCH_LAPS: each log line of the child as it arrives, with the seconds since the start.
      if (opts.laps) for (const line of String(c).split('\n').filter(Boolean)) process.stderr.write(`lap ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3)}s ${line}\n`);
    });
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
  // Every image and chart is signed as `cosign sign --key` stores it, so the export carries a proof of each.
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  for (let i = 0; i < o.images; i++) await cosignSign(registry.host, `bench/img-${i}`, '1', key);
  for (let i = 0; i < o.charts; i++) await cosignSign(registry.host, `charts/bench-${i}`, `1.0.${i}`, key);
  return layerBytes * o.images;
}

// cosignSign pushes a cosign signature of the manifest tagged `tag`: a simple-signing payload layer with the
// signature in its dev.cosignproject.cosign/signature annotation, tagged sha256-<hex>.sig.
async function cosignSign(host, repository, tag, key) {
  const { RegistryClient } = await import('../dist/registry/client.js');
  const { ANNOTATION_COSIGN_SIGNATURE, MEDIA_TYPE_SIMPLE_SIGNING, cosignSignatureTag } = await import('../dist/registry/cosign-verify.js');
  const { sha256 } = await import('../dist/content/digest.js');
  const { Readable } = await import('node:stream');
  const client = new RegistryClient({ registry: host, repository, plainHTTP: true });
  try {
    const subject = await client.resolve(tag);
    const payload = Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': `${host}/${repository}` }, image: { 'docker-manifest-digest': subject.digest }, type: 'cosign container image signature' }, optional: null }));
    const config = Buffer.from('{}');
    const d = (mediaType, b) => ({ mediaType, digest: sha256(b), size: b.length });
    for (const b of [config, payload]) await client.push(d('application/octet-stream', b), Readable.from([b]));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: d('application/vnd.oci.image.config.v1+json', config), layers: [{ ...d(MEDIA_TYPE_SIMPLE_SIGNING, payload), annotations: { [ANNOTATION_COSIGN_SIGNATURE]: sign('sha256', payload, key).toString('base64') } }] }));
    const m = d('application/vnd.oci.image.manifest.v1+json', manifest);
    await client.push(m, Readable.from([manifest]));
    await client.tag(m, cosignSignatureTag(subject.digest));
  } finally {
    await client.close();
  }
}

// writeFleet writes the profile set the measured export reads: one SveltosCluster and one ClusterProfile
// whose helmCharts name every chart, each chart's values naming one of the images.
async function writeFleet(dir, o, registry) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'cluster.yaml'), [
    'apiVersion: lib.projectsveltos.io/v1beta1', 'kind: SveltosCluster', 'metadata:', '  name: edge', '  namespace: fleet', '  labels: {env: bench}',
    'spec: {pullMode: true}', 'status: {version: v1.30.0}', '',
  ].join('\n'));
  const charts = Array.from({ length: o.charts }, (_, i) => [
    `    - repositoryURL: oci://${registry}/charts`, '      repositoryName: bench', `      chartName: bench-${i}`, `      chartVersion: 1.0.${i}`,
    `      releaseName: rel-${i}`, '      releaseNamespace: bench', `      values: "image: ${registry}/bench/img-${i % o.images}:1"`, '      registryCredentialsConfig: {plainHTTP: true}',
  ].join('\n'));
  await writeFile(join(dir, 'profile.yaml'), [
    'apiVersion: config.projectsveltos.io/v1beta1', 'kind: ClusterProfile', 'metadata:', '  name: bench', 'spec:', '  clusterSelector:', '    matchLabels: {env: bench}', '  helmCharts:', ...charts, '',
  ].join('\n'));
}

// writeImagesFleet writes the images-alone profile set: the same cluster, one ClusterProfile whose policyRefs
// ConfigMap holds one Deployment per image, no charts.
async function writeImagesFleet(dir, o, registry) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'cluster.yaml'), await readFile(join(dir, '..', 'fleet', 'cluster.yaml')));
  const deployments = Array.from({ length: o.images }, (_, i) => [
    'apiVersion: apps/v1', 'kind: Deployment', `metadata: {name: img-${i}, namespace: bench}`, 'spec:', `  selector: {matchLabels: {app: img-${i}}}`, '  template:',
    `    metadata: {labels: {app: img-${i}}}`, '    spec:', '      containers:', '      - name: main', `        image: ${registry}/bench/img-${i}:1`,
  ].map((l) => `    ${l}`).join('\n')).join('\n    ---\n');
  await writeFile(join(dir, 'profile.yaml'), [
    'apiVersion: config.projectsveltos.io/v1beta1', 'kind: ClusterProfile', 'metadata:', '  name: images', 'spec:', '  clusterSelector:', '    matchLabels: {env: bench}',
    '  policyRefs:', '  - {kind: ConfigMap, namespace: default, name: images}', '---', 'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: images', '  namespace: default', 'data:',
    '  deployments.yaml: |', deployments, '',
  ].join('\n'));
}

// exportArgs is the measured command: the real CLI, as a user runs it, with a cold cache.
// `what` picks the profile set and whether images are carried: 'both' (the measured row), 'images' or 'charts'.
// 'bare' is 'both' with --no-referrers: the signatures are left behind.
function exportArgs(work, registry, what = 'both') {
  return [
    join(root, 'bin', 'sveltos-airgap'), 'export', '--from', join(work, what === 'images' ? 'fleet-images' : 'fleet'), '--key', join(work, 'signing.key'), '--out', join(work, 'bundle.tar'),
    '--sequence', '1', ...(what === 'charts' ? [] : ['--include-images']), ...(what === 'bare' ? ['--no-referrers'] : []), '--plain-http-registry', registry, '--cache-dir', join(work, 'cache'), ...(process.env.BENCH_LAPS ? [] : ['--quiet']),
  ];
}

// renderFloor runs `helm template` for every chart package, one per core at a time, straight from this
// process and with the Go runtime settings the exporter gives helm: what the renders alone cost on this
// machine, whatever the exporter does around them.
async function renderFloor(work, o, helm) {
  const { goRuntimeEnv } = await import('../dist/source/helm-render.js');
  const env = { ...process.env, ...goRuntimeEnv(process.env), HOME: join(work, 'helm-floor'), HELM_CACHE_HOME: join(work, 'helm-floor', 'c'), HELM_CONFIG_HOME: join(work, 'helm-floor', 'g'), HELM_DATA_HOME: join(work, 'helm-floor', 'd') };
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) }, async () => {
    while (next < o.charts) {
      const i = next++;
      await run(helm, ['template', `rel-${i}`, join(work, 'pkg', `bench-${i}-1.0.${i}.tgz`), '--namespace', 'bench', '--include-crds', '--kube-version', 'v1.30.0'], { env });
    }
  }));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

// measureExport runs the real CLI once (a cold cache unless `warm`) and returns its wall time and peak RSS.
async function measureExport(work, registry, helm, warm, what = 'both') {
  if (!warm) await rm(join(work, 'cache'), { recursive: true, force: true });
  await rm(join(work, 'bundle.tar'), { force: true });
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  const env = { ...process.env, SVELTOS_AIRGAP_HELM: helm };
  const laps = Boolean(process.env.BENCH_LAPS);
  const t0 = process.hrtime.bigint();
  const r = timeBin ? await run(timeBin, ['-v', process.execPath, ...exportArgs(work, registry.host, what)], { env, laps }) : await run(process.execPath, exportArgs(work, registry.host, what), { env, laps });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rssKiB = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1];
  return { seconds, rss: rssKiB ? Number(rssKiB) * 1024 : undefined, bytes: (await stat(join(work, 'bundle.tar'))).size };
}

async function measureSkopeo(work, o, registry) {
  await rm(join(work, 'skopeo-layout'), { recursive: true, force: true });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < o.images; i++) {
    await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/bench/img-${i}:1`, `oci:${join(work, 'skopeo-layout')}:img-${i}`]);
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

// userScript is what users run instead of this tool (as Zarf does it): a shell script, one step after the
// other, that per release pulls the chart from the registry and renders it to a file, then copies each image
// into an oci: layout.
function userScript(work, o, helm, registry) {
  const q = (s) => `'${s}'`;
  const out = join(work, 'script');
  const lines = ['set -e', `rm -rf ${q(out)}`, `mkdir -p ${q(join(out, 'charts'))} ${q(join(out, 'rendered'))}`];
  for (let i = 0; i < o.charts; i++) {
    lines.push(`${q(helm)} pull oci://${registry}/charts/bench-${i} --version 1.0.${i} --plain-http --destination ${q(join(out, 'charts'))}`);
    lines.push(`${q(helm)} template rel-${i} ${q(join(out, 'charts', `bench-${i}-1.0.${i}.tgz`))} --namespace bench --include-crds --kube-version v1.30.0 --set image=${registry}/bench/img-${i % o.images}:1 > ${q(join(out, 'rendered', `rel-${i}.yaml`))}`);
  }
  for (let i = 0; i < o.images; i++) lines.push(`skopeo copy --quiet --src-tls-verify=false docker://${registry}/bench/img-${i}:1 oci:${q(join(out, 'images'))}:img-${i}`);
  return lines.join('\n');
}

async function measureScript(work, o, helm, registry) {
  const env = { ...process.env, HOME: join(work, 'helm-script'), HELM_CACHE_HOME: join(work, 'helm-script', 'c'), HELM_CONFIG_HOME: join(work, 'helm-script', 'g'), HELM_DATA_HOME: join(work, 'helm-script', 'd') };
  const t0 = process.hrtime.bigint();
  await run('bash', ['-c', userScript(work, o, helm, registry.host)], { env });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main() {
  const o = args(process.argv.slice(2));
  for (const bin of ['/usr/bin/docker-registry', '/usr/bin/skopeo', '/usr/bin/umoci']) if (!existsSync(bin)) throw new Error(`${bin} is missing (Debian packages docker-registry, skopeo, umoci)`);
  if (!existsSync(join(root, 'dist', 'cli', 'index.js'))) throw new Error('dist/ is missing: run npm run build first');
  const { ensureHelm } = await import('../scripts/helm-binary.mjs');
  const helm = process.env.SVELTOS_AIRGAP_HELM ?? (await ensureHelm(root));
  const work = await mkdtemp(join(tmpdir(), 'bench-helm-export-'));
  const registry = await startRegistry(join(work, 'registry'));
  try {
    log(`preparing ${o.charts} charts and ${o.images} images (${o.layerMiB} MiB of layers) in ${registry.host}`);
    const layerBytes = await prepare(work, o, helm, registry);
    await writeFleet(join(work, 'fleet'), o, registry.host);
    await writeImagesFleet(join(work, 'fleet-images'), o, registry.host);
    await run(process.execPath, [join(root, 'bin', 'sveltos-airgap'), 'keygen', '--out', join(work, 'signing'), '--quiet']);

    // Rounds interleave the four measurements, so a busy moment on a shared machine hits all of them.
    const m = { cold: [], bare: [], warm: [], images: [], charts: [], floor: [], skopeo: [], script: [] };
    let bytes = 0;
    for (let round = 0; round < o.runs; round++) {
      log(`round ${round + 1}/${o.runs}: export (cold cache), export (warm cache), export --no-referrers, images alone, charts alone, helm template alone, skopeo copy, helm pull + helm template + skopeo copy script`);
      const cold = await measureExport(work, registry, helm, false);
      bytes = cold.bytes;
      m.cold.push(cold);
      m.warm.push(await measureExport(work, registry, helm, true));
      m.bare.push(await measureExport(work, registry, helm, false, 'bare'));
      m.images.push(await measureExport(work, registry, helm, false, 'images'));
      m.charts.push(await measureExport(work, registry, helm, false, 'charts'));
      m.floor.push(await renderFloor(work, o, helm));
      m.skopeo.push(await measureSkopeo(work, o, registry));
      m.script.push(await measureScript(work, o, helm, registry));
    }
    const what = `${o.charts} charts and ${o.images} images (${o.layerMiB} MiB of layers) from a local registry`;
    const baselineName = 'skopeo copy of the same images into an oci: layout';
    const scriptName = 'shell script: per release helm pull + helm template to a file, then per image skopeo copy to an oci: layout';
    const rows = [
      { row: `export of ${what}, vs the script users run instead`, unit: 's', better: 'lower', baselineName: scriptName, target: { max: 0.5 }, ours: m.cold.map((x) => x.seconds), baseline: m.script, oursRss: m.cold.map((x) => x.rss) },
      { row: `export again (warm caches) of ${what}, vs the script users run instead`, unit: 's', better: 'lower', baselineName: scriptName, target: { max: 0.25 }, ours: m.warm.map((x) => x.seconds), baseline: m.script, oursRss: m.warm.map((x) => x.rss) },
      { row: `export of ${what}`, unit: 's', better: 'lower', baselineName, target: { max: 1.2 }, ours: m.cold.map((x) => x.seconds), baseline: m.skopeo, oursRss: m.cold.map((x) => x.rss) },
      { row: `export again, nothing to fetch or render (warm chart, image and render caches): ${what}`, unit: 's', better: 'lower', baselineName, ours: m.warm.map((x) => x.seconds), baseline: m.skopeo, oursRss: m.warm.map((x) => x.rss) },
      // What carrying the proofs costs: the same cold export with --no-referrers is the baseline.
      { row: `export of ${what}, each signed with cosign: carrying the signatures (default), vs --no-referrers`, unit: 's', better: 'lower', baselineName: 'the same export with --no-referrers', ours: m.cold.map((x) => x.seconds), baseline: m.bare.map((x) => x.seconds), oursRss: m.cold.map((x) => x.rss) },
      { row: `export of the ${o.images} images alone (a policyRefs Deployment names them; cold cache)`, unit: 's', better: 'lower', baselineName, ours: m.images.map((x) => x.seconds), baseline: m.skopeo, oursRss: m.images.map((x) => x.rss) },
      { row: `export of the ${o.charts} charts alone (no --include-images; cold cache)`, unit: 's', better: 'lower', baselineName, ours: m.charts.map((x) => x.seconds), baseline: m.skopeo, oursRss: m.charts.map((x) => x.rss) },
      // No RSS of its own: an empty list keeps the harness from reporting this script's.
      { row: `helm template of the ${o.charts} charts alone, one per core at a time (the render floor)`, unit: 's', better: 'lower', baselineName, ours: m.floor, baseline: m.skopeo, oursRss: [] },
    ];
    if (o.harness) {
      process.stdout.write(`${JSON.stringify({ rows })}\n`);
      return;
    }
    const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
    const ratio = (v, base = m.skopeo) => Math.round(median(v.map((x, i) => x / base[i])) * 1000) / 1000;
    const rss = Math.max(...m.cold.map((x) => x.rss ?? 0));
    const peakRssMiB = rss ? Math.round((rss / 1024 / 1024) * 10) / 10 : null;
    const targets = { ratioMax: 1.2, scriptRatioMax: 0.5, warmScriptRatioMax: 0.25, peakRssMiBMax: 300 };
    const scriptRatio = ratio(m.cold.map((x) => x.seconds), m.script);
    const warmScriptRatio = ratio(m.warm.map((x) => x.seconds), m.script);
    process.stdout.write(`${JSON.stringify({
      scenario: 'helm-export',
      charts: o.charts,
      images: o.images,
      rounds: o.runs,
      layerBytes,
      bundleBytes: bytes,
      exportSeconds: m.cold.map((x) => Math.round(x.seconds * 1000) / 1000),
      warmExportSeconds: m.warm.map((x) => Math.round(x.seconds * 1000) / 1000),
      noReferrersSeconds: m.bare.map((x) => Math.round(x.seconds * 1000) / 1000),
      referrersRatio: ratio(m.cold.map((x) => x.seconds), m.bare.map((x) => x.seconds)),
      imagesAloneSeconds: m.images.map((x) => Math.round(x.seconds * 1000) / 1000),
      chartsAloneSeconds: m.charts.map((x) => Math.round(x.seconds * 1000) / 1000),
      renderFloorSeconds: m.floor.map((x) => Math.round(x * 1000) / 1000),
      skopeoSeconds: m.skopeo.map((x) => Math.round(x * 1000) / 1000),
      scriptSeconds: m.script.map((x) => Math.round(x * 1000) / 1000),
      ratio: ratio(m.cold.map((x) => x.seconds)),
      warmRatio: ratio(m.warm.map((x) => x.seconds)),
      imagesAloneRatio: ratio(m.images.map((x) => x.seconds)),
      chartsAloneRatio: ratio(m.charts.map((x) => x.seconds)),
      renderFloorRatio: ratio(m.floor),
      scriptRatio,
      warmScriptRatio,
      peakRssMiB,
      targets,
      ok: ratio(m.cold.map((x) => x.seconds)) <= targets.ratioMax && scriptRatio <= targets.scriptRatioMax && warmScriptRatio <= targets.warmScriptRatioMax && (peakRssMiB === null || peakRssMiB <= targets.peakRssMiBMax),
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
