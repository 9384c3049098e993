// A guard on values converted from YAML: aliases make one node appear many times, so a small text can stand
// for a huge value (the "billion laughs"). The `yaml` library's maxAliasCount weighs aliases by the aliases
// they contain, so 1,000 aliases of a flat 200,000-item list pass it and expand to 200 million items when the
// value is copied or serialised. expansionUnits measures the value as a serialiser would see it.

/** Characters of a string counted as one unit (so a long string aliased many times counts by its length). */
const CHARS_PER_UNIT = 64;

/**
 * expansionUnits counts the value as if every alias were written out: one unit per node, plus one per 64
 * characters of strings and keys. It stops as soon as the count passes `limit` and returns `limit + 1`.
 * The walk is iterative (deep nesting cannot overflow the stack) and costs at most `limit` steps.
 */
export function expansionUnits(value: unknown, limit: number): number {
  let units = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    units += 1;
    if (typeof v === 'string') units += Math.floor(v.length / CHARS_PER_UNIT);
    else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        units += Math.floor(k.length / CHARS_PER_UNIT);
        stack.push(x);
      }
    }
    if (units > limit || stack.length > limit) return limit + 1;
  }
  return units;
}

/**
 * expansionLimit is the budget for a document of `textLength` characters: a document without aliases never
 * exceeds it (every node takes at least one character of text), one whose aliases multiply it does.
 */
export function expansionLimit(textLength: number): number {
  return textLength + 10_000;
}
