// policyRefs to Flux GitRepository sources, fetched with the real git from a repository made here: over
// file:// and over http from `git http-backend` (behind basic auth or a bearer token), at a branch, a tag,
// a semver range or a commit, with sourceignore applied, cached by commit and read offline.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPlan } from '../src/export/plan.js';
import type { ExportLog } from '../src/export/log.js';
import { gitEnvironment } from '../src/source/git.js';
import { testKeys } from './bundles.js';
import { cli } from './cli.js';
import { exec } from './helm/helm-env.js';
import { tempDir } from './helpers.js';

const USER = 'reader';
const PASSWORD = 'git-secret-pass-7731';
const TOKEN = 'git-bearer-token-5520';

let work: string;
let repo: string;
let commits: Record<string, string>;
let http: { url: string; close: () => Promise<void> };

const git = async (args: string[], cwd: string) => (await exec('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', ...args], { cwd })).stdout.trim();

async function write(files: Record<string, string>): Promise<void> {
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(repo, p, '..'), { recursive: true });
    await writeFile(join(repo, p), text);
  }
}

const cm = (name: string, value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: web\ndata:\n  value: "${value}"\n`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'flux-git-'));
  repo = join(work, 'fleet-config');
  await mkdir(repo);
  await git(['init', '-q', '-b', 'main'], repo);
  await write({
    'apps/prod/a.yaml': cm('a', 'one'),
    'apps/prod/sub/b.yaml': cm('b', '{{ .Cluster.metadata.name }}'),
    'apps/prod/README.md': '# notes, left out by .sourceignore\n',
    'apps/prod/logo.png': 'not an image, left out by the default exclusions',
    'apps/bad/notes.txt': 'plain text is not YAML: {[',
    '.sourceignore': '*.md\n',
    '.github/workflows/ci.yaml': 'left: out\n',
  });
  await git(['add', '-A'], repo);
  await git(['commit', '-q', '-m', 'one'], repo);
  await git(['tag', 'v1.0.0'], repo);
  const first = await git(['rev-parse', 'HEAD'], repo);
  await write({ 'apps/prod/a.yaml': cm('a', 'two') });
  await git(['commit', '-q', '-am', 'two'], repo);
  await git(['tag', '-a', 'v1.2.0', '-m', 'release'], repo);
  const second = await git(['rev-parse', 'HEAD'], repo);
  await write({ 'apps/prod/a.yaml': cm('a', 'three') });
  await git(['commit', '-q', '-am', 'three'], repo);
  const third = await git(['rev-parse', 'HEAD'], repo);
  commits = { first, second, third };
  http = await gitHTTP(join(repo, '..'));
}, 60_000);

afterAll(async () => {
  await http?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** gitHTTP serves the repositories under `root` with `git http-backend` (CGI), for basic auth or a bearer token. */
async function gitHTTP(root: string): Promise<{ url: string; close: () => Promise<void> }> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers.authorization ?? '';
    if (auth !== `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` && auth !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    const u = new URL(req.url ?? '/', 'http://x');
    const child = spawn('git', ['http-backend'], {
      env: { PATH: process.env.PATH ?? '', GIT_PROJECT_ROOT: root, GIT_HTTP_EXPORT_ALL: '1', REQUEST_METHOD: req.method ?? 'GET', PATH_INFO: u.pathname, QUERY_STRING: u.search.slice(1), CONTENT_TYPE: req.headers['content-type'] ?? '', REMOTE_USER: USER, REMOTE_ADDR: '127.0.0.1' },
    });
    req.pipe(child.stdin);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('close', () => {
      const out = Buffer.concat(chunks);
      const end = out.indexOf('\r\n\r\n');
      const head = out.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers).end(out.subarray(end + 4));
    });
  };
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const silent: ExportLog = { info: () => undefined, warn: () => undefined, progress: () => undefined };

function fleet(source: string, policyRef = '{kind: GitRepository, namespace: flux-system, name: apps, path: "apps/{{ index .Cluster.metadata.labels \\"env\\" }}"}', extra: string[] = []): string {
  return [
    'apiVersion: lib.projectsveltos.io/v1beta1\nkind: SveltosCluster\nmetadata: {name: edge-1, namespace: fleet, labels: {env: prod}}\nspec: {pullMode: true}\n',
    source,
    ...extra,
    `apiVersion: config.projectsveltos.io/v1beta1\nkind: ClusterProfile\nmetadata: {name: apps}\nspec:\n  clusterSelector: {matchLabels: {env: prod}}\n  policyRefs:\n  - ${policyRef}\n`,
  ].join('---\n');
}

const gitRepository = (url: string, spec = '', annotations = '') =>
  `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: apps\n  namespace: flux-system\n${annotations ? `  annotations: {${annotations}}\n` : ''}spec:\n  interval: 5m\n  url: ${url}\n${spec}`;

async function planOf(text: string, cacheDir?: string, offline = false) {
  const dir = await tempDir();
  await writeFile(join(dir, 'in.yaml'), text);
  const cache = cacheDir ?? (await tempDir());
  try {
    const { plan } = await loadPlan([dir], [], new Date(0), silent, { cacheDir: cache, ...(offline ? { offline: true } : {}) });
    return { plan, cache, dir };
  } catch (err) {
    return { error: err as Error, cache, dir };
  }
}

function carried(plan: Awaited<ReturnType<typeof planOf>>['plan']) {
  const group = plan!.clusters[0]!.groups.find((g) => g.bundles.some((b) => b.spec.referencedObjectKind === 'GitRepository'))!;
  const bundle = group.bundles.find((b) => b.spec.referencedObjectKind === 'GitRepository')!;
  return { bundle, objects: (bundle.spec.resources ?? []).map((r) => parse(r) as { metadata: { name: string }; data: { value: string } }) };
}

describe('policyRefs to a Flux GitRepository', () => {
  it('file://, semver: the highest matching tag; every file under the templated path, sorted, less what sourceignore leaves out', async () => {
    const { plan } = await planOf(fleet(gitRepository(`file://${repo}`, '  ref: {semver: ">=1.0.0 <2.0.0"}\n')));
    expect(plan!.problems).toEqual([]);
    const { bundle, objects } = carried(plan);
    expect(bundle.metadata.annotations['pullmode.projectsveltos.io/index']).toBe('GitRepository-flux-system-apps');
    expect(bundle.spec).toMatchObject({ referencedObjectKind: 'GitRepository', referencedObjectNamespace: 'flux-system', referencedObjectName: 'apps' });
    // a.yaml then sub/b.yaml; README.md (.sourceignore) and logo.png (default exclusions) are not read.
    expect(objects.map((o) => [o.metadata.name, o.data.value])).toEqual([['a', 'two'], ['b', '{{ .Cluster.metadata.name }}']]);
    expect(plan!.clusters[0]!.remoteSources).toEqual([{ url: `file://${repo}`, digest: `v1.2.0@sha1:${commits.second}` }]);
  });

  it('branch (default master is reported when missing), tag, commit; the template annotation of the source renders each file', async () => {
    const branch = await planOf(fleet(gitRepository(`file://${repo}`, '  ref: {branch: main}\n', 'projectsveltos.io/template: ok')));
    expect(branch.plan!.problems).toEqual([]);
    expect(carried(branch.plan).objects.map((o) => o.data.value)).toEqual(['three', 'edge-1']);
    expect(branch.plan!.clusters[0]!.remoteSources[0]!.digest).toBe(`main@sha1:${commits.third}`);
    const tag = await planOf(fleet(gitRepository(`file://${repo}`, '  ref: {tag: v1.0.0}\n')));
    expect(carried(tag.plan).objects[0]!.data.value).toBe('one');
    const commit = await planOf(fleet(gitRepository(`file://${repo}`, `  ref: {branch: main, commit: ${commits.second}}\n`)));
    expect(carried(commit.plan).objects[0]!.data.value).toBe('two');
    expect(commit.plan!.clusters[0]!.remoteSources[0]!.digest).toBe(`main@sha1:${commits.second}`);
    const none = await planOf(fleet(gitRepository(`file://${repo}`)));
    expect(none.error?.message).toMatch(/FLUX_SOURCE: .*GitRepository flux-system\/apps \(file:\/\/.*\): branch master \(the default when spec\.ref names none\) not found in the repository/);
  });

  it('over http from git http-backend with basic auth and with a bearer token; a wrong password fails without showing it', async () => {
    const url = `${http.url}/fleet-config`;
    const basic = (password: string) => `apiVersion: v1\nkind: Secret\nmetadata: {name: git-auth, namespace: flux-system}\ndata:\n  username: ${Buffer.from(USER).toString('base64')}\n  password: ${Buffer.from(password).toString('base64')}\n`;
    const withSecret = (secret: string) => fleet(gitRepository(url, '  ref: {tag: v1.2.0}\n  secretRef: {name: git-auth}\n'), undefined, [secret]);
    const ok = await planOf(withSecret(basic(PASSWORD)));
    expect(ok.plan!.problems).toEqual([]);
    expect(carried(ok.plan).objects[0]!.data.value).toBe('two');
    const bearer = await planOf(withSecret(`apiVersion: v1\nkind: Secret\nmetadata: {name: git-auth, namespace: flux-system}\ndata:\n  bearerToken: ${Buffer.from(TOKEN).toString('base64')}\n`));
    expect(bearer.plan!.problems).toEqual([]);
    const wrong = await planOf(withSecret(basic('not-the-password')));
    expect(wrong.error?.message).toMatch(/FLUX_SOURCE: .*GitRepository flux-system\/apps \(http:\/\/127\.0\.0\.1:\d+\/fleet-config\): git ls-remote: /);
    expect(wrong.error?.message).not.toContain('not-the-password');
    const none = await planOf(fleet(gitRepository(url, '  ref: {tag: v1.2.0}\n')));
    expect(none.error?.message).toMatch(/git ls-remote: /);
  });

  it('cached by commit: offline reads the cache; without it, offline says what to do', async () => {
    const text = fleet(gitRepository(`file://${repo}`, '  ref: {tag: v1.0.0}\n'));
    const online = await planOf(text);
    const offline = await planOf(text, online.cache, true);
    expect(offline.plan!.problems).toEqual([]);
    expect(carried(offline.plan).objects[0]!.data.value).toBe('one');
    const empty = await planOf(text, await tempDir(), true);
    expect(empty.error?.message).toMatch(/not in the cache .* and --offline forbids fetching it/);
  });

  it('refuses, with every other problem: a missing source (upstream skips it silently), a non-YAML file, a path with no file, a Bucket', async () => {
    const profile = `{kind: GitRepository, namespace: flux-system, name: apps, path: apps/bad}
  - {kind: GitRepository, namespace: flux-system, name: gone}
  - {kind: GitRepository, namespace: flux-system, name: apps, path: nowhere}
  - {kind: OCIRepository, namespace: flux-system, name: oci}
  - {kind: Bucket, namespace: flux-system, name: bucket}`;
    const bucket = 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: bucket, namespace: flux-system}\nspec: {bucketName: fleet, endpoint: minio.example.com}\n';
    const r = await planOf(fleet(gitRepository(`file://${repo}`, '  ref: {tag: v1.0.0}\n'), profile, [bucket]));
    const msg = r.error?.message ?? '';
    expect(msg).toMatch(/INVALID_CONTENT: .*policyRefs\[0\]: GitRepository flux-system\/apps revision v1\.0\.0@sha1:[0-9a-f]{40} file apps\/bad\/notes\.txt: /);
    expect(msg).toMatch(/REFERENCE_NOT_FOUND: .*policyRefs\[1\]: GitRepository flux-system\/gone is not in the input \(addon-controller skips a missing Flux source silently/);
    expect(msg).toMatch(/FLUX_SOURCE: .*policyRefs\[2\]: .*path "nowhere" holds no file/);
    expect(msg).toMatch(/REFERENCE_NOT_FOUND: .*policyRefs\[3\]: OCIRepository flux-system\/oci is not in the input/);
    expect(msg).toMatch(/UNSUPPORTED: .*policyRefs\[4\]: Bucket flux-system\/bucket: Bucket sources need an S3-compatible client .* --flux-artifact-host/);
  });

  it('export records the revision in the signed predicate; inspect shows it', async () => {
    const { dir } = await planOf(fleet(gitRepository(`file://${repo}`, '  ref: {tag: v1.2.0}\n')));
    const keys = await testKeys();
    const out = join(dir, 'b.tar');
    const exp = await cli(['export', '--from', dir, '--key', keys.keyPath, '--out', out, '--cache-dir', await tempDir()]);
    expect(exp.code).toBe(0);
    expect(exp.stderr).toContain(`GitRepository flux-system/apps (file://${repo}): v1.2.0@sha1:${commits.second}`);
    const ins = await cli(['inspect', out, '--output', 'json']);
    expect((ins.result as { signature: { remoteSources: unknown } }).signature.remoteSources).toEqual([{ url: `file://${repo}`, digest: `v1.2.0@sha1:${commits.second}` }]);
  });

  it('SSH: the identity and known_hosts go to 0600 files named in GIT_SSH_COMMAND; tokens go in the environment, not the arguments', async () => {
    const dir = await tempDir();
    const env = await gitEnvironment({ identity: '-----BEGIN OPENSSH PRIVATE KEY-----\nkey\n-----END OPENSSH PRIVATE KEY-----', knownHosts: 'git.example.com ssh-ed25519 AAAA' }, dir);
    expect(env.GIT_SSH_COMMAND).toBe(`ssh -i '${dir}/identity' -o IdentitiesOnly=yes -o UserKnownHostsFile='${dir}/known_hosts' -o StrictHostKeyChecking=yes -o BatchMode=yes`);
    for (const f of ['identity', 'known_hosts']) expect((await stat(join(dir, f))).mode & 0o777).toBe(0o600);
    const bearer = await gitEnvironment({ bearerToken: TOKEN }, dir);
    expect(Object.entries(bearer).filter(([k]) => k.startsWith('GIT_CONFIG_'))).toContainEqual(['GIT_CONFIG_VALUE_1', `Authorization: Bearer ${TOKEN}`]);
  });
});

