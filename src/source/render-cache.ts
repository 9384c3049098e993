// Renders kept between exports: the text `helm template` (or `kustomize build`) printed, stored under the
// digest of everything that text depends on (the binary, its flags, the chart, release name and namespace,
// the values, the Kubernetes version; for kustomize the tree built). A repeated export renders nothing
// again; as in Sveltos, a release is rendered anew only when one of its inputs changes (so charts that draw
// random values keep them).
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../content/oci-layout/ingest.js';

/** RenderInputs are what a `helm template` run depends on. */
export interface RenderInputs {
  /** The helm binary (its identity is part of the key: another helm, or this one changed, renders anew). */
  helm: string;
  /** The flags given to every render. */
  flags: readonly string[];
  /** The chart's manifest digest. */
  chart: string;
  releaseName: string;
  releaseNamespace: string;
  kubeVersion: string;
  values: string;
}

const FORMAT = 'sveltos-airgap render cache v1';
const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

// binaryIdentity names one binary file (helm, kustomize): where it is and the stat facts any change to it
// alters (a rewrite changes ctime, which no user tool can set back). Reading 60 MB to hash it would cost more
// than a render; a binary moved to another path or machine only renders anew.
async function binaryIdentity(path: string): Promise<string> {
  const real = await realpath(path);
  const st = await stat(real);
  return [real, st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs].join('\0');
}

/**
 * RenderCache is `<cache>/renders`: one file per render, `<key>.json` holding the key, the output and the
 * output's sha256. A file that is damaged or names another key is removed and counts as a miss. Deleting
 * the folder is always safe.
 */
export class RenderCache {
  private constructor(readonly dir: string) {}

  static async open(cacheDir: string): Promise<RenderCache> {
    const dir = join(cacheDir, 'renders');
    await mkdir(dir, { recursive: true });
    return new RenderCache(dir);
  }

  /** key digests the inputs of a helm render. */
  async key(inputs: RenderInputs): Promise<string> {
    const { helm, flags, chart, releaseName, releaseNamespace, kubeVersion, values } = inputs;
    return this.keyOf(helm, [flags, chart, releaseName, releaseNamespace, kubeVersion, values]);
  }

  /** keyOf digests the inputs of any render: the binary that renders and every other input (JSON values). */
  async keyOf(binary: string, inputs: unknown[]): Promise<string> {
    return sha256hex(JSON.stringify([FORMAT, await binaryIdentity(binary), ...inputs]));
  }

  /** get returns the output stored under `key`, or undefined. */
  async get(key: string): Promise<string | undefined> {
    const file = this.#file(key);
    let doc: { key?: unknown; sha256?: unknown; output?: unknown };
    try {
      doc = JSON.parse(await readFile(file, 'utf8')) as typeof doc;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      await rm(file, { force: true });
      return undefined;
    }
    if (doc.key !== key || typeof doc.output !== 'string' || doc.sha256 !== sha256hex(doc.output)) {
      await rm(file, { force: true });
      return undefined;
    }
    return doc.output;
  }

  /**
   * put stores `output` under `key` (atomically: readers see the whole file or none). Not synced to disk: an
   * entry cut short by a crash fails its checks in `get` and is rendered again.
   */
  async put(key: string, output: string): Promise<void> {
    await writeFileAtomic(this.#file(key), `${JSON.stringify({ key, sha256: sha256hex(output), output })}\n`, { durable: false });
  }

  #file(key: string): string {
    if (!/^[a-f0-9]{64}$/.test(key)) throw new Error(`render cache: ${JSON.stringify(key)} is not a key`);
    return join(this.dir, `${key}.json`);
  }
}
