// The read-only registry against real HTTP: headers, ranges, pagination, referrers, errors, isolation.
import { chmod, mkdtemp, open as openFile, readdir, readlink, rm, truncate } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../content/digest.js';
import { MemoryTarget } from '../../content/memory.js';
import { HotBlobs } from './hot-blobs.js';
import { OciLayoutStore } from '../../content/oci-layout/store.js';
import { MEDIA_TYPE_IMAGE_MANIFEST, type Descriptor } from '../../model/oci.js';
import { createRegistryHandler } from './handler.js';
import { startServer, type RunningServer } from './http.js';
import { parseRange } from './oci-routes.js';

async function put(store: MemoryTarget | OciLayoutStore, mediaType: string, data: Buffer | string): Promise<Descriptor> {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const d = { mediaType, digest: sha256(buf), size: buf.length };
  await store.push(d, Readable.from([buf]));
  return d;
}

let server: RunningServer;
let layer: Descriptor;
let manifest: Descriptor;
let referrer: Descriptor;
let other: Descriptor;
const layerData = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));

beforeAll(async () => {
  const store = new MemoryTarget();
  layer = await put(store, 'application/vnd.oci.image.layer.v1.tar', layerData);
  const config = await put(store, 'application/vnd.oci.image.config.v1+json', '{}');
  manifest = await put(store, MEDIA_TYPE_IMAGE_MANIFEST, JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config, layers: [layer] }));
  referrer = await put(store, MEDIA_TYPE_IMAGE_MANIFEST, JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, artifactType: 'application/x-sig', config, layers: [], subject: manifest }));
  const otherLayer = await put(store, 'application/octet-stream', 'secret of another repository');
  other = await put(store, MEDIA_TYPE_IMAGE_MANIFEST, JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config, layers: [otherLayer] }));
  for (const t of ['a', 'b', 'c']) await store.tag(manifest, `team/app:${t}`);
  await store.tag(other, 'team/other:v1');
  server = await startServer(createRegistryHandler(store), { host: '127.0.0.1', port: 0 });
});
afterAll(() => server.close());

const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field below
const body = async (r: Response): Promise<any> => r.json();

