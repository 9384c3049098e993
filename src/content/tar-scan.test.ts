// Tar scanning: the layout rules of DESIGN.md §4, from a file and from a stream fed one byte per chunk.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { paxRecord, rawTar, type RawEntry } from '../../test/tar.js';
import { tempDir } from '../../test/helpers.js';
import { ContentError } from '../errors.js';
import { sha256 } from './digest.js';
import { TarWriter } from './tar-writer.js';
import { scanTar, scanTarFile, streamSource } from './tar-scan.js';

const blobData = Buffer.from('hello blob');
const blobName = `blobs/sha256/${sha256(blobData).slice(7)}`;
const layout = '{"imageLayoutVersion":"1.0.0"}';
const good: RawEntry[] = [
  { name: 'blobs/', typeflag: '5' },
  { name: 'blobs/sha256/', typeflag: '5' },
  { name: blobName, data: blobData },
  { name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' },
  { name: 'oci-layout', data: layout },
];

function oneBytePerChunk(buf: Buffer): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
  })());
}

async function scanBoth(buf: Buffer) {
  const dir = await tempDir();
  const file = join(dir, 'b.tar');
  await writeFile(file, buf);
  const results = await Promise.allSettled([scanTarFile(file, { source: 'b.tar' }), scanTar(streamSource(oneBytePerChunk(buf)), { source: 'b.tar' })]);
  return results;
}

describe('scanTar', () => {
  it('finds blobs and layout files at the same offsets from a file and from one-byte chunks', async () => {
    const [a, b] = await scanBoth(rawTar(good));
    expect(a.status).toBe('fulfilled');
    expect(b.status).toBe('fulfilled');
    if (a.status !== 'fulfilled' || b.status !== 'fulfilled') return;
    expect([...a.value.blobs]).toEqual([...b.value.blobs]);
    expect(a.value.blobs.get(sha256(blobData))).toMatchObject({ offset: 3 * 512, size: blobData.length });
    expect(a.value.files.get('oci-layout')?.size).toBe(layout.length);
  });

  it('reads what TarWriter writes, including "./" prefixes written by other tools', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const w = new TarWriter(out, { mtime: 1700000000 });
    await w.addDirectory('blobs/');
    await w.addFile(blobName, blobData.length, blobData);
    await w.finish();
    const [a] = await scanBoth(Buffer.concat(chunks));
    expect(a.status).toBe('fulfilled');
    const [c] = await scanBoth(rawTar([{ name: `./${blobName}`, data: blobData }]));
    expect(c.status).toBe('fulfilled');
  });

  it.each([
    { name: 'symlink', entries: [{ name: blobName, typeflag: '2', linkname: '/etc/passwd' }], code: 'INVALID_TAR', msg: /type symlink/ },
    { name: 'hard link', entries: [{ name: blobName, typeflag: '1', linkname: 'index.json' }], code: 'INVALID_TAR', msg: /type hardlink/ },
    { name: 'device', entries: [{ name: blobName, typeflag: '3' }], code: 'INVALID_TAR', msg: /char-device/ },
    { name: 'fifo', entries: [{ name: blobName, typeflag: '6' }], code: 'INVALID_TAR', msg: /fifo/ },
    { name: 'absolute path', entries: [{ name: '/etc/passwd', data: 'x' }], code: 'UNSAFE_PATH', msg: /absolute/ },
    { name: 'dot-dot', entries: [{ name: 'blobs/../../x', data: 'x' }], code: 'UNSAFE_PATH', msg: /\.\./ },
    { name: 'unknown file', entries: [{ name: 'README', data: 'x' }], code: 'INVALID_TAR', msg: /not part of an OCI layout/ },
    { name: 'other algorithm', entries: [{ name: `blobs/sha512/${'a'.repeat(128)}`, data: 'x' }], code: 'UNSUPPORTED', msg: /sha512/ },
    { name: 'bad hex', entries: [{ name: `blobs/sha256/${'A'.repeat(64)}`, data: 'x' }], code: 'INVALID_TAR', msg: /hex/ },
    { name: 'duplicate', entries: [{ name: 'index.json', data: '{}' }, { name: 'index.json', data: '{"a":1}' }], code: 'INVALID_TAR', msg: /twice/ },
    { name: 'duplicate through ./', entries: [{ name: 'index.json', data: '{}' }, { name: './index.json', data: '{}' }], code: 'INVALID_TAR', msg: /twice/ },
    { name: 'PAX path escape', entries: [{ name: 'PaxHeaders/x', typeflag: 'x', data: paxRecord('path', '../../etc/cron.d/x') }, { name: 'index.json', data: '{}' }], code: 'UNSAFE_PATH', msg: /\.\./ },
    { name: 'PAX record overrun', entries: [{ name: 'PaxHeaders/x', typeflag: 'x', data: '99 path=index.json\n' }, { name: 'index.json', data: '{}' }], code: 'INVALID_TAR', msg: /overruns/ },
    { name: 'PAX global header', entries: [{ name: 'pax_global_header', typeflag: 'g', data: paxRecord('comment', 'x') }], code: 'INVALID_TAR', msg: /pax-global/ },
    { name: 'GNU long name', entries: [{ name: '././@LongLink', typeflag: 'L', data: 'index.json' }], code: 'INVALID_TAR', msg: /gnu-longname/ },
    { name: 'directory outside blobs', entries: [{ name: 'etc/', typeflag: '5' }], code: 'INVALID_TAR', msg: /unexpected directory/ },
  ])('rejects $name', async ({ entries, code, msg }) => {
    for (const r of await scanBoth(rawTar(entries as RawEntry[]))) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') {
        expect((r.reason as ContentError).code).toBe(code);
        expect((r.reason as Error).message).toMatch(msg);
        expect((r.reason as Error).message).toMatch(/^b\.tar: /);
      }
    }
  });

  it('rejects truncated archives, missing end markers, trailing data and damaged headers', async () => {
    const whole = rawTar(good);
    const cases: [string, Buffer, RegExp][] = [
      ['cut inside data', whole.subarray(0, 3 * 512 + 5), /truncated/],
      ['cut inside a header', whole.subarray(0, 700), /truncated/],
      ['no end marker', rawTar(good, false), /without the end-of-archive marker/],
      ['half end marker', whole.subarray(0, whole.length - 512), /truncated end-of-archive/],
      ['trailing garbage', Buffer.concat([whole, Buffer.from('garbage')]), /data after the end-of-archive/],
      ['bad checksum', Buffer.concat([Buffer.from('x'), whole.subarray(1)]), /checksum mismatch/],
    ];
    for (const [name, buf, msg] of cases) {
      for (const r of await scanBoth(buf)) {
        expect(r.status, name).toBe('rejected');
        if (r.status === 'rejected') expect((r.reason as Error).message, name).toMatch(msg);
      }
    }
  });

  it('bounds the number of entries', async () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ name: `blobs/sha256/${i.toString(16).padStart(64, '0')}`, data: 'x' }));
    await expect(scanTar(streamSource(Readable.from([rawTar(many)])), { maxEntries: 20 })).rejects.toMatchObject({ code: 'SIZE_EXCEEDS_LIMIT' });
  });
});
