// Objects layers of a large bundle are parsed in a worker thread (src/bundle/objects-pool.ts). The worker runs the
// built modules, so this test verifies with dist/ (built by `npm test` first) and holds every outcome to the
// in-process parse of the sources: the same served names for a good bundle, the same error (class, code,
// message) for each hostile objects layer.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nameFields, namesOfLayer, objectsOfLayer } from '../../src/bundle/objects.js';
import { verifyBundle } from '../../src/bundle/verify.js';
import { TarLayoutStore } from '../../src/content/tarfs.js';
import { MEDIA_TYPE_OBJECTS } from '../../src/model/bundle.js';
import { tempDir } from '../helpers.js';
import { billionLaughs, Forge, newSigner, tarOf } from './forge.js';
import { NOW } from './run.js';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
const group = (name: string, ns?: string) => `apiVersion: lib.projectsveltos.io/v1beta1\nkind: ConfigurationGroup\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ''}spec: {}\n`;

// How deep a parse gets before the stack runs out depends on the thread's stack and how much of it is in use: the
// same error, at another column.
const depthless = (r: unknown) => JSON.parse(JSON.stringify(r).replace(/(Maximum call stack size exceeded) at line \d+, column \d+/, '$1')) as unknown;

// Each case: the objects layers of one cluster's artifact.
const cases: [string, () => string[]][] = [
  ['good: groups and objects, one of them in another namespace', () => [group('config-a') + '---\n' + cm('x'), group('config-b', 'other'), `${cm('y')}data:\n  k: "v"\n`]],
  ['an alias bomb', () => [`${cm('bomb')}items: &a [${Array(20_000).fill('1').join(',')}]\ncopies: [${Array(900).fill('*a').join(',')}]\n`]],
  ['a billion laughs', () => [billionLaughs()]],
  ['deep nesting', () => [`${cm('ok')}---\nx: ${'['.repeat(30_000)}${']'.repeat(30_000)}\n`]],
  ['a list, not an object', () => ['- rm\n- -rf\n- /\n']],
  ['invalid YAML', () => [`${cm('a')}data: [unclosed\n`]],
];

// distVerify is verifyBundle of the built modules (whose worker runs), on a tar file.
async function distVerify(file: string, opts: Parameters<typeof verifyBundle>[1]) {
  expect(existsSync(join(DIST, 'bundle', 'objects-pool.js')), 'dist/ is built (npm run build)').toBe(true);
  const dist = (await import(pathToFileURL(join(DIST, 'bundle', 'verify.js')).href)) as typeof import('../../src/bundle/verify.js');
  const tarfs = (await import(pathToFileURL(join(DIST, 'content', 'tarfs.js')).href)) as typeof import('../../src/content/tarfs.js');
  return dist.verifyBundle(await tarfs.TarLayoutStore.open(file), { ...opts, objectsWorkerMin: 0 });
}

