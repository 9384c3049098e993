// The scenario interface, the run context, and the runner that turns rounds of measurements into rows
// (median, min, max, per-round ratio against the baseline, target check). bench/README.md documents it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { timed } from './measure.mjs';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(BENCH_DIR, '..');

// Where ctx.setAside moves outputs; removed after each scenario.
const SET_ASIDE = '.set-aside';
let setAsideCount = 0;

/** ScenarioSkipped marks a scenario that cannot run here (a missing tool or module): a "not available" row. */
export class ScenarioSkipped extends Error {}

const UNITS = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4, K: 1e3, M: 1e6, G: 1e9, KB: 1e3, MB: 1e6, GB: 1e9 };

/** parseSize reads `1GiB`, `256MiB`, `1.5G` or a plain byte count. */
export function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?$/i.exec(String(text).trim());
  const unit = m && (m[2] ? Object.keys(UNITS).find((u) => u.toLowerCase() === m[2].toLowerCase()) : 'B');
  if (!m || !unit) throw new Error(`--size ${text}: expected a size such as 1GiB, 256MiB or 1000000`);
  return Math.round(Number(m[1]) * UNITS[unit]);
}

export function formatBytes(n) {
  if (n === undefined || n === null) return 'n/a';
  for (const [u, f] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]]) if (n >= f) return `${+(n / f).toFixed(n >= 10 * f ? 0 : 1)} ${u}`;
  return `${n} B`;
}

export const OPTIONS = {
  quick: { type: 'boolean', default: false },
  scale: { type: 'string' },
  size: { type: 'string' },
  runs: { type: 'string' },
  seed: { type: 'string', default: 'sveltos-airgap-bench-1' },
  only: { type: 'string' },
  keep: { type: 'boolean', default: false },
  work: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
};

