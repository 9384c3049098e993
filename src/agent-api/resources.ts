// The resources the agent API serves and the verbs it grants (sveltos-pullmode.md §3.1: the Role and
// ClusterRole that pull-mode registration binds to the agent's ServiceAccount). Data only.
import { CONFIG_GROUP, LIB_GROUP } from '../model/sveltos.js';

export const API_VERSION = 'v1beta1';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** ResourceInfo describes one served resource, as discovery lists it. */
export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, lowercase: the URL segment. */
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  /** The CRD has a status subresource: the main resource ignores status, /status ignores the rest. */
  statusSubresource: boolean;
  /** Verbs granted on the resource and on `/status` (empty: no status subresource). */
  verbs: readonly Verb[];
  statusVerbs: readonly Verb[];
}

function lib(plural: string, kind: string, verbs: Verb[], statusVerbs: Verb[] = [], namespaced = true, statusSubresource = statusVerbs.length > 0): ResourceInfo {
  return { group: LIB_GROUP, version: API_VERSION, plural, singular: kind.toLowerCase(), kind, namespaced, statusSubresource, verbs, statusVerbs };
}

function config(plural: string, kind: string, verbs: Verb[], statusVerbs: Verb[] = []): ResourceInfo {
  return { group: CONFIG_GROUP, version: API_VERSION, plural, singular: kind.toLowerCase(), kind, namespaced: true, statusSubresource: statusVerbs.length > 0, verbs, statusVerbs };
}

/** RESOURCES is the complete served surface with the Role's verbs (nothing more is granted to an agent). */
export const RESOURCES: readonly ResourceInfo[] = [
  lib('configurationgroups', 'ConfigurationGroup', ['get', 'list', 'watch', 'update'], ['get', 'update']),
  // The CRD has a status subresource (the content hash), but the Role grants the agent nothing on it.
  lib('configurationbundles', 'ConfigurationBundle', ['get', 'list', 'watch'], [], true, true),
  lib('sveltosclusters', 'SveltosCluster', ['get', 'list', 'watch'], ['get', 'list', 'update']),
  lib('resourcesummaries', 'ResourceSummary', ['get', 'list', 'create', 'watch'], ['get', 'update']),
  lib('classifierreports', 'ClassifierReport', ['create', 'get', 'list', 'update', 'watch']),
  lib('eventreports', 'EventReport', ['create', 'get', 'list', 'update', 'watch']),
  lib('healthcheckreports', 'HealthCheckReport', ['create', 'get', 'list', 'update', 'watch']),
  lib('reloaderreports', 'ReloaderReport', ['create', 'get', 'list', 'update', 'watch']),
  // The ClusterRole: cluster-scoped, read-only; nothing in a bundle carries them, so they list empty.
  lib('classifiers', 'Classifier', ['get', 'list', 'watch'], [], false),
  lib('eventsources', 'EventSource', ['get', 'list', 'watch'], [], false),
  lib('healthchecks', 'HealthCheck', ['get', 'list', 'watch'], [], false),
  config('clusterconfigurations', 'ClusterConfiguration', ['get', 'list', 'update', 'watch'], ['get', 'list', 'update', 'patch']),
  config('clustersummaries', 'ClusterSummary', ['get', 'list', 'update', 'watch'], ['get', 'list', 'update', 'patch']),
  config('clusterreports', 'ClusterReport', ['create', 'delete', 'get', 'list', 'update', 'watch'], ['get', 'list', 'update', 'patch']),
];

/** ALL_VERBS is what the server can do at all; a management identity is granted all of it. */
export const ALL_VERBS: readonly Verb[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

/** API_GROUPS lists the served groups in discovery order. */
export const API_GROUPS: readonly string[] = [LIB_GROUP, CONFIG_GROUP];

/** findResource looks a resource up by its URL segments. */
export function findResource(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** resourceByKind looks a resource up by apiVersion and kind. */
export function resourceByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => `${r.group}/${r.version}` === apiVersion && r.kind === kind);
}

/** apiVersionOf is `group/version` of a resource. */
export function apiVersionOf(r: ResourceInfo): string {
  return `${r.group}/${r.version}`;
}

/** qualifiedName is `plural.group`, as Kubernetes names a resource in messages. */
export function qualifiedName(r: ResourceInfo): string {
  return `${r.plural}.${r.group}`;
}

export const CONFIGURATION_GROUPS = findResource(LIB_GROUP, API_VERSION, 'configurationgroups')!;
export const CONFIGURATION_BUNDLES = findResource(LIB_GROUP, API_VERSION, 'configurationbundles')!;
export const SVELTOS_CLUSTERS = findResource(LIB_GROUP, API_VERSION, 'sveltosclusters')!;
export const RESOURCE_SUMMARIES = findResource(LIB_GROUP, API_VERSION, 'resourcesummaries')!;
