// The hostile-corpus runner: every case is run through the real CLI entry (`main()` with a captured CommandIO),
// `verify` and `import`, and must exit 2 with a precise message, in bounded time and memory, leaving the store
// exactly as it was. The tar scanner and the verifier are then fed the same bytes one byte per chunk and must
// reject them with the same code.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, expect, it } from 'vitest';
import { importBundle } from '../../src/bundle/import.js';
import { verifyBundle, type LayoutSource } from '../../src/bundle/verify.js';
import { BundleParts } from '../../src/bundle/volumes.js';
import { scanTar, scanTarFile, streamSource } from '../../src/content/tar-scan.js';
import { TarLayoutStore } from '../../src/content/tarfs.js';
import { DAY, T0 } from '../bundles.js';
import { cli } from '../cli.js';
import { tempDir, treeDigest } from '../helpers.js';
import { Forge, newSigner, tarOf } from './forge.js';

export const NOW = new Date(T0.getTime() + DAY);

/** Ctx is what a case builds with: the trusted signer, an untrusted one, and a fresh Forge of each. */
export interface Ctx {
  trusted: ReturnType<typeof newSigner>;
  untrusted: ReturnType<typeof newSigner>;
  forge(): Forge;
  /** A good bundle (sequence 2) as tar entries: two clusters, each with one objects layer. */
  good(): Promise<Map<string, Buffer>>;
}

export interface HostileCase {
  slug: string;
  /** The error code the CLI must report (JSON output). */
  code: string;
  /** The message on stderr, naming the file, digest or field. */
  message: RegExp;
  /** The bundle: one tar, or the parts of a split bundle. */
  build(ctx: Ctx): Promise<Buffer | Buffer[]>;
  /** Extra CLI flags (limits). */
  flags?: string[];
  /** Options for the byte-at-a-time scanner pass (a lower entry limit keeps it fast; the code is the same). */
  maxEntries?: number;
  /** The failure is a property of the store (rollback): checked on import only. */
  importOnly?: boolean;
}

/** MAX_MS and MAX_RSS bound each case: both CLI runs together. */
const MAX_MS = 15_000;
const MAX_RSS = 400 * 1024 * 1024;

function bytewise(src: Readable): Readable {
  return Readable.from(
    (async function* () {
      for await (const chunk of src) {
        const buf = chunk as Buffer;
        for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
      }
    })(),
  );
}

// oneByteSource wraps a bundle so every blob read arrives one byte per chunk.
function oneByteSource(src: BundleParts): LayoutSource & { parts(): ReturnType<BundleParts['parts']> } {
  const wrap = (s: TarLayoutStore) => ({
    file: s.file,
    index: () => s.index(),
    exists: (d: Parameters<TarLayoutStore['exists']>[0]) => s.exists(d),
    fetch: async (d: Parameters<TarLayoutStore['fetch']>[0]) => bytewise(await s.fetch(d)),
    blobs: () => s.blobs(),
  });
  return {
    index: () => src.index(),
    exists: (d) => src.exists(d),
    fetch: async (d) => bytewise(await src.fetch(d)),
    parts: () => src.parts().map((p) => ({ ...p, store: wrap(p.store) as unknown as TarLayoutStore })),
  };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return undefined;
}

/** runCorpus declares one test per case. */
export function runCorpus(cases: HostileCase[]): void {
  // One trusted key and one store serving sequence 1 per file; each case works on a copy of the store.
  const trusted = newSigner();
  const untrusted = newSigner();
  let template: Promise<string> | undefined;
  const templateStore = (): Promise<string> =>
    (template ??= (async () => {
      const dir = await mkdtemp(join(tmpdir(), 'sveltos-airgap-hostile-template-'));
      const previous = new Forge(trusted.signer);
      const file = join(dir, 'previous.tar');
      await writeFile(file, tarOf(await previous.sign([await previous.cluster('prod', 'c1', ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n'])], { sequence: 1 })));
      await importBundle(await TarLayoutStore.open(file), { storeDir: join(dir, 'store'), trusted: [trusted.publicKey], now: NOW });
      return dir;
    })());
  afterAll(async () => {
    if (template) await rm(await template, { recursive: true, force: true });
  });

  it.each(cases)('$slug', async (c) => {
    const ctx: Ctx = {
      trusted,
      untrusted,
      forge: () => new Forge(trusted.signer),
      good: async () => {
        const f = new Forge(trusted.signer);
        return f.sign([await f.cluster('prod', 'c1', ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n']), await f.cluster('edge', 'c2', ['apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n'])]);
      },
    };
    const dir = await tempDir('sveltos-airgap-hostile-');
    const pub = join(dir, 'trusted.pub');
    await writeFile(pub, trusted.publicPem);
    const built = await c.build(ctx);
    const bufs = Array.isArray(built) ? built : [built];
    const files: string[] = [];
    for (const [i, b] of bufs.entries()) {
      const file = join(dir, bufs.length > 1 ? `hostile.part${i + 1}-of-${bufs.length}.tar` : 'hostile.tar');
      await writeFile(file, b);
      files.push(file);
    }
    const store = join(dir, 'store');
    await cp(join(await templateStore(), 'store'), store, { recursive: true });
    const before = await treeDigest(store);

    const rss0 = process.memoryUsage().rss;
    const t0 = Date.now();
    const now = ['--now', NOW.toISOString()];
    for (const cmd of c.importOnly ? ['import'] : ['verify', 'import']) {
      const argv = [cmd, ...files, ...(cmd === 'import' ? ['--store', store] : []), '--key', pub, ...now, '--output', 'json', ...(c.flags ?? [])];
      const r = await cli(argv);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(2);
      expect(r.stderr, `${cmd}: ${r.stderr}`).toMatch(c.message);
      expect(JSON.parse(r.stdout).error.code, cmd).toBe(c.code);
    }
    expect(Date.now() - t0).toBeLessThan(MAX_MS);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(MAX_RSS);
    expect(await treeDigest(store)).toBe(before);

    // One byte per chunk: the scanner must reach the same verdict as from the file.
    let scansOk = true;
    for (const [i, b] of bufs.entries()) {
      const opts = c.maxEntries ? { maxEntries: c.maxEntries } : {};
      const fromFile = await codeOf(scanTarFile(files[i]!, opts));
      const fromStream = await codeOf(scanTar(streamSource(bytewise(Readable.from([b]))), opts));
      expect(fromStream, `part ${i + 1}`).toBe(fromFile);
      if (fromFile) scansOk = false;
    }
    // And the verifier, when the tars open, with every blob arriving one byte per chunk.
    const src = scansOk ? await BundleParts.open(files).catch(() => undefined) : undefined;
    if (src) {
      const limits = flagLimits(c.flags ?? []);
      const verdict = c.importOnly
        ? await codeOf(importBundle(oneByteSource(src), { storeDir: store, trusted: [trusted.publicKey], now: NOW, ...limits }))
        : await codeOf(verifyBundle(oneByteSource(src), { trusted: [trusted.publicKey], now: NOW, ...limits }));
      expect(verdict).toBe(c.code);
      expect(await treeDigest(store)).toBe(before);
    }
  });
}

// flagLimits maps the limit flags a case uses to verifyBundle options.
function flagLimits(flags: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < flags.length; i += 2) {
    const v = Number(flags[i + 1]);
    if (flags[i] === '--max-blobs') out.maxBlobs = v;
    if (flags[i] === '--max-json-bytes') out.maxMetadataBytes = v;
    if (flags[i] === '--max-objects-bytes') out.maxObjectsBytes = v;
  }
  return out;
}
