// Executor for Go text/template trees over the engine's Go value model.
// Reference: Go 1.19 src/text/template/exec.go; error texts, locations and nil handling follow it.
import { TemplateError } from '../errors.js';
import { BUILTINS, truthOf } from './builtins.js';
import { formatValue, quoteGo } from './fmt.js';
import { GoError, GoType, fromResult, paramType, signatureOf, toCallArg } from './funcs.js';
import { LimitExceeded, withAllocLimit } from './limits.js';
import {
  BranchNode,
  ChainNode,
  CommandNode,
  FieldNode,
  IdentifierNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  VariableNode,
  errorLocation,
  nodeString,
} from './node.js';
import type { Tree } from './parse.js';
import { methodOf } from './methods.js';
import {
  GoFunc,
  GoInt,
  elemType,
  goFloat,
  hasOwn,
  isTypedNil,
  kindOf,
  nilOf,
  sortedKeys,
  typeName,
  zeroOf,
} from './values.js';

/** MissingKey is the missingkey option: error (Sveltos' choice), zero, or default ("<no value>"). */
export type MissingKey = 'error' | 'zero' | 'default';

/** ExecOptions are the execution settings and limits. */
export interface ExecOptions {
  missingKey: MissingKey;
  maxOutputBytes: number;
  maxSteps: number;
  maxDepth: number;
  /**
   * The name errors give the template, for a tree set parsed under another name that does not
   * depend on it (parseTreeSet's nameIndependent). Default: the tree's own name.
   */
  displayName?: string;
}

/** Dot is the cursor; `boxed` marks values read out of interface{} containers (Go names them interface {}). */
interface Dot {
  v: unknown;
  boxed: boolean;
}

interface Variable {
  name: string;
  value: unknown;
  boxed: boolean;
}

interface Shared {
  out: string[];
  bytes: number;
  steps: number;
  opts: ExecOptions;
  set: Map<string, Tree>;
  /** Function maps, later ones overriding earlier ones. */
  funcs: readonly Record<string, GoFunc>[];
}

const MISSING: unique symbol = Symbol('missing');
type Final = unknown;

class BreakSignal {}
class ContinueSignal {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

/**
 * execute runs template `name` of a tree set on data and returns its output. `funcs` are function
 * maps, a name in a later one overriding the earlier ones (as if merged, without the copy).
 */
export function execute(
  set: Map<string, Tree>,
  name: string,
  funcs: readonly Record<string, GoFunc>[],
  data: unknown,
  opts: ExecOptions,
): string {
  const tree = set.get(name);
  // reflect.ValueOf(nil) is an invalid value, not a nil interface.
  if (data === null) data = undefined;
  const shared: Shared = { out: [], bytes: 0, steps: 0, opts, set, funcs };
  const state = new State(shared, tree ?? { name, parseName: name, text: '', root: undefined as never }, [
    { name: '$', value: data, boxed: false },
  ], 0);
  if (!tree) state.errorf(`${quoteGo(name)} is an incomplete or empty template`);
  try {
    withAllocLimit(opts.maxOutputBytes, () => state.walk({ v: data, boxed: false }, tree!.root));
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      const shown = opts.displayName ?? name;
      throw new TemplateError('LIMIT', `template: ${shown}: nesting too deep to execute`, {
        details: { template: shown, line: 0, col: 0 },
      });
    }
    throw e;
  }
  return shared.out.join('');
}

class State {
  private node: Node | undefined;

  constructor(
    private readonly shared: Shared,
    private readonly tree: Tree,
    private vars: Variable[],
    private readonly depth: number,
  ) {}

  private at(n: Node): void {
    this.node = n;
  }

  errorf(msg: string, code: TemplateError['code'] = 'EXEC'): never {
    const shown = this.shared.opts.displayName;
    const name = shown ?? this.tree.name;
    let message: string;
    let line = 0;
    let col = 0;
    if (!this.node) message = `template: ${name}: ${msg}`;
    else {
      const loc = errorLocation(this.node);
      line = loc.line;
      col = loc.col;
      const location = shown === undefined ? loc.location : `${shown}:${line}:${col}`;
      message = `template: ${location}: executing ${quoteGo(name)} at <${nodeString(this.node)}>: ${msg}`;
    }
    throw new TemplateError(code, message, { details: { template: name, line, col } });
  }

  private step(): void {
    if (++this.shared.steps > this.shared.opts.maxSteps) {
      this.errorf(`execution exceeds the limit of ${this.shared.opts.maxSteps} steps`, 'LIMIT');
    }
  }

