// Fixtures for the agent API tests: bundles built with the real packer and signer, imported into a
// temp store, served by the real site handler on 127.0.0.1:0, and agent kubeconfigs for real clients.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { importBundle, type ImportResult } from '../../src/bundle/import.js';
import { generateKeyPair, loadPrivateKey, loadPublicKey } from '../../src/bundle/keys.js';
import type { ClusterArtifactInput } from '../../src/bundle/manifest.js';
import { packBundle, type PackOptions } from '../../src/bundle/pack.js';
import { KeySigner } from '../../src/bundle/sign.js';
import { TarLayoutStore } from '../../src/content/tarfs.js';
import { issueToken } from '../../src/agent-api/tokens.js';
import { clusterSummaryName, objectName } from '../../src/resolve/pullmode.js';
import { agentKubeconfig, toYaml } from '../../src/kube/kubeconfig.js';
import { startServer, type RunningServer } from '../../src/registry/server/http.js';
import { createSiteHandler, type SiteHandler, type SiteHandlerOptions } from '../../src/serve/site-handler.js';
import { ensureSelfSignedTLS } from '../../src/serve/tls.js';
import { tempDir } from '../helpers.js';

export const run = promisify(execFile);

/** A profile for a cluster: one ConfigurationGroup (feature Resources) with bundles of raw objects. */
export interface ProfileSpec {
  profile: string;
  feature?: 'Resources' | 'Helm' | 'Kustomize';
  /** Bundle name -> rendered objects (YAML strings). */
  bundles: Record<string, string[]>;
  /** More bundle spec fields (a Helm release's helmReleaseName, helmChartVersion, …), on every bundle. */
  bundleSpec?: Record<string, unknown>;
  /** Group name; default derived from the cluster, the profile and the feature as the resolver derives it (groupNameOf). */
  group?: string;
}

export interface ClusterSpec {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  profiles: ProfileSpec[];
}

const hashOf = (s: string) => createHash('sha256').update(s).digest('base64');

/**
 * groupNameOf is the name of the group a ClusterProfile `profile` stages for `cluster` (NS/NAME): derived from
 * the cluster, the requestor and the feature as the resolver derives it, so it is unique per cluster.
 */
export function groupNameOf(cluster: string, profile: string, feature: ProfileSpec['feature'] = 'Resources'): string {
  const [namespace, name] = cluster.split('/') as [string, string];
  return objectName(namespace, name, clusterSummaryName('ClusterProfile', profile, name), feature, '');
}

/** groupYaml renders a group and its bundles as sveltos-pullmode.md §2.6 shows them. */
export function groupYaml(c: ClusterSpec, p: ProfileSpec): { name: string; feature: string; requestor: string; yaml: string } {
  const feature = p.feature ?? 'Resources';
  const requestor = clusterSummaryName('ClusterProfile', p.profile, c.name);
  const name = p.group ?? groupNameOf(`${c.namespace}/${c.name}`, p.profile, feature);
  const labels = {
    'pullmode.projectsveltos.io/clustername': c.name,
    'pullmode.projectsveltos.io/requestorkind': 'ClusterSummary',
    'pullmode.projectsveltos.io/requestorfeature': feature,
  };
  const bundles = Object.entries(p.bundles).map(([bname, resources]) => ({
    apiVersion: 'lib.projectsveltos.io/v1beta1',
    kind: 'ConfigurationBundle',
    metadata: { name: bname, namespace: c.namespace, labels, annotations: { 'pullmode.projectsveltos.io/requestorname': requestor, 'pullmode.projectsveltos.io/index': bname } },
    spec: { ...p.bundleSpec, resources },
    status: { hash: hashOf(resources.join('')) },
  }));
  const group = {
    apiVersion: 'lib.projectsveltos.io/v1beta1',
    kind: 'ConfigurationGroup',
    metadata: { name, namespace: c.namespace, labels, annotations: { 'pullmode.projectsveltos.io/requestorname': requestor } },
    spec: {
      action: 'Deploy',
      updatePhase: 'Ready',
      sourceRef: { apiVersion: 'config.projectsveltos.io/v1beta1', kind: 'ClusterProfile', name: p.profile },
      sourceStatus: 'Active',
      tier: 100,
      requestorHash: hashOf(JSON.stringify(p.bundles)),
      configurationItem: bundles.map((b) => ({
        contentRef: { apiVersion: 'lib.projectsveltos.io/v1beta1', kind: 'ConfigurationBundle', namespace: c.namespace, name: b.metadata.name },
        hash: b.status.hash,
      })),
    },
  };
  const yaml = [group, ...bundles].map((o) => `---\n${stringify(o)}`).join('');
  return { name, feature, requestor, yaml };
}

