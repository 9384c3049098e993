// Sprig's semver and semverCompare over Masterminds/semver v3.3 rules (the version Sveltos uses).
// The version and constraint grammars are Masterminds' own regular expressions, run by the RE2
// engine, so their quirks carry over.
import { GoError, goFunc } from '../funcs.js';
import { GoRegexp } from '../re2/index.js';
import { parseUint } from '../strconv.js';
import { GoFunc, GoObject, GoUint } from '../values.js';

const SEMVER = 'v?([0-9]+)(\\.[0-9]+)?(\\.[0-9]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?';
const CV = 'v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?';
const OPS = '=||!=|>|<|>=|=>|<=|=<|~|~>|\\^';

const re = {
  version: () => GoRegexp.compile(`^${SEMVER}$`),
  constraint: () => GoRegexp.compile(`^\\s*(${OPS})\\s*(${CV})\\s*$`),
  range: () => GoRegexp.compile(`\\s*(${CV})\\s+-\\s+(${CV})\\s*`),
  find: () => GoRegexp.compile(`(${OPS})\\s*(${CV})`),
  valid: () => GoRegexp.compile(`^(\\s*(${OPS})\\s*(${CV})\\s*)((?:\\s+|,\\s*)(${OPS})\\s*(${CV})\\s*)*$`),
};

/** Version is a parsed semantic version. */
export interface Version {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: string;
  metadata: string;
  original: string;
}

const NUM = '0123456789';
const ALLOWED = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-' + NUM;
const containsOnly = (s: string, set: string) => [...s].every((c) => set.includes(c));

function segment(s: string): bigint {
  const r = parseUint(s, 10);
  if (r.err) throw new GoError(`Error parsing version segment: strconv.ParseUint: parsing ${JSON.stringify(s)}: ${r.err === 'range' ? 'value out of range' : 'invalid syntax'}`);
  return r.value;
}

/** newVersion is semver.NewVersion. */
export function newVersion(v: string): Version {
  const m = re.version().findStringSubmatch(v);
  if (!m) throw new GoError('Invalid Semantic Version');
  const sv: Version = {
    major: segment(m[1]!),
    minor: m[2] ? segment(m[2].slice(1)) : 0n,
    patch: m[3] ? segment(m[3].slice(1)) : 0n,
    pre: m[5]!,
    metadata: m[8]!,
    original: v,
  };
  if (sv.pre !== '') {
    for (const p of sv.pre.split('.')) {
      if (containsOnly(p, NUM)) {
        if (p.length > 1 && p[0] === '0') throw new GoError('Version segment starts with 0');
      } else if (!containsOnly(p, ALLOWED)) throw new GoError('Invalid Prerelease string');
    }
  }
  if (sv.metadata !== '' && !sv.metadata.split('.').every((p) => containsOnly(p, ALLOWED))) {
    throw new GoError('Invalid Metadata string');
  }
  return sv;
}