describe('GitRepository spec.include', () => {
  let lib = '';
  beforeAll(async () => {
    lib = join(work, 'shared-lib');
    await mkdir(join(lib, 'base'), { recursive: true });
    await git(['init', '-q', '-b', 'main'], lib);
    await writeFile(join(lib, 'base', 'common.yaml'), cm('common', 'shared'));
    await writeFile(join(lib, 'base', 'NOTES.md'), '# left out by the including repository\'s .sourceignore (*.md)\n');
    await writeFile(join(lib, 'base', 'draft.yaml'), cm('draft', 'left out by the library\'s own .sourceignore'));
    await writeFile(join(lib, '.sourceignore'), 'draft.yaml\n');
    await writeFile(join(lib, 'single.yaml'), cm('single', 'one file'));
    await git(['add', '-A'], lib);
    await git(['commit', '-q', '-m', 'lib'], lib);
  }, 30_000);

  const library = (spec = '') =>
    `apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: lib, namespace: flux-system}\nspec:\n  interval: 5m\n  url: file://${lib}\n  ref: {branch: main}\n${spec}`;

  it("copies fromPath of the included artifact to toPath before archiving: the including repository's ignore rules apply as well as the library's own", async () => {
    const include = '  include:\n  - repository: {name: lib}\n    fromPath: ./base/\n    toPath: apps/prod/lib\n';
    const { plan } = await planOf(fleet(gitRepository(`file://${repo}`, `  ref: {tag: v1.2.0}\n${include}`), undefined, [library()]));
    expect(plan!.problems).toEqual([]);
    // a.yaml, lib/common.yaml, sub/b.yaml: NOTES.md (*.md in the including .sourceignore) and draft.yaml (the library's) are not read.
    expect(carried(plan).objects.map((o) => [o.metadata.name, o.data.value])).toEqual([['a', 'two'], ['common', 'shared'], ['b', '{{ .Cluster.metadata.name }}']]);
    const libHead = await git(['rev-parse', 'HEAD'], lib);
    expect(plan!.clusters[0]!.remoteSources).toEqual([
      { url: `file://${repo}`, digest: `v1.2.0@sha1:${commits.second}` },
      { url: `file://${lib}`, digest: `main@sha1:${libHead}` },
    ]);
  });

  it('toPath defaults to the included repository name; fromPath may name one file', async () => {
    const include = '  include:\n  - repository: {name: lib}\n  - repository: {name: lib}\n    fromPath: single.yaml\n    toPath: extra/one.yaml\n';
    const source = gitRepository(`file://${repo}`, `  ref: {tag: v1.2.0}\n${include}`);
    const ref = (path: string) => `{kind: GitRepository, namespace: flux-system, name: apps, path: ${path}}`;
    const [base, extra] = await Promise.all([planOf(fleet(source, ref('lib/base'), [library()])), planOf(fleet(source, ref('extra'), [library()]))]);
    expect([base.plan!.problems, extra.plan!.problems]).toEqual([[], []]);
    expect(carried(base.plan).objects.map((o) => o.metadata.name)).toEqual(['common']);
    expect(carried(extra.plan).objects.map((o) => [o.metadata.name, o.data.value])).toEqual([['single', 'one file']]);
  });

  it('refuses a missing included repository, a cycle, a path leaving the artifact, a toPath the repository already uses and a missing fromPath, naming each', async () => {
    const plans = await Promise.all(
      [
        ['  include:\n  - repository: {name: nowhere}\n', library()],
        ['  include:\n  - repository: {name: lib}\n', library('  include:\n  - repository: {name: apps}\n')],
        ['  include:\n  - repository: {name: lib}\n    toPath: ../outside\n', library()],
        ['  include:\n  - repository: {name: lib}\n    toPath: apps/prod\n', library()],
        ['  include:\n  - repository: {name: lib}\n    fromPath: missing\n', library()],
      ].map(([include, lib]) => planOf(fleet(gitRepository(`file://${repo}`, `  ref: {tag: v1.2.0}\n${include}`), undefined, [lib!]))),
    );
    const messages = plans.map((p) => p.error?.message ?? 'no error');
    expect(messages[0]).toMatch(/FLUX_SOURCE: .*spec\.include\[0\]: GitRepository flux-system\/nowhere is not in the input/);
    expect(messages[1]).toMatch(/spec\.include\[0\]: GitRepository flux-system\/apps includes itself through flux-system\/apps -> flux-system\/lib -> flux-system\/apps/);
    expect(messages[2]).toMatch(/spec\.include\[0\]\.toPath "\.\.\/outside": expected a relative path inside the artifact/);
    expect(messages[3]).toMatch(/spec\.include\[0\]: toPath "apps\/prod" already holds apps\/prod\/README\.md in this repository/);
    expect(messages[4]).toMatch(/spec\.include\[0\]: fromPath "missing" is not in GitRepository flux-system\/lib \(main@sha1:[0-9a-f]{40}\)/);
  });
});
