#!/usr/bin/env node
// Bench: 200 clusters' agents (simulated by concurrent watch clients) on one `serve`.
// Measures the time from an import's commit (state.json renamed into place) to the watch event reaching
// every agent, over several imports, and list throughput. Runs against the built CLI (npm run build).
//
//   node bench/agent-api.mjs [--clusters 200] [--rounds 5] [--list-seconds 5] [--list-concurrency 32]
//
// Prints one JSON object on stdout; progress goes to stderr. Loopback only; every loop is bounded.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', p));
const { packBundle } = await dist('bundle/pack.js');
const { KeySigner } = await dist('bundle/sign.js');
const { generateKeyPair, loadPrivateKey } = await dist('bundle/keys.js');
const { issueToken } = await dist('agent-api/tokens.js');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
// Run by bench/run.mjs (`--json`): rows in its format; --quick means 50 clusters and 3 rounds.
const HARNESS = args.includes('--json');
const QUICK = args.includes('--quick');
const CLUSTERS = opt('clusters', QUICK ? 50 : 200);
const ROUNDS = opt('rounds', QUICK ? 3 : 5);
const LIST_SECONDS = opt('list-seconds', 5);
const LIST_CONCURRENCY = opt('list-concurrency', 32);
const CLUSTERS_PER_NAMESPACE = 10;
const WAIT_MS = 30_000;
const log = (m) => process.stderr.write(`[agent-api bench] ${m}\n`);

const clusters = Array.from({ length: CLUSTERS }, (_, i) => ({ namespace: `site-${Math.floor(i / CLUSTERS_PER_NAMESPACE)}`, name: `cluster-${i}` }));

