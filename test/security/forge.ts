// Forging bundles in memory for the hostile corpus: any blobs, manifests and index.json, signed (or not) by
// any key, so each attack reaches the check it targets (a hostile graph needs a valid signature to get past
// step 2; in real life that is a stolen key or a compromised exporter).
import { createHash, type KeyObject } from 'node:crypto';
import { bundleToJSON, toDSSEBundle } from '@sigstore/bundle';
import { sha256 } from '../../src/content/digest.js';
import type { Pusher } from '../../src/content/storage.js';
import { loadPrivateKey } from '../../src/bundle/keys.js';
import { buildClusterArtifact, buildRootIndex, buildSignatureReferrer, subjectName, type ClusterArtifactInput } from '../../src/bundle/manifest.js';
import { canonicalJSON, KeySigner, preAuthEncoding, signStatement } from '../../src/bundle/sign.js';
import { IN_TOTO_STATEMENT_TYPE, PREDICATE_TYPE_BUNDLE, MEDIA_TYPE_OBJECTS } from '../../src/model/bundle.js';
import { MEDIA_TYPE_IMAGE_MANIFEST, type Descriptor, type Index } from '../../src/model/oci.js';
import { rawTar, type RawEntry } from '../tar.js';
import { T0, DAY } from '../bundles.js';
import { keyPair } from '../helpers.js';

export const LAYOUT = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

/** newSigner makes a P-256 signing key in memory, with its public key as PEM. */
export function newSigner(): { signer: KeySigner; publicKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = keyPair('ec', { namedCurve: 'P-256' });
  return { signer: new KeySigner(loadPrivateKey(String(privateKey.export({ type: 'pkcs8', format: 'pem' })))), publicKey, publicPem: String(publicKey.export({ type: 'spki', format: 'pem' })) };
}

export interface SignOptions {
  sequence?: number;
  createdAt?: Date;
  expiresAt?: Date;
  clusters?: string[];
  /** Changes the statement before it is signed. */
  statement?: (s: Record<string, unknown>) => void;
  /** Signs with another DSSE payload type. */
  payloadType?: string;
  /** Changes index.json after signing. */
  index?: (idx: Index) => void;
}

/**
 * Forge collects blobs and signs a bundle over them: `put` stores bytes as they are (no checks), `cluster`
 * builds a standard cluster artifact, `sign` adds the root, the statement, the signature referrer and
 * index.json, and returns the tar entries.
 */
export class Forge {
  readonly raw = new Map<string, Buffer>();
  // The bundle builders push through this: bytes are kept under their digest, unchecked.
  readonly store: Pusher = {
    push: async (d, content) => {
      this.raw.set(d.digest, Buffer.concat(await content.toArray()));
    },
  };
  constructor(readonly signer: KeySigner) {}

  /** put stores `data` under its digest; the descriptor says what it is (sizes may be forged by callers). */
  put(data: Buffer | string, mediaType = 'application/octet-stream'): Descriptor {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const digest = sha256(buf);
    this.raw.set(digest, buf);
    return { mediaType, digest, size: buf.length };
  }

  /** json stores a document as JSON. */
  json(doc: unknown, mediaType = MEDIA_TYPE_IMAGE_MANIFEST): Descriptor {
    return this.put(JSON.stringify(doc), mediaType);
  }

  /** cluster builds the standard artifact of one cluster with objects layers holding `groups`. */
  async cluster(ns: string, name: string, groups: string[]): Promise<Descriptor> {
    const input: ClusterArtifactInput = {
      namespace: ns,
      name,
      config: { namespace: ns, name, labels: {}, profiles: [] },
      groups: groups.map((yaml, i) => ({ name: `g${i}`, feature: 'Resources', requestor: 'p', yaml })),
    };
    return buildClusterArtifact(this.store, input);
  }

  /** manifest stores an image manifest over `layers` (descriptors used as given) with an empty JSON config. */
  manifest(layers: Descriptor[], extra: Record<string, unknown> = {}): Descriptor {
    const config = this.put('{}', 'application/vnd.oci.empty.v1+json');
    return this.json({ schemaVersion: 2, mediaType: MEDIA_TYPE_IMAGE_MANIFEST, config, layers, ...extra });
  }

  /** sign makes the root over `manifests`, signs the statement and returns every tar entry. */
  async sign(manifests: Descriptor[], opts: SignOptions = {}): Promise<Map<string, Buffer>> {
    const sequence = opts.sequence ?? 2;
    const createdAt = (opts.createdAt ?? T0).toISOString();
    const root = await buildRootIndex(this.store, manifests, sequence, createdAt);
    const statement: Record<string, unknown> = {
      _type: IN_TOTO_STATEMENT_TYPE,
      subject: [...manifests, root].map((d) => ({ name: subjectName(d), digest: { sha256: d.digest.slice(7) } })),
      predicateType: PREDICATE_TYPE_BUNDLE,
      predicate: {
        sequence,
        createdAt,
        expiresAt: (opts.expiresAt ?? new Date(T0.getTime() + 30 * DAY)).toISOString(),
        source: 'forge',
        clusters: opts.clusters ?? manifests.flatMap((m) => m.annotations?.['io.projectsveltos.airgap.cluster'] ?? []),
      },
    };
    opts.statement?.(statement);
    const sigBundle = opts.payloadType ? await signAs(statement, this.signer, opts.payloadType) : await signStatement(statement, this.signer);
    const sig = await buildSignatureReferrer(this.store, sigBundle, root);
    const index: Index = { schemaVersion: 2, manifests: [...manifests, root, sig] };
    opts.index?.(index);
    const entries = new Map<string, Buffer>();
    for (const [digest, data] of this.raw) entries.set(`blobs/sha256/${digest.slice(7)}`, data);
    entries.set('index.json', Buffer.from(JSON.stringify(index)));
    entries.set('oci-layout', LAYOUT);
    return entries;
  }

}

// signAs signs a statement like signStatement, but with any DSSE payload type.
async function signAs(statement: object, signer: KeySigner, payloadType: string): Promise<Buffer> {
  const payload = Buffer.from(canonicalJSON(statement));
  const sig = await signer.sign(preAuthEncoding(payloadType, payload));
  const bundle = toDSSEBundle({ artifact: payload, artifactType: payloadType, signature: sig.signature, keyHint: signer.hint });
  return Buffer.from(canonicalJSON(bundleToJSON(bundle)));
}

/** tarOf writes entries as a tar, in the given order, plus any raw entries appended before the end marker. */
export function tarOf(entries: Map<string, Buffer>, extra: RawEntry[] = [], end = true): Buffer {
  return rawTar([...[...entries].map(([name, data]) => ({ name, data })), ...extra], end);
}

/** objectsLayer is a convenience for a YAML objects layer descriptor. */
export function objects(f: Forge, yaml: string | Buffer): Descriptor {
  return f.put(yaml, MEDIA_TYPE_OBJECTS);
}

/** hex64 makes a distinct 64-hex name from `seed`. */
export function hex64(seed: string | number): string {
  return createHash('sha256').update(String(seed)).digest('hex');
}

/** billionLaughs is a ConfigMap whose nine levels of aliases expand to 9^9 strings. */
export function billionLaughs(): string {
  let y = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n`;
  for (let i = 1; i < 9; i++) {
    const k = String.fromCharCode(97 + i);
    const prev = String.fromCharCode(96 + i);
    y += `  ${k}: &${k} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
  }
  return y;
}
