// Hostile tars: entries that are not plain files of an OCI layout, header and PAX tricks, truncation and
// trailing data. Each bundle is otherwise a good, signed one: only the tar trick stands between it and import.
import { describe } from 'vitest';
import { BLOCK } from '../../src/content/tar-header.js';
import { paxRecord, rawTar, type RawEntry } from '../tar.js';
import { hex64, tarOf } from './forge.js';
import { runCorpus, type Ctx, type HostileCase } from './run.js';

// withEntries appends raw entries to a good bundle's tar.
const withEntries = (extra: RawEntry[]) => async (ctx: Ctx) => tarOf(await ctx.good(), extra);

// patchHeader rewrites bytes of the header of the entry named `name` (and fixes the checksum unless told not to).
function patchHeader(tar: Buffer, name: string, patch: (h: Buffer) => void, fixChecksum = true): Buffer {
  const out = Buffer.from(tar);
  for (let off = 0; off + BLOCK <= out.length; off += BLOCK) {
    const h = out.subarray(off, off + BLOCK);
    if (h.toString('utf8', 0, name.length) === name && h[name.length] === 0) {
      patch(h);
      if (fixChecksum) {
        h.fill(0x20, 148, 156);
        let sum = 0;
        for (let i = 0; i < BLOCK; i++) sum += h[i]!;
        h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
      }
      return out;
    }
  }
  throw new Error(`no header named ${name}`);
}

const blob = `blobs/sha256/${hex64('x')}`;

