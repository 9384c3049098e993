// serve: the same many-layer image pulled with skopeo from `sveltos-airgap serve` and from Debian's
// docker-registry (CNCF distribution), manifest GETs per second under 64 connections (wrk), and blob
// download throughput by 4 and 16 concurrent curl clients (the largest layer by every client; the layers
// shared out among the clients, each fetching its share over one connection).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_REF, imageLayout, siteStore } from '../lib/fixtures.mjs';
import { IMAGE_TAG } from '../lib/data.mjs';
import { freePort, startServer, timed } from '../lib/measure.mjs';
import { formatBytes } from '../lib/scenario.mjs';

const MANIFEST_ACCEPT = 'Accept: application/vnd.oci.image.manifest.v1+json';
const CONNECTIONS = 64;
const CLIENTS = [4, 16];
const MIB = 1024 * 1024;
// Each download row repeats its set of downloads until it has moved at least this much: one set of a 27 MiB
// layer by 4 clients takes about 0.15 s, too short a sample on a shared machine (curl's start alone is a
// part of it). Both servers get the same repetitions.
const ROW_MIN_BYTES = 512 * MIB;

/** parseWrk reads requests per second from wrk's report and refuses runs with errors or non-2xx replies. */
export function parseWrk(text) {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rps) throw new Error(`wrk: no "Requests/sec" in its report:\n${text}`);
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (bad) throw new Error(`wrk: ${bad[1]} non-2xx replies:\n${text}`);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (errors && errors.slice(1).some((n) => Number(n) > 0)) throw new Error(`wrk: socket errors:\n${text}`);
  return Number(rps[1]);
}

let servers;

