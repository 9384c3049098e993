// What source-controller leaves out of an artifact (fluxcd/pkg sourceignore): its default exclusions, the
// patterns of every `.sourceignore` file (scoped to its directory) and `spec.ignore`, in gitignore syntax:
// `#` comments, `!` negation, a trailing `/` for directories only, a `/` elsewhere anchoring the pattern to
// its directory, `*`, `?`, `[...]` and `**`. The last pattern that matches a path decides; an excluded
// directory excludes everything under it.

/** DEFAULT_EXCLUSIONS are sourceignore's ExcludeVCS, ExcludeExt, ExcludeCI and ExcludeExtra. */
export const DEFAULT_EXCLUSIONS = [
  '.git/', '.gitignore', '.gitmodules', '.gitattributes',
  '*.jpg', '*.jpeg', '*.gif', '*.png', '*.wmv', '*.flv', '*.tar.gz', '*.zip',
  '.github/', '.circleci/', '.travis.yml', '.gitlab-ci.yml', 'appveyor.yml', '.drone.yml', 'cloudbuild.yaml', 'codeship-services.yml', 'codeship-steps.yml',
  '**/.goreleaser.yml', '**/.sops.yaml', '**/.flux.yaml',
];

export const SOURCEIGNORE_FILE = '.sourceignore';

interface Pattern {
  /** Directory the pattern applies in ('' for the root), without a trailing slash. */
  domain: string;
  negate: boolean;
  dirOnly: boolean;
  re: RegExp;
}

/** parsePatterns reads gitignore-syntax lines that apply under `domain`. */
export function parsePatterns(text: string, domain = ''): Pattern[] {
  const out: Pattern[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.replace(/\r$/, '');
    if (!line.endsWith('\\ ')) line = line.replace(/ +$/, '');
    if (line === '' || line.startsWith('#')) continue;
    let negate = false;
    if (line.startsWith('!')) {
      negate = true;
      line = line.slice(1);
    } else if (line.startsWith('\\')) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    const body = globToRegExp(line);
    out.push({ domain, negate, dirOnly, re: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`) });
  }
  return out;
}

function globToRegExp(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slashAfter = glob[i + 2] === '/';
      out += slashAfter ? '(?:.*/)?' : '.*';
      i += slashAfter ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        const set = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        out += `[${set}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return out;
}

/** IgnoreRules decides which paths of a tree an artifact leaves out. */
export class IgnoreRules {
  readonly #patterns: Pattern[];
  constructor(patterns: Pattern[]) {
    this.#patterns = patterns;
  }

  /** ignored tells whether `path` (relative, POSIX) is left out, itself or through a directory above it. */
  ignored(path: string, isDir = false): boolean {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) if (this.#decide(parts.slice(0, i).join('/'), true)) return true;
    return this.#decide(path, isDir);
  }

  #decide(path: string, isDir: boolean): boolean {
    let ignored = false;
    for (const p of this.#patterns) {
      if (p.dirOnly && !isDir) continue;
      let rel = path;
      if (p.domain !== '') {
        if (!path.startsWith(`${p.domain}/`)) continue;
        rel = path.slice(p.domain.length + 1);
      }
      if (p.re.test(rel)) ignored = !p.negate;
    }
    return ignored;
  }
}

/**
 * sourceIgnoreRules are the rules source-controller archives an artifact with: the default exclusions, then
 * each `.sourceignore` file's patterns scoped to its directory (files in path order), then `spec.ignore`.
 */
export function sourceIgnoreRules(ignoreFiles: [path: string, text: string][], ignore: string | undefined): IgnoreRules {
  const patterns = parsePatterns(DEFAULT_EXCLUSIONS.join('\n'));
  for (const [f, text] of [...ignoreFiles].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    patterns.push(...parsePatterns(text, f.includes('/') ? f.slice(0, f.lastIndexOf('/')) : ''));
  }
  if (ignore !== undefined) patterns.push(...parsePatterns(ignore));
  return new IgnoreRules(patterns);
}
