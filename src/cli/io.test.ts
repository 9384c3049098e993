import { describe, expect, it } from 'vitest';
import { someOf } from './io.js';

describe('someOf', () => {
  it('lists a few names whole, and a fleet as a count, the first names and how many more', () => {
    expect(someOf([])).toBe('(none)');
    expect(someOf(['a/1', 'b/2'])).toBe('a/1, b/2');
    const fleet = Array.from({ length: 2000 }, (_, i) => `fleet/c${i}`);
    expect(someOf(fleet, 3)).toBe('2000: fleet/c0, fleet/c1, fleet/c2, … and 1997 more (--output json lists them all)');
    expect(someOf(fleet.slice(0, 3), 3)).toBe('fleet/c0, fleet/c1, fleet/c2');
  });
});
