// Co-signing: another signature over the statement a bundle already carries, stored as one more Sigstore
// bundle referrer of the root, so a site can require several officers (`verify`/`import --threshold N`).
// The tar is rewritten beside itself (its blobs copied as they are, the new blobs and index.json added),
// flushed, and renamed over the original: a failure at any point leaves the original as it was.
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { manifestFromJSON, indexFromJSON } from '../content/descriptor.js';
import { fsyncDir } from '../content/oci-layout/ingest.js';
import type { Pusher } from '../content/storage.js';
import { scanTarFile, type TarEntry } from '../content/tar-scan.js';
import { abandonOutput, TarWriter } from '../content/tar-writer.js';
import { ValidationError, VerificationError } from '../errors.js';
import { MEDIA_TYPE_SIGSTORE_BUNDLE } from '../model/bundle.js';
import type { Descriptor, Index } from '../model/oci.js';
import { buildSignatureReferrer } from './manifest.js';
import { canonicalJSON, signStatement, type Signer } from './sign.js';
import { readSignedEnvelope } from './signature.js';
import { ANNOTATION_SIGNATURE_CREATED, ANNOTATION_SIGNATURE_NOTE } from './verify.js';

const MAX_DOC = 4 * 1024 * 1024;

export interface CoSignOptions {
  /** A note recorded with the signature (a label: not covered by the signature). */
  note?: string;
  /** The signing time recorded (a label too). */
  now: Date;
}

export interface CoSigned {
  file: string;
  signature: Descriptor;
  keyHint: string;
  /** Signatures the file carries now. */
  signatures: number;
}

/** coSign adds `signer`'s signature to each file (a bundle, or parts of a split bundle), in place and atomically. */
export async function coSign(files: string[], signer: Signer, opts: CoSignOptions): Promise<CoSigned[]> {
  const out: CoSigned[] = [];
  for (const file of files) out.push(await coSignFile(file, signer, opts));
  return out;
}

