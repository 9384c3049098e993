// Agent tokens: issue, list and revoke (by id and by cluster), edits made at once lose nothing, a damaged
// tokens.json is named and never overwritten, and TokenBook notices revocations without a stat per request.
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ContentError, ValidationError } from '../errors.js';
import { tempDir } from '../../test/helpers.js';
import { hashToken, issueToken, listTokens, readTokens, revokeTokens, TokenBook, tokensPath } from './tokens.js';

const T1 = new Date('2026-09-01T12:00:00Z');
const T2 = new Date('2026-09-02T12:00:00Z');

async function withTokens() {
  const store = await tempDir();
  const a1 = await issueToken(store, 'rke2/a', T1);
  const b1 = await issueToken(store, 'edge/b', T1);
  const a2 = await issueToken(store, 'rke2/a', T2);
  return { store, a1, b1, a2 };
}

/** untilElapsed waits until `ms` have passed since `since` (performance.now()). */
async function untilElapsed(since: number, ms: number): Promise<void> {
  while (performance.now() < since + ms) await new Promise((r) => setTimeout(r, since + ms - performance.now() + 1));
}

describe('agent tokens', () => {
  it('stores only the hash of an issued token and lists id, cluster and time, by cluster', async () => {
    const { store, a1, b1, a2 } = await withTokens();
    expect(a1.token).toMatch(/^sva_[A-Za-z0-9_-]{43}$/);
    expect(a1.record).toEqual({ id: hashToken(a1.token).slice(0, 12), cluster: 'rke2/a', sha256: hashToken(a1.token), createdAt: T1.toISOString() });
    const file = await readFile(tokensPath(store), 'utf8');
    for (const t of [a1, b1, a2]) expect(file).not.toContain(t.token);
    expect(await listTokens(store)).toEqual([
      { id: b1.record.id, cluster: 'edge/b', createdAt: T1.toISOString() },
      { id: a1.record.id, cluster: 'rke2/a', createdAt: T1.toISOString() },
      { id: a2.record.id, cluster: 'rke2/a', createdAt: T2.toISOString() },
    ]);
    expect((await listTokens(store, { cluster: 'rke2/a' })).map((t) => t.id)).toEqual([a1.record.id, a2.record.id]);
    expect(await listTokens(store, { cluster: 'rke2/none' })).toEqual([]);
    expect(await listTokens(await tempDir())).toEqual([]);
  });

  it('revokes one token by its id, in either case', async () => {
    const { store, a1, b1, a2 } = await withTokens();
    expect(await revokeTokens(store, [{ id: a1.record.id.toUpperCase() }])).toEqual([{ id: a1.record.id, cluster: 'rke2/a', createdAt: T1.toISOString() }]);
    expect((await readTokens(store)).map((t) => t.id)).toEqual([b1.record.id, a2.record.id]);
  });

  it('revokes every token of a cluster, and an id and its cluster together once', async () => {
    const { store, a1, b1, a2 } = await withTokens();
    expect((await revokeTokens(store, [{ cluster: 'rke2/a' }, { id: a1.record.id }])).map((t) => t.id)).toEqual([a1.record.id, a2.record.id]);
    expect((await readTokens(store)).map((t) => t.id)).toEqual([b1.record.id]);
  });

  it('revokes nothing when any id or cluster has no token, and names each with the tokens issued', async () => {
    const { store, a1, b1 } = await withTokens();
    const before = await readFile(tokensPath(store));
    const p = revokeTokens(store, [{ id: a1.record.id }, { id: '0123456789ab' }, { cluster: 'edge/zz' }]);
    await expect(p).rejects.toBeInstanceOf(ValidationError);
    const e = (await p.catch((err: unknown) => err)) as ValidationError;
    expect(e.code).toBe('INVALID');
    expect(e.message).toContain('no token 0123456789ab, no token for cluster edge/zz');
    expect(e.message).toContain('nothing was revoked');
    expect(e.message).toContain(`${a1.record.id} (rke2/a)`);
    expect(e.message).toContain(`${b1.record.id} (edge/b)`);
    expect(e.details).toMatchObject({ unknown: ['0123456789ab', 'edge/zz'] });
    expect(await readFile(tokensPath(store))).toEqual(before);
    await expect(revokeTokens(await tempDir(), [{ cluster: 'rke2/a' }])).rejects.toThrow(/no token for cluster rke2\/a in .*; nothing was revoked; no tokens are issued/);
  });

  it('loses no token when many are issued and revoked at once', async () => {
    const store = await tempDir();
    const old = await Promise.all(Array.from({ length: 10 }, (_, i) => issueToken(store, `old/c${i}`, T1)));
    const issued = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => issueToken(store, `new/c${i}`, T2)),
      ...old.map((o) => revokeTokens(store, [{ id: o.record.id }]).then(() => undefined)),
    ]);
    const ids = issued.filter((x) => x !== undefined).map((x) => x.record.id);
    expect(ids).toHaveLength(30);
    expect((await readTokens(store)).map((t) => t.id).sort()).toEqual(ids.sort());
  });

  it('names a damaged tokens.json and never overwrites it', async () => {
    const cases = [
      { text: '{"version":1,"tokens":[', message: /not valid JSON/ },
      { text: '{"version":2,"tokens":[]}', message: /not a tokens file \(version 1 with a tokens list\)/ },
      { text: JSON.stringify({ version: 1, tokens: [{ id: 'x', cluster: 'a/b', sha256: 'nothex', createdAt: T1.toISOString() }] }), message: /tokens\[0\]\.sha256: expected 64 lowercase hex digits/ },
      { text: JSON.stringify({ version: 1, tokens: [{ id: 'abcdefabcdef', cluster: 'a/b', sha256: 'a'.repeat(64), createdAt: T1.toISOString() }] }), message: /tokens\[0\]\.id: expected aaaaaaaaaaaa/ },
    ];
    for (const c of cases) {
      const store = await tempDir();
      await issueToken(store, 'rke2/a', T1);
      await writeFile(tokensPath(store), c.text);
      const calls: (() => Promise<unknown>)[] = [() => readTokens(store), () => listTokens(store), () => issueToken(store, 'rke2/a', T1), () => revokeTokens(store, [{ cluster: 'rke2/a' }])];
      for (const call of calls) {
        const e = await call().catch((err: unknown) => err);
        expect(e).toBeInstanceOf(ContentError);
        expect((e as ContentError).code).toBe('INVALID_LAYOUT');
        expect((e as Error).message).toContain(`${tokensPath(store)}: `);
        expect((e as Error).message).toMatch(c.message);
      }
      expect(await readFile(tokensPath(store), 'utf8')).toBe(c.text);
    }
  });
});

