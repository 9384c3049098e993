// The status page in a real browser: Debian's chromium, driven headless by playwright-core. The site is served
// by the agent API (status written with the real kubectl); the page has its own listener.
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { statusPageHandler } from '../src/ui/server.js';
import { cli } from './cli.js';
import { demoCluster, groupNameOf, type ClusterSpec, kubeconfigFor, kubectl, makeSite, serveSite } from './agent/fixtures.js';
import { keyPair } from './helpers.js';

const CHROMIUM = process.env.SVELTOS_AIRGAP_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'ui-token-3391';
const SECRET = 'db-pass-never-shown-5520';
const axeSource = () => readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// expectAccessible runs axe-core in the page: no serious or critical violation.
async function expectAccessible(page: Page): Promise<void> {
  await page.addScriptTag({ content: await axeSource() });
  const violations = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact })))')) as { id: string; impact: string }[];
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
}

// expectNoSecret checks that the carried Secret's value is in none of the texts, plain or base64.
function expectNoSecret(texts: string[]): void {
  for (const text of texts) for (const v of [SECRET, Buffer.from(SECRET).toString('base64')]) expect(text).not.toContain(v);
}

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

async function listen(store: string, token?: string): Promise<{ url: string; server: Server }> {
  const server = createServer(statusPageHandler({ storeDir: store, ...(token ? { token } : {}) }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('the status page', () => {
  it('lists every cluster; a Failed group written through the agent API shows within 5 s without reload; no Secret value anywhere; accessible', async () => {
    const site = await makeSite();
    const withSecret = { namespace: 'edge', name: 'store-7', labels: { env: 'prod' }, profiles: [{ profile: 'creds', bundles: { 'config-creds-b1': [`apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: default\ndata:\n  password: ${Buffer.from(SECRET).toString('base64')}\n`] } }] };
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01'), demoCluster('ships', 'aurora'), withSecret]));
    const served = await serveSite(site.store);
    const ui = await listen(site.store);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const responses: string[] = [];
      page.on('response', (r) => void r.text().then((t) => responses.push(t), () => undefined));
      await page.goto(`${ui.url}/?cluster=rke2/cluster01`);
      await page.waitForSelector('tr[data-cluster="edge/store-7"]');
      expect(await page.$$eval('#overview tbody tr', (rows) => rows.map((r) => r.getAttribute('data-cluster')))).toEqual(['edge/store-7', 'rke2/cluster01', 'ships/aurora']);

      // The agent reports a failure: kubectl replaces the group's status through the agent API.
      const kc = await kubeconfigFor(site, 'rke2/cluster01', served);
      const group = groupNameOf('rke2/cluster01', 'nginx');
      const got = parse((await kubectl(kc.path, ['get', 'configurationgroup', group, '-n', 'rke2', '-o', 'yaml'])).stdout) as Record<string, any>;
      got.status = { status: 'Failed', failureMessage: 'nginx: ImagePullBackOff', observedGeneration: got.metadata.generation };
      const file = join(site.dir, 'failed.yaml');
      await writeFile(file, JSON.stringify(got));
      await kubectl(kc.path, ['replace', '--subresource=status', '-f', file]);
      const t0 = Date.now();
      await page.waitForSelector('#detail td:has-text("nginx: ImagePullBackOff")', { timeout: 5000 });
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await page.textContent('tr[data-cluster="rke2/cluster01"] td:nth-child(3)')).toContain('Failed');
      // The filter is kept in the URL, and reloading keeps it.
      await page.selectOption('#state', 'Failed');
      expect(await page.evaluate('new URLSearchParams(location.search).get("state")')).toBe('Failed');
      await page.reload();
      await page.waitForSelector('tr[data-cluster="rke2/cluster01"]');
      expect(await page.$$eval('#overview tbody tr', (rows) => rows.length)).toBe(1);

      // Accessibility basics, checked by axe-core in the page: no serious or critical violation.
      await expectAccessible(page);
      // Keyboard: the views, the filters, the sort buttons and the cluster links take focus in order.
      const focused: unknown[] = [];
      for (let i = 0; i < 5; i++) {
        await page.keyboard.press('Tab');
        focused.push(await page.evaluate('document.activeElement && document.activeElement.id'));
      }
      expect(focused).toEqual(['nav-clusters', 'nav-store', 'q', 'label', 'state']);

      // The Secret edge/store-7 carries never reaches the page or its data, in any encoding.
      await page.selectOption('#state', '');
      await page.click('a[href="?cluster=edge%2Fstore-7"]');
      await page.waitForSelector('#detail h2');
      const dom = await page.content();
      expect(responses.length).toBeGreaterThan(1);
      expectNoSecret([dom, ...responses]);
      await page.close();
    } finally {
      ui.server.close();
    }
  }, 60_000);

  it('a cluster page: labels, a timeline, each group\'s objects (YAML on click, a Secret\'s keys only), Helm releases, images; encrypted groups say so; the store page lists imports, disk and carried charts', async () => {
    const site = await makeSite();
    const secret = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: default\ndata:\n  password: ${Buffer.from(SECRET).toString('base64')}\n`;
    const web: ClusterSpec = {
      namespace: 'edge',
      name: 'store-7',
      labels: { env: 'prod', tier: 'gold' },
      profiles: [
        { profile: 'web', feature: 'Helm', bundles: { 'config-web-b1': ['apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: apps}\nspec:\n  template:\n    spec:\n      containers: [{name: w, image: "nginx:1.27"}]\n'] }, bundleSpec: { helmReleaseName: 'web', helmReleaseNamespace: 'apps', helmChartVersion: '1.2.3', helmRepoURL: 'oci://reg.example.com/charts' } },
        { profile: 'creds', bundles: { 'config-creds-b1': [secret] } },
      ],
    };
    await site.importTar(await site.pack(1, [web, demoCluster('rke2', 'cluster01', ['nginx'], { env: 'dev' })]));
    await site.importTar(await site.pack(2, [{ namespace: 'edge', name: 'sealed', labels: { env: 'prod' }, profiles: [{ profile: 'vault', bundles: { 'config-vault-b1': [secret] } }] }], { encryptTo: [keyPair('x25519').publicKey] }));
    // serve's agent API reads a cluster's import when its agent first asks; the page shows what it serves.
    const served = await serveSite(site.store);
    await kubectl((await kubeconfigFor(site, 'edge/store-7', served)).path, ['get', 'configurationgroups', '-n', 'edge']);
    const ui = await listen(site.store);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const responses: string[] = [];
      page.on('response', (r) => void r.text().then((t) => responses.push(t), () => undefined));
      await page.goto(`${ui.url}/?label=tier%3Dgold`);
      await page.waitForSelector('tr[data-cluster="edge/store-7"]');
      expect(await page.$$eval('#overview tbody tr', (rows) => rows.map((r) => r.getAttribute('data-cluster')))).toEqual(['edge/store-7']);
      expect(await page.textContent('tr[data-cluster="edge/store-7"] td:nth-child(2)')).toBe('env=prod, tier=gold');
      await page.fill('#label', 'env=dev');
      expect(await page.evaluate('new URLSearchParams(location.search).get("label")')).toBe('env=dev');
      expect(await page.$$eval('#overview tbody tr', (rows) => rows.map((r) => r.getAttribute('data-cluster')))).toEqual(['rke2/cluster01']);
      await page.fill('#label', '');

      await page.click('a[href="?cluster=edge%2Fstore-7"]');
      await page.waitForSelector('#content details[data-group]');
      expect(await page.textContent('#detail')).toContain('Labels: env=prod, tier=gold');
      expect(await page.$$eval('#timeline svg g title', (t) => t.map((x) => x.textContent))).toEqual([expect.stringMatching(/: bundle sequence 1 imported$/)]);
      expect(await page.textContent('#detail table')).toContain('ClusterProfile web');
      const creds = page.locator('#content details', { hasText: 'Secret default/db' });
      await creds.locator('summary').click();
      expect(await creds.textContent()).toContain('keys: password');
      await creds.locator('button').click();
      await creds.locator('pre').waitFor();
      expect(await creds.locator('pre').textContent()).toContain('password: <redacted>');
      const tables = await page.$$eval('#content table', (ts) => ts.map((t) => t.textContent));
      expect(tables[0]).toMatch(/apps\/web.*oci:\/\/reg\.example\.com\/charts.*1\.2\.3/);
      expect(tables[1]).toMatch(/docker\.io\/library\/nginx:1\.27.*no.*Deployment apps\/web/);

      await page.goto(`${ui.url}/?cluster=edge%2Fsealed`);
      await page.waitForSelector('#content details[data-group]');
      expect(await page.textContent('#content details')).toMatch(/— encrypted/);

      // The page also answers at /ui/, and finds its data from there.
      await page.goto(`${ui.url}/ui/`);
      await page.waitForSelector('tr[data-cluster="edge/sealed"]');
      await page.click('#nav-store');
      await page.waitForSelector('#store table');
      expect(await page.evaluate('new URLSearchParams(location.search).get("view")')).toBe('store');
      const store = await page.textContent('#store');
      expect(store).toMatch(/Highest sequence 2 — disk used \d/);
      expect(await page.$$eval('#store table:first-of-type tbody tr th', (t) => t.map((x) => x.textContent))).toEqual(['2', '1']);
      await expectAccessible(page);
      const dom = await page.content();
      expectNoSecret([dom, ...responses]);
      await page.close();
    } finally {
      ui.server.close();
    }
  }, 60_000);

  it('requires the token when one is set; the JSON views answer with it', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01')]));
    const ui = await listen(site.store, TOKEN);
    try {
      expect((await fetch(`${ui.url}/`)).status).toBe(401);
      expect((await fetch(`${ui.url}/ui/api/overview`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const ok = await fetch(`${ui.url}/ui/api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(((await ok.json()) as { cluster: string }[]).map((r) => r.cluster)).toEqual(['rke2/cluster01']);
      const basic = await fetch(`${ui.url}/ui/api/clusters/rke2/cluster01`, { headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` } });
      expect(((await basic.json()) as { cluster: string }).cluster).toBe('rke2/cluster01');
      // The live page asks for the shown cluster's view only; a bad percent-encoding is a clear 400.
      const one = (await (await fetch(`${ui.url}/ui/api/status?cluster=rke2/cluster01`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { overview: unknown[]; clusters: Record<string, unknown> };
      expect([one.overview.length, Object.keys(one.clusters)]).toEqual([1, ['rke2/cluster01']]);
      const none = (await (await fetch(`${ui.url}/ui/api/status?cluster=`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { clusters: Record<string, unknown> };
      expect(none.clusters).toEqual({});
      expect((await fetch(`${ui.url}/ui/api/clusters/rke2/%E0%A4%A`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(400);
      const res = await fetch(`${ui.url}/`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(Buffer.byteLength(await res.text())).toBeLessThan(300 * 1024);
    } finally {
      ui.server.close();
    }
  });

  it('the page of a verified receipt opens from file:// and shows the same clusters', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01'), demoCluster('edge', 'store-7')]));
    await cli(['keygen', '--out', join(site.dir, 'site')]);
    const receipt = join(site.dir, 'receipt.json');
    const made = await cli(['report', '--store', site.store, '--out', receipt, '--key', join(site.dir, 'site.key')]);
    expect(made.code, made.stderr).toBe(0);
    const html = join(site.dir, 'status.html');
    const shown = await cli(['inspect-receipt', receipt, '--key', join(site.dir, 'site.pub'), '--html', html]);
    expect(shown.code, shown.stderr).toBe(0);
    const page = await browser.newPage();
    await page.goto(`file://${html}`);
    await page.waitForSelector('tr[data-cluster]');
    expect(await page.$$eval('#overview tbody tr', (rows) => rows.map((r) => r.getAttribute('data-cluster')))).toEqual(['edge/store-7', 'rke2/cluster01']);
    expect(await page.textContent('#meta')).toMatch(/verified/);
    // The receipt carries the site's imports: the timeline and the store page show them offline too.
    await page.click('a[href="?cluster=rke2%2Fcluster01"]');
    await page.waitForSelector('#timeline svg');
    expect(await page.$$eval('#timeline svg g title', (t) => t.map((x) => x.textContent))).toEqual([expect.stringMatching(/: bundle sequence 1 imported$/)]);
    expect(await page.textContent('#content')).toMatch(/a receipt holds the agents' status only/);
    await page.click('#nav-store');
    await page.waitForSelector('#store table');
    expect(await page.$$eval('#store table:first-of-type tbody tr th', (t) => t.map((x) => x.textContent))).toEqual(['1']);
    await page.close();
  });
});
