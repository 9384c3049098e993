// Carrying a reference's data into bundle content, and sharing it between clusters.
import { describe, expect, it } from 'vitest';
import { carry, CarryCache, patchesKey } from './carry.js';

const ns = (n: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n  uid: x\n`;

describe('carry', () => {
  it('encodes the objects of every key, sorted, and names them for conflicts', () => {
    const c = carry({ b: ns('b'), a: `${ns('a')}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: a\n` }, []);
    expect(c).toMatchObject({
      ok: true,
      content: { resources: ['apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: a\n', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n'] },
      resourceKeys: ['/Namespace a', 'apps/Deployment a/d', '/Namespace b'],
      gvks: ['Namespace.v1.', 'Deployment.v1.apps', 'Namespace.v1.'],
    });
  });

  it('reports the stage that fails', () => {
    expect(carry({ k: 'kind: [\n' }, [])).toMatchObject({ ok: false, stage: 'content' });
    expect(carry({ k: ns('a') }, [{ patch: '- op: add\n  path: /x\n  value: 1\n' }])).toMatchObject({ ok: false, stage: 'patch' });
    expect(carry({ k: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: "a\\x7fb"\n' }, [])).toMatchObject({ ok: false, stage: 'marshal' });
  });
});

describe('CarryCache', () => {
  it('computes once per source and patch list', () => {
    const cache = new CarryCache();
    const source = {};
    let reads = 0;
    const data = () => (reads++, { k: ns('a') });
    const first = cache.get(source, data, []);
    expect(cache.get(source, data, [])).toBe(first);
    const patched = cache.get(source, data, [{ target: { kind: 'Namespace' }, patch: 'metadata:\n  labels:\n    p: "1"\n' }]);
    expect(patched).not.toBe(first);
    expect(cache.get({}, data, [])).not.toBe(first);
    expect(reads).toBe(3);
  });

  it('shares rendered data by content from its second rendering on', () => {
    const cache = new CarryCache();
    const first = cache.rendered({ y: ns('y'), x: ns('x') }, []);
    const a = cache.rendered({ x: ns('x'), y: ns('y') }, []);
    expect(a).not.toBe(first);
    expect(a).toEqual(first);
    expect(cache.rendered({ y: ns('y'), x: ns('x') }, [])).toBe(a);
    const other = cache.rendered({ x: ns('x'), y: ns('z') }, []);
    expect(other).not.toBe(a);
    expect(cache.rendered({ x: ns('x'), y: ns('z') }, [])).not.toBe(other);
  });

  it('forgets renderings beyond the most recent `seen`', () => {
    const cache = new CarryCache(16 * 1024 * 1024, 2);
    cache.rendered({ k: ns('a') }, []);
    cache.rendered({ k: ns('b') }, []);
    cache.rendered({ k: ns('c') }, []);
    const a = cache.rendered({ k: ns('a') }, []);
    expect(cache.rendered({ k: ns('a') }, [])).not.toBe(a);
    const c = cache.rendered({ k: ns('c') }, []);
    expect(cache.rendered({ k: ns('c') }, [])).toBe(c);
  });

  it('drops the least recently used entries beyond its budget', () => {
    const cache = new CarryCache(400);
    const twice = (k: string) => (cache.rendered({ k: ns(k) }, []), cache.rendered({ k: ns(k) }, []));
    const a = twice('a');
    const b = twice('b');
    expect(cache.rendered({ k: ns('a') }, [])).toBe(a);
    twice('c');
    expect(cache.rendered({ k: ns('a') }, [])).toBe(a);
    expect(cache.rendered({ k: ns('b') }, [])).not.toBe(b);
  });

  it('does not share patch lists it cannot key by content', () => {
    expect(patchesKey([{ patch: 'x', target: { kind: 'A' } }])).toBe('[{"patch":"x","target":{"kind":"A"}}]');
    expect(patchesKey([{ patch: 'x', target: { kind: 1 as unknown as string } }])).toBeUndefined();
    const cache = new CarryCache();
    const odd = [{ patch: ns('a'), target: { kind: 1 as unknown as string } }];
    expect(cache.rendered({ k: ns('a') }, odd)).not.toBe(cache.rendered({ k: ns('a') }, odd));
  });
});
