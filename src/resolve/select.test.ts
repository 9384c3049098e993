// Cluster selection rules of addon-controller, each named after the Sveltos behaviour it follows.
import { describe, expect, it } from 'vitest';
import { FakeFleet, profilesOf } from '../../test/fake-fleet.js';
import { selectorMatches } from './select.js';
import type { LabelSelector } from '../model/sveltos.js';

const cm = { policyRefs: [] };

describe('label selectors', () => {
  it.each([
    { name: 'matchLabels: all must match', sel: { matchLabels: { env: 'prod', tier: 'a' } }, labels: { env: 'prod', tier: 'a', x: '1' }, want: true },
    { name: 'matchLabels: one differs', sel: { matchLabels: { env: 'prod', tier: 'a' } }, labels: { env: 'prod', tier: 'b' }, want: false },
    { name: 'In: value listed', sel: { matchExpressions: [{ key: 'env', operator: 'In' as const, values: ['a', 'prod'] }] }, labels: { env: 'prod' }, want: true },
    { name: 'In: key missing', sel: { matchExpressions: [{ key: 'env', operator: 'In' as const, values: ['prod'] }] }, labels: {}, want: false },
    { name: 'NotIn: key missing matches', sel: { matchExpressions: [{ key: 'env', operator: 'NotIn' as const, values: ['prod'] }] }, labels: {}, want: true },
    { name: 'NotIn: value listed', sel: { matchExpressions: [{ key: 'env', operator: 'NotIn' as const, values: ['prod'] }] }, labels: { env: 'prod' }, want: false },
    { name: 'Exists', sel: { matchExpressions: [{ key: 'gpu', operator: 'Exists' as const }] }, labels: { gpu: '' }, want: true },
    { name: 'DoesNotExist', sel: { matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' as const }] }, labels: { gpu: 'x' }, want: false },
    { name: 'matchLabels AND matchExpressions', sel: { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'gpu', operator: 'Exists' as const }] }, labels: { env: 'prod' }, want: false },
    { name: 'empty selector matches nothing (Sveltos GetMatchingClusters)', sel: {}, labels: { env: 'prod' }, want: false },
  ])('$name', ({ sel, labels, want }) => {
    expect(selectorMatches(sel as LabelSelector, labels as Record<string, string>)).toBe(want);
  });
});