export function clusterInput(c: ClusterSpec): ClusterArtifactInput {
  return {
    namespace: c.namespace,
    name: c.name,
    config: { namespace: c.namespace, name: c.name, labels: c.labels ?? {}, profiles: c.profiles.map((p) => p.profile) },
    groups: c.profiles.map((p) => groupYaml(c, p)),
  };
}

/** Site is a signing key pair and a store, with helpers to export, import and serve. */
export interface Site {
  dir: string;
  store: string;
  signer: KeySigner;
  publicKey: ReturnType<typeof loadPublicKey>;
  publicKeyPath: string;
  /** pack writes a signed bundle for `clusters` at `sequence`. */
  pack(sequence: number, clusters: ClusterSpec[], extra?: Partial<PackOptions>): Promise<string>;
  /** importTar imports a bundle into the store. */
  importTar(tar: string): Promise<ImportResult>;
}

export const NOW = new Date('2026-09-01T12:00:00Z');

export async function makeSite(): Promise<Site> {
  const dir = await tempDir();
  const pair = generateKeyPair();
  const publicKeyPath = join(dir, 'signing.pub');
  await writeFile(publicKeyPath, pair.publicKeyPem);
  const signer = new KeySigner(loadPrivateKey(pair.privateKeyPem));
  const publicKey = loadPublicKey(pair.publicKeyPem);
  const store = join(dir, 'store');
  return {
    dir,
    store,
    signer,
    publicKey,
    publicKeyPath,
    async pack(sequence, clusters, extra = {}) {
      const out = join(dir, `bundle-${sequence}.tar`);
      await packBundle({
        clusters: clusters.map(clusterInput),
        signer,
        sequence,
        createdAt: new Date(NOW.getTime() - 3600_000),
        expiresAt: new Date(NOW.getTime() + 30 * 86400_000),
        source: 'test',
        out,
        ...extra,
      });
      return out;
    },
    async importTar(tar) {
      return importBundle(await TarLayoutStore.open(tar), { storeDir: store, trusted: [publicKey], now: NOW });
    },
  };
}

/** ServedSite is a running `serve` of a store. */
export interface ServedSite {
  url: string;
  /** CA of the self-signed serving certificate (https). */
  caPem?: string;
  handler: SiteHandler;
  server: RunningServer;
  stop(): Promise<void>;
}

/**
 * serveSite starts the site handler on 127.0.0.1:0 with a self-signed certificate (kubectl sends
 * tokens only over TLS); `plain: true` serves HTTP. It is stopped when the test finishes.
 */
export async function serveSite(store: string, opts: SiteHandlerOptions & { plain?: boolean } = {}): Promise<ServedSite> {
  const tls = opts.plain ? undefined : await ensureSelfSignedTLS(store, ['127.0.0.1']);
  const handler = await createSiteHandler(store, { reloadIntervalMs: 200, ...opts });
  const server = await startServer(handler, { host: '127.0.0.1', port: 0, ...(tls ? { tls: { cert: tls.certPem, key: tls.keyPem } } : {}) });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await server.close();
    await handler.close();
  };
  onTestFinished(stop);
  return { url: server.url, handler, server, stop, ...(tls ? { caPem: tls.caPem } : {}) };
}

/** kubeconfigFor issues a token for `cluster` and writes an agent kubeconfig; returns its path and the token. */
export async function kubeconfigFor(site: Site, cluster: string, served: Pick<ServedSite, 'url' | 'caPem'>): Promise<{ path: string; token: string }> {
  const { url, caPem } = served;
  const { token } = await issueToken(site.store, cluster, NOW);
  const path = join(site.dir, `${cluster.replace('/', '-')}-${Math.random().toString(36).slice(2, 8)}.kubeconfig`);
  await writeFile(path, toYaml(agentKubeconfig({ server: url, token, namespace: cluster.split('/')[0]!, ...(caPem ? { caPem } : {}) })), { mode: 0o600 });
  return { path, token };
}

/** kubectl runs the real kubectl with a kubeconfig (no cache dir shared between tests). */
export async function kubectl(kubeconfig: string, args: string[], opts: { allowFail?: boolean } = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  const cacheDir = join(kubeconfig, '..', '.kube-cache');
  try {
    const { stdout, stderr } = await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, '--request-timeout', '20s', ...args], { maxBuffer: 16 << 20 });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    if (!opts.allowFail) throw new Error(`kubectl ${args.join(' ')} failed (${e.code}): ${e.stderr}`);
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
  }
}

/** A small cluster: two profiles, each one group with one bundle. */
export function demoCluster(namespace: string, name: string, profiles = ['nginx', 'kyverno'], labels: Record<string, string> = { env: 'prod' }): ClusterSpec {
  return {
    namespace,
    name,
    labels,
    profiles: profiles.map((p) => ({
      profile: p,
      bundles: {
        [`config-${p}-b1`]: [`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${p}\n  namespace: default\ndata:\n  cluster: ${name}\n`],
      },
    })),
  };
}