export default {
  name: 'serve',
  order: 40,
  title: (ctx) => `serve: skopeo pull of a ${formatBytes(ctx.bytes)} image (${ctx.layers} layers)`,
  quick: true,
  unit: 's',
  better: 'lower',
  baselineName: 'docker-registry (distribution 2.8)',
  target: { max: 1.0 },
  requires: ['skopeo', 'docker-registry', 'wrk', 'curl'],
  async setup(ctx) {
    const { dir: layout, image } = await imageLayout(ctx);
    const { dir: store } = await siteStore(ctx);
    const log = openSync(join(ctx.work, 'servers.log'), 'w');
    const ourPort = await freePort();
    const regPort = await freePort();
    const regRoot = ctx.dir('data/registry');
    const regConfig = join(ctx.work, 'data', 'registry.yml');
    // The Debian default configuration (in-memory blob descriptor cache, filesystem storage) without
    // access logs, which `serve` does not write either.
    writeFileSync(regConfig, [
      'version: 0.1',
      'log: {level: error, accesslog: {disabled: true}}',
      `storage: {cache: {blobdescriptor: inmemory}, filesystem: {rootdirectory: ${JSON.stringify(regRoot)}}}`,
      `http: {addr: "127.0.0.1:${regPort}"}`,
      '',
    ].join('\n'));
    const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', image.root.digest.slice(7)), 'utf8'));
    const layers = manifest.layers.map((l) => ({ digest: l.digest, size: l.size }));
    const largest = layers.reduce((a, l) => (l.size > a.size ? l : a));
    servers = { log, ours: undefined, registry: undefined, ourPort, regPort, layers, largest };
    servers.ours = await startServer(process.execPath, [ctx.cli, 'serve', '--store', store, '--listen', `127.0.0.1:${ourPort}`, '--quiet'], { readyUrl: `http://127.0.0.1:${ourPort}/v2/`, logFd: log });
    servers.registry = await startServer('docker-registry', ['serve', regConfig], { readyUrl: `http://127.0.0.1:${regPort}/v2/`, logFd: log });
    await timed('skopeo', ['--insecure-policy', 'copy', '-q', '--dest-tls-verify=false', `oci:${layout}:${IMAGE_TAG}`, `docker://127.0.0.1:${regPort}/${IMAGE_REF}`], { rss: false });
    // Warm both servers (JIT, caches) the same way before measuring.
    for (const port of [ourPort, regPort]) await wrk(port, 2);
  },
  async run(ctx, round) {
    const pull = (port) => async () => {
      const dest = join(ctx.work, `pull-${port}`);
      ctx.settle(dest);
      const res = await timed('skopeo', ['--insecure-policy', 'copy', '-q', '--src-tls-verify=false', `docker://127.0.0.1:${port}/${IMAGE_REF}`, `dir:${dest}`], { rss: false });
      ctx.settle(dest);
      return res.seconds;
    };
    const p = await ctx.interleave(round, pull(servers.ourPort), pull(servers.regPort));
    const seconds = ctx.quick ? 3 : 10;
    const rps = await ctx.interleave(round, () => wrk(servers.ourPort, seconds), () => wrk(servers.regPort, seconds));
    const blobRows = [];
    for (const clients of CLIENTS) {
      for (const [what, share] of [
        [`one ${formatBytes(servers.largest.size)} layer`, () => Array.from({ length: clients }, () => [servers.largest])],
        [`${servers.layers.length} layers shared out`, () => Array.from({ length: clients }, (_, i) => servers.layers.filter((_l, j) => j % clients === i))],
      ]) {
        const lists = share();
        const setBytes = lists.flat().reduce((a, l) => a + l.size, 0);
        const sets = Math.max(1, Math.ceil(ROW_MIN_BYTES / setBytes));
        const bytes = setBytes * sets;
        const t = await ctx.interleave(round, () => downloads(servers.ourPort, lists, sets), () => downloads(servers.regPort, lists, sets));
        blobRows.push({
          row: `serve: blob downloads, ${what} by ${clients} clients (curl)`,
          unit: 'MiB/s',
          better: 'higher',
          target: { min: 1.3 },
          ours: bytes / MIB / t.ours,
          baseline: bytes / MIB / t.baseline,
        });
      }
    }
    const oursRss = servers.ours.peakRss();
    const baselineRss = servers.registry.peakRss();
    return [
      { ours: p.ours, baseline: p.baseline, oursRss, baselineRss },
      {
        row: `serve: manifest GETs/s, ${CONNECTIONS} connections (wrk)`,
        unit: 'req/s',
        better: 'higher',
        target: { min: 2.0 },
        ours: rps.ours,
        baseline: rps.baseline,
        oursRss,
        baselineRss,
      },
      ...blobRows.map((r) => ({ ...r, oursRss, baselineRss })),
    ];
  },
  async teardown() {
    if (!servers) return;
    await servers.ours?.stop();
    await servers.registry?.stop();
    closeSync(servers.log);
    servers = undefined;
  },
};

/**
 * downloads runs one curl per list of layers at once, each fetching its list in order over one
 * connection, `sets` times one after the other, and returns the wall time until the last finishes.
 * Every reply must be a 200 of the layer's full size.
 */
async function downloads(port, lists, sets = 1) {
  const started = performance.now();
  for (let i = 0; i < sets; i++) await downloadSet(port, lists);
  return (performance.now() - started) / 1000;
}

async function downloadSet(port, lists) {
  const repo = IMAGE_REF.split(':')[0];
  await Promise.all(lists.map(async (list) => {
    const args = ['-s', '-w', '%{http_code} %{size_download}\\n'];
    for (const l of list) args.push('-o', '/dev/null', `http://127.0.0.1:${port}/v2/${repo}/blobs/${l.digest}`);
    const out = await new Promise((resolve, reject) => {
      const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'inherit'] });
      const chunks = [];
      child.stdout.on('data', (b) => chunks.push(b));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`curl: exit ${code}`))));
    });
    const want = list.map((l) => `200 ${l.size}`).join('\n');
    if (out.trim() !== want) throw new Error(`curl on port ${port}: expected\n${want}\nfound\n${out.trim()}`);
  }));
}

async function wrk(port, seconds) {
  const url = `http://127.0.0.1:${port}/v2/${IMAGE_REF.replace(':', '/manifests/')}`;
  const res = await timed('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '-H', MANIFEST_ACCEPT, url], { rss: false });
  return parseWrk(res.stdout);
}
