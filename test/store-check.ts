// Consistency checks of a site store, as the crash-safety and disk-full tests need them: every visible blob
// matches its digest, state.json parses and everything it references is present, and the registry serves it.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { FileBody, MemoryBody } from '../src/registry/server/file-body.js';
import type { Reply } from '../src/registry/server/handler.js';
import { readState } from '../src/bundle/site.js';
import { successorsOf, isGraphNode } from '../src/content/graph.js';
import type { Descriptor } from '../src/model/oci.js';
import { createSiteHandler, type SiteHandler } from '../src/serve/site-handler.js';

const HEX = /^[a-f0-9]{64}$/;

/** badBlobs lists the files under `dir/blobs/sha256/` whose content does not hash to their name. */
export async function badBlobs(dir: string): Promise<string[]> {
  const bad: string[] = [];
  let names: string[] = [];
  try {
    names = await readdir(join(dir, 'blobs', 'sha256'));
  } catch {
    return bad;
  }
  for (const name of names) {
    const data = await readFile(join(dir, 'blobs', 'sha256', name));
    if (!HEX.test(name) || createHash('sha256').update(data).digest('hex') !== name) bad.push(name);
  }
  return bad;
}

/** storeProblems checks the invariants a store keeps at every instant, crashes included. */
export async function storeProblems(store: string): Promise<string[]> {
  const problems = [...(await badBlobs(store)).map((n) => `blobs/sha256/${n}: content does not match its name`)];
  problems.push(...(await badBlobs(join(store, 'staging'))).map((n) => `staging/blobs/sha256/${n}: content does not match its name`));
  let state;
  try {
    state = await readState(store);
  } catch (err) {
    return [...problems, `state.json: ${(err as Error).message}`];
  }
  JSON.parse(await readFile(join(store, 'index.json'), 'utf8'));
  // Everything state.json references is complete in blobs/.
  const queue: Descriptor[] = [...Object.values(state.refs), ...state.history.flatMap((h) => [h.root, h.signature, ...h.manifests])];
  const seen = new Set<string>();
  while (queue.length) {
    const d = queue.pop()!;
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    let data: Buffer;
    try {
      data = await readFile(join(store, 'blobs', 'sha256', d.digest.slice(7)));
    } catch {
      problems.push(`${d.digest}: referenced by state.json but not in blobs/`);
      continue;
    }
    if (isGraphNode(d)) queue.push(...successorsOf(d, data));
  }
  for (const name of await readdir(store)) {
    if (!['blobs', 'staging', 'state.json', 'index.json', 'oci-layout', '.import.lock', 'agent', 'tls'].includes(name) && !/^\..+\.tmp$/.test(name)) problems.push(`${name}: unexpected entry in the store`);
  }
  return problems;
}

function request(url: string, token: string): IncomingMessage {
  return { method: 'GET', url, headers: { authorization: `Bearer ${token}` } } as IncomingMessage;
}

async function bodyOf(body: Reply['body']): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  if (body instanceof FileBody || body instanceof MemoryBody) {
    // A file body's buffers are reused once a write is done: keep copies.
    const chunks: Buffer[] = [];
    await body.writeTo(
      new Writable({
        write(c: Buffer, _enc, done) {
          chunks.push(Buffer.from(c));
          done();
        },
      }),
    );
    await body.close();
    return Buffer.concat(chunks);
  }
  return Buffer.isBuffer(body) ? body : Buffer.concat(await body.toArray());
}

/**
 * served fetches `repo:tag` from the store's registry handler (as `serve` would answer a cluster's agent,
 * whose `token` it passes) with every blob it references, checking each digest; it returns the manifest
 * digest, or throws saying what failed.
 */
export async function served(store: string, repo: string, tag: string, token: string): Promise<string> {
  const handler = await createSiteHandler(store, { agentApi: false });
  try {
    return await fetchChecked(handler, repo, tag, token);
  } finally {
    await handler.close();
  }
}

async function fetchChecked(handler: SiteHandler, repo: string, tag: string, token: string): Promise<string> {
  const m = await handler(request(`/v2/${repo}/manifests/${tag}`, token));
  const body = await bodyOf(m.body);
  if (m.status !== 200) throw new Error(`${repo}:${tag}: manifest: HTTP ${m.status}: ${body.toString()}`);
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (digest !== m.headers['Docker-Content-Digest']) throw new Error(`${repo}:${tag}: manifest digest ${digest} does not match its header`);
  const manifest = JSON.parse(body.toString()) as { config: Descriptor; layers: Descriptor[] };
  for (const d of [manifest.config, ...manifest.layers]) {
    const r = await handler(request(`/v2/${repo}/blobs/${d.digest}`, token));
    const data = await bodyOf(r.body);
    if (r.status !== 200) throw new Error(`${repo}:${tag}: blob ${d.digest}: HTTP ${r.status}`);
    if (`sha256:${createHash('sha256').update(data).digest('hex')}` !== d.digest) throw new Error(`${repo}:${tag}: blob ${d.digest}: wrong content`);
  }
  return digest;
}
