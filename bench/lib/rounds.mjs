// Rounds shared by scenarios: our import vs extracting the tar, hashing every blob and syncing (both
// sides make the data durable).
import { join } from 'node:path';
import { bash, sq, timed } from './measure.mjs';

/** extractScript is the baseline of verify and import: `tar xf` into `out`, sha256 of every blob, `sync`. */
export function extractScript(file, out) {
  return `mkdir -p ${sq(out)} && tar xf ${sq(file)} -C ${sq(out)} && find ${sq(join(out, 'blobs'))} -type f -exec openssl dgst -sha256 -r {} + >/dev/null && sync`;
}

/**
 * importRound imports `file` into a fresh store (ours) and extracts + hashes + syncs it (baseline), interleaved.
 * With `many` (a bundle of thousands of blobs), outputs are set aside instead of removed (see ctx.setAside).
 */
export async function importRound(ctx, round, file, pub, name, { keep = false, many = false } = {}) {
  const store = join(ctx.work, `${name}-ours`);
  // With `keep`, the store stays for the caller (`store` in the result); it is replaced by the next round.
  const out = join(ctx.work, `${name}-baseline`);
  const dispose = (...paths) => (many ? ctx.setAside(...paths) : ctx.settle(...paths));
  dispose(store, out);
  const r = await ctx.interleave(
    round,
    async () => {
      const res = await timed(process.execPath, [ctx.cli, 'import', file, '--store', store, '--key', pub, '--quiet']);
      if (!keep) dispose(store);
      return res;
    },
    async () => {
      const res = await timed(...bash(extractScript(file, out)));
      dispose(out);
      return res;
    },
  );
  return { ...r, store };
}
