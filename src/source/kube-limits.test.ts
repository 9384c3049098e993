// The loader's YAML limits: an alias bomb that the `yaml` library's alias count lets through (a few aliases of
// a long list) is refused by the expansion bound, in bounded time and memory; deep nesting is an error, not a crash.
import { describe, expect, it } from 'vitest';
import { expansionUnits } from '../model/expansion.js';
import { parseObjects, type LoadError } from './kube.js';

const parse = (text: string) => {
  const errors: LoadError[] = [];
  const objects = parseObjects(text, 'bomb.yaml', errors);
  return { objects, errors };
};

describe('parseObjects limits', () => {
  it('refuses 999 aliases of a 50,000-item list (50 million items once expanded) quickly', () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\nitems: &a [${Array(50_000).fill('1').join(',')}]\ncopies: [${Array(999).fill('*a').join(',')}]\n`;
    const t0 = Date.now();
    const { objects, errors } = parse(text);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(objects).toEqual([]);
    expect(errors[0]!.message).toMatch(/aliases expand the document beyond \d+ nodes.*alias bomb/);
  });

  it('refuses a long string aliased many times', () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: &s "${'x'.repeat(200_000)}"\n  list: [${Array(500).fill('*s').join(',')}]\n`;
    expect(parse(text).errors[0]!.message).toMatch(/alias bomb/);
  });

  it('still accepts a few honest aliases', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: &l {app: web}\n  annotations: *l\n';
    const { objects, errors } = parse(text);
    expect(errors).toEqual([]);
    expect(objects[0]!.metadata.annotations).toEqual({ app: 'web' });
  });

  it('reports nesting too deep for the parser as an error', () => {
    const { errors } = parse(`a: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`);
    expect(errors[0]!.message).toMatch(/invalid YAML: Maximum call stack size exceeded/);
  });
});

describe('expansionUnits', () => {
  it('counts shared references every time they appear, and stops at the limit', () => {
    const shared = Array(1000).fill(1);
    expect(expansionUnits({ a: shared }, 1e9)).toBe(1002);
    expect(expansionUnits({ a: shared, b: shared, c: shared }, 1e9)).toBe(3004);
    expect(expansionUnits(Array(100).fill(shared), 5000)).toBe(5001);
  });
});
