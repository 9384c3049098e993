// Execution limits that functions enforce while a template runs (set by the executor, synchronous).

/** LimitExceeded is thrown by a function that would exceed a limit; the executor reports it as LIMIT. */
export class LimitExceeded extends Error {}

let maxBytes = Number.POSITIVE_INFINITY;

/** withAllocLimit runs fn with a cap on the size of strings and lists that functions build. */
export function withAllocLimit<T>(bytes: number, fn: () => T): T {
  const saved = maxBytes;
  maxBytes = bytes;
  try {
    return fn();
  } finally {
    maxBytes = saved;
  }
}

/** checkAlloc refuses to build a value of `size` bytes or elements over the current cap. */
export function checkAlloc(size: number, what: string): void {
  if (size > maxBytes) throw new LimitExceeded(`${what} would exceed the limit of ${maxBytes} bytes`);
}
