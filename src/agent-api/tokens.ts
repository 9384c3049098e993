// Per-cluster bearer tokens. Only SHA-256 hashes are stored (`<store>/agent/tokens.json`); the token
// itself is printed once, inside the agent's kubeconfig. Edits (issue, revoke) hold `tokens.json.lock`
// around the read-modify-write, so runs at the same time never lose a token, and `serve` notices them
// through TokenBook within its check interval.
import { createHash, randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { withFileLock } from '../content/file-lock.js';
import { writeFileAtomic } from '../content/oci-layout/ingest.js';
import { ContentError, ValidationError } from '../errors.js';
import { AGENT_DIR } from './ledger.js';

const TOKENS_FILE = 'tokens.json';
const LOCK_FILE = 'tokens.json.lock';
// Issued tokens named in an error about an unknown one; the rest are counted.
const MAX_NAMED = 20;

export interface TokenRecord {
  /** Short id (first 12 hex of the hash), for listing and revoking. */
  id: string;
  cluster: string;
  sha256: string;
  createdAt: string;
}

/** TokenInfo is what may be shown of a token: never the token, nor its hash. */
export type TokenInfo = Pick<TokenRecord, 'id' | 'cluster' | 'createdAt'>;

/** TokenSelector picks tokens: one by its id, or every token of a cluster (`namespace/name`). */
export type TokenSelector = { id: string } | { cluster: string };

interface TokensFile {
  version: 1;
  tokens: TokenRecord[];
}

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** tokenInfo drops the hash of a record. */
export const tokenInfo = (r: TokenRecord): TokenInfo => ({ id: r.id, cluster: r.cluster, createdAt: r.createdAt });

/** tokensPath is where a store keeps its token hashes. */
export function tokensPath(storeDir: string): string {
  return join(storeDir, AGENT_DIR, TOKENS_FILE);
}

/** tokensFromJSON parses tokens.json; a damaged file is reported with `path` and the entry, never half-used. */
export function tokensFromJSON(text: string, path: string): TokenRecord[] {
  const damaged = (why: string, cause?: unknown) =>
    new ContentError('INVALID_LAYOUT', `${path}: ${why}: the token file is damaged; restore it from backup, or remove it and issue each agent a new token (agent-kubeconfig)`, cause ? { cause } : {});
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw damaged(`not valid JSON (${(err as Error).message})`, err);
  }
  const f = v as Partial<TokensFile> | null;
  if (typeof f !== 'object' || f === null || f.version !== 1 || !Array.isArray(f.tokens)) throw damaged('not a tokens file (version 1 with a tokens list)');
  return f.tokens.map((t: Partial<TokenRecord> | null, i) => {
    if (typeof t !== 'object' || t === null) throw damaged(`tokens[${i}]: expected an object`);
    if (typeof t.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(t.sha256)) throw damaged(`tokens[${i}].sha256: expected 64 lowercase hex digits`);
    if (t.id !== t.sha256.slice(0, 12)) throw damaged(`tokens[${i}].id: expected ${t.sha256.slice(0, 12)} (the start of sha256), found ${JSON.stringify(t.id)}`);
    if (typeof t.cluster !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(t.cluster)) throw damaged(`tokens[${i}].cluster: expected NAMESPACE/NAME, found ${JSON.stringify(t.cluster)}`);
    if (typeof t.createdAt !== 'string' || Number.isNaN(Date.parse(t.createdAt))) throw damaged(`tokens[${i}].createdAt: expected an RFC 3339 time, found ${JSON.stringify(t.createdAt)}`);
    return { id: t.id, cluster: t.cluster, sha256: t.sha256, createdAt: t.createdAt };
  });
}