const cases: HostileCase[] = [
  { slug: 'path-dotdot', code: 'UNSAFE_PATH', message: /hostile\.tar: tar entry "\.\.\/\.\.\/etc\/cron\.d\/evil": "\.\." in path/, build: withEntries([{ name: '../../etc/cron.d/evil', data: '* * * * * root sh' }]) },
  { slug: 'path-absolute', code: 'UNSAFE_PATH', message: /hostile\.tar: tar entry "\/etc\/passwd": absolute path/, build: withEntries([{ name: '/etc/passwd', data: 'root::0:0::/:/bin/sh' }]) },
  { slug: 'path-dotdot-inside-blobs', code: 'UNSAFE_PATH', message: /tar entry "blobs\/sha256\/\.\.\/\.\.\/\.\.\/tmp\/x": "\.\." in path/, build: withEntries([{ name: 'blobs/sha256/../../../tmp/x', data: 'x' }]) },
  { slug: 'path-backslash', code: 'UNSAFE_PATH', message: /tar entry "blobs\\\\sha256\\\\\.\.\\\\x": NUL or backslash in name/, build: withEntries([{ name: 'blobs\\sha256\\..\\x', data: 'x' }]) },
  { slug: 'link-symlink', code: 'INVALID_TAR', message: new RegExp(`tar entry "${blob}": type symlink \\(flag "2"\\) is not allowed`), build: withEntries([{ name: blob, typeflag: '2', linkname: '/etc/shadow' }]) },
  { slug: 'link-hardlink', code: 'INVALID_TAR', message: /tar entry "blobs\/sha256\/[a-f0-9]{64}": type hardlink \(flag "1"\) is not allowed/, build: withEntries([{ name: blob, typeflag: '1', linkname: 'index.json' }]) },
  { slug: 'device-char', code: 'INVALID_TAR', message: /type char-device \(flag "3"\) is not allowed/, build: withEntries([{ name: blob, typeflag: '3' }]) },
  { slug: 'device-block', code: 'INVALID_TAR', message: /type block-device \(flag "4"\) is not allowed/, build: withEntries([{ name: blob, typeflag: '4' }]) },
  { slug: 'fifo', code: 'INVALID_TAR', message: /type fifo \(flag "6"\) is not allowed/, build: withEntries([{ name: blob, typeflag: '6' }]) },
  { slug: 'gnu-longname', code: 'INVALID_TAR', message: /type gnu-longname \(flag "L"\) is not allowed/, build: withEntries([{ name: '././@LongLink', typeflag: 'L', data: '../../../../etc/passwd' }]) },
  { slug: 'pax-global-header', code: 'INVALID_TAR', message: /type pax-global \(flag "g"\) is not allowed/, build: withEntries([{ name: 'pax_global_header', typeflag: 'g', data: paxRecord('path', '/etc') }]) },
  { slug: 'directory-outside-layout', code: 'INVALID_TAR', message: /tar entry "etc\/": unexpected directory/, build: withEntries([{ name: 'etc/', typeflag: '5' }]) },
  { slug: 'stray-file', code: 'INVALID_TAR', message: /tar entry "run\.sh": not part of an OCI layout/, build: withEntries([{ name: 'run.sh', data: '#!/bin/sh\nrm -rf /\n' }]) },
  { slug: 'unsupported-algorithm-entry', code: 'UNSUPPORTED', message: /tar entry "blobs\/sha512\/[a-f0-9]{64}": unsupported digest algorithm "sha512"/, build: withEntries([{ name: `blobs/sha512/${hex64(1)}`, data: 'x' }]) },
  { slug: 'blob-name-not-hex', code: 'INVALID_TAR', message: /tar entry "blobs\/sha256\/ZZZ": blob name is not 64 lowercase hex characters/, build: withEntries([{ name: 'blobs/sha256/ZZZ', data: 'x' }]) },
  {
    slug: 'duplicate-blob-different-content',
    code: 'INVALID_TAR',
    message: /tar entry "blobs\/sha256\/[a-f0-9]{64}" appears twice/,
    build: async (ctx) => {
      const good = await ctx.good();
      const [name] = [...good.keys()].filter((n) => n.startsWith('blobs/'));
      return tarOf(good, [{ name: name!, data: 'a different body under the same name' }]);
    },
  },
  { slug: 'duplicate-index-json', code: 'INVALID_TAR', message: /tar entry "index\.json" appears twice/, build: withEntries([{ name: './index.json', data: '{"schemaVersion":2,"manifests":[]}' }]) },
  {
    slug: 'many-tiny-entries',
    code: 'SIZE_EXCEEDS_LIMIT',
    message: /hostile\.tar: more than 100000 tar entries \(raise the limit with --max-entries/,
    maxEntries: 1000,
    build: async (ctx) => tarOf(await ctx.good(), Array.from({ length: 100_001 }, (_, i) => ({ name: `blobs/sha256/${hex64(`tiny${i}`)}`, data: '' }))),
  },
  {
    slug: 'header-size-base256-negative',
    code: 'INVALID_TAR',
    message: /hostile\.tar: tar header at offset \d+: size: negative or oversized base-256 number/,
    build: async (ctx) => patchHeader(tarOf(await ctx.good(), [{ name: blob, data: 'x' }]), blob, (h) => h.fill(0xff, 124, 136)),
  },
  {
    slug: 'header-size-base256-huge',
    code: 'INVALID_TAR',
    message: /hostile\.tar: tar header at offset \d+: size: number too large/,
    build: async (ctx) =>
      patchHeader(tarOf(await ctx.good(), [{ name: blob, data: 'x' }]), blob, (h) => {
        h.fill(0x7f, 124, 136);
        h[124] = 0x80;
      }),
  },
  {
    slug: 'header-size-not-octal',
    code: 'INVALID_TAR',
    message: /tar header at offset \d+: size: expected an octal number, found "99999999999"/,
    build: async (ctx) => patchHeader(tarOf(await ctx.good(), [{ name: blob, data: 'x' }]), blob, (h) => h.write('99999999999\0', 124, 'latin1')),
  },
  {
    slug: 'header-size-claims-8-gib',
    code: 'INVALID_TAR',
    message: /hostile\.tar: truncated inside "blobs\/sha256\/[a-f0-9]{64}": its 8589934591 bytes end past the end of the file/,
    build: async (ctx) => patchHeader(tarOf(await ctx.good(), [{ name: blob, data: 'x' }]), blob, (h) => h.write('77777777777\0', 124, 'latin1')),
  },
  {
    slug: 'header-checksum',
    code: 'INVALID_TAR',
    message: /tar header at offset \d+: checksum mismatch: expected \d+, found \d+/,
    build: async (ctx) => patchHeader(tarOf(await ctx.good(), [{ name: blob, data: 'x' }]), blob, (h) => void (h[0] = 0x41), false),
  },
  {
    slug: 'header-name-not-utf8',
    code: 'INVALID_TAR',
    message: /tar header at offset \d+: name: not valid UTF-8/,
    build: async (ctx) => patchHeader(tarOf(await ctx.good(), [{ name: blob, data: 'x' }]), blob, (h) => h.fill(0xc3, 14, 16)),
  },
  { slug: 'pax-oversized', code: 'SIZE_EXCEEDS_LIMIT', message: /PAX header at offset \d+ is 70000 bytes, more than 65536/, build: withEntries([{ name: 'PaxHeaders/x', typeflag: 'x', data: Buffer.alloc(70_000, 0x41) }, { name: blob, data: 'x' }]) },
  { slug: 'pax-record-overrun', code: 'INVALID_TAR', message: /PAX header at offset \d+: record length 999 overruns the header/, build: withEntries([{ name: 'PaxHeaders/x', typeflag: 'x', data: '999 path=index.json\n' }, { name: blob, data: 'x' }]) },
  { slug: 'pax-repeated-key', code: 'INVALID_TAR', message: /PAX header at offset \d+: key "path" repeated/, build: withEntries([{ name: 'PaxHeaders/x', typeflag: 'x', data: paxRecord('path', blob) + paxRecord('path', 'index.json') }, { name: 'x', data: 'x' }]) },
  { slug: 'pax-size-overflow', code: 'INVALID_TAR', message: /PAX header at offset \d+: size: expected a decimal byte count, found "99999999999999999999"/, build: withEntries([{ name: 'PaxHeaders/x', typeflag: 'x', data: paxRecord('size', '99999999999999999999') }, { name: blob, data: 'x' }]) },
  { slug: 'pax-path-traversal', code: 'UNSAFE_PATH', message: /tar entry "\.\.\/\.\.\/root\/\.ssh\/authorized_keys": "\.\." in path/, build: withEntries([{ name: 'PaxHeaders/x', typeflag: 'x', data: paxRecord('path', '../../root/.ssh/authorized_keys') }, { name: blob, data: 'ssh-ed25519 AAAA' }]) },
  { slug: 'pax-path-nul', code: 'UNSAFE_PATH', message: /NUL or backslash in name/, build: withEntries([{ name: 'PaxHeaders/x', typeflag: 'x', data: paxRecord('path', `${blob}\0../../x`) }, { name: blob, data: 'x' }]) },
  { slug: 'pax-dangling', code: 'INVALID_TAR', message: /PAX header at offset \d+ is not followed by an entry/, build: withEntries([{ name: 'PaxHeaders/x', typeflag: 'x', data: paxRecord('path', blob) }]) },
  { slug: 'pax-twice', code: 'INVALID_TAR', message: /two PAX headers in a row at offset \d+/, build: withEntries([{ name: 'PaxHeaders/x', typeflag: 'x', data: paxRecord('path', blob) }, { name: 'PaxHeaders/y', typeflag: 'x', data: paxRecord('path', 'index.json') }, { name: 'z', data: 'x' }]) },
  {
    slug: 'truncated-mid-blob',
    code: 'INVALID_TAR',
    message: /hostile\.tar: truncated inside "blobs\/sha256\/[a-f0-9]{64}": its \d+ bytes end past the end of the file \(the copy is incomplete: copy the bundle again\)/,
    build: async (ctx) => {
      const good = await ctx.good();
      const big = rawTar([...[...good].map(([name, data]) => ({ name, data })), { name: blob, data: Buffer.alloc(4096, 7) }]);
      return big.subarray(0, big.length - 1024 - 2048);
    },
  },
  { slug: 'truncated-no-end-marker', code: 'INVALID_TAR', message: /hostile\.tar: ends at byte \d+ without the end-of-archive marker \(the copy is incomplete/, build: async (ctx) => tarOf(await ctx.good(), [], false) },
  { slug: 'trailing-garbage', code: 'INVALID_TAR', message: /hostile\.tar: data after the end-of-archive marker at byte \d+/, build: async (ctx) => Buffer.concat([tarOf(await ctx.good()), Buffer.from('#!/bin/sh\n')]) },
  { slug: 'trailing-padding-flood', code: 'INVALID_TAR', message: /hostile\.tar: more than 1048576 bytes of padding after the end-of-archive marker/, build: async (ctx) => Buffer.concat([tarOf(await ctx.good()), Buffer.alloc(1024 * 1024 + 64 * 1024)]) },
  { slug: 'header-entry-smuggled-after-index', code: 'INVALID_TAR', message: /tar entry "index\.json" appears twice/, build: async (ctx) => tarOf(await ctx.good(), [{ name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' }]) },
];

describe('hostile tars', () => {
  runCorpus(cases);
});

