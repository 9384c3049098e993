import { describe, expect, it } from 'vitest';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selector.js';

const labels = { 'pullmode.projectsveltos.io/clustername': 'cluster01', env: 'prod', tier: '3' };

describe('label selectors', () => {
  it.each([
    { name: 'equality', sel: 'pullmode.projectsveltos.io/clustername=cluster01', want: true },
    { name: 'double equals', sel: 'env==prod', want: true },
    { name: 'inequality', sel: 'env!=prod', want: false },
    { name: 'inequality on a missing key', sel: 'zone!=a', want: true },
    { name: 'set in', sel: 'env in (dev, prod)', want: true },
    { name: 'set notin', sel: 'env notin (prod)', want: false },
    { name: 'exists', sel: 'tier', want: true },
    { name: 'not exists', sel: '!tier', want: false },
    { name: 'conjunction', sel: 'env=prod,tier in (3),!zone', want: true },
    { name: 'greater than', sel: 'tier>2', want: true },
    { name: 'less than', sel: 'tier<2', want: false },
    { name: 'empty matches all', sel: '', want: true },
  ])('$name', ({ sel, want }) => {
    const parsed = parseLabelSelector(sel);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(matchesLabels(parsed.value, labels)).toBe(want);
  });

  it.each(['env in (a', 'a b c', '=x', 'env=a b', 'Env%=1'])('refuses %s with a 400', (sel) => {
    const parsed = parseLabelSelector(sel);
    expect(parsed).toMatchObject({ ok: false, failure: { code: 400, reason: 'BadRequest' } });
  });
});

describe('field selectors', () => {
  it('supports metadata.name and metadata.namespace only', () => {
    const ok = parseFieldSelector('metadata.name=a,metadata.namespace!=b');
    expect(ok.ok && matchesFields(ok.value, { name: 'a', namespace: 'c' })).toBe(true);
    expect(ok.ok && matchesFields(ok.value, { name: 'a', namespace: 'b' })).toBe(false);
    expect(parseFieldSelector('spec.tier=1')).toMatchObject({ ok: false, failure: { code: 400, message: 'field label not supported: spec.tier' } });
  });
});
