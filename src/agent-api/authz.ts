// Who may do what: a cluster's token gets the Role of sveltos-pullmode.md §3.1 in its own namespace,
// on its own cluster's objects only; a management identity (import --apply targets, tests) gets every verb.
import type { Entry } from './objects.js';
import { ALL_VERBS, qualifiedName, type ResourceInfo, type Verb } from './resources.js';
import type { ApiFailure } from './status.js';
import { forbidden } from './status.js';

/** Identity is the authenticated caller. */
export type Identity =
  | {
      kind: 'cluster';
      cluster: string;
      namespace: string;
      name: string;
      username: string;
      /** Aborted when the credential is revoked: open watches end then (the client's next request gets 401). */
      revoked?: AbortSignal;
    }
  | { kind: 'management'; username: string };

/** clusterIdentity is the identity of cluster `namespace/name`'s agent (named like its ServiceAccount). */
export function clusterIdentity(cluster: string): Extract<Identity, { kind: 'cluster' }> {
  const [namespace, name] = cluster.split('/') as [string, string];
  return { kind: 'cluster', cluster, namespace, name, username: `system:serviceaccount:${namespace}:${name}` };
}

export const MANAGEMENT: Identity = { kind: 'management', username: 'sveltos-airgap:management' };

/** grantedVerbs lists the verbs `who` holds on a resource or its status subresource. */
export function grantedVerbs(who: Identity, r: ResourceInfo, subresource?: 'status'): readonly Verb[] {
  if (subresource === 'status' && !r.statusSubresource) return [];
  if (who.kind === 'management') return ALL_VERBS;
  return subresource === 'status' ? r.statusVerbs : r.verbs;
}

/** authorize checks a verb on a resource in a namespace (before any object is looked at). */
export function authorize(who: Identity, verb: Verb, r: ResourceInfo, namespace: string | undefined, subresource?: 'status', name?: string): ApiFailure | undefined {
  const target = `resource "${r.plural}${subresource ? `/${subresource}` : ''}" in API group "${r.group}"`;
  const what = `${qualifiedName(r)}${name ? ` "${name}"` : ''}`;
  if (!grantedVerbs(who, r, subresource).includes(verb)) {
    return forbidden(`${what} is forbidden: User "${who.username}" cannot ${verb} ${target}${namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope'}`, r, name);
  }
  if (who.kind === 'cluster' && r.namespaced && namespace !== who.namespace) {
    return forbidden(
      `${what} is forbidden: User "${who.username}" cannot ${verb} ${target} ${namespace ? `in the namespace "${namespace}"` : 'at the cluster scope'}: a cluster's token is limited to its own namespace "${who.namespace}"`,
      r,
      name,
    );
  }
  return undefined;
}

/** canSee tells whether `who` may read or write an existing object. */
export function canSee(who: Identity, e: Entry): boolean {
  return who.kind === 'management' || e.owner === who.cluster;
}

/** notYours is the 403 for an object of another cluster in the caller's namespace. */
export function notYours(who: Identity, verb: Verb, r: ResourceInfo, name: string): ApiFailure {
  return forbidden(`${qualifiedName(r)} "${name}" is forbidden: User "${who.username}" cannot ${verb} it: the object belongs to another cluster`, r, name);
}

/** CLUSTER_LABELS are the labels Sveltos uses to say which cluster an object is for. */
export const CLUSTER_LABELS = ['pullmode.projectsveltos.io/clustername', 'version.projectsveltos.io/clustername', 'projectsveltos.io/cluster-name'] as const;

/** foreignClusterLabel returns a cluster label of `labels` that names another cluster than `who`'s. */
export function foreignClusterLabel(who: Identity, labels: Record<string, string> | undefined): string | undefined {
  if (who.kind !== 'cluster' || !labels) return undefined;
  return CLUSTER_LABELS.find((k) => k in labels && labels[k] !== who.name);
}