describe('TokenBook', () => {
  it('accepts a token issued after it was opened at once, and refuses a revoked one once its interval has passed', async () => {
    const { store, a1, b1 } = await withTokens();
    const book = new TokenBook(store, { checkIntervalMs: 100 });
    const holder = await book.holderOf(a1.token);
    expect(holder).toMatchObject({ id: a1.record.id, cluster: 'rke2/a' });
    expect(await book.holderOf('sva_forged')).toBeUndefined();
    const late = await issueToken(store, 'edge/late', T2);
    expect(await book.clusterOf(late.token)).toBe('edge/late');
    await revokeTokens(store, [{ id: a1.record.id }]);
    const revokedAt = performance.now();
    await untilElapsed(revokedAt, 100);
    // The first request after one interval is refused: no retry.
    expect(await book.holderOf(a1.token)).toBeUndefined();
    expect(holder!.revoked.aborted).toBe(true);
    expect((await book.holderOf(b1.token))?.revoked.aborted).toBe(false);
  });

  it('answers known tokens from memory until the interval passes, then sees the revocation', async () => {
    const { store, a1 } = await withTokens();
    const book = new TokenBook(store, { checkIntervalMs: 3_600_000 });
    const holder = await book.holderOf(a1.token);
    await revokeTokens(store, [{ cluster: 'rke2/a' }]);
    // No stat on this path: within the interval the book has not looked at the file again.
    expect(await book.clusterOf(a1.token)).toBe('rke2/a');
    expect(holder!.revoked.aborted).toBe(false);
    await book.refresh();
    expect(await book.clusterOf(a1.token)).toBeUndefined();
    expect(holder!.revoked.aborted).toBe(true);
  });

  it('accepts no token while tokens.json is damaged, and recovers when it is repaired', async () => {
    const { store, a1 } = await withTokens();
    const book = new TokenBook(store, { checkIntervalMs: 0 });
    expect(await book.clusterOf(a1.token)).toBe('rke2/a');
    const good = await readFile(tokensPath(store), 'utf8');
    await writeFile(tokensPath(store), 'not json');
    await expect(book.clusterOf(a1.token)).rejects.toThrow(`${tokensPath(store)}: not valid JSON`);
    await expect(book.clusterOf(a1.token)).rejects.toThrow(/the token file is damaged/);
    await writeFile(tokensPath(store), good);
    expect(await book.clusterOf(a1.token)).toBe('rke2/a');
  });
});
