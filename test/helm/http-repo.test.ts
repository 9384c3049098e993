// HTTP chart repositories whose index.yaml points chart URLs at another host (a CDN): the repository's
// credentials go to the repository only, as Helm does without --pass-credentials.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChartCache, fetchChart } from '../../src/source/helm.js';
import { sha256 } from '../../src/content/digest.js';
import { packageChart } from './helm-env.js';
import { loopbackServer } from '../helpers.js';

let work: string;
let tgz: Buffer;


beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'http-repo-'));
  tgz = await readFile(await packageChart('demo', join(work, 'pkg')));
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('HTTP chart repository', () => {
  it('sends the repository credentials to the repository, not to a chart URL on another host', async () => {
    const cdnAuth: (string | undefined)[] = [];
    const cdn = await loopbackServer((req, res) => {
      cdnAuth.push(req.headers.authorization);
      res.writeHead(200, { 'content-length': String(tgz.length) }).end(tgz);
    });
    const expected = `Basic ${Buffer.from('reader:secret').toString('base64')}`;
    const repoAuth: (string | undefined)[] = [];
    const repo = await loopbackServer((req, res) => {
      repoAuth.push(req.headers.authorization);
      if (req.headers.authorization !== expected) return void res.writeHead(401).end();
      const index = `apiVersion: v1\nentries:\n  demo:\n    - name: demo\n      version: 1.2.3\n      digest: ${sha256(tgz).slice(7)}\n      urls: [${cdn}/files/demo-1.2.3.tgz]\n`;
      res.writeHead(200, { 'content-type': 'text/yaml' }).end(index);
    });
    const cache = await ChartCache.open(join(work, 'cache'));
    const chart = await fetchChart({ repositoryURL: repo, repositoryName: 'r', chartName: 'r/demo', chartVersion: '1.2.3', credentials: { username: 'reader', password: 'secret' } }, cache);
    expect(chart.layer.digest).toBe(sha256(tgz));
    expect(repoAuth).toEqual([expected]);
    expect(cdnAuth).toEqual([undefined]);
  });

  it('fails at once with what to do when the repository URL says https:// and the server speaks plain HTTP', async () => {
    let asked = 0;
    const repo = await loopbackServer((_req, res) => {
      asked++;
      res.writeHead(404).end();
    });
    const cache = await ChartCache.open(join(work, 'cache-tls'));
    const url = repo.replace('http://', 'https://');
    await expect(fetchChart({ repositoryURL: url, repositoryName: 'r', chartName: 'r/demo', chartVersion: '1.2.3' }, cache)).rejects.toMatchObject({
      code: 'INVALID',
      message: expect.stringContaining(`/index.yaml: EPROTO (after 1 attempt); the TLS handshake failed: if ${new URL(url).host} serves plain HTTP, use an http:// repositoryURL`),
    });
    expect(asked).toBe(0);
  });

  it('names the versions index.yaml has when none matches', async () => {
    const repo = await loopbackServer((_req, res) => {
      const entries = ['1.0.0', '1.10.0', '1.2.0', '0.9.1'].map((v) => `    - {name: demo, version: ${v}, urls: [demo-${v}.tgz]}`).join('\n');
      res.writeHead(200, { 'content-type': 'text/yaml' }).end(`apiVersion: v1\nentries:\n  demo:\n${entries}\n`);
    });
    const cache = await ChartCache.open(join(work, 'cache-versions'));
    await expect(fetchChart({ repositoryURL: repo, repositoryName: 'r', chartName: 'r/demo', chartVersion: '^2.0' }, cache)).rejects.toThrow(
      `no version matches "^2.0" in ${repo}/index.yaml; versions there: 1.10.0, 1.2.0, 1.0.0, 0.9.1`,
    );
  });
});
