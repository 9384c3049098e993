// rbac: print the read-only ClusterRole (and a binding) that `--from-cluster` needs.
import { stringify } from 'yaml';
import { ValidationError } from '../../errors.js';
import { readerRole } from '../../kube/rbac.js';
import { printResult, type CommandIO, type GlobalOptions } from '../io.js';
import { parseClusterName } from '../options.js';

export interface RbacOptions extends GlobalOptions {
  resource?: string[];
  serviceAccount?: string;
  user?: string;
}

export async function rbac(opts: RbacOptions, io: CommandIO): Promise<Record<string, unknown>[]> {
  if (opts.serviceAccount && opts.user) throw new ValidationError('USAGE', '--service-account and --user: give one subject');
  for (const r of opts.resource ?? []) {
    if (!/^[a-z0-9-]+(\.[a-z0-9.-]+)?$/.test(r)) throw new ValidationError('USAGE', `--resource ${JSON.stringify(r)}: expected RESOURCE.GROUP (e.g. services, or clusters.cluster.x-k8s.io)`);
  }
  const docs = readerRole({
    ...(opts.resource?.length ? { resources: opts.resource } : {}),
    ...(opts.serviceAccount ? { serviceAccount: parseClusterName(opts.serviceAccount, '--service-account') } : {}),
    ...(opts.user ? { user: opts.user } : {}),
  });
  printResult(io, opts, { items: docs }, () => docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n'));
  return docs;
}
