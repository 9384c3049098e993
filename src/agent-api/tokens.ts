// Per-cluster bearer tokens. Only SHA-256 hashes are stored (`<store>/agent/tokens.json`); the token
// itself is printed once, inside the agent's kubeconfig.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../content/oci-layout/ingest.js';
import { ContentError } from '../errors.js';
import { AGENT_DIR } from './ledger.js';

const TOKENS_FILE = 'tokens.json';

export interface TokenRecord {
  /** Short id (first 12 hex of the hash), for listing and revoking. */
  id: string;
  cluster: string;
  sha256: string;
  createdAt: string;
}

interface TokensFile {
  version: 1;
  tokens: TokenRecord[];
}

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

function tokensPath(storeDir: string): string {
  return join(storeDir, AGENT_DIR, TOKENS_FILE);
}

/** readTokens loads the token hashes (none for a new store). */
export async function readTokens(storeDir: string): Promise<TokenRecord[]> {
  let text: string;
  try {
    text = await readFile(tokensPath(storeDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const v = JSON.parse(text) as Partial<TokensFile>;
  if (v?.version !== 1 || !Array.isArray(v.tokens)) throw new ContentError('INVALID_LAYOUT', `${tokensPath(storeDir)}: not a tokens file (version 1)`);
  return v.tokens.filter((t) => typeof t?.sha256 === 'string' && typeof t.cluster === 'string');
}

/** issueToken creates a token for `cluster`, stores its hash and returns the token (shown once). */
export async function issueToken(storeDir: string, cluster: string, now: Date): Promise<{ token: string; record: TokenRecord }> {
  await mkdir(join(storeDir, AGENT_DIR), { recursive: true });
  const token = `sva_${randomBytes(32).toString('base64url')}`;
  const sha256 = hashToken(token);
  const record: TokenRecord = { id: sha256.slice(0, 12), cluster, sha256, createdAt: now.toISOString() };
  const tokens = [...(await readTokens(storeDir)), record];
  await writeFileAtomic(tokensPath(storeDir), `${JSON.stringify({ version: 1, tokens } satisfies TokensFile, null, 2)}\n`);
  return { token, record };
}

/** TokenBook answers "whose token is this?", re-reading tokens.json when it changes on disk. */
export class TokenBook {
  #byHash = new Map<string, string>();
  #stamp = '';
  constructor(private readonly storeDir: string) {}

  /** refresh re-reads tokens.json if it changed since the last read. */
  async refresh(): Promise<void> {
    const st = await stat(tokensPath(this.storeDir)).catch(() => undefined);
    const stamp = st ? `${st.mtimeMs}:${st.size}:${st.ino}` : 'none';
    if (stamp === this.#stamp) return;
    const map = new Map<string, string>();
    for (const t of await readTokens(this.storeDir)) map.set(t.sha256, t.cluster);
    this.#byHash = map;
    this.#stamp = stamp;
  }

  /** clusterOf returns the cluster a token belongs to; unknown tokens refresh once from disk. */
  async clusterOf(token: string): Promise<string | undefined> {
    const h = hashToken(token);
    if (!this.#byHash.has(h)) await this.refresh();
    return this.#byHash.get(h);
  }
}
