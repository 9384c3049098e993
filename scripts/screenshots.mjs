#!/usr/bin/env node
// Screenshots of the status page for the README (docs/status-overview.png, status-cluster.png, status-store.png) at
// 1280x800: the bundled samples exported and imported, one agent reporting through the agent API (one group
// provisioned, one failed), the page served and captured in Debian's chromium. Run with `npm run screenshots`.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { issueToken } from '../dist/agent-api/tokens.js';
import { startServer } from '../dist/registry/server/http.js';
import { createSiteHandler } from '../dist/serve/site-handler.js';
import { statusPageHandler } from '../dist/ui/server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = await mkdtemp(join(tmpdir(), 'sveltos-airgap-screens-'));
const cli = (...args) => {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'sveltos-airgap'), ...args, '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sveltos-airgap ${args[0]}: ${r.stderr}`);
};
try {
  const store = join(work, 'store');
  cli('keygen', '--out', join(work, 'signing'));
  cli('export', '--from', join(root, 'samples', 'fleet'), '--key', join(work, 'signing.key'), '--out', join(work, 'b.tar'));
  cli('import', join(work, 'b.tar'), '--store', store, '--key', join(work, 'signing.pub'));

  // The agent of retail/store-berlin reports: its first group provisioned, the second failed.
  const handler = await createSiteHandler(store);
  const site = await startServer(handler, { host: '127.0.0.1', port: 0 });
  const { token } = await issueToken(store, 'retail/store-berlin', new Date());
  const base = `${site.url}/apis/lib.projectsveltos.io/v1beta1/namespaces/retail/configurationgroups`;
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const groups = (await (await fetch(`${base}?labelSelector=${encodeURIComponent('pullmode.projectsveltos.io/clustername=store-berlin')}`, { headers: auth })).json()).items;
  const statuses = [{ status: 'Provisioned', lastAppliedTime: new Date().toISOString() }, { status: 'Failed', failureMessage: 'Deployment platform/store-apps: ImagePullBackOff (registry.ship.local:5000 unreachable)' }];
  for (const [i, g] of groups.slice(0, 2).entries()) {
    const res = await fetch(`${base}/${g.metadata.name}/status`, { method: 'PUT', headers: auth, body: JSON.stringify({ ...g, status: { ...statuses[i], observedGeneration: g.metadata.generation } }) });
    if (!res.ok) throw new Error(`status of ${g.metadata.name}: HTTP ${res.status}`);
  }
  await site.close();
  await handler.close();

  const ui = createServer(statusPageHandler({ storeDir: store }));
  await new Promise((r) => ui.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${ui.address().port}`;
  const browser = await chromium.launch({ executablePath: process.env.SVELTOS_AIRGAP_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${url}/`);
  await page.waitForSelector('tr[data-cluster]');
  await page.screenshot({ path: join(root, 'docs', 'status-overview.png') });
  await page.goto(`${url}/?cluster=retail%2Fstore-berlin`);
  await page.waitForSelector('#content details');
  await page.click('#content details summary');
  await page.locator('#detail h2').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(root, 'docs', 'status-cluster.png') });
  await page.goto(`${url}/?view=store`);
  await page.waitForSelector('#store table');
  await page.screenshot({ path: join(root, 'docs', 'status-store.png') });
  await browser.close();
  ui.close();
  process.stderr.write('wrote docs/status-overview.png, docs/status-cluster.png and docs/status-store.png\n');
} finally {
  await rm(work, { recursive: true, force: true });
}
