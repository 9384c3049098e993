// Parsing policyRef data (collectContent / CustomSplit), including hostile input.
import { describe, expect, it } from 'vitest';
import { parseData } from './content.js';

const ns = (n: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n`;

describe('parseData', () => {
  it('reads multi-document streams; empty and comment-only documents carry nothing', () => {
    const { objects, problems } = parseData({ k: `# header\n${ns('a')}---\n---\n# c\n---\n${ns('b')}` });
    expect(problems).toEqual([]);
    expect(objects.map((o) => (o.object.metadata as { name: string }).name)).toEqual(['a', 'b']);
  });

  it('a YAML list of strings is a list of manifests, each of which may hold several documents', () => {
    const { objects } = parseData({ k: `- |\n  ${ns('a').split('\n').join('\n  ')}---\n  ${ns('b').split('\n').join('\n  ')}\n- |\n  ${ns('c').split('\n').join('\n  ')}` });
    expect(objects.map((o) => (o.object.metadata as { name: string }).name)).toEqual(['a', 'b', 'c']);
  });

  it.each([
    ['a list of mappings', '- a: 1\n'],
    ['a scalar', 'hello\n'],
    ['an object without kind', 'apiVersion: v1\nmetadata: {name: x}\n'],
    ['an object without metadata.name', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n'],
    ['a non-finite number', 'apiVersion: v1\nkind: X\nmetadata: {name: x}\nv: .inf\n'],
    ['invalid YAML', 'a: [\n'],
    ['duplicate keys', 'apiVersion: v1\nkind: X\nkind: Y\nmetadata: {name: x}\n'],
  ])('%s is a problem for its key', (_n, text) => {
    const { objects, problems } = parseData({ good: ns('ok'), bad: text });
    expect(problems.map((p) => p.key)).toEqual(['bad']);
    expect(objects).toHaveLength(1);
  });

  it('bounds hostile data: value size, object count, alias expansion, nesting', () => {
    expect(parseData({ k: ns('a') + '#'.repeat(100) }, { maxValueBytes: 64 }).problems[0]!.message).toMatch(/at most 64/);
    expect(parseData({ k: [ns('a'), ns('b'), ns('c')].join('---\n') }, { maxObjects: 2 }).problems[0]!.message).toMatch(/more than 2 objects/);
    const bomb = 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
    expect(parseData({ k: `apiVersion: v1\nkind: X\nmetadata: {name: x}\n${bomb}` }, { maxAliasCount: 100 }).problems[0]!.message).toMatch(/alias/i);
    const deep = `apiVersion: v1\nkind: X\nmetadata: {name: x}\nv: ${'['.repeat(40)}${']'.repeat(40)}\n`;
    expect(parseData({ k: deep }, { maxNesting: 20 }).problems[0]!.message).toMatch(/nested deeper than 20/);
  });
});
