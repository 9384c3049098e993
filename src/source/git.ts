// Flux GitRepository sources fetched on the exporting machine as source-controller fetches them, with the
// `git` binary: `spec.ref` resolved against the remote's refs (commit, then name, semver, tag, branch;
// branch `master` when none is given), a shallow fetch of that ref, the files of the commit less what
// sourceignore leaves out (its defaults, `.sourceignore` files, `spec.ignore`), and the revision named as
// source-controller names it (`main@sha1:<hex>`, `v1.2.0@sha1:<hex>`, `sha1:<hex>`). Checkouts are cached by
// commit; `offline` uses the cache only. Credentials go to git through its environment (never its
// arguments), SSH keys through 0600 files removed afterwards; messages never show them.
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FluxTree, GitAccess, GitInclude, GitRef, GitRequest } from '../resolve/flux.js';
import { displayURL } from '../resolve/remote-url.js';
import { artifactRoute, fetchArtifact, FluxSourceError, MAX_TREE_BYTES, readJSONMap, sha256hex, writeAtomic, type FetchedSource, type FluxFetchOptions, type IncludedSource } from './flux-artifact.js';
import { pickVersion } from './helm.js';
import { defaultRunner, type ProcessRunner } from './process-runner.js';
import { SOURCEIGNORE_FILE, sourceIgnoreRules } from './sourceignore.js';

export interface GitFetchOptions extends FluxFetchOptions {
  runner?: ProcessRunner;
  /** The git binary (default `git` on PATH). */
  git?: string;
}

/**
 * gitEnvironment is the environment git runs with: no system or user configuration, no prompts, the
 * bearer token or basic credentials as an extra http header, and for SSH a command using the identity and
 * known_hosts written (0600) under `dir`.
 */
export async function gitEnvironment(access: GitAccess, dir: string): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '/bin/true', LC_ALL: 'C' };
  const config: [string, string][] = [['protocol.file.allow', 'always']];
  if (access.bearerToken !== undefined) config.push(['http.extraHeader', `Authorization: Bearer ${access.bearerToken}`]);
  else if (access.username !== undefined && access.password !== undefined) {
    config.push(['http.extraHeader', `Authorization: Basic ${Buffer.from(`${access.username}:${access.password}`).toString('base64')}`]);
  }
  if (access.ca !== undefined) {
    const ca = join(dir, 'ca.crt');
    await writeFile(ca, access.ca, { mode: 0o600 });
    config.push(['http.sslCAInfo', ca]);
  }
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  env.GIT_CONFIG_COUNT = String(config.length);
  if (access.identity !== undefined) {
    const id = join(dir, 'identity');
    const hosts = join(dir, 'known_hosts');
    await writeFile(id, access.identity.endsWith('\n') ? access.identity : `${access.identity}\n`, { mode: 0o600 });
    await writeFile(hosts, access.knownHosts ?? '', { mode: 0o600 });
    env.GIT_SSH_COMMAND = `ssh -i '${id}' -o IdentitiesOnly=yes -o UserKnownHostsFile='${hosts}' -o StrictHostKeyChecking=yes -o BatchMode=yes`;
  }
  return env;
}

/** fetchGitRepository returns the revision and files of the source (fetched, or offline from the cache). */
export async function fetchGitRepository(req: GitRequest, opts: GitFetchOptions): Promise<FetchedSource> {
  const where = `GitRepository ${req.namespace}/${req.name} (${displayURL(req.url)})`;
  const root = join(opts.cacheDir, 'flux', 'git', sha256hex(req.url));
  const refsPath = join(root, 'refs.json');
  const refKey = JSON.stringify(req.ref);
  const refs = await readJSONMap<string>(refsPath);
  let revision: string;
  if (opts.offline) {
    const cached = refs[refKey];
    if (!cached) throw new FluxSourceError('INVALID', `${where}: not in the cache (${root}) and --offline forbids fetching it; export once without --offline with the same --cache-dir`);
    revision = cached;
  } else {
    revision = await fetchRevision(req, root, where, opts);
    refs[refKey] = revision;
    await mkdir(root, { recursive: true });
    await writeAtomic(refsPath, JSON.stringify(refs));
  }
  const commit = revision.slice(revision.lastIndexOf('sha1:') + 5);
  const files = await listCheckout(join(root, commit), where);
  const included: IncludedSource[] = [];
  for (const [i, inc] of (req.include ?? []).entries()) included.push(...(await include(files, inc, `${where}: spec.include[${i}]`, opts)));
  return { revision, tree: await readTree(files, req.ignore, where), ...(included.length ? { included } : {}) };
}

