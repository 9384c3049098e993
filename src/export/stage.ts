// What the render stages of export (Helm, Kustomize) share: bounded concurrency, and failing fast: the first
// failure stops the rest (queued work, retries waiting to run), since the stage fails anyway, and it is the
// error reported, not the aborts it set off.
import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import { Limiter } from '../content/limiter.js';

/** limiter returns a function that runs tasks with at most `n` running at once. */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  const l = new Limiter(n);
  return (task) => l.run(task);
}

/** renderLimiter bounds renders (helm, kustomize: one process each) to one per core, at least two. */
export function renderLimiter(): <T>(task: () => Promise<T>) => Promise<T> {
  return limiter(Math.max(2, availableParallelism()));
}

/** FailFast runs a stage's tasks; the first failure aborts `signal` and is what `all` throws. */
export class FailFast {
  readonly #stop = new AbortController();
  /** Aborted by the caller's signal or by the first failure; every task of the stage listens on it. */
  readonly signal: AbortSignal;

  constructor(parent?: AbortSignal) {
    this.signal = parent ? AbortSignal.any([parent, this.#stop.signal]) : this.#stop.signal;
    // Every request, retry wait and render in flight listens on it; each removes its listener when done.
    setMaxListeners(0, this.signal);
  }

  /** all runs `task` over `items` at once and resolves with the results in order, or throws the first failure. */
  async all<T, R>(items: T[], task: (item: T) => Promise<R>): Promise<R[]> {
    let failure: { err: unknown } | undefined;
    const settled = await Promise.allSettled(
      items.map(async (item) => {
        try {
          return await task(item);
        } catch (err) {
          failure ??= { err };
          this.#stop.abort();
          throw err;
        }
      }),
    );
    if (failure) throw failure.err;
    return settled.map((r) => (r as PromiseFulfilledResult<R>).value);
  }
}
