// Test images: built with umoci (one layer of `size` random bytes), pushed with skopeo; a multi-platform
// index is assembled in the OCI layout from two umoci images and pushed with `skopeo copy --all`.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from './helm-env.js';

async function layoutManifest(layout: string, tag: string): Promise<{ mediaType: string; digest: string; size: number }> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] };
  const m = index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!m) throw new Error(`${layout}: no tag ${tag}`);
  return { mediaType: m.mediaType, digest: m.digest, size: m.size };
}

/** buildImage makes `layout:tag`: one layer holding `size` random bytes, for the given architecture. */
export async function buildImage(layout: string, tag: string, opts: { arch?: string; size?: number; work: string }): Promise<void> {
  await exec('umoci', ['init', '--layout', layout]).catch(() => undefined);
  await exec('umoci', ['new', '--image', `${layout}:${tag}`]);
  const file = join(opts.work, `${tag}.bin`);
  await writeFile(file, randomBytes(opts.size ?? 4096));
  await exec('umoci', ['insert', '--rootless', '--image', `${layout}:${tag}`, file, `/data/${tag}.bin`]);
  await exec('umoci', ['config', '--image', `${layout}:${tag}`, '--architecture', opts.arch ?? 'amd64', '--os', 'linux', '--config.cmd', '/bin/true']);
}

/** addIndex writes an OCI index over `layout:tags` (with their platforms) and tags it `name`. */
export async function addIndex(layout: string, name: string, entries: { tag: string; arch: string }[]): Promise<string> {
  const manifests = [];
  for (const e of entries) manifests.push({ ...(await layoutManifest(layout, e.tag)), platform: { architecture: e.arch, os: 'linux' } });
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  const hex = createHash('sha256').update(body).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', hex), body);
  const indexPath = join(layout, 'index.json');
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: unknown[] };
  index.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${hex}`, size: body.length, annotations: { 'org.opencontainers.image.ref.name': name } });
  await writeFile(indexPath, JSON.stringify(index));
  return `sha256:${hex}`;
}

/** pushImage copies `layout:tag` to `docker://dest` over plain HTTP (`--all` for indexes). */
export async function pushImage(layout: string, tag: string, dest: string, creds?: { username: string; password: string }): Promise<void> {
  await exec('skopeo', ['copy', '--all', '--quiet', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', `${creds.username}:${creds.password}`] : []), `oci:${layout}:${tag}`, `docker://${dest}`]);
}
