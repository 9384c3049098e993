// Rounds shared by scenarios: our import vs extracting the tar and hashing every blob.
import { join } from 'node:path';
import { bash, sq, timed } from './measure.mjs';

/** importRound imports `file` into a fresh store (ours) and extracts + hashes it (baseline), interleaved. */
export async function importRound(ctx, round, file, pub, name) {
  const store = join(ctx.work, `${name}-ours`);
  const out = join(ctx.work, `${name}-baseline`);
  ctx.settle(store, out);
  return ctx.interleave(
    round,
    async () => {
      const res = await timed(process.execPath, [ctx.cli, 'import', file, '--store', store, '--key', pub, '--quiet']);
      ctx.settle(store);
      return res;
    },
    async () => {
      const res = await timed(...bash(`mkdir -p ${sq(out)} && tar xf ${sq(file)} -C ${sq(out)} && find ${sq(join(out, 'blobs'))} -type f -exec openssl dgst -sha256 -r {} + >/dev/null`));
      ctx.settle(out);
      return res;
    },
  );
}