describe('profile matching', () => {
  const fleet = () =>
    new FakeFleet()
      .cluster('east/c1', { env: 'prod' })
      .cluster('east/c2', { env: 'dev' })
      .cluster('west/c3', { env: 'prod' });

  it('ClusterProfile clusterSelector matches clusters of every namespace', () => {
    const plan = fleet().clusterProfile('p', { clusterSelector: { matchLabels: { env: 'prod' } }, ...cm }).plan();
    expect(profilesOf(plan)).toEqual({ 'east/c1': ['p'], 'east/c2': [], 'west/c3': ['p'] });
    expect(plan.problems).toEqual([]);
  });

  it('matchLabels select by every pair, whatever the order; a value that is not a string matches nothing', () => {
    const f = () => fleet().cluster('west/c4', { env: 'prod', tier: '1' });
    const both = f().clusterProfile('p', { clusterSelector: { matchLabels: { env: 'prod', tier: '1' } }, ...cm }).plan();
    expect(profilesOf(both)).toEqual({ 'east/c1': [], 'east/c2': [], 'west/c3': [], 'west/c4': ['p'] });
    const number = f().clusterProfile('p', { clusterSelector: { matchLabels: { tier: 1 as unknown as string } }, ...cm }).plan();
    expect(profilesOf(number)).toEqual({ 'east/c1': [], 'east/c2': [], 'west/c3': [], 'west/c4': [] });
    const unknown = f().clusterProfile('p', { clusterSelector: { matchLabels: { env: 'prod', zone: 'z' } }, ...cm }).plan();
    expect(profilesOf(unknown)).toEqual({ 'east/c1': [], 'east/c2': [], 'west/c3': [], 'west/c4': [] });
  });

  it('an empty clusterSelector matches no cluster (Sveltos, unlike Kubernetes)', () => {
    const plan = fleet().clusterProfile('p', { clusterSelector: {}, ...cm }).plan();
    expect(profilesOf(plan)).toEqual({ 'east/c1': [], 'east/c2': [], 'west/c3': [] });
  });

  it('clusterRefs are added to the selector matches (getMatchingClusters appends them)', () => {
    const plan = fleet()
      .clusterProfile('p', { clusterSelector: { matchLabels: { env: 'dev' } }, clusterRefs: [{ kind: 'SveltosCluster', namespace: 'west', name: 'c3' }], ...cm })
      .plan();
    expect(profilesOf(plan)).toEqual({ 'east/c1': [], 'east/c2': ['p'], 'west/c3': ['p'] });
    expect(plan.clusters[2]!.profiles[0]!.matchedBy).toEqual(['clusterRefs']);
  });

  it('a Profile only sees clusters of its namespace, and its clusterRefs are forced to it (limitReferencesToNamespace)', () => {
    const plan = fleet()
      .profile('east/p', { clusterSelector: { matchLabels: { env: 'prod' } }, clusterRefs: [{ kind: 'SveltosCluster', namespace: 'west', name: 'c2' }], ...cm })
      .plan();
    expect(profilesOf(plan)).toEqual({ 'east/c1': ['east/p'], 'east/c2': ['east/p'], 'west/c3': [] });
  });

  it('SveltosCluster status is ignored: a never-ready air-gapped cluster matches', () => {
    const plan = new FakeFleet()
      .cluster('east/c1', { env: 'prod' }, {}, { status: { ready: false, connectionStatus: 'Down' } })
      .clusterProfile('p', { clusterSelector: { matchLabels: { env: 'prod' } }, ...cm })
      .plan();
    expect(profilesOf(plan)).toEqual({ 'east/c1': ['p'] });
    expect(plan.clusters[0]!.object).not.toHaveProperty('status');
  });

  it('a paused SveltosCluster (spec.paused) is skipped with a warning', () => {
    const plan = new FakeFleet()
      .cluster('east/c1', { env: 'prod' }, { paused: true })
      .cluster('east/c2', { env: 'prod' })
      .clusterProfile('p', { clusterSelector: { matchLabels: { env: 'prod' } }, ...cm })
      .plan();
    expect(plan.clusters.map((c) => c.cluster)).toEqual(['east/c2']);
    expect(plan.warnings.map((w) => w.code)).toContain('CLUSTER_PAUSED');
  });

  it('a paused profile deploys nothing, whatever the annotation value (addon-controller hasAnnotation)', () => {
    const plan = fleet()
      .clusterProfile('p', { clusterSelector: { matchLabels: { env: 'prod' } }, ...cm }, { annotations: { 'profile.projectsveltos.io/paused': 'false' } })
      .plan();
    expect(profilesOf(plan)).toEqual({ 'east/c1': [], 'east/c2': [], 'west/c3': [] });
    expect(plan.warnings.map((w) => w.code)).toEqual(['PROFILE_PAUSED']);
  });

  it('the clusters filter limits the plan; an unknown cluster is a problem', () => {
    const f = fleet().clusterProfile('p', { clusterSelector: { matchLabels: { env: 'prod' } }, ...cm });
    expect(profilesOf(f.plan({ clusters: ['west/c3'] }))).toEqual({ 'west/c3': ['p'] });
    const bad = f.plan({ clusters: ['west/nope'] });
    expect(bad.problems.map((p) => p.code)).toEqual(['CLUSTER_NOT_FOUND']);
  });

  it('clusterRefs to a missing cluster are reported', () => {
    const plan = fleet().clusterProfile('p', { clusterRefs: [{ kind: 'SveltosCluster', namespace: 'x', name: 'gone' }], ...cm }).plan();
    expect(plan.warnings.map((w) => w.code)).toEqual(['CLUSTER_REF_NOT_FOUND']);
  });

  it('CAPI Cluster refs are not pull-mode clusters and are ignored with a warning', () => {
    const plan = fleet().clusterProfile('p', { clusterRefs: [{ kind: 'Cluster', namespace: 'east', name: 'c1' }], ...cm }).plan();
    expect(profilesOf(plan)['east/c1']).toEqual([]);
    expect(plan.warnings.map((w) => w.code)).toEqual(['CLUSTER_KIND_UNSUPPORTED']);
  });
});

