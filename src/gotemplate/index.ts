// Go text/template for Sveltos templates: parse, execute with Sprig and the Sveltos functions.
// This file is the module's one public entry: the Go engines under it (text/template, Sprig, RE2,
// TOML, go-yaml, encoding/json, time) are reached from the rest of the tool only through it.
import { TemplateError } from '../errors.js';
import { BUILTINS } from './builtins.js';
import { execute, MissingKey } from './exec.js';
import { parseTreeSet, Tree } from './parse.js';
import { GoFunc, hasOwn } from './values.js';

export { toGoValue } from './convert.js';
export { GoFloat, GoInt, GoTime } from './values.js';

/** FuncMap maps function names to implementations (see docs/template-functions.md for Go typing). */
export type FuncMap = Record<string, (...args: unknown[]) => unknown>;

/** TemplateOptions configure parsing and execution. */
export interface TemplateOptions {
  /** Template name used in error messages. Default "template". */
  name?: string;
  /** What a missing map key does: 'error' (Sveltos' setting, the default), 'zero' or 'default' ("<no value>"). */
  missingKey?: MissingKey;
  /** Functions besides the builtins. Default none: pass sveltosTemplateFuncs(ctx) for Sveltos semantics. */
  funcs?: FuncMap;
  /** Largest output in bytes; also caps strings and lists functions build. Default 8 MiB. */
  maxOutputBytes?: number;
  /** Most evaluation steps (nodes walked plus function calls). Default 5,000,000. */
  maxSteps?: number;
  /** Deepest nesting of {{template}} calls. Default 1000 (Go allows 100000). */
  maxDepth?: number;
}

/** DEFAULT_TEMPLATE_OPTIONS are the defaults of TemplateOptions. */
export const DEFAULT_TEMPLATE_OPTIONS = {
  name: 'template',
  missingKey: 'error' as MissingKey,
  maxOutputBytes: 8 * 1024 * 1024,
  maxSteps: 5_000_000,
  maxDepth: 1000,
};

/** ParsedTemplate is a parsed template set, reusable across executions. */
export class ParsedTemplate {
  readonly #trees: Map<string, Tree>;
  readonly #opts: TemplateOptions;
  readonly #text: string;
  readonly #nameIndependent: boolean;
  // The name the main tree was parsed under (its key in #trees).
  readonly #parsedAs: string;
  /** name is the name of the main template. */
  readonly name: string;

  constructor(trees: Map<string, Tree>, opts: TemplateOptions, text = '', nameIndependent = false, parsedAs?: string) {
    this.#trees = trees;
    this.#opts = opts;
    this.#text = text;
    this.#nameIndependent = nameIndependent;
    this.name = opts.name ?? DEFAULT_TEMPLATE_OPTIONS.name;
    this.#parsedAs = parsedAs ?? this.name;
  }

  /**
   * withName returns the template as parseTemplate would have returned it under `name` (Go names
   * the template in its errors, and define/template clauses may name it). The trees are shared
   * when nothing in them depends on the name; otherwise the text is parsed again.
   */
  withName(name: string): ParsedTemplate {
    if (name === this.name) return this;
    const opts = { ...this.#opts, name };
    if (!this.#nameIndependent) return parseTemplate(this.#text, opts);
    return new ParsedTemplate(this.#trees, opts, this.#text, true, this.#parsedAs);
  }

  /** templates lists the names of the templates defined (the main one included), sorted. */
  templates(): string[] {
    return [...this.#trees.keys()].sort();
  }

  /** execute renders the main template on data (already Go-typed; see toGoValue). Throws TemplateError. */
  execute(data: unknown, opts: TemplateOptions = {}): string {
    const o = { ...DEFAULT_TEMPLATE_OPTIONS, ...definedOnly(this.#opts), ...definedOnly(opts) };
    const funcs = [this.#opts.funcs ?? {}, opts.funcs ?? {}] as Record<string, GoFunc>[];
    return execute(this.#trees, this.#parsedAs, funcs, data, {
      missingKey: o.missingKey,
      maxOutputBytes: o.maxOutputBytes,
      maxSteps: o.maxSteps,
      maxDepth: o.maxDepth,
      ...(this.#parsedAs === this.name ? {} : { displayName: this.name }),
    });
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** parseTemplate parses template text; functions must be known now, as in Go. Throws TemplateError ('PARSE'). */
export function parseTemplate(text: string, opts: TemplateOptions = {}): ParsedTemplate {
  const name = opts.name ?? DEFAULT_TEMPLATE_OPTIONS.name;
  const funcs = opts.funcs ?? {};
  const hasFunction = (f: string) => (hasOwn(funcs, f) && typeof funcs[f] === 'function') || hasOwn(BUILTINS, f);
  let parsed: { trees: Map<string, Tree>; nameIndependent: boolean };
  try {
    parsed = parseTreeSet(name, text, { hasFunction });
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new TemplateError('LIMIT', `template: ${name}: nesting too deep to parse`, { details: { template: name, line: 0, col: 0 } });
    }
    throw e;
  }
  return new ParsedTemplate(parsed.trees, opts, text, parsed.nameIndependent);
}

/** renderTemplate parses and executes text on data in one step. Throws TemplateError. */
export function renderTemplate(text: string, data: unknown, opts: TemplateOptions = {}): string {
  return parseTemplate(text, opts).execute(data);
}

export { sprigFuncs } from './sprig/index.js';
export { sveltosFuncs, sveltosTemplateFuncs } from './sveltos.js';
export type { SveltosTemplateContext } from './sveltos.js';
export { GoError } from './funcs.js';
export { marshalYAML } from './goyaml/emit.js';
export { parseDuration } from './gotime.js';
export { GoRegexp } from './re2/index.js';
