// Fixtures shared by scenarios, built once per run (not timed): the generated image layout, a signing
// key pair, a bundle packed from the image, and a site store holding that bundle.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeImageLayout } from './data.mjs';
import { timed } from './measure.mjs';

/** IMAGE_REF names the image inside bundles and on both registries. */
export const IMAGE_REF = 'bench/image:v1';
export const PACK_DRIVER = new URL('./pack-bundle.mjs', import.meta.url).pathname;

function once(ctx, key, make) {
  if (!ctx.cache.has(key)) {
    const p = make();
    // A failed fixture is retried by the next scenario instead of failing it too.
    p.catch(() => ctx.cache.delete(key));
    ctx.cache.set(key, p);
  }
  return ctx.cache.get(key);
}

/** imageLayout writes (or reuses) the seeded OCI layout of ctx.bytes in ctx.layers gzip layers. */
export function imageLayout(ctx) {
  return once(ctx, 'layout', async () => {
    const dir = join(ctx.work, 'data', 'layout');
    const started = performance.now();
    const image = writeImageLayout(dir, { seed: ctx.seed, bytes: ctx.bytes, layers: ctx.layers });
    ctx.log(`  data: ${image.layers} layers, ${image.bytes} bytes in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return { dir, image };
  });
}

/** signingKeys creates a key pair with `sveltos-airgap keygen`. */
export function signingKeys(ctx) {
  return once(ctx, 'keys', async () => {
    mkdirSync(join(ctx.work, 'keys'), { recursive: true });
    const prefix = join(ctx.work, 'keys', 'signing');
    if (!existsSync(`${prefix}.key`)) await timed(process.execPath, [ctx.cli, 'keygen', '--out', prefix, '--force'], { rss: false });
    return { key: `${prefix}.key`, pub: `${prefix}.pub` };
  });
}

/** packArgs is the pack driver's command line for the image layout. */
export function packArgs(layoutDir, out, key) {
  return [PACK_DRIVER, layoutDir, out, key, IMAGE_REF];
}

/** bundle packs the image layout into work/data/bundle.tar once. */
export function bundle(ctx) {
  return once(ctx, 'bundle', async () => {
    const { dir } = await imageLayout(ctx);
    const { key } = await signingKeys(ctx);
    const file = join(ctx.work, 'data', 'bundle.tar');
    await timed(process.execPath, packArgs(dir, file, key), { rss: false });
    return { file };
  });
}

/** siteStore imports the bundle into work/data/store once (what `serve` serves). */
export function siteStore(ctx) {
  return once(ctx, 'store', async () => {
    const { file } = await bundle(ctx);
    const { pub } = await signingKeys(ctx);
    const dir = ctx.dir('data/store');
    await timed(process.execPath, [ctx.cli, 'import', file, '--store', dir, '--key', pub, '--quiet'], { rss: false });
    return { dir };
  });
}
