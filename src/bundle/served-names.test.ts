// The names an objects layer serves, and the collisions among them.
import { describe, expect, it } from 'vitest';
import { VerificationError } from '../errors.js';
import { ANNOTATION_GROUP, MEDIA_TYPE_OBJECTS, MEDIA_TYPE_OBJECTS_ENCRYPTED } from '../model/bundle.js';
import type { Descriptor } from '../model/oci.js';
import { assertNoCollisions, findCollisions, NameIndex, servedNames, type ServedName } from './served-names.js';

const layer = (n: number, extra: Partial<Descriptor> = {}): Descriptor => ({ mediaType: MEDIA_TYPE_OBJECTS, digest: `sha256:${String(n).repeat(64).slice(0, 64)}`, size: 1, ...extra });
const lib = (kind: string, name: string, namespace?: string) => ({ apiVersion: 'lib.projectsveltos.io/v1beta1', kind, metadata: { name, ...(namespace === undefined ? {} : { namespace }) } });

describe('servedNames', () => {
  it('lists the groups and bundles the agent API would serve in the cluster namespace, and nothing else', () => {
    const docs = [
      lib('ConfigurationGroup', 'g'),
      lib('ConfigurationBundle', 'b', 'ns'),
      lib('ConfigurationBundle', 'elsewhere', 'other'),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } },
      { ...lib('ConfigurationBundle', 'x'), apiVersion: 'lib.projectsveltos.io/v1alpha1' },
      { kind: 'ConfigurationGroup' },
    ];
    expect(servedNames('ns/c1', layer(1), docs).map((n) => `${n.kind} ${n.namespace}/${n.name}`)).toEqual(['ConfigurationGroup ns/g', 'ConfigurationBundle ns/b']);
  });

  it('knows a layer it could not open by the group name of its signed annotation', () => {
    const sealed = layer(2, { mediaType: MEDIA_TYPE_OBJECTS_ENCRYPTED, annotations: { [ANNOTATION_GROUP]: 'config-x' } });
    expect(servedNames('ns/c1', sealed, undefined)).toEqual([{ kind: 'ConfigurationGroup', namespace: 'ns', name: 'config-x', cluster: 'ns/c1', layer: sealed.digest }]);
    expect(servedNames('ns/c1', layer(3), undefined)).toEqual([]);
  });
});

describe('findCollisions', () => {
  const n = (cluster: string, l: number, name: string, kind = 'ConfigurationGroup'): ServedName => ({ kind, namespace: 'ns', name, cluster, layer: layer(l).digest });

  it('finds a name served by two clusters or by two layers of one cluster, sorted by kind and name', () => {
    const found = findCollisions([n('ns/b', 2, 'z'), n('ns/a', 1, 'z'), n('ns/a', 1, 'y', 'ConfigurationBundle'), n('ns/a', 3, 'y', 'ConfigurationBundle'), n('ns/a', 1, 'unique')]);
    expect(found.map((c) => [c.kind, c.name, c.holders.map((h) => h.cluster)])).toEqual([
      ['ConfigurationBundle', 'y', ['ns/a', 'ns/a']],
      ['ConfigurationGroup', 'z', ['ns/b', 'ns/a']],
    ]);
  });

  it('counts one layer that one cluster lists twice (the same object) once', () => {
    expect(findCollisions([n('ns/a', 1, 'g'), n('ns/a', 1, 'g')])).toEqual([]);
  });

  it('throws NAME_COLLISION naming the first ten and counting the rest', () => {
    const names = Array.from({ length: 12 }, (_, i) => [n('ns/a', 1, `g${i}`), n('ns/b', 2, `g${i}`)]).flat();
    let err: unknown;
    try {
      assertNoCollisions(names, 'bundle');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as VerificationError).code).toBe('NAME_COLLISION');
    expect((err as VerificationError).message).toMatch(/^bundle: 12 object name\(s\) would be served more than once: ConfigurationGroup ns\/g0 is served for clusters ns\/a/);
    expect((err as VerificationError).message).toMatch(/; and 2 more: two objects of one kind cannot share/);
    expect(((err as VerificationError).details!.collisions as unknown[]).length).toBe(12);
  });
});

describe('NameIndex', () => {
  const n = (cluster: string, l: number, name: string, kind = 'ConfigurationGroup'): ServedName => ({ kind, namespace: 'ns', name, cluster, layer: layer(l).digest });

  it('is clean exactly when findCollisions finds nothing, whatever the order and the chunks the names come in', () => {
    // Few clusters, layers and names, so that sets with and without collisions both come up often.
    let seed = 7;
    const next = (k: number) => {
      seed = (seed * 48271) % 2147483647;
      return Math.floor(seed / 65536) % k;
    };
    let clean = 0;
    for (let round = 0; round < 400; round++) {
      const names = Array.from({ length: 1 + next(8) }, () => n(`ns/c${next(3)}`, 1 + next(3), `g${next(6)}`, next(4) ? 'ConfigurationGroup' : 'ConfigurationBundle'));
      const index = new NameIndex();
      for (let i = 0; i < names.length; ) {
        const k = 1 + next(3);
        index.add(names.slice(i, i + k));
        i += k;
      }
      expect(index.clean, JSON.stringify(names)).toBe(findCollisions(names).length === 0);
      if (index.clean) clean++;
    }
    expect(clean).toBeGreaterThan(50);
    expect(clean).toBeLessThan(350);
  });

  it('takes one layer that one cluster lists twice as one object, and another layer or cluster as a second', () => {
    const index = new NameIndex();
    index.add([n('ns/a', 1, 'g'), n('ns/a', 1, 'g')]);
    expect(index.clean).toBe(true);
    index.add([n('ns/a', 2, 'g')]);
    expect(index.clean).toBe(false);
    const other = new NameIndex();
    other.add([n('ns/a', 1, 'g'), n('ns/b', 1, 'g')]);
    expect(other.clean).toBe(false);
  });
});
