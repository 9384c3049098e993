// The drift-detection-manager manifests of a Sveltos version, as addon-controller embeds them: its
// pkg/drift-detection/drift-detection-manager.yaml at the release tag, and the DebuggingConfiguration and
// ResourceSummary CRDs of the libsveltos version its go.mod names (libsveltos lib/crd embeds
// manifests/apiextensions.k8s.io_v1_customresourcedefinition_*.yaml). Fetched once and kept in the cache
// (a tag's files do not change); `offline` reads the cache only. Or read from files the user gives.
import { readFile } from 'node:fs/promises';
import { ValidationError } from '../errors.js';
import { DriftDetectionManifestError, readDriftDetectionManifests, type DriftDetectionManifests } from '../resolve/drift-detection.js';
import { fetchRemote, RemoteURLError } from './remote-url.js';

/** Where the Sveltos repositories' files are read from; SVELTOS_AIRGAP_SVELTOS_SOURCE_BASE replaces it (tests). */
export const SVELTOS_SOURCE_BASE = 'https://raw.githubusercontent.com/projectsveltos';

const CRD_PATHS = [
  'manifests/apiextensions.k8s.io_v1_customresourcedefinition_debuggingconfigurations.lib.projectsveltos.io.yaml',
  'manifests/apiextensions.k8s.io_v1_customresourcedefinition_resourcesummaries.lib.projectsveltos.io.yaml',
];

const VERSION_RE = /^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** DriftDetectionFlags say where the drift-detection-manager manifests come from. */
export interface DriftDetectionFlags {
  /** `--sveltos-version vX.Y.Z`: fetched from the release's sources (cached). */
  sveltosVersion?: string;
  /** `--drift-detection-manifest FILE`: the manager's manifest and the two CRDs, in one or more files. */
  manifests?: string[];
  /** `--drift-detection-registry HOST`: addon-controller's --registry. */
  registry?: string;
  /** `--drift-detection-config NAME`: addon-controller's --drift-detection-config ConfigMap (in projectsveltos, among --from). */
  configMap?: string;
}

/** driftDetectionURLs are the files of `version`: addon-controller's go.mod and manager manifest, then (given libsveltos's version) the CRDs. */
export function driftDetectionURLs(version: string, env: NodeJS.ProcessEnv): { goMod: string; manager: string; crds: (libsveltos: string) => string[] } {
  const base = (env.SVELTOS_AIRGAP_SVELTOS_SOURCE_BASE || SVELTOS_SOURCE_BASE).replace(/\/+$/, '');
  return {
    goMod: `${base}/addon-controller/${version}/go.mod`,
    manager: `${base}/addon-controller/${version}/pkg/drift-detection/drift-detection-manager.yaml`,
    crds: (lib) => CRD_PATHS.map((p) => `${base}/libsveltos/${lib}/${p}`),
  };
}

/** libsveltosVersion reads the libsveltos version a go.mod requires. */
export function libsveltosVersion(goMod: string): string | undefined {
  return /^\s*(?:require\s+)?github\.com\/projectsveltos\/libsveltos\s+(v\S+)/m.exec(goMod)?.[1];
}

/**
 * loadDriftDetectionManifests reads the manifests the flags name; undefined when they name none. Throws
 * ValidationError (USAGE for a malformed version, INVALID for what cannot be fetched or read).
 */
export async function loadDriftDetectionManifests(flags: DriftDetectionFlags, opts: { cacheDir: string; offline?: boolean; env: NodeJS.ProcessEnv; onEvent?: (m: string) => void }): Promise<DriftDetectionManifests | undefined> {
  const files = flags.manifests ?? [];
  if (files.length > 0) {
    const read = await Promise.all(
      files.map(async (f) => {
        try {
          return { name: f, text: await readFile(f, 'utf8') };
        } catch (err) {
          throw new ValidationError('INVALID', `--drift-detection-manifest ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
        }
      }),
    );
    return parsed('--drift-detection-manifest', () => readDriftDetectionManifests(read));
  }
  const version = flags.sveltosVersion;
  if (version === undefined) return undefined;
  if (!VERSION_RE.test(version)) throw new ValidationError('USAGE', `--sveltos-version ${JSON.stringify(version)}: expected a release tag such as v1.14.0`);
  const urls = driftDetectionURLs(version, opts.env);
  const get = async (url: string): Promise<string> => {
    try {
      // A tag's files do not change: the cache answers first, the network only on a miss.
      const cached = await fetchRemote(url, {}, { cacheDir: opts.cacheDir, offline: true }).catch((err: unknown) => {
        if (opts.offline || !(err instanceof RemoteURLError)) throw err;
        return undefined;
      });
      const body = cached ?? (await fetchRemote(url, {}, { cacheDir: opts.cacheDir }));
      opts.onEvent?.(`drift-detection ${version}: ${url}: ${body.digest}${cached ? ' (from cache)' : ''}`);
      return Buffer.concat(body.parts).toString('utf8');
    } catch (err) {
      if (err instanceof RemoteURLError) throw new ValidationError('INVALID', `--sveltos-version ${version}: ${err.message.replace(/^remoteURL /, '')}`, { cause: err });
      throw err;
    }
  };
  const [goMod, manager] = await Promise.all([get(urls.goMod), get(urls.manager)]);
  const lib = libsveltosVersion(goMod);
  if (!lib) throw new ValidationError('INVALID', `--sveltos-version ${version}: ${urls.goMod} names no github.com/projectsveltos/libsveltos version`);
  const crdURLs = urls.crds(lib);
  const crds = await Promise.all(crdURLs.map(get));
  return parsed(`--sveltos-version ${version}`, () =>
    readDriftDetectionManifests([{ name: urls.manager, text: manager }, ...crdURLs.map((u, i) => ({ name: u, text: crds[i]! }))]),
  );
}

function parsed(flag: string, read: () => DriftDetectionManifests): DriftDetectionManifests {
  try {
    return read();
  } catch (err) {
    if (err instanceof DriftDetectionManifestError) throw new ValidationError('INVALID', `${flag}: ${err.message}`, { cause: err });
    throw err;
  }
}
