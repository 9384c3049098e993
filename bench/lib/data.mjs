// Deterministic benchmark data: an incompressible byte stream and small random choices, both derived
// from a seed, and an OCI image layout of many gzip layers written from them without holding a layer
// in memory.
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

const CHUNK = 1 << 20;
const ZEROS = Buffer.alloc(CHUNK);

/** keyOf derives 32 bytes from a seed and a label. */
function keyOf(seed, label) {
  return createHash('sha256').update(`${seed}/${label}`).digest();
}

/**
 * byteStream yields `bytes` incompressible bytes for (seed, label): the AES-128-CTR keystream of a key
 * derived from them. It runs at memory speed (AES-NI) and holds one chunk at a time.
 */
export function* byteStream(seed, label, bytes, chunk = CHUNK) {
  const cipher = createCipheriv('aes-128-ctr', keyOf(seed, label).subarray(0, 16), Buffer.alloc(16));
  for (let left = bytes; left > 0; left -= chunk) {
    const n = Math.min(chunk, left);
    yield cipher.update(n === ZEROS.length ? ZEROS : Buffer.alloc(n));
  }
}

/** rng returns a seeded PRNG (sfc32) giving floats in [0, 1), for sizes, labels and choices. */
export function rng(seed, label = 'rng') {
  const k = keyOf(seed, label);
  let a = k.readUInt32LE(0), b = k.readUInt32LE(4), c = k.readUInt32LE(8), d = k.readUInt32LE(12);
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return (r >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
const STORED_MAX = 65535;

/**
 * writeGzipLayer writes `payload` chunks to `fd` as a gzip member of stored (uncompressed) deflate
 * blocks: valid gzip that tools recognise as compressed and pass through unchanged, at the cost of
 * 5 bytes per 64 KiB. Returns the compressed digest and size and the payload digest (diff ID).
 */
function writeGzipLayer(fd, chunks) {
  const out = createHash('sha256');
  const diff = createHash('sha256');
  let size = 0;
  let crc = 0;
  let isize = 0;
  const emit = (buf) => {
    out.update(buf);
    writeSync(fd, buf);
    size += buf.length;
  };
  emit(GZIP_HEADER);
  let pending = null;
  const flush = (last) => {
    // One output buffer per input chunk: block headers interleaved with 64 KiB slices.
    const buf = pending;
    const blocks = Math.max(1, Math.ceil(buf.length / STORED_MAX));
    const outBuf = Buffer.allocUnsafe(buf.length + blocks * 5);
    let o = 0;
    for (let i = 0; i < blocks; i++) {
      const part = buf.subarray(i * STORED_MAX, Math.min(buf.length, (i + 1) * STORED_MAX));
      outBuf[o] = last && i === blocks - 1 ? 1 : 0;
      outBuf.writeUInt16LE(part.length, o + 1);
      outBuf.writeUInt16LE(part.length ^ 0xffff, o + 3);
      part.copy(outBuf, o + 5);
      o += 5 + part.length;
    }
    emit(outBuf.subarray(0, o));
  };
  for (const chunk of chunks) {
    diff.update(chunk);
    crc = crc32(chunk, crc);
    isize = (isize + chunk.length) % 4294967296;
    if (pending) flush(false);
    pending = chunk;
  }
  pending ??= Buffer.alloc(0);
  flush(true);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(isize, 4);
  emit(trailer);
  return { digest: `sha256:${out.digest('hex')}`, size, diffID: `sha256:${diff.digest('hex')}` };
}

function writeBlob(dir, data) {
  const hex = createHash('sha256').update(data).digest('hex');
  writeFileSync(join(dir, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** layerSizes splits `bytes` into `layers` seeded sizes (between 0.25x and 1.75x of the mean). */
export function layerSizes(seed, bytes, layers) {
  const r = rng(seed, 'layer-sizes');
  const weights = Array.from({ length: layers }, () => 0.25 + 1.5 * r());
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((w / sum) * bytes)));
  sizes[sizes.length - 1] += bytes - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

export const IMAGE_TAG = 'v1';

/**
 * writeImageLayout writes an OCI image layout at `dir`: one image (tag `v1`) of `layers` gzip layers
 * carrying `bytes` of seeded incompressible data in total. The result is cached: a layout with a
 * matching `bench.json` is reused.
 */
export function writeImageLayout(dir, { seed, bytes, layers }) {
  const stamp = join(dir, 'bench.json');
  const want = JSON.stringify({ seed, bytes, layers, version: 1 });
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return JSON.parse(readFileSync(join(dir, 'image.json'), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const layerDescs = [];
  const diffIDs = [];
  for (const [i, n] of layerSizes(seed, bytes, layers).entries()) {
    const tmp = join(dir, 'blobs', 'sha256', `layer-${i}.tmp`);
    const fd = openSync(tmp, 'w');
    let res;
    try {
      res = writeGzipLayer(fd, byteStream(seed, `layer-${i}`, n));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, 'blobs', 'sha256', res.digest.slice(7)));
    layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: res.digest, size: res.size });
    diffIDs.push(res.diffID);
  }
  const config = writeBlob(dir, Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: diffIDs },
  })));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layerDescs,
  };
  const m = writeBlob(dir, Buffer.from(JSON.stringify(manifest)));
  const root = { mediaType: manifest.mediaType, ...m };
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ ...root, annotations: { 'org.opencontainers.image.ref.name': IMAGE_TAG } }],
  }));
  const image = { root, layers: layerDescs.length, bytes: layerDescs.reduce((a, l) => a + l.size, 0) + config.size + m.size };
  writeFileSync(join(dir, 'image.json'), JSON.stringify(image));
  writeFileSync(stamp, want);
  return image;
}
