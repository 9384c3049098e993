// HashPool digests byte ranges of files in worker threads, so verifying a large bundle hashes on every
// core instead of one (the main thread only schedules). Workers read the file themselves by position.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Digest } from '../model/oci.js';

// The worker is plain CommonJS evaluated from a string, so it runs the same from sources and from dist/.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const buf = Buffer.allocUnsafe(256 * 1024);
parentPort.on('message', ({ id, file, start, length }) => {
  let fd;
  try {
    fd = openSync(file, 'r');
    const hash = createHash('sha256');
    let pos = start;
    let left = length;
    while (left > 0) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, left), pos);
      if (n === 0) throw new Error(file + ': ends ' + left + ' bytes early');
      hash.update(buf.subarray(0, n));
      pos += n;
      left -= n;
    }
    parentPort.postMessage({ id, digest: 'sha256:' + hash.digest('hex') });
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err) });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
`;

interface Task {
  id: number;
  file: string;
  start: number;
  length: number;
  resolve: (d: Digest) => void;
  reject: (e: Error) => void;
}

/** HashPool runs up to `size` hashing workers (default: one per core, at most 4). */
export class HashPool {
  readonly #idle: Worker[] = [];
  readonly #all: Worker[] = [];
  readonly #queue: Task[] = [];
  readonly #running = new Map<number, Task>();
  #next = 0;

  constructor(size = Math.min(4, availableParallelism())) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on('message', (m: { id: number; digest?: Digest; error?: string }) => {
        const t = this.#running.get(m.id);
        this.#running.delete(m.id);
        w.unref();
        this.#idle.push(w);
        if (t) {
          if (m.digest) t.resolve(m.digest);
          else t.reject(new Error(m.error ?? 'hashing failed'));
        }
        this.#pump();
      });
      w.on('error', (err) => {
        for (const t of this.#running.values()) t.reject(err);
        this.#running.clear();
      });
      // An idle worker does not keep the process alive (a busy one does, see #pump). Only after the
      // listeners: adding a 'message' listener refs the worker again.
      w.unref();
      this.#all.push(w);
      this.#idle.push(w);
    }
  }

  /** digestRange returns the sha256 digest of `length` bytes of `file` from `start`. */
  digestRange(file: string, start: number, length: number): Promise<Digest> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#next++, file, start, length, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const w = this.#idle.pop()!;
      const t = this.#queue.shift()!;
      this.#running.set(t.id, t);
      w.ref();
      w.postMessage({ id: t.id, file: t.file, start: t.start, length: t.length });
    }
  }

  /** close stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.#all.map((w) => w.terminate()));
  }
}