/** versionString is Version.String. */
export function versionString(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}${v.pre ? '-' + v.pre : ''}${v.metadata ? '+' + v.metadata : ''}`;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === '') return -1;
  if (o === '') return 1;
  const oi = parseUint(o, 10);
  const si = parseUint(s, 10);
  if (oi.err && si.err) return Buffer.compare(Buffer.from(s), Buffer.from(o)) > 0 ? 1 : -1;
  if (oi.err) return -1;
  if (si.err) return 1;
  return si.value > oi.value ? 1 : -1;
}

/** compareVersions is Version.Compare. */
export function compareVersions(v: Version, o: Version): number {
  const d = cmp(v.major, o.major) || cmp(v.minor, o.minor) || cmp(v.patch, o.patch);
  if (d !== 0) return d;
  if (v.pre === '' && o.pre === '') return 0;
  if (v.pre === '') return 1;
  if (o.pre === '') return -1;
  const sp = v.pre.split('.');
  const op = o.pre.split('.');
  for (let i = 0; i < Math.max(sp.length, op.length); i++) {
    const r = comparePrePart(sp[i] ?? '', op[i] ?? '');
    if (r !== 0) return r;
  }
  return 0;
}

interface Constraint {
  con: Version;
  orig: string;
  op: string;
  dirty: boolean;
  minorDirty: boolean;
  patchDirty: boolean;
}

const isX = (s: string) => s === 'x' || s === '*' || s === 'X';

function parseConstraint(c: string): Constraint {
  const m = re.constraint().findStringSubmatch(c);
  if (!m) throw new GoError(`improper constraint: ${c}`);
  let ver = m[2]!;
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(m[3]!) || m[3] === '') {
    ver = `0.0.0${m[6]}`;
    dirty = true;
  } else if (isX(m[4]!.replace(/^\./, '')) || m[4] === '') {
    minorDirty = dirty = true;
    ver = `${m[3]}.0.0${m[6]}`;
  } else if (isX(m[5]!.replace(/^\./, '')) || m[5] === '') {
    patchDirty = dirty = true;
    ver = `${m[3]}${m[4]}.0${m[6]}`;
  }
  let con: Version;
  try {
    con = newVersion(ver);
  } catch {
    throw new GoError('constraint Parser Error');
  }
  return { con, orig: m[2]!, op: m[1]!, dirty, minorDirty, patchDirty };
}

function tilde(v: Version, c: Constraint): boolean {
  if (compareVersions(v, c.con) < 0) return false;
  if (c.con.major === 0n && c.con.minor === 0n && c.con.patch === 0n && !c.minorDirty && !c.patchDirty) return true;
  if (v.major !== c.con.major) return false;
  return !(v.minor !== c.con.minor && !c.minorDirty);
}

function check(v: Version, c: Constraint): boolean {
  const preBlocked = v.pre !== '' && c.con.pre === '';
  switch (c.op) {
    case '':
    case '=':
      if (preBlocked) return false;
      return c.dirty ? tilde(v, c) : compareVersions(v, c.con) === 0;
    case '!=':
      if (c.dirty) {
        if (preBlocked) return false;
        if (c.con.major !== v.major) return true;
        if (c.con.minor !== v.minor && !c.minorDirty) return true;
        if (c.minorDirty) return false;
        if (c.con.patch !== v.patch && !c.patchDirty) return true;
        if (c.patchDirty) {
          if (v.pre !== '' || c.con.pre !== '') return comparePrePart(v.pre, c.con.pre) !== 0;
          return false;
        }
      }
      return compareVersions(v, c.con) !== 0;
    case '>':
      if (preBlocked) return false;
      if (!c.dirty) return compareVersions(v, c.con) === 1;
      if (v.major > c.con.major) return true;
      if (v.major < c.con.major || c.minorDirty) return false;
      if (c.patchDirty) return v.minor > c.con.minor;
      return compareVersions(v, c.con) === 1;
    case '<':
      return !preBlocked && compareVersions(v, c.con) < 0;
    case '>=':
    case '=>':
      return !preBlocked && compareVersions(v, c.con) >= 0;
    case '<=':
    case '=<':
      if (preBlocked) return false;
      if (!c.dirty) return compareVersions(v, c.con) <= 0;
      if (v.major > c.con.major) return false;
      return !(v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty);
    case '~':
    case '~>':
      return !preBlocked && tilde(v, c);
    case '^': {
      if (preBlocked || compareVersions(v, c.con) < 0) return false;
      if (c.con.major > 0n || c.minorDirty) return v.major === c.con.major;
      if (c.con.major === 0n && v.major > 0n) return false;
      if (c.con.minor > 0n || c.patchDirty) return v.minor === c.con.minor;
      if (c.con.minor === 0n && v.minor > 0n) return false;
      return c.con.patch === v.patch;
    }
  }
  return false;
}

/** newConstraint is semver.NewConstraint: OR-groups of AND-ed constraints. */
export function newConstraint(c: string): Constraint[][] {
  const ranges = re.range().findAllStringSubmatch(c, -1);
  for (const r of ranges ?? []) c = c.replace(r[0]!, () => `>= ${r[1]}, <= ${r[11]} `);
  return c.split('||').map((v) => {
    if (!re.valid().matchString(v)) throw new GoError(`improper constraint: ${v}`);
    const cs = re.find().findAllString(v, -1) ?? [v];
    return cs.map(parseConstraint);
  });
}

/** semverCompare is Sprig's semverCompare. */
export function semverCompare(constraint: string, version: string): boolean {
  const c = newConstraint(constraint);
  const v = newVersion(version);
  return c.some((and) => and.every((k) => check(v, k)));
}

function vPrefix(v: Version): string {
  return v.original[0] === 'v' || v.original[0] === 'V' ? v.original[0] : '';
}

/** versionObject exposes a Version to templates like *semver.Version (methods and String). */
export function versionObject(v: Version, typeName = '*semver.Version'): GoObject {
  const inc = (next: Version) => {
    next.original = vPrefix(v) + versionString(next);
    return versionObject(next, 'semver.Version');
  };
  const other = (o: unknown) => (o as GoObject & { version: Version }).version;
  const S = 'string' as const;
  const V = '*semver.Version' as const;
  // Original, LessThan, GreaterThan, Equal and Compare have pointer receivers: a Version value
  // returned by IncMajor and friends does not have them.
  const methods: Record<string, GoFunc> = {
    Major: goFunc({ in: [], out: 'interface {}' }, () => new GoUint(v.major)),
    Minor: goFunc({ in: [], out: 'interface {}' }, () => new GoUint(v.minor)),
    Patch: goFunc({ in: [], out: 'interface {}' }, () => new GoUint(v.patch)),
    Prerelease: goFunc({ in: [], out: S }, () => v.pre),
    Metadata: goFunc({ in: [], out: S }, () => v.metadata),
    Original: goFunc({ in: [], out: S }, () => v.original),
    String: goFunc({ in: [], out: S }, () => versionString(v)),
    IncPatch: goFunc({ in: [], out: 'interface {}' }, () =>
      inc(v.pre !== '' ? { ...v, pre: '', metadata: '' } : { ...v, pre: '', metadata: '', patch: v.patch + 1n }),
    ),
    IncMinor: goFunc({ in: [], out: 'interface {}' }, () => inc({ ...v, pre: '', metadata: '', patch: 0n, minor: v.minor + 1n })),
    IncMajor: goFunc({ in: [], out: 'interface {}' }, () => inc({ ...v, pre: '', metadata: '', patch: 0n, minor: 0n, major: v.major + 1n })),
    LessThan: goFunc({ in: [V], out: 'bool' }, (o: unknown) => compareVersions(v, other(o)) < 0),
    GreaterThan: goFunc({ in: [V], out: 'bool' }, (o: unknown) => compareVersions(v, other(o)) > 0),
    Equal: goFunc({ in: [V], out: 'bool' }, (o: unknown) => compareVersions(v, other(o)) === 0),
    Compare: goFunc({ in: [V], out: 'int' }, (o: unknown) => compareVersions(v, other(o))),
  };
  if (!typeName.startsWith('*')) for (const m of ['Original', 'LessThan', 'GreaterThan', 'Equal', 'Compare']) delete methods[m];
  const obj = new GoObject(typeName, methods, () => versionString(v), () => versionString(v));
  return Object.assign(obj, { version: v });
}

/** SEMVER_FUNCS are Sprig's semver and semverCompare. */
export const SEMVER_FUNCS: Record<string, GoFunc> = {
  semver: goFunc({ in: ['string'], out: '*semver.Version' }, (s: string) => versionObject(newVersion(s))),
  semverCompare: goFunc({ in: ['string', 'string'], out: 'bool' }, semverCompare),
};
