import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { digestFile, FILE_CHUNK } from './file-chunks.js';
import { sha256 } from './digest.js';
import { abandonOutput, BATCH, TarWriter } from './tar-writer.js';

// collect is a Writable that keeps everything written (copies: writers may reuse their buffers).
function collect(): { out: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      parts.push(Buffer.from(chunk));
      setImmediate(done);
    },
  });
  return { out, bytes: () => Buffer.concat(parts) };
}

describe('TarWriter', () => {
  it('abandons a file output with writes in flight: it is closed and the writes\' ERR_STREAM_DESTROYED does not escape', async () => {
    // A plain destroy() here makes the file stream emit 'error' once the write in flight returns: an uncaught
    // exception that crashed an export whose source blob failed its digest, now and then.
    const out = createWriteStream(join(await tempDir(), 'abandoned.tar'));
    await once(out, 'ready');
    // Once open, a write goes to the thread pool at once: it is in flight when the output is abandoned.
    for (let i = 0; i < 4; i++) out.write(Buffer.alloc(8 << 20));
    await abandonOutput(out);
    expect(out.closed).toBe(true);
    await abandonOutput(out);
  });

  it('leaves no listeners behind when it waits for drain', async () => {
    let maxErrorListeners = 0;
    const out = new Writable({
      highWaterMark: 1024,
      write(_chunk, _enc, done) {
        maxErrorListeners = Math.max(maxErrorListeners, out.listenerCount('error'));
        setImmediate(done);
      },
    });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const tar = new TarWriter(out);
      const chunks = Array.from({ length: 200 }, () => Buffer.alloc(4096, 7));
      await tar.addFile('blobs/sha256/x', 200 * 4096, Readable.from(chunks));
      await tar.finish();
    } finally {
      process.off('warning', onWarning);
    }
    expect(out.listenerCount('error')).toBeLessThanOrEqual(1);
    expect(maxErrorListeners).toBeLessThanOrEqual(2);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('writes a file entry from a path byte for byte as from a stream, over reused buffers', async () => {
    const dir = await tempDir();
    const data = randomBytes(FILE_CHUNK * 2 + 777);
    const path = join(dir, 'blob');
    await writeFile(path, data);
    const viaStream = collect();
    const a = new TarWriter(viaStream.out, { mtime: 7 });
    await a.addFile('blobs/sha256/x', data.length, Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    await a.finish();
    await finished(viaStream.out);
    const viaFile = collect();
    const b = new TarWriter(viaFile.out, { mtime: 7 });
    await b.addFileFrom('blobs/sha256/x', data.length, path);
    await b.finish();
    await finished(viaFile.out);
    expect(sha256(viaFile.bytes())).toBe(sha256(viaStream.bytes()));
    expect(b.bytesWritten).toBe(a.bytesWritten);
    expect(await digestFile(path, data.length)).toBe(sha256(data));
  });

  it('refuses a file whose size is not the declared one, naming it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'short');
    await writeFile(path, Buffer.alloc(100));
    const tar = new TarWriter(collect().out);
    await expect(tar.addFileFrom('blobs/sha256/x', 101, path)).rejects.toMatchObject({ code: 'SIZE_MISMATCH', message: expect.stringContaining(path) });
    await expect(digestFile(path, 99)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
  });

  it('gathers small entries read into its buffers and writes the same archive as entry by entry, in order with the others', async () => {
    const dir = await tempDir();
    const big = randomBytes(FILE_CHUNK + 5);
    await writeFile(join(dir, 'big'), big);
    // Sizes that cross batch boundaries, a zero-length file, one exactly a block, and one larger than a batch.
    const sizes = [0, 1, 511, 512, 513, 3000, ...Array.from({ length: 700 }, (_, i) => 1000 + ((i * 7919) % 5000)), BATCH + 1, 70];
    const datas = sizes.map((n) => randomBytes(n));
    const write = async (tar: TarWriter, gathered: boolean) => {
      await tar.addDirectory('blobs/');
      for (const [i, d] of datas.entries()) {
        if (gathered) await tar.addFileInto(`blobs/sha256/${i}`, d.length, (into) => void d.copy(into));
        else await tar.addFile(`blobs/sha256/${i}`, d.length, d);
        if (i === 300) await tar.addFileFrom('blobs/sha256/big', big.length, join(dir, 'big'));
        if (i === 400) await tar.addFile('blobs/sha256/stream', 3, Readable.from([Buffer.from('abc')]));
      }
      await tar.finish();
    };
    const plain = collect();
    const a = new TarWriter(plain.out, { mtime: 3 });
    await write(a, false);
    await finished(plain.out);
    const batched = collect();
    const b = new TarWriter(batched.out, { mtime: 3 });
    await write(b, true);
    await finished(batched.out);
    expect(batched.bytes().equals(plain.bytes())).toBe(true);
    expect(b.bytesWritten).toBe(a.bytesWritten);
  });

  it('reports a failed read or write of gathered entries', async () => {
    const failing = new Writable({ write: (_c, _e, done) => setImmediate(() => done(new Error('disk full'))) });
    failing.on('error', () => undefined);
    const tar = new TarWriter(failing);
    await expect(tar.addFileInto('a', 3, () => { throw new Error('read failed'); })).rejects.toThrow('read failed');
    const adds = (async () => {
      for (let i = 0; i < 1000; i++) await tar.addFileInto(`blobs/${i}`, 4000, (into) => void into.fill(1));
      await tar.finish();
    })();
    await expect(adds).rejects.toThrow('disk full');
  });
});