// include copies the part of an included GitRepository's artifact `fromPath` names to `toPath`, as
// source-controller's include step does before the artifact is archived (so this repository's ignore rules
// apply to it too). source-controller moves it with a rename, which fails on a non-empty directory and
// replaces a file: either way the result depends on what the repository held, so a `toPath` that is already
// there is refused.
async function include(files: CheckoutFiles, inc: GitInclude, where: string, opts: GitFetchOptions): Promise<IncludedSource[]> {
  const route = artifactRoute(opts);
  const fetched = (route && inc.request.artifact && (await fetchArtifact(inc.request, inc.request.artifact, route, opts))) || (await fetchGitRepository(inc.request, opts));
  const from = inc.fromPath;
  const picked = [...fetched.tree].filter(([p]) => from === '' || p === from || p.startsWith(`${from}/`));
  if (picked.length === 0) throw new FluxSourceError('INVALID', `${where}: fromPath ${JSON.stringify(from)} is not in GitRepository ${inc.request.namespace}/${inc.request.name} (${fetched.revision})`);
  const taken = [...files.keys()].sort().find((p) => p === inc.toPath || p.startsWith(`${inc.toPath}/`));
  if (taken !== undefined) throw new FluxSourceError('INVALID', `${where}: toPath ${JSON.stringify(inc.toPath)} already holds ${taken} in this repository; include into a path the repository does not use`);
  for (const [p, data] of picked) files.set(p === from ? inc.toPath : `${inc.toPath}/${from === '' ? p : p.slice(from.length + 1)}`, data);
  return [{ url: displayURL(inc.request.url), revision: fetched.revision }, ...(fetched.included ?? [])];
}

async function fetchRevision(req: GitRequest, root: string, where: string, opts: GitFetchOptions): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'sveltos-airgap-git-'));
  try {
    const env = await gitEnvironment(req.access, work);
    const git = async (args: string[]) => {
      const r = await (opts.runner ?? defaultRunner).run(opts.git ?? 'git', args, { env, ...(opts.signal ? { signal: opts.signal } : {}) });
      if (r.code !== 0) {
        const said = r.stderr.split(req.url).join(displayURL(req.url)).trim().split('\n').slice(-3).join('; ');
        throw new FluxSourceError('INVALID', `${where}: git ${args[0] === '-C' ? args[2] : args[0]}: ${said || `exit ${r.code}`}`);
      }
      return r.stdout;
    };
    const remote = parseLsRemote(await git(['ls-remote', req.url]));
    const target = chooseRef(req.ref, remote, where);
    const dir = join(root, target.commit);
    if (!(await exists(dir))) {
      const repo = join(work, 'repo');
      await git(['init', '-q', repo]);
      await git(['-C', repo, 'fetch', '-q', '--no-tags', ...(target.pinned ? [] : ['--depth', '1']), req.url, target.fetch]);
      await git(['-C', repo, 'checkout', '-q', '--detach', target.pinned ? target.commit : 'FETCH_HEAD']);
      const head = (await git(['-C', repo, 'rev-parse', 'HEAD'])).trim();
      if (head !== target.commit) throw new FluxSourceError('INVALID', `${where}: fetched ${head}, expected ${target.commit}`);
      await rm(join(repo, '.git'), { recursive: true, force: true });
      await mkdir(root, { recursive: true });
      await rename(repo, dir).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    }
    return target.revision;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** parseLsRemote maps each ref of `git ls-remote` to its commit (an annotated tag to the commit it points at). */
export function parseLsRemote(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [sha, ref] = line.split('\t');
    if (!sha || !ref) continue;
    if (ref.endsWith('^{}')) out.set(ref.slice(0, -3), sha);
    else if (!out.has(ref)) out.set(ref, sha);
  }
  return out;
}

