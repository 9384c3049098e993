// The helm adapter: finding the binary, failures named clearly, template output split into manifest and hooks.
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findHelm, HELM_ENV, parseTemplateOutput, renderChart } from '../../src/source/helm-render.js';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { renderHelmForPlan, type HelmChartInput } from '../../src/export/helm-stage.js';
import { ChartCache } from '../../src/source/helm.js';
import { RenderCache } from '../../src/source/render-cache.js';
import { CHARTS, helm, helmPath, packageChart } from './helm-env.js';
import { loopbackServer, tempDir, testdir } from '../helpers.js';

describe('helm adapter', () => {
  it('finds helm from --helm, then $SVELTOS_AIRGAP_HELM, then PATH', async () => {
    const helm = helmPath();
    expect(await findHelm(helm, {})).toBe(helm);
    expect(await findHelm(undefined, { [HELM_ENV]: helm })).toBe(helm);
    expect(await findHelm(undefined, { PATH: `/nonexistent:${dirname(helm)}` })).toBe(join(dirname(helm), 'helm'));
    await expect(findHelm(undefined, { PATH: '/nonexistent' })).rejects.toThrow(/helm: not found on PATH/);
    await expect(findHelm('/nonexistent/helm', {})).rejects.toThrow(/--helm \/nonexistent\/helm: not an executable file/);
  });

  it('names the release when helm refuses a chart', async () => {
    const bad = await testdir({ 'Chart.yaml': 'apiVersion: v2\nname: bad\nversion: 0.1.0\n', 'templates/x.yaml': '{{ fail "boom" }}\n' });
    await expect(renderChart({ helm: helmPath(), chart: bad, releaseName: 'r', releaseNamespace: 'ns', values: '', kubeVersion: 'v1.30.0' })).rejects.toThrow(/helm template r \(ns\):.*boom/s);
  });

  it('names the profile, release, chart and cluster when a render fails in the Helm stage', async () => {
    const bad = await testdir({ 'Chart.yaml': 'apiVersion: v2\nname: bad\nversion: 0.1.0\n', 'templates/x.yaml': '{{ required "image.tag is required" .Values.image.tag }}\n' });
    const out = await tempDir();
    await helm(['package', bad, '--destination', out]);
    const tgz = await readFile(join(out, 'bad-0.1.0.tgz'));
    const repo = await loopbackServer((req, res) => {
      if (req.url === '/index.yaml') return void res.writeHead(200).end('apiVersion: v1\nentries:\n  bad:\n  - {name: bad, version: 0.1.0, urls: [bad-0.1.0.tgz]}\n');
      res.writeHead(200).end(tgz);
    });
    const input: HelmChartInput = {
      cluster: { namespace: 'fleet', name: 'edge' },
      profile: { kind: 'ClusterProfile', name: 'apps' },
      chart: { repositoryURL: repo, repositoryName: 'r', chartName: 'r/bad', chartVersion: '0.1.0', releaseName: 'web', releaseNamespace: 'apps', values: 'image: {repository: x}' },
    };
    const err = (await renderHelmForPlan([input], { helm: helmPath(), cache: await ChartCache.open(await tempDir()) }).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('INVALID');
    expect(err.message).toMatch(new RegExp(`^ClusterProfile/apps: helm release apps/web \\(chart bad 0\\.1\\.0 from ${repo}, kube v[0-9.]+\\) for fleet/edge: helm template web \\(apps\\): .*image\\.tag is required$`));
    expect(err.message).not.toContain('--debug');
  });

  it('keeps renders between exports: the same inputs run no helm again, other values do', async () => {
    const tgz = await readFile(await packageChart('demo', await tempDir()));
    const repo = await loopbackServer((req, res) => {
      if (req.url === '/index.yaml') return void res.writeHead(200).end('apiVersion: v1\nentries:\n  demo:\n  - {name: demo, version: 1.2.3, urls: [demo-1.2.3.tgz]}\n');
      res.writeHead(200).end(tgz);
    });
    // helm behind a wrapper that counts its runs.
    const dir = await tempDir();
    const wrapper = join(dir, 'helm');
    await writeFile(wrapper, `#!/bin/sh\necho run >> ${join(dir, 'runs')}\nexec ${helmPath()} "$@"\n`);
    await chmod(wrapper, 0o755);
    const runs = async () => (await readFile(join(dir, 'runs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    const input = (values: string, valuesFrom: string[]): HelmChartInput => ({
      cluster: { namespace: 'fleet', name: 'edge' },
      profile: { kind: 'ClusterProfile', name: 'apps' },
      chart: { repositoryURL: repo, repositoryName: 'r', chartName: 'r/demo', chartVersion: '1.2.3', releaseName: 'web', releaseNamespace: 'apps', values },
      valuesFrom: { plain: valuesFrom, templated: [] },
    });
    const cacheDir = await tempDir();
    const stage = async (values: string, valuesFrom: string[] = []) => {
      const events: string[] = [];
      const r = await renderHelmForPlan([input(values, valuesFrom)], { helm: wrapper, cache: await ChartCache.open(cacheDir), renderCache: await RenderCache.open(cacheDir), onEvent: (m) => events.push(m) });
      return { bundles: r.results[0]!.bundles, events };
    };
    const first = await stage('configMapCount: 1');
    expect(await runs()).toBe(1);
    const second = await stage('configMapCount: 1');
    expect(await runs()).toBe(1);
    expect(second.events).toContain('render apps/web (demo 1.2.3, kube v1.32.0): from the render cache');
    expect(second.bundles).toEqual(first.bundles);
    const third = await stage('configMapCount: 2');
    expect(await runs()).toBe(2);
    expect(third.bundles).not.toEqual(first.bundles);
    // Values from a referenced ConfigMap are inputs too: the same entry with other valuesFrom renders anew.
    const fourth = await stage('configMapCount: 1', ['configMapCount: 3']);
    expect(await runs()).toBe(3);
    expect(fourth.events).not.toContain('render apps/web (demo 1.2.3, kube v1.32.0): from the render cache');
    expect(fourth.bundles).not.toEqual(first.bundles);
    expect((await stage('configMapCount: 1', ['configMapCount: 3'])).bundles).toEqual(fourth.bundles);
    expect(await runs()).toBe(3);
  });

  it('renders with the values and Kubernetes version given', async () => {
    const r = await renderChart({ helm: helmPath(), chart: join(CHARTS, 'demo'), releaseName: 'x', releaseNamespace: 'ns', values: '{"configMapCount": 0, "sub": {"enabled": false}}', kubeVersion: 'v1.28.3' });
    const dep = r.manifest.find((o) => o.kind === 'Deployment') as any;
    expect(dep.spec.template.spec.containers[0].env[1].value).toBe('v1.28.3');
    expect(r.manifest.some((o) => o.kind === 'StatefulSet')).toBe(false);
    expect(r.manifest.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name)).toEqual(['widgets.demo.example.com', 'gadgets.demo.example.com']);
  });

  it('keeps crds/ documents in the manifest even with a hook annotation; lower-cases hook events', () => {
    const out = parseTemplateOutput(
      [
        '---', '# Source: c/crds/a.yaml', 'apiVersion: apiextensions.k8s.io/v1', 'kind: CustomResourceDefinition', 'metadata: {name: a.b, annotations: {helm.sh/hook: pre-install}}',
        '---', '# Source: c/templates/j.yaml', 'apiVersion: batch/v1', 'kind: Job', 'metadata: {name: j, annotations: {helm.sh/hook: " Post-Install , pre-upgrade"}}',
        '---', '# Source: c/templates/empty.yaml', '',
      ].join('\n'),
      'test',
    );
    expect(out.manifest.map((o) => o.metadata.name)).toEqual(['a.b']);
    expect(out.hooks).toEqual([{ events: ['post-install', 'pre-upgrade'], objects: [expect.objectContaining({ kind: 'Job' })] }]);
  });
});
