// HashPool: digests of file ranges from worker threads, and a pool that does not hold the process open.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256 } from './digest.js';
import { HashPool } from './hash-pool.js';

const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;

describe('HashPool', () => {
  const pool = new HashPool(2);
  afterAll(() => pool.close());

  it('digests ranges, and keeps the process alive only while it works', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hash-pool-'));
    try {
      const data = Buffer.from(Array.from({ length: 1_000_000 }, (_, i) => i % 253));
      await writeFile(join(dir, 'f'), data);
      const idle = ports();
      const busy = pool.digestRange(join(dir, 'f'), 10, 500_000);
      expect(ports()).toBe(idle + 1);
      expect(await busy).toBe(sha256(data.subarray(10, 500_010)));
      // Idle again: a process whose only work left is the pool exits.
      expect(ports()).toBe(idle);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
