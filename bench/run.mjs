#!/usr/bin/env node
// The benchmark harness: runs every scenario (bench/scenarios/*.mjs and any bench/*.mjs script),
// writes bench/results/<date>.json and prints a Markdown table. Usage: see bench/README.md.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hasBinary, TIME_BIN, toolVersion } from './lib/measure.mjs';
import { BENCH_DIR, REPO_ROOT, createContext, externalScenario, formatBytes, parseOptions, runScenario } from './lib/scenario.mjs';

const USAGE = `usage: node bench/run.mjs [--quick] [--size 1GiB] [--scale F] [--runs N] [--only a,b] [--seed S] [--keep] [--work DIR]

  --quick     small sizes, 3 runs: the smoke run (about 2 minutes on 2 cores)
  --size S    bytes of blobs for pack/verify/import/serve (default 1GiB, --quick 256MiB)
  --scale F   multiply every size (blob bytes and fleet sizes) by F
  --runs N    rounds per scenario (default 5, --quick 3)
  --only L    comma-separated scenario names (pack, verify, import, serve, resolve, or a script's name)
  --keep      keep bench/work/ (generated data) afterwards
`;

async function loadScenarios() {
  const builtin = [];
  for (const f of readdirSync(join(BENCH_DIR, 'scenarios')).filter((f) => f.endsWith('.mjs')).sort()) {
    builtin.push((await import(pathToFileURL(join(BENCH_DIR, 'scenarios', f)).href)).default);
  }
  builtin.sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
  // Scripts beside run.mjs are external scenarios: run as processes that print JSON.
  const external = readdirSync(BENCH_DIR)
    .filter((f) => /\.mjs$/.test(f) && f !== 'run.mjs')
    .sort()
    .map((f) => externalScenario(join(BENCH_DIR, f)));
  return [...builtin, ...external];
}

const fmtValue = (v, unit) => {
  if (v === undefined) return 'n/a';
  if (unit === 's') return v >= 100 ? `${v.toFixed(0)} s` : v >= 10 ? `${v.toFixed(1)} s` : `${v.toFixed(2)} s`;
  return `${v >= 100 ? Math.round(v) : +v.toPrecision(3)} ${unit}`;
};
const fmtStats = (s, unit) => (s ? `${fmtValue(s.median, unit)} (${fmtValue(s.min, unit).split(' ')[0]}–${fmtValue(s.max, unit)})` : '—');
// fmtRatio shows a third decimal when two would round onto the target and hide which side it is on.
const fmtRatio = (v, t) => {
  const bound = t?.max ?? t?.min;
  return bound !== undefined && v !== bound && Math.abs(v - bound) < 0.005 ? v.toFixed(3) : v.toFixed(2);
};
const fmtTarget = (t) => (!t ? '—' : t.max !== undefined ? `≤ ${t.max}x` : `≥ ${t.min}x`);

/** table renders the rows as Markdown. */
export function table(rows) {
  const cell = (v) => String(v).replace(/\|/g, '\\|');
  const lines = [
    '| Scenario | Ours: median (min–max) | Baseline | Baseline: median (min–max) | Ratio | Target | Met | Peak RSS ours / baseline |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    if (r.skipped || r.error) {
      lines.push(`| ${cell(r.row)} | ${cell(r.skipped ? r.skipped : `error: ${r.error}`)} | ${cell(r.baselineName ?? '—')} | — | — | ${fmtTarget(r.target)} | — | — |`);
      continue;
    }
    const ratio = r.ratio ? `${fmtRatio(r.ratio.median, r.target)}x` : '—';
    const met = r.met === undefined ? '—' : r.met ? 'yes' : '**no**';
    lines.push(`| ${cell(r.row)} | ${fmtStats(r.ours, r.unit)} | ${cell(r.baselineName ?? '—')} | ${fmtStats(r.baseline, r.unit)} | ${ratio} | ${fmtTarget(r.target)} | ${met} | ${formatBytes(r.oursRss)} / ${formatBytes(r.baselineRss)} |`);
  }
  return lines.join('\n');
}

function machine() {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model,
    memoryBytes: totalmem(),
    node: process.version,
    kernel: release(),
    tools: {
      'sveltos-airgap': JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version,
      skopeo: toolVersion('skopeo', ['--version']),
      'docker-registry': toolVersion('docker-registry', ['--version']),
      wrk: toolVersion('sh', ['-c', 'wrk -v 2>&1 | head -1; true']),
      openssl: toolVersion('openssl', ['version']),
      tar: toolVersion('tar', ['--version']),
      time: existsSync(TIME_BIN) ? toolVersion(TIME_BIN, ['--version']) : undefined,
    },
  };
}

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err.message}\n${USAGE}`);
    process.exit(1);
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!existsSync(join(REPO_ROOT, 'dist', 'bundle', 'pack.js'))) {
    process.stderr.write('dist/ is missing: run `npm run build` first (or `npm run bench`, which builds)\n');
    process.exit(1);
  }
  if (!hasBinary(TIME_BIN)) process.stderr.write(`warning: ${TIME_BIN} not found (Debian package "time"): peak RSS will be n/a\n`);
  const ctx = createContext(opts);
  const only = opts.only ? new Set(opts.only.split(',').map((s) => s.trim())) : undefined;
  const scenarios = (await loadScenarios()).filter((s) => (only ? only.has(s.name) : !opts.quick || s.quick));
  const started = new Date();
  const rows = [];
  try {
    for (const s of scenarios) {
      ctx.log(`${s.name}…`);
      const t = performance.now();
      rows.push(...(await runScenario(s, ctx)));
      ctx.log(`${s.name}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
  } finally {
    if (!opts.keep) rmSync(ctx.work, { recursive: true, force: true });
  }
  const result = {
    date: started.toISOString(),
    durationSeconds: (Date.now() - started.getTime()) / 1000,
    options: { quick: opts.quick, bytes: opts.bytes, scale: opts.scale, runs: opts.runs, seed: opts.seed, layers: ctx.layers },
    machine: machine(),
    rows,
  };
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  // Partial runs never replace the day's full or quick results.
  const suffix = `${opts.quick ? '-quick' : ''}${only ? `-only-${[...only].join('-')}` : ''}`;
  const file = join(BENCH_DIR, 'results', `${started.toISOString().slice(0, 10)}${suffix}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const m = result.machine;
  process.stdout.write(`${table(rows)}\n\n${started.toISOString().slice(0, 10)}, ${m.cpus} × ${m.cpuModel}, ${formatBytes(m.memoryBytes)}, Node ${m.node}; ${opts.runs} runs, ratio = median of per-round ours/baseline; results: ${file.slice(REPO_ROOT.length + 1)}\n`);
  if (rows.some((r) => r.error)) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
