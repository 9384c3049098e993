import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { editScript, unifiedDiff } from './lines.js';

// The hunks of `diff -u` (GNU diffutils) for the same texts, without its two file header lines.
function gnuDiff(a: string, b: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lines-'));
  writeFileSync(join(dir, 'a'), a);
  writeFileSync(join(dir, 'b'), b);
  try {
    return execFileSync('diff', ['-u', join(dir, 'a'), join(dir, 'b')]).toString();
  } catch (err) {
    return (err as { stdout: Buffer }).stdout.toString().split('\n').slice(2).join('\n').replace(/\n$/, '');
  }
}

describe('line diff', () => {
  it('the edit script keeps every line of both sides in order, and is as short as an LCS allows', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let t = 0; t < 300; t++) {
      const a = Array.from({ length: Math.floor(rnd() * 30) }, () => String.fromCharCode(97 + Math.floor(rnd() * 5)));
      const b = Array.from({ length: Math.floor(rnd() * 30) }, () => String.fromCharCode(97 + Math.floor(rnd() * 5)));
      const e = editScript(a, b);
      expect(e.filter((x) => x.op !== '+').map((x) => x.line)).toEqual(a);
      expect(e.filter((x) => x.op !== '-').map((x) => x.line)).toEqual(b);
      // LCS length by dynamic programming: the kept lines must be that many.
      const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
      for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) lcs[i]![j] = a[i - 1] === b[j - 1] ? lcs[i - 1]![j - 1]! + 1 : Math.max(lcs[i - 1]![j]!, lcs[i]![j - 1]!);
      expect(e.filter((x) => x.op === ' ').length).toBe(lcs[a.length]![b.length]);
    }
  });

  it('hunks have the ranges and context of diff -u', () => {
    const a = Array.from({ length: 40 }, (_, i) => `line ${i}`);
    const b = [...a];
    b[3] = 'changed 3';
    b.splice(20, 2);
    b.push('added at the end');
    const [ta, tb] = [`${a.join('\n')}\n`, `${b.join('\n')}\n`];
    const ours = unifiedDiff(ta, tb);
    const theirs = gnuDiff(ta, tb);
    // Same hunk headers; the lines may pair a change differently where several scripts are as short.
    expect(ours.split('\n').filter((l) => l.startsWith('@@'))).toEqual(theirs.split('\n').filter((l) => l.startsWith('@@')));
    expect(unifiedDiff(ta, ta)).toBe('');
    expect(unifiedDiff('', 'a: 1\n')).toBe('@@ -0,0 +1 @@\n+a: 1');
    expect(gnuDiff('', 'a: 1\n').split('\n')[0]).toBe('@@ -0,0 +1 @@');
    const one = ['x: 1\n', 'x: 2\n'] as const;
    expect(unifiedDiff(...one).split('\n')[0]).toBe(gnuDiff(...one).split('\n')[0]);
  });
});