/** chooseRef resolves `spec.ref` against the remote's refs as source-controller does. */
export function chooseRef(ref: GitRef, remote: Map<string, string>, where: string): { fetch: string; commit: string; revision: string; pinned: boolean } {
  const need = (name: string, what: string): string => {
    const sha = remote.get(name);
    if (!sha) throw new FluxSourceError('INVALID', `${where}: ${what} not found in the repository`);
    return sha;
  };
  if (ref.name) {
    const commit = need(ref.name, `spec.ref.name ${ref.name}`);
    return { fetch: ref.name, commit, revision: `${ref.name}@sha1:${commit}`, pinned: false };
  }
  if (ref.commit && !ref.semver && !ref.tag) {
    // A commit, on its branch when one is named (source-controller checks it out from there).
    const branch = ref.branch ?? 'master';
    if (ref.branch) need(`refs/heads/${branch}`, `spec.ref.branch ${branch}`);
    const from = ref.branch ? `refs/heads/${branch}` : '+refs/heads/*:refs/remotes/origin/*';
    return { fetch: from, commit: ref.commit, revision: ref.branch ? `${branch}@sha1:${ref.commit}` : `sha1:${ref.commit}`, pinned: true };
  }
  if (ref.semver) {
    const tags = [...remote.keys()].filter((k) => k.startsWith('refs/tags/')).map((k) => k.slice('refs/tags/'.length));
    const tag = pickVersion(ref.semver, tags);
    if (!tag) throw new FluxSourceError('INVALID', `${where}: no tag matches spec.ref.semver ${JSON.stringify(ref.semver)} (tags: ${tags.slice(0, 20).join(', ') || 'none'})`);
    const commit = need(`refs/tags/${tag}`, `tag ${tag}`);
    return { fetch: `refs/tags/${tag}`, commit, revision: `${tag}@sha1:${commit}`, pinned: false };
  }
  if (ref.tag) {
    const commit = need(`refs/tags/${ref.tag}`, `spec.ref.tag ${ref.tag}`);
    return { fetch: `refs/tags/${ref.tag}`, commit, revision: `${ref.tag}@sha1:${commit}`, pinned: false };
  }
  const branch = ref.branch ?? 'master';
  const commit = need(`refs/heads/${branch}`, `branch ${branch}${ref.branch ? '' : ' (the default when spec.ref names none)'}`);
  return { fetch: `refs/heads/${branch}`, commit, revision: `${branch}@sha1:${commit}`, pinned: false };
}

/** CheckoutFiles maps a checkout's relative paths to the file holding them, or to bytes copied in by an include. */
type CheckoutFiles = Map<string, string | Buffer>;

/** listCheckout lists a checkout's regular files (symlinks are not carried). */
async function listCheckout(dir: string, where: string): Promise<CheckoutFiles> {
  if (!(await exists(dir))) throw new FluxSourceError('INVALID', `${where}: the cached checkout ${dir} is missing; export once without --offline`);
  const files: CheckoutFiles = new Map();
  const walk = async (rel: string) => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.set(p, join(dir, p));
    }
  };
  await walk('');
  return files;
}

/** readTree reads the files less what sourceignore (every .sourceignore among them, and `spec.ignore`) leaves out. */
async function readTree(files: CheckoutFiles, ignore: string | undefined, where: string): Promise<FluxTree> {
  const read = (f: string | Buffer) => (typeof f === 'string' ? readFile(f) : Promise.resolve(f));
  const ignoreTexts: [string, string][] = [];
  for (const [p, f] of files) if (p === SOURCEIGNORE_FILE || p.endsWith(`/${SOURCEIGNORE_FILE}`)) ignoreTexts.push([p, (await read(f)).toString('utf8')]);
  const rules = sourceIgnoreRules(ignoreTexts, ignore);
  const tree: FluxTree = new Map();
  let total = 0;
  for (const [rel, f] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (rules.ignored(rel)) continue;
    const data = await read(f);
    total += data.length;
    if (total > MAX_TREE_BYTES) throw new FluxSourceError('INVALID', `${where}: the artifact holds more than ${MAX_TREE_BYTES >> 20} MiB; narrow it with spec.ignore`);
    tree.set(rel, data);
  }
  return tree;
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}