describe('registry routes', () => {
  it('answers /v2/ with the API version header', async () => {
    const r = await get('/v2/');
    expect(r.status).toBe(200);
    expect(r.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('serves manifests by tag and digest with digest, type and length headers; HEAD has no body', async () => {
    for (const ref of ['a', manifest.digest]) {
      const r = await get(`/v2/team/app/manifests/${ref}`);
      expect(r.status).toBe(200);
      const body = Buffer.from(await r.arrayBuffer());
      expect(sha256(body)).toBe(manifest.digest);
      expect(r.headers.get('docker-content-digest')).toBe(manifest.digest);
      expect(r.headers.get('content-type')).toBe(MEDIA_TYPE_IMAGE_MANIFEST);
      expect(r.headers.get('content-length')).toBe(String(manifest.size));
    }
    const h = await get('/v2/team/app/manifests/a', { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(h.headers.get('content-length')).toBe(String(manifest.size));
    expect((await h.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves blobs whole and by range', async () => {
    const whole = await get(`/v2/team/app/blobs/${layer.digest}`);
    expect(Buffer.from(await whole.arrayBuffer())).toEqual(layerData);
    const part = await get(`/v2/team/app/blobs/${layer.digest}`, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${layerData.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(layerData.subarray(100, 200));
    const bad = await get(`/v2/team/app/blobs/${layer.digest}`, { headers: { Range: 'bytes=9000-' } });
    expect(bad.status).toBe(416);
    expect((await body(bad)).errors[0].code).toBe('RANGE_INVALID');
  });

  it('lists tags with pagination', async () => {
    expect(await body(await get('/v2/team/app/tags/list'))).toEqual({ name: 'team/app', tags: ['a', 'b', 'c'] });
    const page = await get('/v2/team/app/tags/list?n=2');
    expect((await body(page)).tags).toEqual(['a', 'b']);
    expect(page.headers.get('link')).toBe('</v2/team/app/tags/list?n=2&last=b>; rel="next"');
    expect((await body(await get('/v2/team/app/tags/list?n=2&last=b'))).tags).toEqual(['c']);
  });

  it('lists referrers, filtered by artifactType', async () => {
    const idx = await body(await get(`/v2/team/app/referrers/${manifest.digest}`));
    expect(idx.manifests.map((d: Descriptor) => [d.digest, d.artifactType])).toEqual([[referrer.digest, 'application/x-sig']]);
    const none = await get(`/v2/team/app/referrers/${manifest.digest}?artifactType=application/other`);
    expect(none.headers.get('oci-filters-applied')).toBe('artifactType');
    expect((await body(none)).manifests).toEqual([]);
  });

  it('does not let one repository name read another repository\'s content', async () => {
    const r = await get(`/v2/team/app/manifests/${other.digest}`);
    expect(r.status).toBe(404);
    expect((await body(r)).errors[0].code).toBe('MANIFEST_UNKNOWN');
    expect((await get(`/v2/team/other/manifests/${other.digest}`)).status).toBe(200);
  });

  it.each([
    ['PUT', '/v2/team/app/manifests/a', 405, 'UNSUPPORTED'],
    ['DELETE', `/v2/team/app/blobs/${'sha256:' + 'a'.repeat(64)}`, 405, 'UNSUPPORTED'],
    ['POST', '/v2/team/app/blobs/uploads/', 405, 'UNSUPPORTED'],
    ['GET', '/v2/nope/manifests/a', 404, 'NAME_UNKNOWN'],
    ['GET', '/v2/team/app/manifests/zzz', 404, 'MANIFEST_UNKNOWN'],
    ['GET', '/v2/team/app/manifests/sha256:abc', 400, 'DIGEST_INVALID'],
    ['GET', `/v2/team/app/blobs/sha256:${'b'.repeat(64)}`, 404, 'BLOB_UNKNOWN'],
    ['GET', '/v2/Team/App/tags/list', 400, 'NAME_INVALID'],
    ['GET', '/v2/team/app/manifests/bad%20tag', 400, 'TAG_INVALID'],
    ['GET', '/elsewhere', 404, 'UNSUPPORTED'],
  ])('%s %s -> %i %s', async (method, path, status, code) => {
    const r = await get(path, { method });
    expect(r.status).toBe(status);
    expect((await body(r)).errors[0].code).toBe(code);
  });
});

describe('parseRange', () => {
  it.each([
    ['bytes=0-9', 100, { start: 0, end: 9 }],
    ['bytes=90-', 100, { start: 90, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=50-500', 100, { start: 50, end: 99 }],
    ['bytes=100-', 100, 'invalid'],
    ['bytes=5-1', 100, 'invalid'],
    ['bytes=0-1,3-4', 100, 'invalid'],
    ['items=0-1', 100, 'invalid'],
  ] as const)('%s of %i', (h, size, want) => {
    expect(parseRange(h, size)).toEqual(want);
  });
});

describe('blob verification while serving', () => {
  it('cuts the transfer short when stored bytes do not match their digest, every time', async () => {
    const store = new MemoryTarget();
    const good = Buffer.alloc(100_000, 1);
    const d = await put(store, 'application/octet-stream', good);
    const config = await put(store, 'application/vnd.oci.image.config.v1+json', '{"x":1}');
    const m = await put(store, MEDIA_TYPE_IMAGE_MANIFEST, JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config, layers: [d] }));
    await store.tag(m, 'rot/app:v1');
    // Bit rot after the blob was stored: the store now returns other bytes for the same digest.
    const fetchOrig = store.fetch.bind(store);
    store.fetch = async (desc, o) => (desc.digest === d.digest ? Readable.from([Buffer.alloc(100_000, 2)]) : fetchOrig(desc, o));
    const s = await startServer(createRegistryHandler(store), { host: '127.0.0.1', port: 0 });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`${s.url}/v2/rot/app/blobs/${d.digest}`);
        await expect(r.arrayBuffer()).rejects.toThrow();
      }
    } finally {
      await s.close();
    }
  });
});

describe('concurrent blob downloads from a layout on disk', () => {
  // Larger than one serving read (2 MiB), and not a multiple of it.
  const big = Buffer.from(Array.from({ length: 5 * 1024 * 1024 + 123 }, (_, i) => (i * 7 + (i >> 12)) % 256));
  let dir: string;
  let s: RunningServer;
  let good: Descriptor;
  let rotten: Descriptor;
  let shrunk: Descriptor;
  let hot: Descriptor[];
  let store: OciLayoutStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oci-routes-'));
    store = await OciLayoutStore.open(dir, { create: true });
    good = await put(store, 'application/octet-stream', big);
    rotten = await put(store, 'application/octet-stream', Buffer.concat([big, Buffer.from('other')]));
    shrunk = await put(store, 'application/octet-stream', Buffer.concat([big, Buffer.from('third')]));
    hot = [];
    // Larger than what the kernel buffers on a loopback connection whose reader pauses.
    for (const tail of ['hot-0', 'hot-1', 'hot-2']) hot.push(await put(store, 'application/octet-stream', Buffer.concat([Buffer.alloc(24 * 1024 * 1024, 'sveltos'), Buffer.from(tail)])));
    const config = await put(store, 'application/vnd.oci.image.config.v1+json', '{}');
    const m = await put(store, MEDIA_TYPE_IMAGE_MANIFEST, JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config, layers: [good, rotten, shrunk, ...hot] }));
    await store.tag(m, 'disk/app:v1');
    // Bit rot in one stored blob after it was verified and stored: one byte in the middle flips.
    const path = store.blobFile(rotten);
    await chmod(path, 0o644);
    const fh = await openFile(path, 'r+');
    await fh.write(Buffer.from([big[3_000_000]! ^ 0xff]), 0, 1, 3_000_000);
    await fh.close();
    s = await startServer(createRegistryHandler(store), { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await s?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const download = async (d: Descriptor) => Buffer.from(await (await fetch(`${s.url}/v2/disk/app/blobs/${d.digest}`)).arrayBuffer());

  it('gives every one of 8 clients the same correct bytes, while the blob is first checked and after', async () => {
    for (let round = 0; round < 2; round++) {
      const got = await Promise.all(Array.from({ length: 8 }, () => download(good)));
      for (const b of got) expect(sha256(b)).toBe(good.digest);
    }
  });

  it('cuts every concurrent download of a damaged blob short, on every attempt', async () => {
    for (let round = 0; round < 2; round++) {
      const got = await Promise.allSettled(Array.from({ length: 8 }, () => download(rotten)));
      for (const r of got) expect(r.status).toBe('rejected');
    }
  });

  // Two requests written at once on one connection: the second reply waits behind the first (no socket of
  // its own yet) and must still come whole and in order.
  it('answers pipelined requests on one connection in order, whole', async () => {
    await download(good); // checked: both replies are read straight from the file
    const { port } = new URL(s.url);
    const sock = connect(Number(port), '127.0.0.1');
    const path = `/v2/disk/app/blobs/${good.digest}`;
    sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\nGET ${path} HTTP/1.1\r\nHost: x\r\nRange: bytes=10-2097160\r\n\r\n`);
    const received: Buffer[] = [];
    let total = 0;
    const head = (from: number, all: Buffer): { status: number; length: number; bodyAt: number } | undefined => {
      const end = all.indexOf('\r\n\r\n', from);
      if (end < 0) return undefined;
      const text = all.subarray(from, end).toString();
      return { status: Number(text.split(' ')[1]), length: Number(/content-length: (\d+)/i.exec(text)![1]), bodyAt: end + 4 };
    };
    const replies = await new Promise<Array<{ status: number; body: Buffer }>>((resolve, reject) => {
      sock.on('error', reject);
      sock.on('data', (c: Buffer) => {
        received.push(c);
        total += c.length;
        const all = Buffer.concat(received, total);
        const first = head(0, all);
        if (!first || all.length < first.bodyAt + first.length) return;
        const second = head(first.bodyAt + first.length, all);
        if (!second || all.length < second.bodyAt + second.length) return;
        resolve([
          { status: first.status, body: all.subarray(first.bodyAt, first.bodyAt + first.length) },
          { status: second.status, body: all.subarray(second.bodyAt, second.bodyAt + second.length) },
        ]);
      });
    });
    sock.destroy();
    expect(replies.map((r) => r.status)).toEqual([200, 206]);
    expect(sha256(replies[0]!.body)).toBe(good.digest);
    expect(replies[1]!.body.equals(big.subarray(10, 2097161))).toBe(true);
  });

  it('keeps serving, and closes the files, after clients leave in the middle of a download', async () => {
    await download(good);
    // Handles of this process open on the blob's file.
    const blobFile = join(dir, 'blobs', 'sha256', good.digest.slice(7));
    const openFiles = async () => {
      let n = 0;
      for (const fd of await readdir('/proc/self/fd')) if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === blobFile) n++;
      return n;
    };
    const before = await openFiles();
    for (let i = 0; i < 6; i++) {
      const ctl = new AbortController();
      const r = await fetch(`${s.url}/v2/disk/app/blobs/${good.digest}`, { signal: ctl.signal });
      const reader = r.body!.getReader();
      await reader.read(); // the first bytes arrived: the download is under way
      ctl.abort();
      await reader.read().catch(() => undefined);
    }
    expect(sha256(await download(good))).toBe(good.digest);
    // Closing follows the connection's close: give it a moment (a leaked handle is only closed by the
    // garbage collector, seconds later if ever).
    for (let i = 0; i < 50 && (await openFiles()) > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await openFiles()).toBe(before);
  });

  it('cuts the download short when the file of a checked blob was truncated since', async () => {
    expect(sha256(await download(shrunk))).toBe(shrunk.digest);
    const path = join(dir, 'blobs', 'sha256', shrunk.digest.slice(7));
    await chmod(path, 0o644);
    await truncate(path, 3_000_000);
    await expect(download(shrunk)).rejects.toThrow();
  });

  // A blob several clients download at once is read into memory once (hot-blobs.ts), while they are written
  // from its file: later downloads are written from memory, so they are whole even after its file is cut
  // short. Without the memory (--blob-memory 0), or for a blob larger than half of it, every download reads
  // the file.
  it('writes a blob several clients download at once from memory, within the memory it is given', async () => {
    const memory = new HotBlobs();
    const handlers = [createRegistryHandler(store, { hotBlobs: memory }), createRegistryHandler(store, { hotBlobBytes: 0 }), createRegistryHandler(store, { hotBlobBytes: 32 * 1024 * 1024 })];
    const servers = await Promise.all(handlers.map((h) => startServer(h, { host: '127.0.0.1', port: 0 })));
    const from = (server: RunningServer, d: Descriptor) => fetch(`${server.url}/v2/disk/app/blobs/${d.digest}`).then(async (r) => Buffer.from(await r.arrayBuffer()));
    // hold starts a download and stops reading it after its first bytes: it stays under way meanwhile.
    const hold = (server: RunningServer, d: Descriptor) =>
      new Promise<ReturnType<typeof connect>>((resolve, reject) => {
        const sock = connect(Number(new URL(server.url).port), '127.0.0.1');
        sock.on('error', reject);
        sock.once('data', () => resolve(sock.pause()));
        sock.write(`GET /v2/disk/app/blobs/${d.digest} HTTP/1.1\r\nHost: x\r\n\r\n`);
      });
    try {
      for (const [i, server] of servers.entries()) {
        const d = hot[i]!;
        expect(sha256(await from(server, d))).toBe(d.digest); // checked
        const held = await hold(server, d);
        try {
          const got = await Promise.all(Array.from({ length: 4 }, () => from(server, d)));
          for (const b of got) expect(sha256(b)).toBe(d.digest);
        } finally {
          held.destroy();
        }
        await memory.settled();
        const path = join(dir, 'blobs', 'sha256', d.digest.slice(7));
        await chmod(path, 0o644);
        await truncate(path, 3_000_000);
      }
      expect(memory.bytesHeld).toBe(hot[0]!.size);
      expect(sha256(await from(servers[0]!, hot[0]!))).toBe(hot[0]!.digest);
      await expect(from(servers[1]!, hot[1]!)).rejects.toThrow();
      await expect(from(servers[2]!, hot[2]!)).rejects.toThrow();
    } finally {
      await Promise.all(servers.map((x) => x.close()));
    }
  });

  it('serves ranges of a blob as stored', async () => {
    const r = await fetch(`${s.url}/v2/disk/app/blobs/${good.digest}`, { headers: { Range: 'bytes=2097150-4194305' } });
    expect(r.status).toBe(206);
    expect(Buffer.from(await r.arrayBuffer()).equals(big.subarray(2097150, 4194306))).toBe(true);
  });
});
