#!/usr/bin/env node
// Bench: how soon `serve` answers on a large store. Spawns `serve` on STORE and polls `/v2/` and one
// agent's list of its ConfigurationGroups (a token issued for CLUSTER) every 20 ms; reports the time
// from spawn to the first 200 of each, the first list's latency once served, and the server's peak
// RSS (VmHWM) after both answered. Runs against the built CLI (npm run build).
//
//   node bench/serve-start.mjs --store DIR --cluster NS/NAME [--runs 3]
//
// A store of 2,000 pull-mode clusters comes from bench/lib/export-fleet.mjs, export and import.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { issueToken } = await import(join(root, 'dist', 'agent-api', 'tokens.js'));
const { values } = parseArgs({ options: { store: { type: 'string' }, cluster: { type: 'string' }, runs: { type: 'string', default: '3' } } });
if (!values.store || !values.cluster) throw new Error('usage: serve-start.mjs --store DIR --cluster NS/NAME [--runs N]');
const [namespace] = values.cluster.split('/');
const { token } = await issueToken(values.store, values.cluster, new Date());

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const vmHWM = (pid) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

async function firstOk(url, headers, started, deadline) {
  for (;;) {
    try {
      const t = performance.now();
      const res = await fetch(url, { headers });
      const body = await res.text();
      if (res.status === 200) return { at: (performance.now() - started) / 1000, latency: (performance.now() - t) / 1000, body };
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${url}: no 200 within the deadline`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rows = [];
for (let run = 0; run < Number(values.runs); run++) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin', 'sveltos-airgap'), 'serve', '--store', values.store, '--listen', `127.0.0.1:${port}`, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const deadline = started + 300_000;
    const auth = { Authorization: `Bearer ${token}` };
    const [v2, list] = await Promise.all([
      firstOk(`${base}/v2/`, {}, started, deadline),
      firstOk(`${base}/apis/lib.projectsveltos.io/v1beta1/namespaces/${namespace}/configurationgroups`, auth, started, deadline),
    ]);
    const items = JSON.parse(list.body).items.length;
    const t = performance.now();
    await (await fetch(`${base}/apis/lib.projectsveltos.io/v1beta1/namespaces/${namespace}/configurationgroups`, { headers: auth })).text();
    const again = (performance.now() - t) / 1000;
    rows.push({ v2: v2.at, list: list.at, items, listAgain: again, peakRss: vmHWM(child.pid) });
    process.stderr.write(`run ${run + 1}: /v2/ ${v2.at.toFixed(2)} s, list (${items} groups) ${list.at.toFixed(2)} s, next list ${(again * 1000).toFixed(1)} ms, VmHWM ${(rows.at(-1).peakRss / 2 ** 20).toFixed(0)} MiB\n`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}
const median = (k) => {
  const s = rows.map((r) => r[k]).sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(JSON.stringify({ runs: rows, median: { v2: median('v2'), list: median('list'), listAgain: median('listAgain'), peakRss: median('peakRss') } }));
