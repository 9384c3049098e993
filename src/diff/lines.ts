// A unified line diff (Myers' O((N+M)·D) shortest edit script), for reviewing one object's YAML.

export type Edit = { op: ' ' | '-' | '+'; line: string };

/** editScript returns the shortest sequence of kept, removed and added lines turning `a` into `b`. */
export function editScript(a: string[], b: string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // Walk the trace back from the end to the start.
  const out: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0 && (x > 0 || y > 0); d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) out.push({ op: ' ', line: a[--x]! }) && y--;
    if (d > 0) {
      if (x === prevX) out.push({ op: '+', line: b[--y]! });
      else out.push({ op: '-', line: a[--x]! });
    }
  }
  return out.reverse();
}

/** unifiedDiff renders the changes from `before` to `after` as unified-diff hunks with `context` lines around each. */
export function unifiedDiff(before: string, after: string, context = 3): string {
  const split = (t: string) => (t === '' ? [] : t.replace(/\n$/, '').split('\n'));
  const edits = editScript(split(before), split(after));
  const changed = edits.map((e, i) => (e.op === ' ' ? -1 : i)).filter((i) => i >= 0);
  if (changed.length === 0) return '';
  // Group changes whose context overlaps into hunks.
  const hunks: [number, number][] = [];
  for (const i of changed) {
    const last = hunks.at(-1);
    if (last && i - last[1] <= 2 * context) last[1] = i;
    else hunks.push([i, i]);
  }
  const lines: string[] = [];
  for (const [first, last] of hunks) {
    const start = Math.max(0, first - context);
    const end = Math.min(edits.length - 1, last + context);
    let aLine = 1;
    let bLine = 1;
    for (let i = 0; i < start; i++) {
      if (edits[i]!.op !== '+') aLine++;
      if (edits[i]!.op !== '-') bLine++;
    }
    const slice = edits.slice(start, end + 1);
    const aCount = slice.filter((e) => e.op !== '+').length;
    const bCount = slice.filter((e) => e.op !== '-').length;
    // As diff -u writes them: a count of one is left out; an empty range starts at the line before.
    const range = (line: number, count: number) => (count === 1 ? `${line}` : `${count ? line : line - 1},${count}`);
    lines.push(`@@ -${range(aLine, aCount)} +${range(bLine, bCount)} @@`);
    for (const e of slice) lines.push(`${e.op}${e.line}`);
  }
  return lines.join('\n');
}
