// A minimal OpenAPI v3 description of the served resources. kubectl reads it to learn that the server
// validates fields itself (the `fieldValidation` query parameter); without it, `kubectl replace` and
// `kubectl apply` fall back to protobuf OpenAPI v2, which this server does not speak. Schemas are open
// (x-kubernetes-preserve-unknown-fields): the API server of record is the agent's management cluster.
// Reference: https://github.com/kubernetes/kubernetes/blob/v1.32.0/staging/src/k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go
import { createHash } from 'node:crypto';
import { API_GROUPS, API_VERSION, RESOURCES, type ResourceInfo } from './resources.js';

const QUERY = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });

function operations(r: ResourceInfo) {
  const gvk = { 'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind } };
  const ref = { $ref: `#/components/schemas/${schemaName(r)}` };
  const body = { content: { 'application/json': { schema: ref } } };
  const response = { responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } } };
  const write = [QUERY('dryRun'), QUERY('fieldManager'), QUERY('fieldValidation')];
  return {
    get: { operationId: `read${r.kind}`, ...gvk, 'x-kubernetes-action': 'get', ...response },
    put: { operationId: `replace${r.kind}`, ...gvk, 'x-kubernetes-action': 'put', parameters: write, requestBody: body, ...response },
    patch: { operationId: `patch${r.kind}`, ...gvk, 'x-kubernetes-action': 'patch', parameters: [...write, QUERY('force')], requestBody: body, ...response },
  };
}

function schemaName(r: ResourceInfo): string {
  return `${r.group.split('.').reverse().join('.')}.${r.version}.${r.kind}`;
}

/** groupVersionDocument is the OpenAPI v3 document of one served group version. */
export function groupVersionDocument(group: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const r of RESOURCES.filter((x) => x.group === group)) {
    const base = r.namespaced ? `/apis/${r.group}/${r.version}/namespaces/{namespace}/${r.plural}` : `/apis/${r.group}/${r.version}/${r.plural}`;
    paths[`${base}/{name}`] = operations(r);
    if (r.statusSubresource) paths[`${base}/{name}/status`] = operations(r);
    schemas[schemaName(r)] = {
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
      'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }],
    };
  }
  return { openapi: '3.0.0', info: { title: 'sveltos-airgap agent API', version: API_VERSION }, paths, components: { schemas } };
}

/** documentHash versions a group's document (clients cache by it). */
export function documentHash(group: string): string {
  return createHash('sha256').update(JSON.stringify(groupVersionDocument(group))).digest('hex').slice(0, 32).toUpperCase();
}

/** openapiRoot is `/openapi/v3`: where each group version's document is. */
export function openapiRoot(): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const g of API_GROUPS) paths[`apis/${g}/${API_VERSION}`] = { serverRelativeURL: `/openapi/v3/apis/${g}/${API_VERSION}?hash=${documentHash(g)}` };
  return { paths };
}