  private write(s: string): void {
    this.shared.bytes += Buffer.byteLength(s);
    if (this.shared.bytes > this.shared.opts.maxOutputBytes) {
      this.errorf(`output exceeds the limit of ${this.shared.opts.maxOutputBytes} bytes`, 'LIMIT');
    }
    this.shared.out.push(s);
  }

  // Variables.
  private push(name: string, value: unknown, boxed = false): void {
    this.vars.push({ name, value, boxed });
  }
  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i] = { name, value, boxed: false };
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }
  private setTopVar(n: number, value: unknown, boxed: boolean): void {
    const v = this.vars[this.vars.length - n]!;
    this.vars[this.vars.length - n] = { name: v.name, value, boxed };
  }
  private varValue(name: string): Variable {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!;
    this.errorf(`undefined variable: ${name}`);
  }

  walk(dot: Dot, node: Node): void {
    this.step();
    this.at(node);
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'comment':
        return;
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node);
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        return this.walkTemplate(dot, node);
      case 'text':
        return this.write(node.text);
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  private walkIfOrWith(dot: Dot, node: BranchNode): void {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (truthOf(val)) {
        this.walk(node.type === 'with' ? { v: val, boxed: false } : dot, node.list);
      } else if (node.elseList) {
        this.walk(dot, node.elseList);
      }
    } finally {
      this.vars.length = mark;
    }
  }

  private walkRange(dot: Dot, r: BranchNode): void {
    this.at(r);
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const inner = this.vars.length;
      const once = (index: unknown, elem: unknown, boxed: boolean) => {
        if (r.pipe.decl.length > 0) this.setTopVar(1, elem, boxed);
        if (r.pipe.decl.length > 1) this.setTopVar(2, index, false);
        try {
          this.walk({ v: elem, boxed }, r.list);
        } catch (e) {
          if (e !== CONTINUE) throw e;
        } finally {
          this.vars.length = inner;
        }
      };
      switch (kindOf(val)) {
        case 'slice': {
          const a = val as unknown[];
          if (a.length === 0) break;
          const boxed = elemType(typeName(a)) === 'interface {}';
          for (let i = 0; i < a.length; i++) once(new GoInt(i), a[i], boxed);
          return;
        }
        case 'map': {
          const m = val as Record<string, unknown>;
          const keys = sortedKeys(m);
          if (keys.length === 0) break;
          const boxed = elemType(typeName(m)) === 'interface {}';
          for (const k of keys) once(k, m[k], boxed);
          return;
        }
        case 'nil':
          break;
        default:
          this.errorf(`range can't iterate over ${formatValue(val)}`);
      }
      if (r.elseList) this.walk(dot, r.elseList);
    } catch (e) {
      if (e !== BREAK) throw e;
    } finally {
      this.vars.length = mark;
    }
  }

  private walkTemplate(dot: Dot, t: TemplateNode): void {
    this.at(t);
    const tmpl = this.shared.set.get(t.name);
    if (!tmpl) this.errorf(`template ${quoteGo(t.name)} not defined`);
    if (this.depth >= this.shared.opts.maxDepth) {
      this.errorf(`exceeded maximum template depth (${this.shared.opts.maxDepth})`, 'LIMIT');
    }
    const v = this.evalPipeline(dot, t.pipe);
    const next = new State(this.shared, tmpl, [{ name: '$', value: v, boxed: false }], this.depth + 1);
    next.walk({ v, boxed: false }, tmpl.root);
  }

  private evalPipeline(dot: Dot, pipe: PipeNode | undefined): unknown {
    if (!pipe) return undefined;
    this.at(pipe);
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // A nil interface{} result becomes "no value", as reflect.ValueOf(v.Interface()) does in Go.
      if (value === null) value = undefined;
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0]!, value);
      else this.push(v.ident[0]!, value);
    }
    return value;
  }

  private notAFunction(args: Node[] | undefined, final: Final): void {
    if ((args && args.length > 1) || final !== MISSING) {
      this.errorf(`can't give argument to non-function ${nodeString(args![0]!)}`);
    }
  }

  private evalCommand(dot: Dot, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0]!;
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot.v;
      case 'nil':
        this.errorf('nil is not a command');
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
    this.errorf(`can't evaluate command ${quoteGo(nodeString(first))}`);
  }

  private idealConstant(c: NumberNode): unknown {
    this.at(c);
    if (c.isComplex) this.errorf(`complex constant ${c.text} is not supported`);
    const isHexInt = /^0[xX]/.test(c.text) && !/[pP]/.test(c.text);
    const isRune = c.text.startsWith("'");
    if (c.isFloat && !isHexInt && !isRune && /[.eEpP]/.test(c.text)) return goFloat(c.float64);
    if (c.isInt) return new GoInt(bigToNumber(c.int64));
    if (c.isUint) this.errorf(`${c.text} overflows int`);
    return undefined;
  }

  private evalFieldNode(dot: Dot, field: FieldNode, args: Node[] | undefined, final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot.v, dot.boxed, field, field.ident, args, final);
  }

  private evalChainNode(dot: Dot, chain: ChainNode, args: Node[] | undefined, final: Final): unknown {
    this.at(chain);
    if (chain.field.length === 0) this.errorf('internal error: no fields in evalChainNode');
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, undefined, chain.node);
    return this.evalFieldChain(dot, pipe, false, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: Dot, v: VariableNode, args: Node[] | undefined, final: Final): unknown {
    this.at(v);
    const variable = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return variable.value;
    }
    return this.evalFieldChain(dot, variable.value, variable.boxed, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(
    dot: Dot,
    receiver: unknown,
    boxed: boolean,
    node: Node,
    ident: string[],
    args: Node[] | undefined,
    final: Final,
  ): unknown {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) [receiver, boxed] = this.evalField(dot, ident[i]!, node, undefined, MISSING, receiver, boxed);
    return this.evalField(dot, ident[n - 1]!, node, args, final, receiver, boxed)[0];
  }

  private evalFunction(dot: Dot, node: IdentifierNode, cmd: Node, args: Node[] | undefined, final: Final): unknown {
    this.at(node);
    const name = node.ident;
    let user: GoFunc | undefined;
    for (let i = this.shared.funcs.length - 1; i >= 0; i--) {
      const layer = this.shared.funcs[i]!;
      if (hasOwn(layer, name)) {
        user = layer[name];
        break;
      }
    }
    const fn = user ?? (hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined);
    if (!fn) this.errorf(`${quoteGo(name)} is not a defined function`);
    return this.evalCall(dot, fn, !user, cmd, name, args, final);
  }

  private evalField(
    dot: Dot,
    fieldName: string,
    node: Node,
    args: Node[] | undefined,
    final: Final,
    receiver: unknown,
    boxed: boolean,
  ): [unknown, boolean] {
    const missingKey = this.shared.opts.missingKey;
    if (receiver === undefined) {
      if (missingKey === 'error') this.errorf(`nil data; no entry for key ${quoteGo(fieldName)}`, 'MISSING_KEY');
      return [undefined, false];
    }
    const typ = boxed || receiver === null ? 'interface {}' : typeName(receiver);
    if (receiver === null) this.errorf(`nil pointer evaluating ${typ}.${fieldName}`);
    const method = methodOf(receiver, fieldName);
    if (method) return [this.evalCall(dot, method, false, node, fieldName, args, final), false];
    const hasArgs = (args !== undefined && args.length > 1) || final !== MISSING;
    const kind = kindOf(receiver);
    if (kind === 'map') {
      const m = receiver as Record<string, unknown>;
      if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
      const elem = elemType(typeName(m));
      if (hasOwn(m, fieldName)) return [m[fieldName], elem === 'interface {}'];
      if (missingKey === 'zero') return [zeroOf(elem), elem === 'interface {}'];
      if (missingKey === 'error') this.errorf(`map has no entry for key ${quoteGo(fieldName)}`, 'MISSING_KEY');
      return [undefined, false];
    }
    if (kind === 'time' && ['wall', 'ext', 'loc'].includes(fieldName)) {
      this.errorf(`${fieldName} is an unexported field of struct type ${typ}`);
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${typ}`);
  }

  private evalCall(
    dot: Dot,
    fn: GoFunc,
    isBuiltin: boolean,
    node: Node,
    name: string,
    args: Node[] | undefined,
    final: Final,
  ): unknown {
    this.step();
    const argNodes = args ? args.slice(1) : [];
    const sig = signatureOf(fn);
    const numIn = argNodes.length + (final !== MISSING ? 1 : 0);
    let numFixed = argNodes.length;
    if (sig.variadic) {
      numFixed = sig.in.length - 1;
      if (numIn < numFixed) {
        this.errorf(`wrong number of args for ${name}: want at least ${sig.in.length - 1} got ${argNodes.length}`);
      }
    } else if (numIn !== sig.in.length) {
      this.errorf(`wrong number of args for ${name}: want ${sig.in.length} got ${numIn}`);
    }
    if (isBuiltin && (name === 'and' || name === 'or')) {
      let v: unknown = undefined;
      for (const arg of argNodes) {
        v = this.evalArg(dot, 'reflect.Value', arg);
        if (truthOf(v) === (name === 'or')) return v;
      }
      if (final !== MISSING) v = this.validateType(final, 'reflect.Value');
      return v;
    }
    const argv: unknown[] = [];
    let i = 0;
    for (; i < numFixed && i < argNodes.length; i++) argv.push(this.evalArg(dot, sig.in[i]!, argNodes[i]!));
    if (sig.variadic) {
      const t = sig.in[sig.in.length - 1]!;
      for (; i < argNodes.length; i++) argv.push(this.evalArg(dot, t, argNodes[i]!));
    }
    if (final !== MISSING) {
      let t = sig.in[sig.in.length - 1]!;
      if (sig.variadic && numIn - 1 < numFixed) t = sig.in[numIn - 1]!;
      argv.push(this.validateType(final, t));
    }
    let result: unknown;
    try {
      result = fn(...argv.map((a, j) => toCallArg(a, paramType(sig, j))));
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      this.at(node);
      if (e instanceof LimitExceeded) this.errorf(e.message, 'LIMIT');
      if (e instanceof RangeError && /call stack/i.test(e.message)) throw e;
      this.errorf(`error calling ${name}: ${errorText(e)}`);
    }
    return fromResult(result, sig.out);
  }

  private validateType(value: unknown, typ: GoType | undefined): unknown {
    if (value === undefined) {
      if (typ === undefined || typ === 'reflect.Value') return undefined;
      if (typ === 'interface {}' || typ.startsWith('*')) return null;
      if (typ.startsWith('[]') || typ.startsWith('map[')) return nilOf(typ);
      this.errorf(`invalid value; expected ${typ}`);
    }
    if (typ === undefined || typ === 'reflect.Value' || typ === 'interface {}') return value;
    if (value !== null && typeName(value) === typ) return value;
    this.errorf(`wrong type for value; expected ${typ}; got ${value === null ? 'interface {}' : typeName(value)}`);
  }

  private evalArg(dot: Dot, typ: GoType | undefined, n: Node): unknown {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot.v, typ);
      case 'nil':
        if (typ === undefined || typ === 'reflect.Value') return undefined;
        if (typ === 'interface {}' || typ.startsWith('*')) return null;
        if (typ.startsWith('[]') || typ.startsWith('map[')) return nilOf(typ);
        this.errorf(`cannot assign nil to ${typ}`);
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, undefined, MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, undefined, MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, undefined, MISSING), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        this.errorf(`expected bool; found ${nodeString(n)}`);
      case 'float64':
        if (n.type === 'number' && n.isFloat && !n.isComplex) return goFloat(n.float64);
        this.errorf(`expected float; found ${nodeString(n)}`);
      case 'int':
      case 'int64':
        if (n.type === 'number' && n.isInt && !n.isComplex) {
          return typ === 'int' ? new GoInt(bigToNumber(n.int64)) : bigToNumber(n.int64);
        }
        this.errorf(`expected integer; found ${nodeString(n)}`);
      case 'uint32':
        if (n.type === 'number' && n.isUint && !n.isComplex) return Number(BigInt.asUintN(32, n.uint64));
        this.errorf(`expected unsigned integer; found ${nodeString(n)}`);
      case 'string':
        if (n.type === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
      case 'interface {}':
      case 'reflect.Value':
        return this.evalEmptyInterface(dot, n);
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ}`);
  }

  private evalEmptyInterface(dot: Dot, n: Node): unknown {
    this.at(n);
    switch (n.type) {
      case 'bool':
        return n.value;
      case 'number':
        return this.idealConstant(n);
      case 'string':
        return n.text;
    }
    this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`);
  }

  private printValue(n: Node, v: unknown): void {
    this.at(n);
    if (v === undefined) return this.write('<no value>');
    if (kindOf(v) === 'func') this.errorf(`can't print ${nodeString(n)} of type ${typeName(v)}`);
    this.write(isTypedNil(v) && kindOf(v) === 'map' ? 'map[]' : formatValue(v));
  }
}

function bigToNumber(b: bigint): number | bigint {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

function errorText(e: unknown): string {
  if (e instanceof GoError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
