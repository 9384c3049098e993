// The least privilege `--from-cluster` needs: list the kinds that decide which clusters a profile reaches,
// get the objects profiles reference. Discovery (/api, /apis) is open to every authenticated user through
// Kubernetes' default system:discovery binding.

export const READER_ROLE = 'sveltos-airgap-reader';

/** Rules: what is listed, and what is read by name. */
const LISTED: [group: string, resources: string[]][] = [
  ['lib.projectsveltos.io', ['sveltosclusters', 'clustersets', 'sets']],
  ['config.projectsveltos.io', ['clusterprofiles', 'profiles']],
];
const READ: [group: string, resources: string[]][] = [
  ['', ['configmaps', 'secrets']],
  ['source.toolkit.fluxcd.io', ['gitrepositories', 'ocirepositories', 'buckets']],
];

export interface ReaderRoleOptions {
  /** More `RESOURCE.GROUP` (or `RESOURCE` of the core group) read by name: the kinds templateResourceRefs name. */
  resources?: string[];
  /** The binding's subject: `NAMESPACE/NAME` of a ServiceAccount, else a user name. */
  serviceAccount?: string;
  user?: string;
}

/** readerRole returns the ClusterRole, and a ClusterRoleBinding when a subject is given. */
export function readerRole(opts: ReaderRoleOptions = {}): Record<string, unknown>[] {
  const extra = new Map<string, string[]>();
  for (const r of opts.resources ?? []) {
    const dot = r.indexOf('.');
    const [resource, group] = dot < 0 ? [r, ''] : [r.slice(0, dot), r.slice(dot + 1)];
    extra.set(group, [...(extra.get(group) ?? []), resource]);
  }
  const read = READ.map(([g, rs]): [string, string[]] => [g, [...rs, ...(extra.get(g) ?? [])]]);
  for (const [g, rs] of extra) if (!READ.some(([x]) => x === g)) read.push([g, rs]);
  // Flux artifacts are read through the API server's proxy to source-controller (its name as a proxy path
  // carries the scheme and port, so both spellings are listed).
  const proxy = { apiGroups: [''], resources: ['services/proxy'], resourceNames: ['source-controller', 'http:source-controller:80'], verbs: ['get'] };
  // The Sveltos version (for drift detection) is the tag of addon-controller's image.
  const version = { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['addon-controller'], verbs: ['get'] };
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: READER_ROLE },
    rules: [
      ...LISTED.map(([g, rs]) => ({ apiGroups: [g], resources: rs, verbs: ['get', 'list'] })),
      ...read.map(([g, rs]) => ({ apiGroups: [g], resources: [...new Set(rs)], verbs: ['get'] })),
      proxy,
      version,
    ],
  };
  const subject = opts.serviceAccount
    ? { kind: 'ServiceAccount', namespace: opts.serviceAccount.split('/')[0], name: opts.serviceAccount.split('/')[1] }
    : opts.user
      ? { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: opts.user }
      : undefined;
  if (!subject) return [role];
  return [
    role,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: READER_ROLE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: READER_ROLE },
      subjects: [subject],
    },
  ];
}
