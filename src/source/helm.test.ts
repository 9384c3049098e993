import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageChart } from '../../test/helm/helm-env.js';
import { tempDir } from '../../test/helpers.js';
import { OciLayoutStore } from '../content/oci-layout/store.js';
import { chartAccess, chartLocation, pickVersion, repositoryFromURL, wrapChartArchive } from './helm.js';
import { mirrorConfig, upstreamOf } from '../serve/mirror.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('chart sources', () => {
  it.each([
    ['1.2.3', ['1.2.4', '1.2.3', '1.0.0'], '1.2.3'],
    ['^1.2', ['2.0.0', '1.3.1', '1.2.0', '1.1.9'], '1.3.1'],
    ['>= 1.0, < 1.3', ['1.3.0', '1.2.9', '0.9.0'], '1.2.9'],
    ['~1.2.0', ['1.3.0', '1.2.7', '1.2.1'], '1.2.7'],
    ['', ['1.0.0', '2.0.0-rc.1', '1.5.0'], '1.5.0'],
    ['1.x', ['1.9.0', '2.0.0'], '1.9.0'],
    ['v3.32.0', ['v3.32.0', 'v3.31.0'], 'v3.32.0'],
    ['3.0.0', ['2.0.0'], undefined],
  ])('pickVersion(%j) over %j = %s', (want, list, got) => expect(pickVersion(want, list)).toBe(got));

  it('locates OCI and HTTP charts as addon-controller does', () => {
    expect(chartLocation({ repositoryURL: 'oci://registry-1.docker.io/bitnamicharts', repositoryName: 'oci-vault', chartName: 'vault' })).toEqual({ kind: 'oci', registry: 'registry-1.docker.io', path: 'bitnamicharts/vault', name: 'vault' });
    expect(chartLocation({ repositoryURL: 'oci://r.example.com:5000/x', repositoryName: 'r', chartName: 'r/web' })).toMatchObject({ registry: 'r.example.com:5000', path: 'x/web' });
    expect(chartLocation({ repositoryURL: 'https://kyverno.github.io/kyverno/', repositoryName: 'kyverno', chartName: 'kyverno/kyverno' })).toEqual({ kind: 'http', base: 'https://kyverno.github.io/kyverno/', name: 'kyverno' });
    expect(() => chartLocation({ repositoryURL: 'gitrepository://flux-system/repo/charts', chartName: 'x' })).toThrow(/expected an http\(s\):\/\/ or oci:\/\/ URL, or gitrepository:\/\//);
  });

  it('derives served repository names from sources', () => {
    expect(repositoryFromURL('kyverno.github.io/kyverno/kyverno')).toBe('kyverno.github.io/kyverno/kyverno');
    expect(repositoryFromURL('127.0.0.1:5000/Team/App')).toBe('127.0.0.1_5000/team/app');
    expect(repositoryFromURL('charts.example.com//a b/c')).toBe('charts.example.com/a-b/c');
    expect(upstreamOf('127.0.0.1_5000')).toBe('127.0.0.1:5000');
    expect(upstreamOf('docker.io')).toBe('docker.io');
  });

  it('reads registry credentials from a dockerconfigjson or username/password Secret, and the CA', () => {
    const objects = [
      { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/dockerconfigjson', metadata: { name: 'regcred', namespace: 'c1' }, data: { '.dockerconfigjson': b64(JSON.stringify({ auths: { 'https://reg.example.com': { auth: b64('u:p:w') } } })) } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'plain', namespace: 'default' }, data: { username: b64('a'), password: b64('b') } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ca', namespace: 'c1' }, data: { 'ca.crt': b64('PEM') } },
    ];
    expect(chartAccess('oci://reg.example.com/charts', { credentials: { name: 'regcred' }, ca: { name: 'ca' }, plainHTTP: true }, objects, 'c1')).toEqual({ credentials: { username: 'u', password: 'p:w' }, ca: Buffer.from('PEM'), plainHTTP: true });
    expect(chartAccess('https://charts.example.com', { credentials: { name: 'plain', namespace: 'default' } }, objects, 'c1').credentials).toEqual({ username: 'a', password: 'b' });
    expect(() => chartAccess('oci://other.example.com/x', { credentials: { name: 'regcred' } }, objects, 'c1')).toThrow(/no auth config for 'other.example.com'/);
    expect(() => chartAccess('oci://reg.example.com/x', { credentials: { name: 'missing' } }, objects, 'c1')).toThrow(/Secret c1\/missing not found/);
  });

  it('writes a containerd hosts.toml per upstream registry', () => {
    const m = mirrorConfig(['docker.io/library/nginx:1.25', 'sveltos-airgap/bundle:3', 'sveltos-airgap/clusters/a/b:latest', '127.0.0.1_5000/team/app:1', 'docker.io/library/redis:7'], 'https://site.example:5000/');
    expect(m.map((e) => [e.registry, e.path])).toEqual([
      ['127.0.0.1:5000', '/etc/containerd/certs.d/127.0.0.1:5000/hosts.toml'],
      ['docker.io', '/etc/containerd/certs.d/docker.io/hosts.toml'],
    ]);
    expect(m[1]!.hostsToml).toBe('server = "https://registry-1.docker.io"\n\n[host."https://site.example:5000/v2/docker.io"]\n  capabilities = ["pull", "resolve"]\n  override_path = true\n');
  });
});

describe('the chart cache', () => {
  it('stores one chart archive from several fetches at once (the same blobs, pushed concurrently)', async () => {
    const store = await OciLayoutStore.open(join(await tempDir(), 'charts'), { create: true });
    const tgz = await readFile(await packageChart('demo'));
    const stored = await Promise.all(Array.from({ length: 8 }, () => wrapChartArchive(store, tgz)));
    expect(new Set(stored.map((d) => d.digest)).size).toBe(1);
    expect(await store.exists(stored[0]!)).toBe(true);
    // A fetch that looked before another one stored the chart finds it stored when it pushes: that is no error.
    const late = new Proxy(store, {
      get: (target, p) => (p === 'exists' ? async () => false : typeof Reflect.get(target, p) === 'function' ? (Reflect.get(target, p) as (...a: unknown[]) => unknown).bind(target) : Reflect.get(target, p)),
    });
    expect((await wrapChartArchive(late, tgz)).digest).toBe(stored[0]!.digest);
  });
});