async function coSignFile(file: string, signer: Signer, opts: CoSignOptions): Promise<CoSigned> {
  const scan = await scanTarFile(file, { source: file }).catch((err: NodeJS.ErrnoException) => {
    throw typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code) ? new ValidationError('USAGE', `${file}: cannot open the bundle (${err.code})`, { cause: err }) : err;
  });
  const fh = await open(file, 'r');
  try {
    const read = async (e: TarEntry | undefined, what: string): Promise<Buffer> => {
      if (!e) throw new ValidationError('INVALID', `${file}: ${what} is missing: not a bundle`);
      if (e.size > MAX_DOC) throw new ValidationError('INVALID', `${file}: ${what} is ${e.size} bytes, more than ${MAX_DOC}`);
      const buf = Buffer.alloc(e.size);
      await fh.read(buf, 0, e.size, e.offset);
      return buf;
    };
    const blob = (d: Descriptor) => read(scan.blobs.get(d.digest), `blob ${d.digest}`);
    const index = indexFromJSON(await read(scan.files.get('index.json'), 'index.json'), `${file}: index.json`);
    const sigs = index.manifests.filter((d) => d.artifactType === MEDIA_TYPE_SIGSTORE_BUNDLE);
    if (sigs.length === 0) throw new VerificationError('SIGNATURE_INVALID', `${file}: index.json lists no signature: not a signed bundle`);
    // Every signature there must be over one statement; the new one signs those very bytes.
    let payload: Buffer | undefined;
    let root: Descriptor | undefined;
    const hints: string[] = [];
    for (const d of sigs) {
      const m = manifestFromJSON(await blob(d), `${file}: signature manifest ${d.digest}`);
      const layer = m.layers[0];
      if (!layer || layer.mediaType !== MEDIA_TYPE_SIGSTORE_BUNDLE || !m.subject) throw new VerificationError('TAMPERED', `${file}: signature manifest ${d.digest}: expected one ${MEDIA_TYPE_SIGSTORE_BUNDLE} layer and a subject`);
      const env = readSignedEnvelope(await blob(layer), { source: `${file}: signature ${layer.digest}` });
      if (payload && !env.payload.equals(payload)) throw new VerificationError('TAMPERED', `${file}: signature manifest ${d.digest} signs another statement than ${sigs[0]!.digest}: the bundle's signatures disagree`);
      payload ??= env.payload;
      root ??= m.subject;
      hints.push(env.keyHint);
    }
    const bundleJSON = await signStatement(JSON.parse(payload!.toString('utf8')) as object, signer);
    const signed = readSignedEnvelope(bundleJSON, { source: 'the new signature' });
    if (!signed.payload.equals(payload!)) throw new ValidationError('INVALID', `${file}: the signed statement is not in canonical form, so it cannot be signed again byte for byte`);
    if (hints.includes(signed.keyHint)) throw new ValidationError('USAGE', `${file}: already signed by key ${signed.keyHint}; a key counts once, sign with another officer's key`);

    const added = new Map<string, Buffer>();
    const collect: Pusher = {
      push: async (d, content: Readable) => {
        const chunks: Buffer[] = [];
        for await (const c of content) chunks.push(c as Buffer);
        added.set(d.digest, Buffer.concat(chunks));
      },
    };
    const labels = { [ANNOTATION_SIGNATURE_CREATED]: opts.now.toISOString(), ...(opts.note ? { [ANNOTATION_SIGNATURE_NOTE]: opts.note } : {}) };
    const signature = await buildSignatureReferrer(collect, bundleJSON, root!, labels);
    const next: Index = { ...index, manifests: [...index.manifests, signature] };
    await rewrite(file, fh, scan, added, Buffer.from(canonicalJSON(next)), await read(scan.files.get('oci-layout'), 'oci-layout'));
    return { file, signature, keyHint: signed.keyHint, signatures: sigs.length + 1 };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

// rewrite writes the tar again beside `file` (every blob as it was, the new blobs, the new index.json), flushes
// it and renames it over `file`; on any failure the temporary file goes and `file` is untouched.
async function rewrite(file: string, fh: Awaited<ReturnType<typeof open>>, scan: Awaited<ReturnType<typeof scanTarFile>>, added: Map<string, Buffer>, indexJSON: Buffer, layout: Buffer): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.cosign.tmp`);
  // Opening errors (the temp file exists, no permission) arrive as the stream's 'error', awaited below.
  const stream = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  try {
    const written = new Promise<void>((resolve, reject) => stream.on('close', resolve).on('error', reject));
    // Awaited below once the archive is complete; a failure before that is the one thrown.
    written.catch(() => undefined);
    const tar = new TarWriter(stream);
    await tar.addDirectory('blobs/');
    await tar.addDirectory('blobs/sha256/');
    for (const [digest, e] of [...scan.blobs].sort(([, a], [, b]) => a.offset - b.offset)) {
      await tar.addFile(`blobs/sha256/${digest.slice('sha256:'.length)}`, e.size, e.size === 0 ? Buffer.alloc(0) : createReadStream(file, { start: e.offset, end: e.offset + e.size - 1 }));
    }
    for (const [digest, data] of added) if (!scan.blobs.has(digest as Descriptor['digest'])) await tar.addFile(`blobs/sha256/${digest.slice('sha256:'.length)}`, data.length, data);
    await tar.addFile('index.json', indexJSON.length, indexJSON);
    await tar.addFile('oci-layout', layout.length, layout);
    await tar.finish();
    await written;
    const flushed = await open(tmp, 'r+');
    try {
      await flushed.sync();
    } finally {
      await flushed.close();
    }
    await fh.close();
    await rename(tmp, file);
    await fsyncDir(dirname(file));
  } catch (err) {
    await abandonOutput(stream);
    await rm(tmp, { force: true });
    throw err;
  }
}