describe('objects layers parsed in a worker thread', () => {
  it.each(cases)('%s: the worker and this thread agree', async (_name, layers) => {
    const signer = newSigner();
    const f = new Forge(signer.signer);
    const file = join(await tempDir('sveltos-airgap-objects-worker-'), 'bundle.tar');
    await writeFile(file, tarOf(await f.sign([await f.cluster('prod', 'c1', layers())])));
    const opts = { trusted: [signer.publicKey], now: NOW };

    const here = await verifyBundle(await TarLayoutStore.open(file), opts).then(
      (v) => ({ served: v.served }),
      (err: { name: string; code: string; message: string }) => ({ error: { name: err.name, code: err.code, message: err.message } }),
    );
    const there = await distVerify(file, opts).then(
      (v) => ({ served: v.served }),
      (err: { name: string; code: string; message: string }) => ({ error: { name: err.name, code: err.code, message: err.message } }),
    );
    expect(depthless(there)).toEqual(depthless(here));
  });

  it.each(cases)('%s: the names are read as the whole objects are (the same names, or the same error)', (_name, layers) => {
    // Verify and import read a layer for its names only; the agent API reads it whole.
    for (const text of layers()) {
      const data = Buffer.from(text);
      const layer = { mediaType: MEDIA_TYPE_OBJECTS, digest: `sha256:${createHash('sha256').update(data).digest('hex')}` as const, size: data.length };
      const outcome = (read: () => unknown) => {
        try {
          return { names: read() };
        } catch (err) {
          const e = err as { name: string; code: string; message: string };
          return { error: { name: e.name, code: e.code, message: e.message } };
        }
      };
      expect(depthless(outcome(() => namesOfLayer(layer, data)))).toEqual(depthless(outcome(() => objectsOfLayer(layer, data).map(nameFields))));
    }
  });

  it('a good bundle serves its names, and a hostile layer fails verify with INVALID_OBJECTS, through the worker', async () => {
    // The cases above compare; these pin what they compare.
    const signer = newSigner();
    const f = new Forge(signer.signer);
    const dir = await tempDir('sveltos-airgap-objects-worker-');
    let n = 0;
    const verify = async (layers: string[]) => {
      const file = join(dir, `b${n++}.tar`);
      await writeFile(file, tarOf(await f.sign([await f.cluster('prod', 'c1', layers)])));
      return distVerify(file, { trusted: [signer.publicKey], now: NOW });
    };
    const good = await verify([group('config-a'), cm('x')]);
    expect(good.served.map((n) => `${n.kind} ${n.namespace}/${n.name} ${n.cluster}`)).toContain('ConfigurationGroup prod/config-a prod/c1');
    await expect(verify(['- rm\n'])).rejects.toMatchObject({ name: 'VerificationError', code: 'INVALID_OBJECTS', message: expect.stringMatching(/document 1: expected a mapping/) });
  });

  it('refuses names two clusters would both serve, through the worker as in this thread', async () => {
    const signer = newSigner();
    const f = new Forge(signer.signer);
    const file = join(await tempDir('sveltos-airgap-objects-worker-'), 'bundle.tar');
    await writeFile(file, tarOf(await f.sign([await f.cluster('prod', 'c1', [group('shared'), group('own-1')]), await f.cluster('prod', 'c2', [group('own-2'), group('shared')])])));
    const opts = { trusted: [signer.publicKey], now: NOW };
    const refused = { name: 'VerificationError', code: 'NAME_COLLISION', message: expect.stringMatching(/^bundle: 1 object name\(s\) would be served more than once: ConfigurationGroup prod\/shared is served for clusters prod\/c1 .* and prod\/c2/) };
    await expect(verifyBundle(await TarLayoutStore.open(file), opts)).rejects.toMatchObject(refused);
    await expect(distVerify(file, opts)).rejects.toMatchObject(refused);
  });

  it('reads layers over several read windows of the tar (the reader reuses its window: each layer is copied as it is handed over)', async () => {
    const signer = newSigner();
    const f = new Forge(signer.signer);
    const file = join(await tempDir('sveltos-airgap-objects-worker-'), 'bundle.tar');
    // 4 clusters of 120 layers of about 20 KB, each naming its own object: about 10 MB, more than two 4 MiB windows.
    const padding = `data:\n  pad: "${'x'.repeat(20_000)}"\n`;
    const clusters = [];
    for (let c = 0; c < 4; c++) clusters.push(await f.cluster('prod', `c${c}`, Array.from({ length: 120 }, (_, i) => `${group(`config-${c}-${i}`)}${padding}`)));
    await writeFile(file, tarOf(await f.sign(clusters)));
    const opts = { trusted: [signer.publicKey], now: NOW };
    const names = (v: { served: { cluster: string; name: string }[] }) => v.served.map((n) => `${n.cluster} ${n.name}`).sort();
    const here = names(await verifyBundle(await TarLayoutStore.open(file), opts));
    expect(here).toHaveLength(480);
    expect(names(await distVerify(file, opts))).toEqual(here);
  });

  it('runs in a process whose code is evaluated as modules (node --input-type=module): its own source works either way', async () => {
    const signer = newSigner();
    const f = new Forge(signer.signer);
    const file = join(await tempDir('sveltos-airgap-objects-worker-'), 'bundle.tar');
    await writeFile(file, tarOf(await f.sign([await f.cluster('prod', 'c1', [group('config-a'), cm('x')])])));
    const script = `
      import { createPublicKey } from 'node:crypto';
      const { verifyBundle } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'bundle', 'verify.js')).href)});
      const { TarLayoutStore } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'content', 'tarfs.js')).href)});
      const v = await verifyBundle(await TarLayoutStore.open(process.env.BUNDLE), { trusted: [createPublicKey(process.env.PUB)], now: new Date(${NOW.getTime()}), objectsWorkerMin: 0 });
      console.log(v.served.map((n) => n.kind + ' ' + n.namespace + '/' + n.name).join(','));
    `;
    const pub = signer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, BUNDLE: file, PUB: pub } });
    expect(stdout).toContain('ConfigurationGroup prod/config-a');
  });
});
