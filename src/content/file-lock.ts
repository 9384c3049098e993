// A lock file that waits its turn, for read-modify-write edits of a small shared file (the agent tokens)
// that several processes may make at once: two `agent-kubeconfig` runs, or one beside `serve`.
// Callers in one process queue in memory; other processes are waited for through the lock file, which
// holds its owner's pid so a lock left by a killed process is taken over.
import { randomBytes } from 'node:crypto';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationError } from '../errors.js';

export interface FileLockOptions {
  /** Longest wait for a lock another live process holds, in ms. Default 10,000; then INVALID, naming the holder. */
  timeoutMs?: number;
}

export const DEFAULT_FILE_LOCK_OPTIONS: Required<FileLockOptions> = { timeoutMs: 10_000 };

// The tail of each lock path's in-process queue; it never rejects.
const queues = new Map<string, Promise<void>>();

/** withFileLock runs `fn` holding `lockPath`: calls in this process take turns, other processes are waited for. */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const key = resolve(lockPath);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_FILE_LOCK_OPTIONS.timeoutMs;
  const turn = (queues.get(key) ?? Promise.resolve()).then(async () => {
    const release = await acquire(key, timeoutMs);
    try {
      return await fn();
    } finally {
      await release();
    }
  });
  const tail = turn.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return turn;
}

/** isAlive tells whether a process with this pid exists (EPERM: it does, as another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// acquire takes the lock file. It is published by link(2) from a finished temp file, so nobody ever reads a
// lock without its owner's pid (a lock created empty and written after looks stale for a moment).
async function acquire(lockPath: string, timeoutMs: number): Promise<() => Promise<void>> {
  const mine = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
  const tmp = `${lockPath}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, mine, { flag: 'wx', mode: 0o644 });
  try {
    const deadline = Date.now() + timeoutMs;
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      try {
        await link(tmp, lockPath);
        return async () => {
          if ((await readFile(lockPath, 'utf8').catch(() => '')) === mine) await rm(lockPath, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = await readFile(lockPath, 'utf8').catch(() => undefined);
      if (held === undefined) continue; // released meanwhile
      const pid = Number(held.split(' ')[0]);
      // This process's own pid is stale too: its callers queue in memory, so none of them holds the file now.
      if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || !isAlive(pid)) {
        await takeOver(lockPath, held);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new ValidationError('INVALID', `${lockPath}: held by process ${pid} for more than ${Math.round(timeoutMs / 1000)} s; if that process is stuck, stop it and run the command again`, {
          details: { lock: lockPath, pid },
        });
      }
      await sleep(pause + Math.random() * pause);
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

// takeOver removes a stale lock. It is moved aside first and checked: when another process replaced it
// with a live lock in between, that lock is put back.
async function takeOver(lockPath: string, stale: string): Promise<void> {
  const aside = `${lockPath}.${process.pid}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((await readFile(aside, 'utf8').catch(() => stale)) !== stale) await link(aside, lockPath).catch(() => undefined);
  await rm(aside, { force: true });
}