/** readTokens loads the token hashes (none for a new store). */
export async function readTokens(storeDir: string): Promise<TokenRecord[]> {
  const path = tokensPath(storeDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return tokensFromJSON(text, path);
}

// editTokens runs one read-modify-write of tokens.json under its lock; `edit` returns the new list (the
// same array: nothing to write) and its result.
async function editTokens<T>(storeDir: string, edit: (tokens: TokenRecord[]) => { tokens: TokenRecord[]; result: T }): Promise<T> {
  await mkdir(join(storeDir, AGENT_DIR), { recursive: true });
  return withFileLock(join(storeDir, AGENT_DIR, LOCK_FILE), async () => {
    const before = await readTokens(storeDir);
    const { tokens, result } = edit(before);
    if (tokens !== before) await writeFileAtomic(tokensPath(storeDir), `${JSON.stringify({ version: 1, tokens } satisfies TokensFile, null, 2)}\n`);
    return result;
  });
}

/** issueToken creates a token for `cluster`, stores its hash and returns the token (shown once). */
export async function issueToken(storeDir: string, cluster: string, now: Date): Promise<{ token: string; record: TokenRecord }> {
  const token = `sva_${randomBytes(32).toString('base64url')}`;
  const sha256 = hashToken(token);
  const record: TokenRecord = { id: sha256.slice(0, 12), cluster, sha256, createdAt: now.toISOString() };
  await editTokens(storeDir, (tokens) => ({ tokens: [...tokens, record], result: undefined }));
  return { token, record };
}

const byClusterThenTime = (a: TokenInfo, b: TokenInfo) => a.cluster.localeCompare(b.cluster) || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

/** listTokens lists the issued tokens (of one cluster when given), by cluster, oldest first. */
export async function listTokens(storeDir: string, opts: { cluster?: string } = {}): Promise<TokenInfo[]> {
  return (await readTokens(storeDir))
    .filter((t) => opts.cluster === undefined || t.cluster === opts.cluster)
    .map(tokenInfo)
    .sort(byClusterThenTime);
}

/**
 * revokeTokens removes every token a selector picks and returns them. When any selector picks none, nothing
 * is revoked: INVALID names each such selector and the tokens that are issued.
 */
export async function revokeTokens(storeDir: string, selectors: TokenSelector[]): Promise<TokenInfo[]> {
  const picks = (s: TokenSelector) => (t: TokenRecord) => ('id' in s ? t.id === s.id.toLowerCase() : t.cluster === s.cluster);
  return editTokens(storeDir, (tokens) => {
    const unknown = selectors.filter((s) => !tokens.some(picks(s)));
    if (unknown.length) throw unknownTokens(storeDir, unknown, tokens);
    const gone = tokens.filter((t) => selectors.some((s) => picks(s)(t)));
    if (!gone.length) return { tokens, result: [] };
    return { tokens: tokens.filter((t) => !gone.includes(t)), result: gone.map(tokenInfo).sort(byClusterThenTime) };
  });
}

function unknownTokens(storeDir: string, unknown: TokenSelector[], tokens: TokenRecord[]): ValidationError {
  const asked = unknown.map((s) => ('id' in s ? `no token ${s.id}` : `no token for cluster ${s.cluster}`));
  const issued = tokens.map(tokenInfo).sort(byClusterThenTime);
  const named = issued.slice(0, MAX_NAMED).map((t) => `${t.id} (${t.cluster})`);
  if (issued.length > MAX_NAMED) named.push(`and ${issued.length - MAX_NAMED} more (agent-kubeconfig --list)`);
  const have = issued.length ? `issued tokens: ${named.join(', ')}` : 'no tokens are issued';
  return new ValidationError('INVALID', `${asked.join(', ')} in ${storeDir}; nothing was revoked; ${have}`, {
    details: { unknown: unknown.map((s) => ('id' in s ? s.id : s.cluster)), issued: issued.map((t) => ({ id: t.id, cluster: t.cluster })) },
  });
}

export interface TokenBookOptions {
  /** How long one check of tokens.json stands, in ms: the first request after that stats the file again. Default 1000. */
  checkIntervalMs?: number;
}

/** TokenHolder is whose a token is; `revoked` is aborted once the token leaves tokens.json. */
export interface TokenHolder {
  id: string;
  cluster: string;
  revoked: AbortSignal;
}

interface Held {
  id: string;
  cluster: string;
  controller: AbortController;
}

function holding(r: TokenRecord): Held {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // one listener per open watch of the token
  return { id: r.id, cluster: r.cluster, controller };
}

/**
 * TokenBook answers "whose token is this?" from memory. tokens.json is checked (one stat, re-read only when it
 * changed) at most once per interval, and again for a token not yet known, so a new token works at once and a
 * request that starts one interval after a revocation is refused.
 */
export class TokenBook {
  readonly #storeDir: string;
  readonly #intervalMs: number;
  #byHash = new Map<string, Held>();
  #stamp: string | undefined;
  #failure: unknown;
  #checkedAt = -Infinity;
  #loading: Promise<void> | undefined;

  constructor(storeDir: string, opts: TokenBookOptions = {}) {
    this.#storeDir = storeDir;
    this.#intervalMs = opts.checkIntervalMs ?? 1000;
  }

  /** refresh checks tokens.json now; it starts after the call, so it sees every edit committed before it. */
  async refresh(): Promise<void> {
    await this.#loading?.catch(() => undefined);
    return this.#check();
  }

  /** holderOf returns whose `token` is (undefined: nobody's, or revoked). A damaged tokens.json throws. */
  async holderOf(token: string): Promise<TokenHolder | undefined> {
    // A request waits for a check under way, so none is answered from a list checked before the interval began.
    if (performance.now() - this.#checkedAt >= this.#intervalMs) await this.refresh();
    else if (this.#loading) await this.#loading;
    const hash = hashToken(token);
    let held = this.#byHash.get(hash);
    if (!held) {
      await this.refresh();
      held = this.#byHash.get(hash);
    }
    return held && { id: held.id, cluster: held.cluster, revoked: held.controller.signal };
  }

  /** clusterOf returns the cluster a token belongs to. */
  async clusterOf(token: string): Promise<string | undefined> {
    return (await this.holderOf(token))?.cluster;
  }

  // check joins a check under way, or starts one.
  #check(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    this.#checkedAt = performance.now();
    const path = tokensPath(this.#storeDir);
    const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    // Edits replace the file (write, rename), so a new inode, size or time shows every one.
    const stamp = st ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : 'none';
    if (stamp === this.#stamp) {
      if (this.#failure !== undefined) throw this.#failure;
      return;
    }
    let records: TokenRecord[];
    try {
      records = st ? await readTokens(this.#storeDir) : [];
    } catch (err) {
      // A damaged file accepts no token until it is repaired; the error stands until the file changes.
      this.#replace([]);
      this.#stamp = stamp;
      this.#failure = err;
      throw err;
    }
    this.#replace(records);
    this.#stamp = stamp;
    this.#failure = undefined;
  }

  #replace(records: TokenRecord[]): void {
    const next = new Map<string, Held>();
    for (const r of records) next.set(r.sha256, this.#byHash.get(r.sha256) ?? holding(r));
    for (const [hash, held] of this.#byHash) {
      if (!next.has(hash)) held.controller.abort(new Error(`token ${held.id} of ${held.cluster} was revoked`));
    }
    this.#byHash = next;
  }
}
