// `export --verify-images-policy FILE`: which public keys must have signed which images. The file (YAML):
//
//   rules:                                   # the first rule whose glob matches an image decides
//   - images: ["registry.example.com/team-a/**"]
//     keys: [team-a.pub]                     # PEM public keys (ECDSA, RSA, Ed25519), relative to the file
//   - images: ["docker.io/library/*"]
//     keys: [library.pub, mirror.pub]        # one of them must verify
//   noMatch: deny                            # an image no rule matches: deny (default), warn or allow
//
// Globs match the image as `registry/repository` and as the whole reference (`…:tag`, `…@sha256:…`):
// `*` and `?` stay within a path segment, `**` crosses them. `--verify-images` keys, when given too, are
// the keys of images no rule matches.
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ValidationError, VerificationError } from '../errors.js';
import { isPlainObject } from '../model/sveltos.js';
import { readPublicKey } from '../registry/cosign-verify.js';
import type { ImageRef } from '../resolve/images.js';
import { parseYamlStream } from '../source/helm-render.js';

export const NO_MATCH = ['deny', 'warn', 'allow'] as const;
export type NoMatch = (typeof NO_MATCH)[number];

/** PolicyDocument is a policy file as written: globs and key paths. */
export interface PolicyDocument {
  rules: { images: string[]; keys: string[] }[];
  noMatch: NoMatch;
}

/** parsePolicy reads a policy file's text; every problem is reported at once, each naming its field. */
export function parsePolicy(text: string, where: string): PolicyDocument {
  const problems: string[] = [];
  let doc: unknown;
  try {
    const docs = parseYamlStream(text, where);
    if (docs.length !== 1) problems.push(`expected one YAML document, found ${docs.length}`);
    doc = docs[0];
  } catch (err) {
    throw new ValidationError('USAGE', `--verify-images-policy ${where}: ${(err as Error).message}`);
  }
  const out: PolicyDocument = { rules: [], noMatch: 'deny' };
  if (!isPlainObject(doc)) problems.push('expected a mapping with rules (and noMatch)');
  else {
    for (const k of Object.keys(doc)) if (k !== 'rules' && k !== 'noMatch') problems.push(`${k}: unknown field (expected rules, noMatch)`);
    if (doc.noMatch !== undefined) {
      if (NO_MATCH.includes(doc.noMatch as NoMatch)) out.noMatch = doc.noMatch as NoMatch;
      else problems.push(`noMatch: ${JSON.stringify(doc.noMatch)}: expected ${NO_MATCH.join(', ')}`);
    }
    if (!Array.isArray(doc.rules) || doc.rules.length === 0) problems.push('rules: expected a list of {images, keys}');
    else {
      doc.rules.forEach((r, i) => {
        const strings = (v: unknown, field: string) => {
          if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x !== '')) return v as string[];
          problems.push(`rules[${i}].${field}: expected a non-empty list of strings`);
          return [];
        };
        if (!isPlainObject(r)) return problems.push(`rules[${i}]: expected a mapping with images and keys`);
        for (const k of Object.keys(r)) if (k !== 'images' && k !== 'keys') problems.push(`rules[${i}].${k}: unknown field (expected images, keys)`);
        out.rules.push({ images: strings(r.images, 'images'), keys: strings(r.keys, 'keys') });
      });
    }
  }
  if (problems.length) throw new ValidationError('USAGE', `--verify-images-policy ${where}: ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return out;
}

/** globPattern compiles an image glob (`*`, `?` within a segment, `**` across). */
export function globPattern(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** ImagePolicy tells which keys must have signed an image, or that none is asked for (allow). */
export class ImagePolicy {
  private constructor(
    private readonly rules: { images: RegExp[]; keys: KeyObject[]; label: string }[],
    private readonly noMatch: NoMatch,
    private readonly fallback: KeyObject[],
  ) {}

  /** load reads a policy file (optional) and the `--verify-images` keys; undefined when neither is given. */
  static async load(policyFile: string | undefined, keyFiles: string[]): Promise<ImagePolicy | undefined> {
    const fallback = await Promise.all(keyFiles.map((f) => readKey(f, '--verify-images')));
    if (!policyFile) return fallback.length ? new ImagePolicy([], 'deny', fallback) : undefined;
    const text = await readFile(policyFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ValidationError('USAGE', `--verify-images-policy ${policyFile}: cannot read: ${err.message}`);
    });
    const doc = parsePolicy(text, policyFile);
    const rules = await Promise.all(
      doc.rules.map(async (r, i) => ({
        images: r.images.map(globPattern),
        keys: await Promise.all(r.keys.map((k) => readKey(resolve(dirname(policyFile), k), `--verify-images-policy ${policyFile}: rules[${i}].keys`))),
        label: `the keys of --verify-images-policy rule ${i + 1} (${r.images.join(', ')})`,
      })),
    );
    return new ImagePolicy(rules, doc.noMatch, fallback);
  }

  /**
   * keysFor returns the keys one of which must have signed `image`, with what decided; `undefined` keys
   * when the image needs no signature (noMatch allow or warn). noMatch deny is an error naming the image.
   */
  keysFor(image: ImageRef): { keys?: KeyObject[]; rule: string } {
    const names = [`${image.registry}/${image.repository}`, image.reference];
    const rule = this.rules.find((r) => r.images.some((g) => names.some((n) => g.test(n))));
    if (rule) return { keys: rule.keys, rule: rule.label };
    if (this.fallback.length) return { keys: this.fallback, rule: 'the --verify-images keys' };
    if (this.noMatch === 'deny') throw new VerificationError('POLICY', `--verify-images-policy: no rule matches image ${image.reference} and noMatch is deny; add a rule for it, or set noMatch: warn or allow`, { details: { image: image.reference } });
    return { rule: `no rule (noMatch ${this.noMatch})` };
  }

  /** warns tells whether an image no rule matches is to be reported. */
  get warnsOnNoMatch(): boolean {
    return this.noMatch === 'warn' && this.fallback.length === 0;
  }
}

async function readKey(file: string, flag: string): Promise<KeyObject> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ValidationError('USAGE', `${flag} ${file}: cannot read: ${err.message}`);
  });
  const key = readPublicKey(text);
  if (!key) throw new ValidationError('USAGE', `${flag} ${file}: expected a PEM public key (ECDSA, RSA or Ed25519), as cosign generate-key-pair writes cosign.pub`);
  return key;
}
