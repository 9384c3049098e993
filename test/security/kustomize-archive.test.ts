// Hostile kustomize.tar.gz archives (a kustomizationRef's ConfigMap or Secret): built by hand in memory,
// read by readArchive before anything is written. Each is refused naming the reference and the entry, or
// its links and devices are skipped (never created) and reported.
import { readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { readArchive, treeDigest, writeTree, type ArchiveLimits } from '../../src/source/kustomize-archive.js';
import { tempDir } from '../helpers.js';
import { paxRecord, rawTar, type RawEntry } from '../tar.js';

const WHERE = 'ClusterProfile/p on cluster ns/c: spec.kustomizationRefs[0] (ConfigMap default/k)';
const dir = (name: string): RawEntry => ({ name, typeflag: '5' });
const file = (name: string, data = 'x'): RawEntry => ({ name, data });

// corrupt flips one byte of a tar (its header checksum no longer matches).
function corrupt(tar: Buffer, at: number): Buffer {
  const out = Buffer.from(tar);
  out[at] = out[at]! ^ 0x20;
  return out;
}

function refusal(entries: RawEntry[] | Buffer, limits: ArchiveLimits = {}): ValidationError {
  const bytes = Buffer.isBuffer(entries) ? entries : gzipSync(rawTar(entries));
  try {
    readArchive(bytes, WHERE, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('INVALID');
    expect((err as Error).message.startsWith(`${WHERE}: kustomize.tar.gz: `)).toBe(true);
    return err as ValidationError;
  }
  throw new Error('the archive was accepted');
}

describe('kustomize archives: hostile input', () => {
  it.each([
    { name: 'dot-dot escape', entries: [dir('a/'), file('a/../../etc/cron.d/x')], msg: /entry "a\/\.\.\/\.\.\/etc\/cron\.d\/x" leaves the archive root/ },
    { name: 'leading dot-dot', entries: [file('../x')], msg: /"\.\.\/x" leaves the archive root/ },
    { name: 'PAX path escape', entries: [{ name: 'PaxHdr', typeflag: 'x', data: paxRecord('path', '../../etc/passwd') }, file('innocent')], msg: /"\.\.\/\.\.\/etc\/passwd" leaves the archive root/ },
    { name: 'GNU long name escape', entries: [{ name: '././@LongLink', typeflag: 'L', data: `${'../'.repeat(3)}x\0` }, file('innocent')], msg: /leaves the archive root/ },
    { name: 'NUL in a PAX name', entries: [{ name: 'h', typeflag: 'x', data: paxRecord('path', 'a\u0000b') }, file('innocent')], msg: /NUL or backslash/ },
    { name: 'backslash', entries: [file('a\\..\\x')], msg: /NUL or backslash/ },
    { name: 'file before its directory', entries: [file('base/kustomization.yaml')], msg: /"base\/kustomization\.yaml" comes before any directory entry for "base\/".*tar -czf/ },
    { name: 'written twice', entries: [file('k.yaml', 'long content'), file('./k.yaml', 'short')], msg: /entry "\.\/k\.yaml" appears twice/ },
    { name: 'file over a directory', entries: [dir('a/'), file('a')], msg: /a directory where|appears twice/ },
    { name: 'directory under a file', entries: [file('a'), dir('a/b/')], msg: /"a" is a file/ },
    { name: 'file replacing the root', entries: [file('./')], msg: /cannot replace the archive root/ },
    { name: 'bad checksum', entries: corrupt(rawTar([file('kustomization.yaml')]), 3), msg: /checksum mismatch/ },
    { name: 'truncated data', entries: gzipSync(rawTar([{ name: 'k.yaml', data: 'x'.repeat(10), size: 4096 }], false)), msg: /truncated inside entry "k\.yaml"/ },
    { name: 'not gzip inside', entries: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad]), msg: /not a valid gzip stream/ },
  ])('$name', ({ entries, msg }) => {
    expect(refusal(entries as RawEntry[] | Buffer).message).toMatch(msg);
  });

  it('limits: archive size, file size, expanded size (gzip bomb), entries and depth', () => {
    const big = 'x'.repeat(4096);
    expect(refusal([file('k.yaml', big)], { maxArchiveBytes: 100 }).message).toMatch(/bytes, more than the 100 addon-controller reads/);
    expect(refusal([file('k.yaml', big)], { maxFileBytes: 1000 }).message).toMatch(/entry "k\.yaml" is 4096 bytes, more than 1000/);
    // 64 MiB of zeros compresses to about 64 KiB: stopped at the expanded size, not read into memory.
    const bomb = gzipSync(Buffer.concat([rawTar([{ name: 'zeros', data: Buffer.alloc(64 * 1024 * 1024) }])]));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect(refusal(bomb, { maxTarBytes: 8 * 1024 * 1024 }).message).toMatch(/expands to more than 8388608 bytes/);
    expect(refusal([file('a'), file('b'), file('c')], { maxEntries: 2 }).message).toMatch(/more than 2 entries/);
    const deep = Array.from({ length: 5 }, (_, i) => `${'d/'.repeat(i + 1)}`).map(dir);
    expect(refusal([...deep, file(`${'d/'.repeat(5)}k.yaml`)], { maxDepth: 5 }).message).toMatch(/nested deeper than 5 directories/);
  });

  it('links, devices and FIFOs are never created, whatever they point to; they are reported as skipped', async () => {
    const { tree, skipped } = readArchive(
      gzipSync(
        rawTar([
          dir('./'),
          dir('./base/'),
          file('./base/kustomization.yaml', 'resources: [cm.yaml]\n'),
          { name: './base/cm.yaml', typeflag: '2', linkname: '/etc/passwd' },
          { name: './base/hard.yaml', typeflag: '1', linkname: '../../../etc/shadow' },
          { name: './dev', typeflag: '3' },
          { name: './fifo', typeflag: '6' },
          file('./base/._kustomization.yaml', 'AppleDouble'),
        ]),
      ),
      WHERE,
    );
    expect([...tree.keys()].sort()).toEqual(['base', 'base/kustomization.yaml']);
    expect(skipped.map((s) => `${s.entry}: ${s.reason}`)).toEqual([
      './base/cm.yaml: symlink entries are not extracted (it points to "/etc/passwd")',
      './base/hard.yaml: hardlink entries are not extracted (it points to "../../../etc/shadow")',
      './dev: char-device entries are not extracted',
      './fifo: fifo entries are not extracted',
      './base/._kustomization.yaml: AppleDouble or PAX header file (addon-controller skips it)',
    ]);
    const out = await tempDir();
    await writeTree(tree, out);
    const walk = async (d: string): Promise<string[]> => {
      const names: string[] = [];
      for (const n of await readdir(d)) {
        const st = await lstat(join(d, n));
        expect(st.isFile() || st.isDirectory()).toBe(true);
        names.push(n, ...(st.isDirectory() ? (await walk(join(d, n))).map((x) => `${n}/${x}`) : []));
      }
      return names;
    };
    expect((await walk(out)).sort()).toEqual(['base', 'base/kustomization.yaml']);
  });

  it('absolute names land inside the root (as filepath.Join places them); a plain tar and a tar without end marker are read as Go reads them', () => {
    const abs = readArchive(gzipSync(rawTar([dir('/etc/'), file('/etc/kustomization.yaml', 'a: 1\n')])), WHERE);
    expect([...abs.tree.keys()].sort()).toEqual(['etc', 'etc/kustomization.yaml']);
    const plain = readArchive(rawTar([file('kustomization.yaml', 'a: 1\n')], false), WHERE);
    expect(plain.tree.get('kustomization.yaml')).toEqual({ type: 'file', data: Buffer.from('a: 1\n') });
    // Equal trees hash equal, whatever the archive's compression or entry names.
    expect(treeDigest(plain.tree)).toBe(treeDigest(readArchive(gzipSync(rawTar([file('./kustomization.yaml', 'a: 1\n')])), WHERE).tree));
    expect(treeDigest(plain.tree)).not.toBe(treeDigest(readArchive(rawTar([file('kustomization.yaml', 'a: 2\n')]), WHERE).tree));
  });

  it('every truncation of an archive is refused or reads part of it, never more (headers, PAX records and data bounded)', () => {
    const tar = rawTar([dir('a/'), { name: 'h', typeflag: 'x', data: paxRecord('path', 'a/long-name.yaml') }, file('short', 'hello')]);
    const whole = readArchive(tar, WHERE);
    expect([...whole.tree.keys()].sort()).toEqual(['a', 'a/long-name.yaml']);
    // Cut at every length: each prefix is refused as truncated or read as a shorter archive, never beyond.
    for (let n = 1; n < tar.length; n += 1) {
      try {
        const part = readArchive(tar.subarray(0, n), WHERE);
        for (const k of part.tree.keys()) expect(whole.tree.has(k)).toBe(true);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
      }
    }
  });
});
