// ObjectsPool reads objects layers in a worker thread while the caller goes on reading and storing blobs: on a
// fleet bundle the YAML of thousands of layers is most of what verify and import do on their main thread. The
// worker reads each layer with namesOfLayer (it runs the same module): what the served-name check reads of each
// document, or the error the layer raised.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VerificationError } from '../errors.js';
import type { Descriptor } from '../model/oci.js';
import type { ObjectsLimits } from './objects.js';

// The worker is evaluated from a string, as CommonJS or as a module (node --input-type=module applies to it
// too), so it only uses import(); it imports the built objects module named in its workerData. Layers come in
// batches: one transferred buffer and where each layer lies in it.
const WORKER_SOURCE = `
(async () => {
const { parentPort, workerData } = await import('node:worker_threads');
const loaded = import(workerData.objects);
// What the first layer needs is loaded while the first batch is being read.
loaded.then(({ prepareNamesReader }) => prepareNamesReader(), () => undefined);
parentPort.on('message', async ({ seq, buf, items, limits }) => {
  const { namesOfLayer } = await loaded;
  const bytes = Buffer.from(buf);
  const results = items.map(({ layer, start, end }) => {
    try {
      return { docs: namesOfLayer(layer, bytes.subarray(start, end), limits) };
    } catch (err) {
      return { error: { name: err && err.name, code: err && err.code, message: String((err && err.message) || err), details: err && err.details } };
    }
  });
  parentPort.postMessage({ seq, results });
});
})();
`;

// A batch goes to the worker at this many layers or bytes; the caller waits while more bytes are in flight.
const BATCH_LAYERS = 64;
const BATCH_BYTES = 512 * 1024;
const MAX_IN_FLIGHT = 16 << 20;

/** LayerRead is what the pool gives for one layer: its documents' name fields, or the error reading it raised. */
export type LayerRead = { docs: Record<string, unknown>[] } | { error: unknown };

// Pending resolves one read() with what the worker read of its layer.
type Pending = (r: LayerRead) => void;

// The built objects module beside this one; running from TypeScript sources there is none (then no pool).
const OBJECTS_MODULE = new URL('./objects.js', import.meta.url);

export class ObjectsPool {
  readonly #worker: Worker;
  #items: { layer: Descriptor; start: number; end: number }[] = [];
  // The batch being filled: each layer's bytes are copied in as it is queued (the caller may reuse its buffer).
  #batch: Buffer | undefined;
  #pending: Pending[] = [];
  #bytes = 0;
  #seq = 0;
  readonly #sent = new Map<number, { pending: Pending[]; bytes: number }>();
  #inFlight = 0;
  #waiters: (() => void)[] = [];
  #failure: Error | undefined;

  private constructor(readonly limits: ObjectsLimits) {
    // The stack of a main thread (V8's default, 984 KiB), not a worker's 4 MiB: nesting too deep for one is too deep for both.
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { objects: OBJECTS_MODULE.href }, resourceLimits: { stackSizeMb: 984 / 1024 } });
    this.#worker.on('message', (m: { seq: number; results: LayerRead[] }) => {
      const sent = this.#sent.get(m.seq);
      this.#sent.delete(m.seq);
      if (!sent) return;
      this.#inFlight -= sent.bytes;
      sent.pending.forEach((done, i) => done(revive(m.results[i]!)));
      this.#wake();
    });
    this.#worker.on('error', (err) => {
      this.#failure = new Error(`objects reader stopped: ${err.message}`);
      for (const sent of this.#sent.values()) for (const done of sent.pending) done({ error: this.#failure });
      this.#sent.clear();
      this.#inFlight = 0;
      this.#wake();
    });
  }

  /** start returns a pool, or undefined where the built module it runs is not at hand (from sources). */
  static start(limits: ObjectsLimits): ObjectsPool | undefined {
    if (OBJECTS_MODULE.protocol !== 'file:' || !existsSync(fileURLToPath(OBJECTS_MODULE))) return undefined;
    return new ObjectsPool(limits);
  }

  /**
   * read queues `data` (the verified bytes of `layer`, copied: the caller may reuse its buffer once read returns)
   * and resolves with what the worker read of it.
   */
  read(layer: Descriptor, data: Buffer): Promise<LayerRead> {
    if (this.#failure) return Promise.resolve({ error: this.#failure });
    if (this.#batch && this.#bytes + data.length > this.#batch.length) this.#send();
    // Not zeroed first: the worker reads only the bytes copied in.
    this.#batch ??= Buffer.allocUnsafeSlow(Math.max(BATCH_BYTES, data.length));
    data.copy(this.#batch, this.#bytes);
    return new Promise((done) => {
      // What namesOfLayer reads of the descriptor, and no more (it is copied to the worker).
      this.#items.push({ layer: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, start: this.#bytes, end: this.#bytes + data.length });
      this.#pending.push(done);
      this.#bytes += data.length;
      if (this.#items.length >= BATCH_LAYERS || this.#bytes >= BATCH_BYTES) this.#send();
    });
  }

  /** room resolves once the bytes handed over and not yet read are few enough to hand over more. */
  async room(): Promise<void> {
    while (this.#inFlight > MAX_IN_FLIGHT && !this.#failure) await new Promise<void>((r) => this.#waiters.push(r));
  }

  /** flush hands over what is queued. */
  flush(): void {
    this.#send();
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  #send(): void {
    if (this.#items.length === 0 || !this.#batch) return;
    // The batch's buffer is its own (allocUnsafeSlow: not a slice of a shared pool), so it is transferred.
    const buf = this.#batch.buffer as ArrayBuffer;
    this.#batch = undefined;
    const seq = this.#seq++;
    this.#sent.set(seq, { pending: this.#pending, bytes: this.#bytes });
    this.#inFlight += this.#bytes;
    this.#worker.postMessage({ seq, buf, items: this.#items, limits: this.limits }, [buf]);
    this.#items = [];
    this.#pending = [];
    this.#bytes = 0;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

// revive turns an error the worker sent back into the error namesOfLayer threw in this thread.
function revive(r: LayerRead): LayerRead {
  if (!('error' in r)) return r;
  const e = r.error as { name?: string; code?: string; message: string; details?: Record<string, unknown> };
  if (e.name === 'VerificationError' && e.code) return { error: new VerificationError(e.code as VerificationError['code'], e.message, e.details ? { details: e.details } : {}) };
  return { error: new Error(e.message) };
}
