// Checking served blobs against their digests without hashing on every download. The first full
// download of a blob starts one check of the stored bytes (in a worker thread when the store keeps blobs
// in files); every download of the blob while it runs, however many, shares that check and holds back
// its last chunk until it passes, so a damaged blob is never served complete. Once a check has passed,
// the blob is served as it is read (stored blobs are content-addressed and never rewritten); a failed
// check is not remembered, so the next download checks again.
import { stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { HashPool } from '../../content/hash-pool.js';
import { hasBlobFiles, type Fetcher } from '../../content/storage.js';
import { checkDigest, verifiedStream } from '../../content/verify.js';
import type { Descriptor } from '../../model/oci.js';

let pool: HashPool | undefined;
// One hashing worker for every served store of the process: checks are rare (once per blob) and must
// not take both cores from the downloads they guard.
const hashPool = (): HashPool => (pool ??= new HashPool(1));

/** BlobChecks remembers which blobs of one store were checked, and runs each check once at a time. */
export class BlobChecks {
  readonly #store: Fetcher;
  readonly #passed = new Set<string>();
  readonly #running = new Map<string, Promise<void>>();

  constructor(store: Fetcher) {
    this.#store = store;
  }

  /** passed tells whether `desc`'s stored bytes were checked and matched. */
  passed(desc: Descriptor): boolean {
    return this.#passed.has(desc.digest);
  }

  /** check resolves once the stored bytes of `desc` matched it; it rejects with the mismatch. */
  check(desc: Descriptor): Promise<void> {
    if (this.#passed.has(desc.digest)) return Promise.resolve();
    let p = this.#running.get(desc.digest);
    if (!p) {
      p = this.#digest(desc).then(
        () => {
          this.#passed.add(desc.digest);
          this.#running.delete(desc.digest);
        },
        (err: unknown) => {
          this.#running.delete(desc.digest);
          throw err;
        },
      );
      this.#running.set(desc.digest, p);
    }
    return p;
  }

  /**
   * guard passes `raw` (the blob's bytes) through, holding its last chunk until check(desc) passes; on a
   * failed check, or more bytes than `desc.size`, the stream fails instead (the client sees a short read).
   */
  guard(raw: Readable, desc: Descriptor): Readable {
    const checked = this.check(desc);
    checked.catch(() => undefined); // observed in flush; a client that left early does not wait for it
    let held: Buffer | undefined;
    let seen = 0;
    const out = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        if (seen > desc.size) return done(new Error(`${desc.digest}: the stored blob is larger than ${desc.size} bytes`));
        const prev = held;
        held = chunk;
        done(null, prev);
      },
      flush(done) {
        checked.then(
          () => done(null, held),
          (err: unknown) => done(err as Error),
        );
      },
    });
    raw.on('error', (err) => out.destroy(err));
    out.on('close', () => raw.destroy());
    return raw.pipe(out);
  }

  async #digest(desc: Descriptor): Promise<void> {
    if (hasBlobFiles(this.#store)) {
      const file = this.#store.blobFile(desc);
      const size = (await stat(file)).size;
      if (size !== desc.size) return checkDigest(desc, size, '');
      checkDigest(desc, size, await hashPool().digestRange(file, 0, size));
      return;
    }
    const stream = verifiedStream(await this.#store.fetch(desc), desc);
    for await (const _chunk of stream) {
      // hashed by the verifier
    }
  }
}
