// What a bundle (or a site store) makes each managed cluster's agent deploy, as a reviewer compares it: the
// objects inside the ConfigurationBundles by apiVersion/kind/namespace/name (group and bundle names are
// derived, so they are not the identity), the Helm releases, the encrypted layers no key opened, and the
// carried charts and images. Pure: the readers in src/bundle/diff-read.ts parse the layers and hand them here.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { redactSecret } from '../resolve/redact.js';

export interface ObjectEntry {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** The object as YAML (keys sorted), every Secret value replaced by REDACTED: what may be shown. */
  shown: string;
  /** A Secret's data and stringData keys to the SHA-256 of their values: compared, never shown. */
  secret?: Map<string, string>;
}

export interface HelmEntry {
  namespace: string;
  name: string;
  chart: string;
  version: string;
  /** SHA-256 of what the release deploys (its bundles' objects, in order): values show through it. */
  rendered: string;
  uninstall: boolean;
}

/** EncryptedEntry is an objects layer no key opened: only its digest can be compared. */
export interface EncryptedEntry {
  requestor: string;
  digest: string;
}

export interface ClusterView {
  objects: Map<string, ObjectEntry>;
  helm: Map<string, HelmEntry>;
  encrypted: Map<string, EncryptedEntry>;
}

export interface ArtifactEntry {
  ref: string;
  digest: string;
  bytes: number;
}

export interface BundleView {
  clusters: Map<string, ClusterView>;
  charts: Map<string, ArtifactEntry>;
  images: Map<string, ArtifactEntry>;
}

/** ParsedLayer is one opened objects layer: its documents (a ConfigurationGroup and its ConfigurationBundles) and their parsed resources. */
export interface ParsedLayer {
  bundles: { spec: Record<string, unknown>; objects: Record<string, unknown>[] }[];
}

export const objectKey = (o: Pick<ObjectEntry, 'apiVersion' | 'kind' | 'namespace' | 'name'>) => `${o.apiVersion} ${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/** clusterView builds one cluster's view from its opened layers and the layers no key opened. */
export function clusterView(layers: ParsedLayer[], encrypted: EncryptedEntry[]): ClusterView {
  const view: ClusterView = { objects: new Map(), helm: new Map(), encrypted: new Map(encrypted.map((e) => [e.requestor, e])) };
  const releases = new Map<string, { entry: Omit<HelmEntry, 'rendered'>; hash: ReturnType<typeof createHash> }>();
  for (const layer of layers) {
    for (const b of layer.bundles) {
      const entries = b.objects.map(objectEntry);
      for (const e of entries) if (!view.objects.has(objectKey(e))) view.objects.set(objectKey(e), e);
      const spec = b.spec;
      if (typeof spec.helmReleaseName !== 'string') continue;
      const id = `${String(spec.helmReleaseNamespace ?? '')}/${spec.helmReleaseName}`;
      let r = releases.get(id);
      if (!r) {
        r = {
          entry: { namespace: String(spec.helmReleaseNamespace ?? ''), name: spec.helmReleaseName, chart: String(spec.helmRepoURL ?? ''), version: String(spec.helmChartVersion ?? ''), uninstall: spec.helmReleaseUninstall === true },
          hash: createHash('sha256'),
        };
        releases.set(id, r);
      }
      for (const e of entries) r.hash.update(`${e.shown}\0${[...(e.secret ?? [])].join('\0')}\0`);
    }
  }
  for (const [id, r] of releases) view.helm.set(id, { ...r.entry, rendered: `sha256:${r.hash.digest('hex')}` });
  return view;
}

function objectEntry(o: Record<string, unknown>): ObjectEntry {
  const meta = (o.metadata ?? {}) as Record<string, unknown>;
  const { shown, values } = redactSecret(o);
  return {
    apiVersion: String(o.apiVersion ?? ''),
    kind: String(o.kind ?? ''),
    namespace: String(meta.namespace ?? ''),
    name: String(meta.name ?? ''),
    shown: stringify(shown, { sortMapEntries: true, lineWidth: 0 }),
    ...(values ? { secret: values } : {}),
  };
}

/** emptyView is what nothing deploys (an empty store). */
export function emptyView(): BundleView {
  return { clusters: new Map(), charts: new Map(), images: new Map() };
}
