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
import { abandonOutput, TarWriter } from './tar-writer.js';

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
});
