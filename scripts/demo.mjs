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

async function pull(url, repo, ref) {
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: accept } });
  if (!res.ok) throw new Error(`GET ${repo}:${ref}: HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (digest !== res.headers.get('docker-content-digest')) throw new Error(`${repo}:${ref}: digest mismatch`);
  const manifest = JSON.parse(body.toString());
  const layers = [];
  for (const d of [manifest.config, ...manifest.layers]) {
    const b = Buffer.from(await (await fetch(`${url}/v2/${repo}/blobs/${d.digest}`)).arrayBuffer());
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

  step('3. serve the store and check it as a client would');
  server = await startServe(store);
  const state = JSON.parse(await cli(['inspect', bundle, '--output', 'json'], { capture: true }));
  for (const c of state.clusters) {
    const art = await pull(server.url, `sveltos-airgap/clusters/${c.cluster}`, 'latest');
    const objects = art.layers.flatMap((l) => parseAllDocuments(l.toString()).map((d) => d.toJS()));
    const groups = objects.filter((o) => o?.kind === 'ConfigurationGroup').length;
    const bundles = objects.filter((o) => o?.kind === 'ConfigurationBundle').length;
    process.stderr.write(`  ${c.cluster}: ${art.digest.slice(0, 19)}… ${groups} ConfigurationGroups, ${bundles} ConfigurationBundles (digests verified)\n`);
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