/** parseOptions reads the flags shared by run.mjs and scenario scripts run on their own. */
export function parseOptions(argv) {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!(scale > 0)) throw new Error(`--scale ${values.scale}: expected a positive number`);
  const runs = values.runs === undefined ? (values.quick ? 3 : 5) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: expected a positive integer`);
  const base = values.size !== undefined ? parseSize(values.size) : values.quick ? 256 * 1024 ** 2 : 1024 ** 3;
  return { ...values, scale, runs, bytes: Math.max(1024 * 1024, Math.round(base * scale)) };
}

/**
 * createContext is what every scenario receives: the options, the paths, a cache for shared fixtures
 * and helpers. `work` is the scratch directory (bench/work/ by default), removed at the end unless --keep.
 */
export function createContext(opts, log = (msg) => process.stderr.write(`${msg}\n`)) {
  const work = resolve(opts.work ?? join(BENCH_DIR, 'work'));
  mkdirSync(work, { recursive: true });
  return {
    ...opts,
    root: REPO_ROOT,
    bench: BENCH_DIR,
    work,
    cli: join(REPO_ROOT, 'bin', 'sveltos-airgap'),
    layers: opts.quick ? 16 : 48,
    cache: new Map(),
    log,
    /** dir returns an empty directory `work/<name>` (removed first). */
    dir(name) {
      const d = join(work, name);
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d, { recursive: true });
      return d;
    },
    /** settle removes paths and flushes dirty pages, so the next measurement starts with a clean disk. */
    settle(...paths) {
      for (const p of paths) rmSync(p, { recursive: true, force: true });
      spawnSync('sync');
    },
    /**
     * setAside moves paths out of the way (into `work/.set-aside/`, removed after the scenario) and flushes dirty
     * pages. For outputs of thousands of files: ext4 without a journal does not reuse an inode for a minute after
     * it was freed and scans past every such inode at each file it creates, so removing 40,000 files right before
     * a measured command that creates as many makes that command several times slower than on a settled disk.
     */
    setAside(...paths) {
      const aside = join(work, SET_ASIDE);
      mkdirSync(aside, { recursive: true });
      for (const p of paths) {
        if (existsSync(p)) renameSync(p, join(aside, `${setAsideCount++}-${basename(p)}`));
      }
      spawnSync('sync');
    },
    /** interleave runs ours and the baseline in one round, alternating which goes first from round to round. */
    async interleave(round, ours, baseline) {
      if (round % 2 === 0) {
        const o = await ours();
        return { ours: o, baseline: await baseline() };
      }
      const b = await baseline();
      return { ours: await ours(), baseline: b };
    },
  };
}

function stats(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return undefined;
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1], values: v };
}

// normalize accepts one measurement, a list of them, or `{rows: [...]}`; array-valued `ours` means the
// scenario ran all its rounds itself.
function normalize(result) {
  if (result && typeof result === 'object' && typeof result.skipped === 'string') throw new ScenarioSkipped(result.skipped);
  const list = Array.isArray(result) ? result : Array.isArray(result?.rows) ? result.rows : [result];
  return list.map((m) => {
    if (!m || typeof m !== 'object' || (typeof m.ours !== 'number' && !Array.isArray(m.ours))) {
      throw new Error(`a measurement needs a numeric "ours" (got ${JSON.stringify(m)?.slice(0, 200)})`);
    }
    return { ...m, row: m.row ?? m.name ?? m.title, oursRss: m.oursRss ?? m.rss };
  });
}

/**
 * runScenario runs `setup`, then `run(ctx, round)` ctx.runs times, then `teardown`, and returns one
 * row per distinct `row` name. A missing tool or a thrown ScenarioSkipped gives a "not available" row;
 * another error gives an "error" row (the other scenarios still run).
 */
export async function runScenario(scenario, ctx) {
  const title = typeof scenario.title === 'function' ? scenario.title(ctx) : scenario.title ?? scenario.name;
  const base = { scenario: scenario.name, row: title, unit: scenario.unit ?? 's', better: scenario.better ?? 'lower', baselineName: scenario.baselineName, target: scenario.target };
  const rows = new Map();
  try {
    const missing = (scenario.requires ?? []).filter((b) => spawnSync('sh', ['-c', `command -v ${b}`], { stdio: 'ignore' }).status !== 0);
    if (missing.length) throw new ScenarioSkipped(`not available: ${missing.join(', ')} not installed`);
    const reason = await scenario.available?.(ctx);
    if (typeof reason === 'string') throw new ScenarioSkipped(reason);
    try {
      // Inside the try: a setup that fails halfway (one server started) is torn down too.
      await scenario.setup?.(ctx);
      for (let round = 0; round < ctx.runs; round++) {
        ctx.log(`  ${scenario.name}: round ${round + 1}/${ctx.runs}`);
        const list = normalize(await scenario.run(ctx, round));
        let complete = false;
        for (const m of list) {
          const key = m.row ?? title;
          const row = rows.get(key) ?? { ...base, ...pick(m, ['unit', 'better', 'baselineName', 'target', 'notes']), row: key, ours: [], baseline: [], ratio: [], oursRss: [], baselineRss: [] };
          rows.set(key, row);
          const ours = [m.ours].flat();
          const baseline = m.baseline === undefined || m.baseline === null ? [] : [m.baseline].flat();
          complete ||= Array.isArray(m.ours);
          row.ours.push(...ours);
          row.baseline.push(...baseline);
          ours.forEach((o, i) => {
            if (typeof baseline[i] === 'number' && baseline[i] > 0) row.ratio.push(o / baseline[i]);
          });
          row.oursRss.push(...[m.oursRss].flat());
          row.baselineRss.push(...[m.baselineRss].flat());
        }
        if (complete) break;
      }
    } finally {
      await scenario.teardown?.(ctx);
      rmSync(join(ctx.work, SET_ASIDE), { recursive: true, force: true });
    }
  } catch (err) {
    const skipped = err instanceof ScenarioSkipped;
    if (!skipped) ctx.log(`  ${scenario.name}: ERROR ${err.stack ?? err}`);
    return [...rows.values()].map(finish).concat([{ ...base, [skipped ? 'skipped' : 'error']: String(err.message).split('\n')[0] }]);
  }
  return [...rows.values()].map(finish);
}

function pick(o, keys) {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function finish(row) {
  const out = { ...row, ours: stats(row.ours), baseline: stats(row.baseline), ratio: stats(row.ratio) };
  const rss = (l) => (l.some((x) => typeof x === 'number') ? Math.max(...l.filter((x) => typeof x === 'number')) : undefined);
  out.oursRss = rss(row.oursRss);
  out.baselineRss = rss(row.baselineRss);
  if (out.ratio && out.target) {
    out.met = out.target.max !== undefined ? out.ratio.median <= out.target.max : out.ratio.median >= out.target.min;
  }
  return out;
}

/**
 * externalScenario wraps a script that prints its measurements as JSON on stdout (see bench/README.md):
 * it is run as `node FILE --json --runs N [--quick] --size BYTES --scale F --seed S --work DIR`, once
 * per round unless it returns every round at once (array values).
 */
export function externalScenario(file) {
  const name = basename(file).replace(/\.m?js$/, '');
  return {
    name,
    title: name,
    quick: true,
    external: file,
    async run(ctx, round) {
      const args = [file, '--json', '--runs', String(ctx.runs), '--size', String(ctx.bytes), '--scale', '1', '--seed', ctx.seed, '--work', join(ctx.work, `ext-${name}`)];
      if (ctx.quick) args.push('--quick');
      const res = await timed(process.execPath, args, { cwd: ctx.root, env: { BENCH_ROUND: String(round) }, timeoutMs: (ctx.quick ? 5 : 30) * 60_000 });
      const parsed = lastJSON(res.stdout);
      if (parsed === undefined) throw new Error(`${file}: printed no JSON result on stdout`);
      const list = normalize(parsed);
      // The script's process is the measured one unless it reports RSS itself.
      return list.map((m) => ({ ...m, oursRss: m.oursRss ?? m.rss ?? res.rss }));
    },
  };
}

// lastJSON takes the whole output, or else its last line, as JSON.
function lastJSON(text) {
  const tries = [text, ...text.trim().split('\n').reverse()];
  for (const t of tries) {
    try {
      return JSON.parse(t);
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * runStandalone lets a scenario module be executed directly (and so be picked up as an external
 * scenario): it runs every round and prints `{rows: [...]}` with array values on stdout.
 */
export async function runStandalone(scenario, argv = process.argv.slice(2)) {
  const opts = parseOptions(argv);
  const ctx = createContext(opts);
  const raw = [];
  const wrapped = { ...scenario, run: async (c, r) => {
    const m = await scenario.run(c, r);
    raw.push(...normalize(m));
    return m;
  } };
  const rows = await runScenario(wrapped, ctx);
  const skipped = rows.find((r) => r.skipped);
  if (skipped) {
    process.stdout.write(`${JSON.stringify({ skipped: skipped.skipped })}\n`);
    return;
  }
  const error = rows.find((r) => r.error);
  if (error) throw new Error(error.error);
  const byRow = new Map();
  for (const m of raw) {
    const key = m.row ?? (typeof scenario.title === 'function' ? scenario.title(ctx) : scenario.title ?? scenario.name);
    const r = byRow.get(key) ?? { ...pick(scenario, ['unit', 'better', 'baselineName', 'target']), ...m, row: key, ours: [], baseline: [], oursRss: [], baselineRss: [] };
    byRow.set(key, r);
    r.ours.push(m.ours);
    if (typeof m.baseline === 'number') r.baseline.push(m.baseline);
    r.oursRss.push(m.oursRss ?? null);
    r.baselineRss.push(m.baselineRss ?? null);
  }
  process.stdout.write(`${JSON.stringify({ rows: [...byRow.values()] })}\n`);
  if (!opts.keep) rmSync(ctx.work, { recursive: true, force: true });
}
