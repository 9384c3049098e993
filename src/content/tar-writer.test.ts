import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TarWriter } from './tar-writer.js';

describe('TarWriter', () => {
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
});
