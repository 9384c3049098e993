import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseImageReference } from '../resolve/images.js';
import { globPattern, ImagePolicy, parsePolicy } from './image-policy.js';
import { keyPair } from '../../test/helpers.js';

describe('--verify-images-policy', () => {
  it('globs: * and ? stay within a segment, ** crosses them', () => {
    expect(globPattern('ghcr.io/org/*').test('ghcr.io/org/app')).toBe(true);
    expect(globPattern('ghcr.io/org/*').test('ghcr.io/org/team/app')).toBe(false);
    expect(globPattern('ghcr.io/org/**').test('ghcr.io/org/team/app:1.0')).toBe(true);
    expect(globPattern('ghcr.io/org/ap?').test('ghcr.io/org/app')).toBe(true);
    expect(globPattern('reg.example.com:5000/a.b/*').test('regXexample.com:5000/a.b/x')).toBe(false);
  });

  it('reports every problem of a policy file at once, naming the field', () => {
    const text = 'rules:\n- images: []\n  keys: [a.pub]\n  extra: 1\n- {images: ["x/*"]}\nnoMatch: maybe\nother: 1\n';
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(
      '--verify-images-policy p.yaml: 5 problem(s):\n  other: unknown field (expected rules, noMatch)\n  noMatch: "maybe": expected deny, warn, allow\n  rules[0].extra: unknown field (expected images, keys)\n  rules[0].images: expected a non-empty list of strings\n  rules[1].keys: expected a non-empty list of strings',
    );
  });

  it('the first matching rule decides; unmatched images take the --verify-images keys, else noMatch', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policy-'));
    try {
      const [a, b, c] = [0, 1, 2].map(() => keyPair('ec', { namedCurve: 'P-256' }).publicKey);
      for (const [name, k] of [['a.pub', a], ['b.pub', b], ['c.pub', c]] as const) await writeFile(join(dir, name), k!.export({ type: 'spki', format: 'pem' }));
      const file = join(dir, 'policy.yaml');
      await writeFile(file, 'rules:\n- images: ["docker.io/library/*"]\n  keys: [a.pub]\n- images: ["docker.io/**"]\n  keys: [b.pub, c.pub]\n');
      const ref = (s: string) => parseImageReference(s)!;
      const policy = (await ImagePolicy.load(file, []))!;
      expect(policy.keysFor(ref('nginx:1.27')).keys).toEqual([a]);
      expect(policy.keysFor(ref('bitnami/redis:7')).keys).toEqual([b, c]);
      expect(() => policy.keysFor(ref('quay.io/x/y:1'))).toThrow(/no rule matches image quay\.io\/x\/y:1 and noMatch is deny/);
      expect((await ImagePolicy.load(file, [join(dir, 'c.pub')]))!.keysFor(ref('quay.io/x/y:1'))).toEqual({ keys: [c], rule: 'the --verify-images keys' });
      await writeFile(file, 'rules:\n- images: ["docker.io/**"]\n  keys: [a.pub]\nnoMatch: warn\n');
      const warn = (await ImagePolicy.load(file, []))!;
      expect(warn.keysFor(ref('quay.io/x/y:1')).keys).toBeUndefined();
      expect(warn.warnsOnNoMatch).toBe(true);
      await writeFile(file, 'rules:\n- images: ["x"]\n  keys: [missing.pub]\n');
      await expect(ImagePolicy.load(file, [])).rejects.toThrow(/rules\[0\]\.keys .*missing\.pub: cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
