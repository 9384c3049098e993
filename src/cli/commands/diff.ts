// diff: what a bundle changes on each managed cluster, for change review. Three forms, one output:
//   diff NEW.tar --store DIR          what importing NEW would change at this site;
//   diff OLD.tar NEW.tar              between two bundles (NEW may be a delta of OLD);
//   diff --from DIR… --against OLD    what the next export would change, without packing.
import type { KeyObject } from 'node:crypto';
import { addArtifact, bundleContents, bundleView, storeView, type ViewOptions } from '../../bundle/diff-read.js';
import { openSiteLayout } from '../../bundle/site.js';
import { verifyBundle } from '../../bundle/verify.js';
import { BundleParts } from '../../bundle/volumes.js';
import type { ReadOnlyStorage } from '../../content/storage.js';
import { compareViews, type BundleDiff } from '../../diff/compare.js';
import { renderDiff } from '../../diff/render.js';
import { clusterView, emptyView, type BundleView } from '../../diff/view.js';
import { ValidationError } from '../../errors.js';
import { loadPlan } from '../../export/plan.js';
import { renderPlan, type RenderFlags } from '../../export/render.js';
import { ANNOTATION_REF_NAME } from '../../model/oci.js';
import { defaultCacheDir } from '../../source/helm.js';
import type { LimitFlags } from '../cli.js';
import { printResult, Reporter, type CommandIO, type GlobalOptions } from '../io.js';
import { loadSiteKeys, loadTrustedKeys } from '../keys.js';
import { parseClusterName, parseLimits, parseTime } from '../options.js';

export interface DiffOptions extends GlobalOptions, LimitFlags, RenderFlags {
  /** One bundle (with --store or --against: the new one) or two (old, new); a split bundle's parts joined by commas. */
  bundles: string[];
  store?: string;
  against?: string;
  from?: string[];
  cluster?: string[];
  key?: string[];
  siteKey?: string[];
  siteKeyPassphraseEnv?: string;
  now?: string;
  /** false with --no-diff: names only. */
  diff?: boolean;
  exitCode?: boolean;
}

export interface DiffResult {
  diff: BundleDiff;
  verified: boolean;
  /** The exit code: 3 with --exit-code when there are changes, else 0. */
  exitCode: number;
}

/** EXIT_CHANGES is diff's exit code with --exit-code when there are changes. */
export const EXIT_CHANGES = 3;

export async function diff(opts: DiffOptions, io: CommandIO): Promise<DiffResult> {
  const reporter = new Reporter(io, opts);
  const form = opts.from?.length ? 'plan' : opts.store !== undefined ? 'store' : 'bundles';
  const want = { plan: 0, store: 1, bundles: 2 }[form];
  if (opts.bundles.length !== want || (form === 'plan' && !opts.against) || (form !== 'plan' && opts.against)) {
    throw new ValidationError('USAGE', 'expected one of: diff NEW.tar --store DIR, diff OLD.tar NEW.tar, diff --from DIR… --against OLD.tar (a split bundle: its parts joined by commas)');
  }
  const siteKeys = await loadSiteKeys(opts.siteKey ?? [], opts.siteKeyPassphraseEnv, io.env);
  const trusted = opts.key?.length ? await loadTrustedKeys(opts.key) : undefined;
  const check = { trusted, now: opts.now ? parseTime(opts.now, '--now') : new Date(), limits: parseLimits(opts), siteKeys };
  const viewOpts: ViewOptions = { ...(siteKeys.length ? { siteKeys } : {}), read: new Map() };

  let before: BundleView;
  let after: BundleView;
  if (form === 'store') {
    before = await storeView(opts.store!, viewOpts);
    const held = await openSiteLayout(opts.store!, false).catch(() => undefined);
    after = await readBundle(opts.bundles[0]!, held, check, viewOpts);
  } else if (form === 'bundles') {
    const old = await openBundle(opts.bundles[0]!, check);
    before = await readBundle(opts.bundles[0]!, undefined, check, viewOpts, old);
    // A delta leaves out what its base holds: read those blobs from OLD.
    after = await readBundle(opts.bundles[1]!, old, check, viewOpts);
  } else {
    before = await readBundle(opts.against!, undefined, check, viewOpts);
    after = await planView(opts, io, reporter);
  }
  const d = compareViews(before, after, { diff: opts.diff !== false });
  const verified = trusted !== undefined;
  printResult(io, opts, { verified, ...d }, () => renderDiff(d, verified));
  return { diff: d, verified, exitCode: opts.exitCode && d.summary.changes ? EXIT_CHANGES : 0 };
}

interface Check {
  trusted: KeyObject[] | undefined;
  now: Date;
  limits: ReturnType<typeof parseLimits>;
  siteKeys: KeyObject[];
}

async function openBundle(arg: string, check: Check): Promise<BundleParts> {
  return BundleParts.open(arg.split(',').filter(Boolean), check.limits);
}

// readBundle opens a bundle (verifying it first when keys are given: a bundle that fails is exit 2) and reads
// its view, the blobs it leaves out read from `held`.
async function readBundle(arg: string, held: ReadOnlyStorage | undefined, check: Check, viewOpts: ViewOptions, opened?: BundleParts): Promise<BundleView> {
  const src = opened ?? (await openBundle(arg, check));
  if (check.trusted) await verifyBundle(src, { trusted: check.trusted, now: check.now, siteKeys: check.siteKeys, ...(held ? { held } : {}), ...check.limits });
  return bundleView(src, viewOpts, held);
}

// planView is what the next export would carry: the plan made and rendered as export makes it, without packing.
async function planView(opts: DiffOptions, io: CommandIO, reporter: Reporter): Promise<BundleView> {
  const clusters = (opts.cluster ?? []).map((c) => parseClusterName(c));
  const loaded = await loadPlan(opts.from!, clusters, new Date(), reporter, { cacheDir: opts.cacheDir ?? defaultCacheDir(io.env), ...(opts.offline ? { offline: true } : {}) });
  const rendered = await renderPlan(loaded.plan, loaded.objects, opts, io.env, reporter);
  const view = emptyView();
  for (const c of rendered.plan.clusters) {
    const bundles = c.groups.flatMap((g) => g.bundles.map((b) => bundleContents(b as unknown as Record<string, unknown>, `the plan of ${c.cluster}`)));
    view.clusters.set(c.cluster, clusterView([{ bundles }], []));
  }
  // Charts and what proves them, each as a bundle's reader sees it (a chart's signature is not a chart).
  for (const ch of rendered.charts) await addArtifact(view, ch.source, { ...ch.root, annotations: { ...ch.root.annotations, [ANNOTATION_REF_NAME]: ch.ref } });
  return view;
}
