#!/usr/bin/env node
// The end-to-end demo on the bundled samples: keygen, export, inspect, verify, import, serve, and a
// client check that pulls every cluster's configuration artifact from the registry and checks digests.
// Needs only Node.js: run with `npm run demo` (which builds first).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'sveltos-airgap');
const work = await mkdtemp(join(tmpdir(), 'sveltos-airgap-demo-'));
const keep = process.argv.includes('--keep');

function step(title) {
  process.stderr.write(`\n== ${title}\n`);
}

function cli(args, { capture = false } = {}) {
  process.stderr.write(`$ sveltos-airgap ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`sveltos-airgap ${args[0]} exited with ${code}`))));
  });
}

function startServe(store) {
  process.stderr.write(`$ sveltos-airgap serve --store ${store} --listen 127.0.0.1:0\n`);
  const child = spawn(process.execPath, [bin, 'serve', '--store', store, '--listen', '127.0.0.1:0', '--output', 'json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      try {
        resolve({ child, url: JSON.parse(out).url });
      } catch {
        // wait for the whole JSON document
      }
    });
    child.on('close', (code) => reject(new Error(`serve exited early with ${code}`)));
  });
}

async function pull(url, repo, ref, token) {
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
  const auth = { Authorization: `Bearer ${token}` };
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: accept, ...auth } });
  if (!res.ok) throw new Error(`GET ${repo}:${ref}: HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (digest !== res.headers.get('docker-content-digest')) throw new Error(`${repo}:${ref}: digest mismatch`);
  const manifest = JSON.parse(body.toString());
  const layers = [];
  for (const d of [manifest.config, ...manifest.layers]) {
    const b = Buffer.from(await (await fetch(`${url}/v2/${repo}/blobs/${d.digest}`, { headers: auth })).arrayBuffer());
    if (`sha256:${createHash('sha256').update(b).digest('hex')}` !== d.digest) throw new Error(`${d.digest}: digest mismatch`);
    layers.push(b);
  }
  return { digest, config: JSON.parse(layers[0].toString()), layers: layers.slice(1) };
}

let server;
try {
  const key = join(work, 'signing');
  const bundle = join(work, 'bundle.tar');
  const store = join(work, 'store');

  step('1. connected side: make a signing key and export the sample fleet');
  await cli(['keygen', '--out', key]);
  await cli(['export', '--from', join(root, 'samples', 'fleet'), '--key', `${key}.key`, '--out', bundle, '--sequence', '1', '--expires', '30d']);
  await cli(['inspect', bundle]);

  step('2. air-gapped side: verify offline, then import');
  await cli(['verify', bundle, '--key', `${key}.pub`]);
  await cli(['import', bundle, '--store', store, '--key', `${key}.pub`]);

  step('3. serve the store; each cluster\'s agent reads its objects with its own token');
  server = await startServe(store);
  const state = JSON.parse(await cli(['inspect', bundle, '--output', 'json'], { capture: true }));
  const tokens = new Map();
  for (const c of state.clusters) {
    const kubeconfig = await cli(['agent-kubeconfig', '--store', store, '--cluster', c.cluster, '--server', server.url], { capture: true });
    tokens.set(c.cluster, /token: (\S+)/.exec(kubeconfig)[1]);
  }
  for (const c of state.clusters) {
    const [ns, name] = c.cluster.split('/');
    const token = tokens.get(c.cluster);
    // What the pull agent does: list its ConfigurationGroups by label, then get each referenced bundle.
    const api = `${server.url}/apis/lib.projectsveltos.io/v1beta1/namespaces/${ns}`;
    const get = async (path) => {
      const res = await fetch(`${api}/${path}`, { headers: { Authorization: `Bearer ${token}` } });
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
      return res.json();
    };
    const groups = await get(`configurationgroups?labelSelector=${encodeURIComponent(`pullmode.projectsveltos.io/clustername=${name}`)}`);
    let objects = 0;
    for (const g of groups.items) {
      for (const item of g.spec.configurationItem ?? []) objects += (await get(`configurationbundles/${item.contentRef.name}`)).spec.resources?.length ?? 0;
    }
    // The same content through the registry, digests checked.
    const art = await pull(server.url, `sveltos-airgap/clusters/${c.cluster}`, 'latest', token);
    const carried = art.layers.flatMap((l) => parseAllDocuments(l.toString()).map((d) => d.toJS())).filter((o) => o?.kind === 'ConfigurationGroup').length;
    if (carried !== groups.items.length) throw new Error(`${c.cluster}: the agent API serves ${groups.items.length} groups, the bundle carries ${carried}`);
    process.stderr.write(`  ${c.cluster}: ${groups.items.length} ConfigurationGroups with ${objects} objects via the agent API; artifact ${art.digest.slice(0, 19)}… digests verified\n`);
  }
  // Isolation: one cluster's token does not read another cluster's objects.
  const [first, second] = state.clusters.map((c) => c.cluster);
  if (first && second) {
    const [ns] = second.split('/');
    const res = await fetch(`${server.url}/apis/lib.projectsveltos.io/v1beta1/namespaces/${ns}/configurationgroups?labelSelector=${encodeURIComponent(`pullmode.projectsveltos.io/clustername=${second.split('/')[1]}`)}`, { headers: { Authorization: `Bearer ${tokens.get(first)}` } });
    const body = await res.json();
    const leaked = res.ok && body.items?.length > 0;
    if (leaked) throw new Error(`${first}'s token read ${second}'s groups`);
    process.stderr.write(`  ${first}'s token cannot read ${second}'s groups (HTTP ${res.status}${res.ok ? ', empty list' : ''})\n`);
  }
  process.stderr.write('\ndemo OK\n');
} catch (err) {
  process.stderr.write(`\ndemo FAILED: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  server?.child.kill('SIGTERM');
  if (keep) process.stderr.write(`work files kept in ${work}\n`);
  else await rm(work, { recursive: true, force: true });
}