function groupYaml(c, profile, version) {
  const labels = {
    'pullmode.projectsveltos.io/clustername': c.name,
    'pullmode.projectsveltos.io/requestorkind': 'ClusterSummary',
    'pullmode.projectsveltos.io/requestorfeature': 'Resources',
  };
  const requestor = `${profile}-sveltos-${c.name}`;
  const bundle = {
    apiVersion: 'lib.projectsveltos.io/v1beta1',
    kind: 'ConfigurationBundle',
    metadata: { name: `config-${profile}-${c.name}-b1`, namespace: c.namespace, labels, annotations: { 'pullmode.projectsveltos.io/requestorname': requestor } },
    spec: { resources: [`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${profile}\n  namespace: default\ndata:\n  version: "${version}"\n  cluster: ${c.name}\n`] },
    status: { hash: Buffer.from(`${profile}-${version}`).toString('base64') },
  };
  const group = {
    apiVersion: 'lib.projectsveltos.io/v1beta1',
    kind: 'ConfigurationGroup',
    metadata: { name: `config-${profile}-${c.name}`, namespace: c.namespace, labels, annotations: { 'pullmode.projectsveltos.io/requestorname': requestor } },
    spec: {
      action: 'Deploy',
      updatePhase: 'Ready',
      tier: 100,
      requestorHash: Buffer.from(`${profile}-${version}`).toString('base64'),
      configurationItem: [{ contentRef: { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationBundle', namespace: c.namespace, name: bundle.metadata.name }, hash: bundle.status.hash }],
    },
  };
  return { name: group.metadata.name, feature: 'Resources', requestor, yaml: `---\n${stringify(group)}---\n${stringify(bundle)}` };
}

function runCli(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'sveltos-airgap'), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`sveltos-airgap ${argv[0]} exited ${code}: ${err}`))));
  });
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const work = await mkdtemp(join(tmpdir(), 'sveltos-airgap-bench-'));
let server;
try {
  const pair = generateKeyPair();
  await writeFile(join(work, 'signing.pub'), pair.publicKeyPem);
  const signer = new KeySigner(loadPrivateKey(pair.privateKeyPem));
  const store = join(work, 'store');
  const now = Date.now();
  const pack = async (sequence) => {
    const out = join(work, `bundle-${sequence}.tar`);
    await packBundle({
      clusters: clusters.map((c) => ({
        namespace: c.namespace,
        name: c.name,
        config: { namespace: c.namespace, name: c.name, labels: { env: 'bench' }, profiles: ['base', 'app'] },
        // The app profile changes with every sequence; base stays the same.
        groups: [groupYaml(c, 'base', 1), groupYaml(c, 'app', sequence)],
      })),
      signer,
      sequence,
      createdAt: new Date(now - 60_000),
      expiresAt: new Date(now + 86400_000),
      source: 'bench',
      out,
    });
    return out;
  };
  const importSeq = async (sequence) => {
    await runCli(['import', await pack(sequence), '--store', store, '--key', join(work, 'signing.pub'), '--quiet']);
    return (await stat(join(store, 'state.json'))).mtimeMs;
  };

  log(`importing sequence 1 for ${CLUSTERS} clusters`);
  await importSeq(1);
  const tokens = [];
  for (const c of clusters) tokens.push((await issueToken(store, `${c.namespace}/${c.name}`, new Date())).token);

  server = spawn(process.execPath, [join(root, 'bin', 'sveltos-airgap'), 'serve', '--store', store, '--listen', '127.0.0.1:0', '--output', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let serverErr = '';
  server.stderr.on('data', (d) => (serverErr += d));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      try {
        resolve(JSON.parse(out).url);
      } catch {
        /* wait for the whole JSON document */
      }
    });
    server.on('exit', (code) => reject(new Error(`serve exited ${code}: ${serverErr}`)));
  });
  const base = new URL(url);
  log(`serve is up at ${url}`);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  let failed = 0;

  const get = (path, token) =>
    new Promise((resolve, reject) => {
      const req = request({ host: base.hostname, port: base.port, path, agent, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end();
    });
  const groupsPath = (c) => `/apis/lib.projectsveltos.io/v1beta1/namespaces/${c.namespace}/configurationgroups?labelSelector=${encodeURIComponent(`pullmode.projectsveltos.io/clustername=${c.name}`)}`;

  // One watch per cluster, from the version its initial list returned (what an informer does).
  const arrivals = clusters.map(() => new Map()); // requestorHash -> receive time
  const watches = [];
  await Promise.all(
    clusters.map(async (c, i) => {
      const list = await get(groupsPath(c), tokens[i]);
      if (list.status !== 200) throw new Error(`list for ${c.name}: ${list.status} ${list.body}`);
      const rv = JSON.parse(list.body).metadata.resourceVersion;
      await new Promise((resolve, reject) => {
        const req = request({ host: base.hostname, port: base.port, path: `${groupsPath(c)}&watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`, agent, headers: { Authorization: `Bearer ${tokens[i]}` } }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`watch for ${c.name}: ${res.statusCode}`));
          let buf = '';
          res.on('data', (d) => {
            const t = Date.now();
            buf += d;
            let nl;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const ev = JSON.parse(buf.slice(0, nl));
              buf = buf.slice(nl + 1);
              if (ev.type === 'MODIFIED' && ev.object.metadata.name.startsWith('config-app-')) arrivals[i].set(ev.object.spec.requestorHash, t);
            }
          });
          res.on('error', () => failed++);
          resolve();
        });
        req.on('error', (e) => {
          failed++;
          reject(e);
        });
        watches.push(req);
        req.end();
      });
    }),
  );
  log(`${watches.length} watches open`);

  const latencies = [];
  const perRound = [];
  for (let r = 0; r < ROUNDS; r++) {
    const sequence = r + 2;
    const hash = Buffer.from(`app-${sequence}`).toString('base64');
    const committed = await importSeq(sequence);
    const deadline = Date.now() + WAIT_MS;
    while (arrivals.some((m) => !m.has(hash)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    const got = arrivals.filter((m) => m.has(hash)).map((m) => m.get(hash) - committed);
    const missing = CLUSTERS - got.length;
    failed += missing;
    latencies.push(...got);
    const sorted = [...got].sort((a, b) => a - b);
    perRound.push({ sequence, reached: got.length, missing, p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1] ?? null });
    log(`round ${r + 1}/${ROUNDS}: ${got.length}/${CLUSTERS} agents, max ${sorted[sorted.length - 1]} ms after commit`);
  }

  // List throughput: each request lists one cluster's groups with its own token.
  let listed = 0;
  const listLatencies = [];
  const stopAt = Date.now() + LIST_SECONDS * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: LIST_CONCURRENCY }, async (_, w) => {
      for (let k = w; Date.now() < stopAt; k += LIST_CONCURRENCY) {
        const i = k % CLUSTERS;
        const t0 = performance.now();
        const res = await get(groupsPath(clusters[i]), tokens[i]).catch(() => ({ status: 0 }));
        listLatencies.push(performance.now() - t0);
        if (res.status === 200) listed++;
        else failed++;
      }
    }),
  );
  const listSeconds = (Date.now() - started) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const listSorted = listLatencies.sort((a, b) => a - b);
  for (const w of watches) w.destroy();
  const result = {
    scenario: 'agent-api',
    clusters: CLUSTERS,
    watchers: watches.length,
    rounds: ROUNDS,
    propagation: {
      description: 'import commit (state.json mtime) to the MODIFIED watch event at each agent',
      samples: sorted.length,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted[sorted.length - 1] ?? null,
      perRound,
    },
    list: {
      concurrency: LIST_CONCURRENCY,
      requests: listLatencies.length,
      ok: listed,
      seconds: Number(listSeconds.toFixed(2)),
      perSecond: Number((listed / listSeconds).toFixed(1)),
      p50Ms: Number(percentile(listSorted, 50)?.toFixed(2)),
      p99Ms: Number(percentile(listSorted, 99)?.toFixed(2)),
    },
    failedRequests: failed,
    target: { p99Ms: 1000, failedRequests: 0 },
    pass: failed === 0 && (percentile(sorted, 99) ?? Infinity) < 1000,
  };
  if (HARNESS) {
    const rows = [
      { row: `agent API: import commit to the watch event at all ${CLUSTERS} agents, p99 (target < 1000 ms)`, unit: 'ms', better: 'lower', ours: result.propagation.p99Ms },
      { row: 'agent API: failed requests (target 0)', unit: 'requests', better: 'lower', ours: failed },
      { row: `agent API: lists/s, ${LIST_CONCURRENCY} concurrent clients`, unit: 'req/s', better: 'higher', ours: result.list.perSecond },
    ];
    process.stdout.write(`${JSON.stringify({ rows })}\n`);
  } else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  server?.kill('SIGTERM');
  await rm(work, { recursive: true, force: true });
}
