// remoteURL policyRefs in the plan (addon-controller url_source.go): the request a ref makes (URL, its
// Secret's credentials, TLS flags) and how its fetched text is staged. Pure: the exporter fetches at the
// edge and hands the bodies back through a RemoteContents; a plan run without them lists what to fetch.
import { createHash } from 'node:crypto';
import { isPlainObject, isSecret, SECRET_TYPE_CLUSTER_PROFILE, type KubeObject } from '../model/sveltos.js';
import { decodeSecretData } from './content.js';
import { instantiateReference, type TemplateContext } from './instantiate.js';

/** RemoteAccess is how a remoteURL is reached: its Secret's keys and the ref's TLS flags. */
export interface RemoteAccess {
  token?: string;
  username?: string;
  password?: string;
  /** PEM roots that replace the system ones (Secret key `caFile`). */
  ca?: string;
  insecureSkipTLSVerify?: boolean;
  plainHTTP?: boolean;
}

/** RemoteRequest is one URL to fetch and how. `key` identifies it without exposing the credentials. */
export interface RemoteRequest {
  url: string;
  access: RemoteAccess;
  key: string;
}

/**
 * RemoteFetched is what a URL served (the http body, or each OCI layer) with the digest naming it, or why it
 * could not be had. `text` is the text a policyRef deploys from it; it throws an Error with the message of
 * an input problem (a damaged archive).
 */
export type RemoteFetched = { ok: true; digest: string; parts: Buffer[]; text: () => string } | { ok: false; message: string };

/** RemoteContents answers the plan with what the exporter fetched; undefined: not fetched. */
export type RemoteContents = (req: RemoteRequest) => RemoteFetched | undefined;

/** RemoteSource is one URL a cluster's plan used, with the digest of what was fetched. */
export interface RemoteSource {
  url: string;
  digest: string;
}

/** remoteRequestKey identifies a request by URL and a digest of its access (never the credentials themselves). */
export function remoteRequestKey(url: string, access: RemoteAccess): string {
  return `${url}\0${createHash('sha256').update(JSON.stringify(access)).digest('hex')}`;
}

/**
 * remoteRequest reads a policyRef's `remoteURL` as addon-controller does: the secretRef's name and namespace
 * templated against the cluster (an empty namespace is the cluster's), the Secret of type
 * addons.projectsveltos.io/cluster-profile, `token` before `username`/`password`, `caFile`.
 * It returns the request, or the message of an input problem.
 */
export function remoteRequest(
  remoteURL: Record<string, unknown>,
  tctx: TemplateContext,
  getSecret: (namespace: string, name: string) => KubeObject | undefined,
): RemoteRequest | { problem: string } {
  const url = typeof remoteURL.url === 'string' ? remoteURL.url : '';
  if (!/^(https?|oci):\/\//.test(url)) return { problem: `remoteURL.url ${JSON.stringify(url)}: expected an http://, https:// or oci:// URL` };
  const access: RemoteAccess = {};
  if (remoteURL.insecureSkipTLSVerify === true) access.insecureSkipTLSVerify = true;
  if (remoteURL.plainHTTP === true) access.plainHTTP = true;
  const ref = remoteURL.secretRef;
  if (isPlainObject(ref)) {
    let ns: string;
    let name: string;
    try {
      ns = instantiateReference(String(ref.namespace ?? ''), tctx);
      name = instantiateReference(String(ref.name ?? ''), tctx);
    } catch (err) {
      return { problem: `remoteURL.secretRef: ${(err as Error).message}` };
    }
    const secret = getSecret(ns, name);
    if (!secret || !isSecret(secret)) return { problem: `remoteURL.secretRef: Secret ${ns}/${name} is not in the input` };
    if (secret.type !== SECRET_TYPE_CLUSTER_PROFILE) {
      return { problem: `remoteURL.secretRef: Secret ${ns}/${name} has type ${JSON.stringify(secret.type ?? '')}, Sveltos reads only type ${SECRET_TYPE_CLUSTER_PROFILE}` };
    }
    const data = decodeSecretData(secret.data);
    if (data.token !== undefined) access.token = data.token;
    else if (data.username !== undefined && data.password !== undefined) {
      access.username = data.username;
      access.password = data.password;
    }
    if (data.caFile !== undefined) access.ca = data.caFile;
  }
  return { url, access, key: remoteRequestKey(url, access) };
}

/** displayURL is a URL as messages show it: without user information or query (either may hold a secret). */
export function displayURL(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    const query = u.search !== '';
    u.search = '';
    u.hash = '';
    return `${u.toString()}${query ? '?…' : ''}`;
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//…@').replace(/\?.*$/, '?…');
  }
}