describe('ClusterSet and Set (setRefs)', () => {
  const fleet = () =>
    new FakeFleet()
      .cluster('b/c1', { env: 'edge' })
      .cluster('a/c9', { env: 'edge' })
      .cluster('a/c10', { env: 'edge' })
      .cluster('a/c2', { env: 'core' });

  it('ClusterSet picks maxReplicas clusters in API list order (namespace, then name, as bytes) (selectMoreClusters)', () => {
    const plan = fleet()
      .clusterSet('edge', { clusterSelector: { matchLabels: { env: 'edge' } }, maxReplicas: 2 })
      .clusterProfile('p', { setRefs: ['edge'], ...cm })
      .plan();
    expect(profilesOf(plan)).toEqual({ 'a/c10': ['p'], 'a/c2': [], 'a/c9': ['p'], 'b/c1': [] });
  });

  it('ClusterSet keeps clusters already selected in its status (incumbents first)', () => {
    const plan = fleet()
      .clusterSet('edge', { clusterSelector: { matchLabels: { env: 'edge' } }, maxReplicas: 2 }, { selectedClusterRefs: [{ namespace: 'b', name: 'c1' }] })
      .clusterProfile('p', { setRefs: ['edge'], ...cm })
      .plan();
    expect(profilesOf(plan)).toEqual({ 'a/c10': ['p'], 'a/c2': [], 'a/c9': [], 'b/c1': ['p'] });
  });

  it('maxReplicas 0 selects nothing; clusterRefs of a set count as matching', () => {
    const zero = fleet().clusterSet('edge', { clusterSelector: { matchLabels: { env: 'edge' } } }).clusterProfile('p', { setRefs: ['edge'], ...cm }).plan();
    expect(Object.values(profilesOf(zero)).flat()).toEqual([]);
    const refs = fleet().clusterSet('s', { clusterRefs: [{ namespace: 'a', name: 'c2' }], maxReplicas: 1 }).clusterProfile('p', { setRefs: ['s'], ...cm }).plan();
    expect(profilesOf(refs)['a/c2']).toEqual(['p']);
  });

  it('a Profile uses Sets of its namespace, which select in their namespace only', () => {
    const plan = fleet()
      .set('a/edge', { clusterSelector: { matchLabels: { env: 'edge' } }, maxReplicas: 5 })
      .profile('a/p', { setRefs: ['edge'], ...cm })
      .plan();
    expect(profilesOf(plan)).toEqual({ 'a/c10': ['a/p'], 'a/c2': [], 'a/c9': ['a/p'], 'b/c1': [] });
  });

  it("a Set's clusterRefs are forced to its namespace (SetReconciler limitReferencesToNamespace)", () => {
    const plan = fleet().set('a/s', { clusterRefs: [{ namespace: 'b', name: 'c1' }, { namespace: 'b', name: 'c9' }], maxReplicas: 5 }).profile('a/p', { setRefs: ['s'], ...cm }).plan();
    expect(profilesOf(plan)).toEqual({ 'a/c10': [], 'a/c2': [], 'a/c9': ['a/p'], 'b/c1': [] });
  });

  it('a missing set selects nothing (warning), as addon-controller skips it', () => {
    const plan = fleet().clusterProfile('p', { setRefs: ['nope'], ...cm }).plan();
    expect(plan.warnings.map((w) => w.code)).toEqual(['SET_NOT_FOUND']);
    expect(plan.problems).toEqual([]);
  });
});

describe('dependsOn', () => {
  it('prerequisites are deployed to every cluster their dependents reach (auto-deploy-dependencies)', () => {
    const f = new FakeFleet()
      .cluster('a/c1', { cni: 'calico' })
      .clusterProfile('ns', { clusterSelector: { matchLabels: { none: 'x' } }, ...cm })
      .clusterProfile('base', { clusterSelector: { matchLabels: { none: 'y' } }, dependsOn: ['ns'], ...cm })
      .clusterProfile('calico', { clusterSelector: { matchLabels: { cni: 'calico' } }, dependsOn: ['base'], ...cm });
    const plan = f.plan();
    expect(profilesOf(plan)).toEqual({ 'a/c1': ['base', 'calico', 'ns'] });
    expect(plan.clusters[0]!.profiles.find((p) => p.name === 'ns')!.matchedBy).toEqual(['dependsOn']);
    // Groups come in deploy order: prerequisites first.
    expect(plan.clusters[0]!.groups.map((g) => g.group.spec.sourceRef.name)).toEqual(['ns', 'base', 'calico']);
    expect(profilesOf(f.plan({ autoDeployDependencies: false }))).toEqual({ 'a/c1': ['calico'] });
  });

  it('a missing prerequisite is a problem: Sveltos would never deploy the dependent', () => {
    const plan = new FakeFleet().cluster('a/c1', { x: 'y' }).clusterProfile('p', { clusterSelector: { matchLabels: { x: 'y' } }, dependsOn: ['gone'], ...cm }).plan();
    expect(plan.problems.map((p) => p.code)).toEqual(['DEPENDENCY_NOT_FOUND']);
  });
});
