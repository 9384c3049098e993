// agent-kubeconfig --list and --revoke on the CLI, against the real site handler on 127.0.0.1 with TLS:
// listing never shows a token or its hash; a request made one reload interval after a revocation is refused
// (agent API, the registry's cluster artifact route, kubectl) and the token's watch has ended, while the
// other token keeps working; revoking what has no token changes nothing; issues from several processes at
// once all land.
import { readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { hashToken, tokensPath } from '../../src/agent-api/tokens.js';
import { buildPackage, runNode } from '../built-package.js';
import { cli } from '../cli.js';
import { tempDir } from '../helpers.js';
import { demoCluster, groupNameOf, kubectl, makeSite, serveSite, type ServedSite } from './fixtures.js';

const INTERVAL = 300;
const GROUPS = (ns: string) => `/apis/lib.projectsveltos.io/v1beta1/namespaces/${ns}/configurationgroups`;
const ARTIFACT = (cluster: string) => `/v2/sveltos-airgap/clusters/${cluster}/manifests/latest`;

interface Issued {
  cluster: string;
  id: string;
  token: string;
  kubeconfig: string;
}

/** get makes one HTTPS request trusting the site CA and reads the whole body. */
function get(served: ServedSite, path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(new URL(path, served.url), { ca: served.caPem, headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** openWatch starts a watch request and reports its status, what it received and whether the server ended it. */
function openWatch(served: ServedSite, path: string, token: string) {
  let body = '';
  let ended = false;
  let req!: ReturnType<typeof https.get>;
  const status = new Promise<number>((resolve, reject) => {
    req = https.get(new URL(`${path}?watch=1`, served.url), { ca: served.caPem, headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } }, (res) => {
      resolve(res.statusCode ?? 0);
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (ended = true));
    });
    req.on('error', reject);
  });
  return { status, body: () => body, ended: () => ended, close: () => req.destroy() };
}

/** waitUntil polls `cond` until it holds; after 10 s it fails naming `what` (a safety net, not a timing assertion). */
async function waitUntil(cond: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** untilElapsed waits until `ms` have passed since `since` (performance.now()). */
async function untilElapsed(since: number, ms: number): Promise<void> {
  while (performance.now() < since + ms) await new Promise((r) => setTimeout(r, since + ms - performance.now() + 1));
}

async function issue(store: string, dir: string, served: ServedSite, cluster: string): Promise<Issued> {
  const kubeconfig = join(dir, `${cluster.replace('/', '-')}.kubeconfig`);
  const r = await cli(['agent-kubeconfig', '--store', store, '--cluster', cluster, '--server', served.url, '--kubeconfig-out', kubeconfig, '--output', 'json']);
  expect(r.code, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout) as { tokenId: string; kubeconfig: string };
  const token = (parse(result.kubeconfig) as { users: { user: { token: string } }[] }).users[0]!.user.token;
  return { cluster, id: result.tokenId, token, kubeconfig };
}

describe('agent-kubeconfig --list and --revoke', () => {
  it('lists tokens without showing them; a revoked token is refused one reload interval later, the other still works', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01'), demoCluster('edge', 'store07')]));
    const served = await serveSite(site.store, { reloadIntervalMs: INTERVAL });
    const started = new Date();
    const a = await issue(site.store, site.dir, served, 'rke2/cluster01');
    const b = await issue(site.store, site.dir, served, 'edge/store07');
    const secrets = [a.token, b.token, hashToken(a.token), hashToken(b.token)];
    const shown: string[] = [];
    const list = async (...args: string[]) => {
      const r = await cli(['agent-kubeconfig', '--store', site.store, '--list', ...args]);
      expect(r.code, r.stderr).toBe(0);
      shown.push(r.stdout, r.stderr);
      return r.stdout;
    };

    // JSON: id, cluster and time of each, by cluster; nothing else.
    const listed = JSON.parse(await list('--output', 'json')) as { tokens: { id: string; cluster: string; createdAt: string }[] };
    expect(listed.tokens.map((t) => Object.keys(t).sort())).toEqual([
      ['cluster', 'createdAt', 'id'],
      ['cluster', 'createdAt', 'id'],
    ]);
    expect(listed.tokens.map((t) => [t.id, t.cluster])).toEqual([
      [b.id, 'edge/store07'],
      [a.id, 'rke2/cluster01'],
    ]);
    for (const t of listed.tokens) {
      expect(Date.parse(t.createdAt)).toBeGreaterThanOrEqual(started.getTime() - 1000);
      expect(Date.parse(t.createdAt)).toBeLessThanOrEqual(Date.now());
    }
    // Text: the same rows under a header; YAML and a cluster filter too.
    const text = (await list()).trimEnd().split('\n');
    expect(text[0]).toMatch(/^ID\s+CLUSTER\s+CREATED$/);
    expect(text.slice(1)).toEqual(listed.tokens.map((t) => expect.stringMatching(new RegExp(`^${t.id}\\s+${t.cluster}\\s+${t.createdAt}$`))));
    expect(parse(await list('--output', 'yaml'))).toEqual(listed);
    expect((JSON.parse(await list('--cluster', 'rke2/cluster01', '--output', 'json')) as typeof listed).tokens.map((t) => t.id)).toEqual([a.id]);
    for (const s of secrets) expect(shown.join('\n')).not.toContain(s);

    // Both tokens work, on the agent API and on their cluster's artifact; a's agent is watching.
    for (const t of [a, b]) {
      expect((await get(served, GROUPS(t.cluster.split('/')[0]!), t.token)).status).toBe(200);
      expect((await get(served, ARTIFACT(t.cluster), t.token)).status).toBe(200);
    }
    const watch = openWatch(served, GROUPS('rke2'), a.token);
    try {
      expect(await watch.status).toBe(200);
      await waitUntil(() => watch.body().includes('"ADDED"'), () => `the watch's initial events: ${watch.body()}`);

      const revoked = await cli(['agent-kubeconfig', '--store', site.store, '--revoke', a.id, '--output', 'json']);
      const revokedAt = performance.now();
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(JSON.parse(revoked.stdout)).toEqual({ revoked: [listed.tokens[1]] });
      for (const s of secrets) expect(revoked.stdout + revoked.stderr).not.toContain(s);

      // The first requests made one reload interval after the revocation are refused: no retries.
      await untilElapsed(revokedAt, INTERVAL);
      const api = await get(served, GROUPS('rke2'), a.token);
      expect(api.status).toBe(401);
      expect(JSON.parse(api.body)).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
      const artifact = await get(served, ARTIFACT(a.cluster), a.token);
      expect(artifact.status).toBe(401);
      expect(JSON.parse(artifact.body)).toMatchObject({ errors: [{ code: 'UNAUTHORIZED', message: expect.stringContaining('unknown or revoked token') }] });
      // kubectl words a 401 as "You must be logged in"; its discovery step does not show the Status message, a raw GET does.
      const refused = await kubectl(a.kubeconfig, ['get', 'configurationgroups', '-n', 'rke2', '-o', 'name'], { allowFail: true });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/error: You must be logged in to the server/);
      const raw = await kubectl(a.kubeconfig, ['get', '--raw', GROUPS('rke2')], { allowFail: true });
      expect(raw.code).not.toBe(0);
      expect(raw.stderr).toContain('error: You must be logged in to the server (Unauthorized)');
      // The revoked token's watch was ended by the server.
      await waitUntil(watch.ended, () => 'the revoked token\'s watch to end');

      // The other token is untouched.
      expect((await get(served, GROUPS('edge'), b.token)).status).toBe(200);
      expect((await get(served, ARTIFACT(b.cluster), b.token)).status).toBe(200);
      const works = await kubectl(b.kubeconfig, ['get', 'configurationgroups', '-n', 'edge', '-o', 'name']);
      expect(works.stdout).toContain(`configurationgroup.lib.projectsveltos.io/${groupNameOf('edge/store07', 'nginx')}`);
    } finally {
      watch.close();
    }
    expect((JSON.parse(await list('--output', 'json')) as typeof listed).tokens.map((t) => t.id)).toEqual([b.id]);
  });

  it('revokes nothing when an id or a cluster has no token, naming each and the tokens issued', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01'), demoCluster('edge', 'store07')]));
    const served = await serveSite(site.store, { reloadIntervalMs: INTERVAL });
    const a = await issue(site.store, site.dir, served, 'rke2/cluster01');
    const b = await issue(site.store, site.dir, served, 'edge/store07');
    const before = await readFile(tokensPath(site.store));
    const r = await cli(['agent-kubeconfig', '--store', site.store, '--revoke', a.id, '--revoke', '0123456789ab', '--revoke', 'edge/gone', '--output', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no token 0123456789ab, no token for cluster edge/gone');
    expect(r.stderr).toContain('nothing was revoked');
    expect(r.stderr).toContain(`${a.id} (rke2/cluster01)`);
    expect(r.stderr).toContain(`${b.id} (edge/store07)`);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { type: 'ValidationError', code: 'INVALID', exitCode: 1, details: { unknown: ['0123456789ab', 'edge/gone'] } } });
    expect(await readFile(tokensPath(site.store))).toEqual(before);
    // Both still work (a was named next to the unknown ones, and kept).
    const ids = (JSON.parse((await cli(['agent-kubeconfig', '--store', site.store, '--list', '--output', 'json'])).stdout) as { tokens: { id: string }[] }).tokens.map((t) => t.id);
    expect(ids).toEqual([b.id, a.id]);
    expect((await get(served, GROUPS('rke2'), a.token)).status).toBe(200);
    // Revoking by cluster, in text.
    const byCluster = await cli(['agent-kubeconfig', '--store', site.store, '--revoke', 'rke2/cluster01']);
    expect(byCluster.code, byCluster.stderr).toBe(0);
    expect(byCluster.stdout).toMatch(new RegExp(`^revoked ${a.id} \\(rke2/cluster01, issued \\S+\\)\\n$`));
  });

  it.each([
    { name: '--list with --server', args: ['--list', '--server', 'https://x:5000'], message: '--list issues no token: drop --server' },
    { name: '--revoke with --secret and --ca-file', args: ['--revoke', 'rke2/c1', '--secret', '--ca-file', 'ca.pem'], message: '--revoke issues no token: drop --ca-file, --secret' },
    { name: '--list with --revoke', args: ['--list', '--revoke', 'rke2/c1'], message: '--list and --revoke exclude each other' },
    { name: '--revoke with --cluster', args: ['--revoke', 'abcdefabcdef', '--cluster', 'rke2/c1'], message: '--revoke names the cluster itself' },
    { name: 'a malformed --revoke', args: ['--revoke', 'abc', '--revoke', 'Rke2/C1'], message: '--revoke: expected a token id (12 hex digits, as --list shows) or NAMESPACE/NAME, got "abc", "Rke2/C1"' },
    { name: 'issuing without --server', args: ['--cluster', 'rke2/c1'], message: 'issuing a token needs --server URL (or use --list or --revoke)' },
    { name: 'issuing without --cluster and --server', args: [], message: 'issuing a token needs --cluster NS/NAME and --server URL' },
  ])('refuses $name (exit 1)', async ({ args, message }) => {
    const store = await tempDir();
    const r = await cli(['agent-kubeconfig', '--store', store, ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });
});

describe('agent tokens issued from several processes at once', () => {
  let pkg: string;
  beforeAll(async () => {
    pkg = await buildPackage('tokens-build');
  }, 120_000);
  afterAll(async () => {
    if (pkg) await rm(pkg, { recursive: true, force: true });
  });

  it('keeps every token', async () => {
    const site = await makeSite();
    await site.importTar(await site.pack(1, [demoCluster('rke2', 'cluster01')]));
    // Four processes issuing 20 tokens each through the library, and four runs of the CLI, all at once.
    const script = `
      import { issueToken } from ${JSON.stringify(join(pkg, 'dist', 'agent-api', 'tokens.js'))};
      for (let i = 0; i < 20; i++) await issueToken(${JSON.stringify(site.store)}, 'rke2/p' + process.argv[1], new Date());`;
    const runs = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => runNode(['--input-type=module', '-e', script, String(i)])),
      ...Array.from({ length: 4 }, (_, i) => runNode([join(pkg, 'bin.mjs'), 'agent-kubeconfig', '--store', site.store, '--cluster', `edge/c${i}`, '--server', 'https://airgap.example:5000', '--quiet'])),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const listed = await cli(['agent-kubeconfig', '--store', site.store, '--list', '--output', 'json']);
    const tokens = (JSON.parse(listed.stdout) as { tokens: { id: string; cluster: string }[] }).tokens;
    expect(new Set(tokens.map((t) => t.id)).size).toBe(84);
    const perCluster = new Map<string, number>();
    for (const t of tokens) perCluster.set(t.cluster, (perCluster.get(t.cluster) ?? 0) + 1);
    expect(Object.fromEntries(perCluster)).toEqual({ 'edge/c0': 1, 'edge/c1': 1, 'edge/c2': 1, 'edge/c3': 1, 'rke2/p0': 20, 'rke2/p1': 20, 'rke2/p2': 20, 'rke2/p3': 20 });
  });
});
