// Parser for Go text/template: builds a tree set (the main template plus every {{define}}/{{block}}).
// Reference: Go 1.19 src/text/template/parse/parse.go; error texts and lines follow it.
import { TemplateError } from '../errors.js';
import { Item, itemString, ItemType, Lexer } from './lex.js';
import {
  BranchNode,
  CommandNode,
  ListNode,
  Node,
  NumberNode,
  PipeNode,
  TreeInfo,
  VariableNode,
  isEmptyTree,
  nodeString,
} from './node.js';
import { quoteGo } from './fmt.js';
import { parseFloat64, parseInt64, parseUint, unquote, unquoteChar } from './strconv.js';

/** Tree is one parsed template. */
export interface Tree extends TreeInfo {
  root: ListNode;
}

/** ParseOptions say which function names exist (Go checks them at parse time). */
export interface ParseOptions {
  hasFunction: (name: string) => boolean;
}

/** ParseFailure carries Go's parse error text and the line it names. */
class ParseFailure {
  constructor(
    readonly message: string,
    readonly line: number,
  ) {}
}

/** parseTrees parses text as template `name` and returns every tree it defines, by name. */
export function parseTrees(name: string, text: string, opts: ParseOptions): Map<string, Tree> {
  return parseTreeSet(name, text, opts).trees;
}

/**
 * parseTreeSet is parseTrees that also tells whether the trees are independent of `name`: no
 * define, block or template clause, so that the name appears only in error messages.
 */
export function parseTreeSet(name: string, text: string, opts: ParseOptions): { trees: Map<string, Tree>; nameIndependent: boolean } {
  const treeSet = new Map<string, Tree>();
  const lexer = new Lexer(text, !opts.hasFunction('break'), !opts.hasFunction('continue'));
  const names = { used: false };
  const p = new Parser(name, name, text, lexer, treeSet, opts, names);
  try {
    p.parse();
    p.add();
  } catch (e) {
    if (e instanceof ParseFailure) {
      throw new TemplateError('PARSE', e.message, { details: { template: name, line: e.line, col: 0 } });
    }
    throw e;
  }
  return { trees: treeSet, nameIndependent: !names.used && treeSet.size === 1 && treeSet.has(name) };
}

const OPERAND_START: ReadonlySet<ItemType> = new Set<ItemType>([
  'bool',
  'charConstant',
  'complex',
  'dot',
  'field',
  'identifier',
  'number',
  'nil',
  'rawString',
  'string',
  'variable',
  'leftParen',
]);

class Parser {
  root!: ListNode;
  private token: Item[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private actionLine = 0;
  private rangeDepth = 0;
  private readonly info: TreeInfo;

  constructor(
    public name: string,
    readonly parseName: string,
    readonly text: string,
    readonly lex: Lexer,
    readonly treeSet: Map<string, Tree>,
    readonly opts: ParseOptions,
    // Set when a define, block or template clause makes the tree set depend on template names.
    private readonly names: { used: boolean },
  ) {
    this.info = { name, parseName, text };
  }

  // Token stream with Go's three-token lookahead.
  private next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.lex.nextItem();
    return this.token[this.peekCount]!;
  }
  private backup(): void {
    this.peekCount++;
  }
  private backup2(t1: Item): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }
  private backup3(t2: Item, t1: Item): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }
  private peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1]!;
    this.peekCount = 1;
    this.token[0] = this.lex.nextItem();
    return this.token[0];
  }
  private nextNonSpace(): Item {
    let t: Item;
    do t = this.next();
    while (t.typ === 'space');
    return t;
  }
  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private errorf(msg: string): never {
    const line = this.token[0]?.line ?? 1;
    throw new ParseFailure(`template: ${this.parseName}:${line}: ${msg}`, line);
  }
  private expect(expected: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== expected) this.unexpected(t, context);
    return t;
  }
  private expectOneOf(a: ItemType, b: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== a && t.typ !== b) this.unexpected(t, context);
    return t;
  }
  private unexpected(t: Item, context: string): never {
    if (t.typ === 'error') {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${itemString(t)}${extra}`);
    }
    this.errorf(`unexpected ${itemString(t)} in ${context}`);
  }

  private child(name: string): Parser {
    const c = new Parser(name, this.parseName, this.text, this.lex, this.treeSet, this.opts, this.names);
    return c;
  }

  /** add installs this tree in the set, as Go's Tree.add (empty redefinitions are ignored). */
  add(): void {
    const tree = this.treeSet.get(this.name);
    if (!tree || isEmptyTree(tree.root)) {
      this.treeSet.set(this.name, { ...this.info, name: this.name, root: this.root });
      return;
    }
    if (!isEmptyTree(this.root)) this.errorf(`template: multiple definition of template ${quoteGo(this.name)}`);
  }

  private newList(pos: number): ListNode {
    return { type: 'list', pos, tree: this.info, nodes: [] };
  }

  parse(): void {
    this.root = this.newList(this.peek().pos);
    while (this.peek().typ !== 'EOF') {
      if (this.peek().typ === 'leftDelim') {
        const delim = this.next();
        if (this.nextNonSpace().typ === 'define') {
          this.names.used = true;
          const def = this.child('definition');
          def.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected ${nodeString(n)}`);
      this.root.nodes.push(n);
    }
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const name = this.expectOneOf('string', 'rawString', context);
    const unq = unquote(name.val);
    if (unq === undefined) this.errorf('invalid syntax');
    this.name = unq;
    (this.info as { name: string }).name = unq;
    this.expect('rightDelim', context);
    const [list, end] = this.itemList();
    this.root = list;
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add();
  }

  private itemList(): [ListNode, Node] {
    const list = this.newList(this.peekNonSpace().pos);
    while (this.peekNonSpace().typ !== 'EOF') {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case 'text':
        return { type: 'text', pos: t.pos, tree: this.info, text: t.val };
      case 'leftDelim': {
        this.actionLine = t.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      case 'comment':
        return { type: 'comment', pos: t.pos, tree: this.info, text: t.val };
      default:
        this.unexpected(t, 'input');
    }
  }

  private action(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case 'block':
        return this.blockControl();
      case 'break':
        return this.breakControl(t, 'break');
      case 'continue':
        return this.breakControl(t, 'continue');
      case 'else':
        return this.elseControl();
      case 'end':
        return { type: 'end', pos: this.expect('rightDelim', 'end').pos, tree: this.info };
      case 'if':
        return this.branch('if', true);
      case 'range':
        return this.branch('range', false);
      case 'template':
        return this.templateControl();
      case 'with':
        return this.branch('with', false);
    }
    this.backup();
    const tok = this.peek();
    return { type: 'action', pos: tok.pos, line: tok.line, tree: this.info, pipe: this.pipeline('command', 'rightDelim') };
  }

  private breakControl(t: Item, kw: 'break' | 'continue'): Node {
    const next = this.nextNonSpace();
    if (next.typ !== 'rightDelim') this.unexpected(next, `{{${kw}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kw}}} outside {{range}}`);
    return { type: kw, pos: t.pos, line: t.line, tree: this.info };
  }

  private pipeline(context: string, end: ItemType): PipeNode {
    const tok = this.peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: tok.pos, line: tok.line, tree: this.info, isAssign: false, decl: [], cmds: [] };
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== 'variable') break;
      this.next();
      const tokenAfterVariable = this.peek();
      const next = this.peekNonSpace();
      if (next.typ === 'assign' || next.typ === 'declare') {
        pipe.isAssign = next.typ === 'assign';
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
      } else if (next.typ === 'char' && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === 'variable' || p === 'rightDelim' || p === 'rightParen') continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else if (tokenAfterVariable.typ === 'space') {
        this.backup3(v, tokenAfterVariable);
      } else {
        this.backup2(v);
      }
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.typ === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      if (OPERAND_START.has(t.typ)) {
        this.backup();
        pipe.cmds.push(this.command());
      } else {
        this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0]!.type;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private branch(kind: 'if' | 'range' | 'with', allowElseIf: boolean): BranchNode {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(kind, 'rightDelim');
      if (kind === 'range') this.rangeDepth++;
      let [list, next] = this.itemList();
      if (kind === 'range') this.rangeDepth--;
      let elseList: ListNode | undefined;
      if (next.type === 'else') {
        if (allowElseIf && this.peek().typ === 'if') {
          // {{else if x}} is {{else}}{{if x}}…{{end}}{{end}} with a single {{end}}.
          this.next();
          elseList = this.newList(next.pos);
          elseList.nodes.push(this.branch('if', true));
        } else {
          [elseList, next] = this.itemList();
          if (next.type !== 'end') this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      return { type: kind, pos: pipe.pos, line: pipe.line, tree: this.info, pipe, list, elseList };
    } finally {
      this.vars.length = mark;
    }
  }

  private elseControl(): Node {
    const peek = this.peekNonSpace();
    if (peek.typ === 'if') return { type: 'else', pos: peek.pos, line: peek.line, tree: this.info };
    const t = this.expect('rightDelim', 'else');
    return { type: 'else', pos: t.pos, line: t.line, tree: this.info };
  }

  private blockControl(): Node {
    const context = 'block clause';
    this.names.used = true;
    const t = this.nextNonSpace();
    const name = this.parseTemplateName(t, context);
    const pipe = this.pipeline(context, 'rightDelim');
    const block = this.child(name);
    const [list, end] = block.itemList();
    block.root = list;
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    block.add();
    return { type: 'template', pos: t.pos, line: t.line, tree: this.info, name, pipe };
  }

  private templateControl(): Node {
    const context = 'template clause';
    this.names.used = true;
    const t = this.nextNonSpace();
    const name = this.parseTemplateName(t, context);
    let pipe: PipeNode | undefined;
    if (this.nextNonSpace().typ !== 'rightDelim') {
      this.backup();
      pipe = this.pipeline(context, 'rightDelim');
    }
    return { type: 'template', pos: t.pos, line: t.line, tree: this.info, name, pipe };
  }

  private parseTemplateName(t: Item, context: string): string {
    if (t.typ === 'string' || t.typ === 'rawString') {
      const s = unquote(t.val);
      if (s === undefined) this.errorf('invalid syntax');
      return s;
    }
    this.unexpected(t, context);
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, tree: this.info, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.typ === 'space') continue;
      if (t.typ === 'rightDelim' || t.typ === 'rightParen') this.backup();
      else if (t.typ !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): Node | undefined {
    let node = this.term();
    if (!node) return undefined;
    if (this.peek().typ === 'field') {
      const pos = this.peek().pos;
      const fields: string[] = [];
      while (this.peek().typ === 'field') fields.push(this.next().val.slice(1));
      const chainText = () => nodeString({ type: 'chain', pos, tree: this.info, node: node!, field: fields });
      switch (node.type) {
        case 'field':
          node = { type: 'field', pos, tree: this.info, ident: chainText().slice(1).split('.') };
          break;
        case 'variable':
          node = this.newVariable(pos, chainText());
          break;
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.errorf(`unexpected . after term ${quoteGo(nodeString(node))}`);
        default:
          node = { type: 'chain', pos, tree: this.info, node, field: fields };
      }
    }
    return node;
  }

  private term(): Node | undefined {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case 'identifier':
        if (!this.opts.hasFunction(t.val)) this.errorf(`function ${quoteGo(t.val)} not defined`);
        return { type: 'identifier', pos: t.pos, tree: this.info, ident: t.val };
      case 'dot':
        return { type: 'dot', pos: t.pos, tree: this.info };
      case 'nil':
        return { type: 'nil', pos: t.pos, tree: this.info };
      case 'variable':
        return this.useVar(t.pos, t.val);
      case 'field':
        return { type: 'field', pos: t.pos, tree: this.info, ident: t.val.slice(1).split('.') };
      case 'bool':
        return { type: 'bool', pos: t.pos, tree: this.info, value: t.val === 'true' };
      case 'charConstant':
      case 'complex':
      case 'number':
        return this.newNumber(t);
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen');
      case 'string':
      case 'rawString': {
        const s = unquote(t.val);
        if (s === undefined) this.errorf('invalid syntax');
        return { type: 'string', pos: t.pos, tree: this.info, quoted: t.val, text: s };
      }
    }
    this.backup();
    return undefined;
  }

  private newVariable(pos: number, ident: string): VariableNode {
    return { type: 'variable', pos, tree: this.info, ident: ident.split('.') };
  }

  private useVar(pos: number, name: string): VariableNode {
    const v = this.newVariable(pos, name);
    if (!this.vars.includes(v.ident[0]!)) this.errorf(`undefined variable ${quoteGo(v.ident[0]!)}`);
    return v;
  }

  private newNumber(t: Item): NumberNode {
    const n: NumberNode = {
      type: 'number',
      pos: t.pos,
      tree: this.info,
      isInt: false,
      isUint: false,
      isFloat: false,
      isComplex: false,
      int64: 0n,
      uint64: 0n,
      float64: 0,
      text: t.val,
    };
    const text = t.val;
    if (t.typ === 'charConstant') {
      const r = unquoteChar(text.slice(1), text[0]!);
      if (!r) this.errorf('invalid syntax');
      if (r.tail !== "'") this.errorf(`malformed character constant: ${text}`);
      const v = r.rune ?? r.bytes![0]!;
      Object.assign(n, { int64: BigInt(v), uint64: BigInt(v), float64: v, isInt: true, isUint: true, isFloat: true });
      return n;
    }
    if (t.typ === 'complex' || text.endsWith('i')) {
      // Complex constants parse (Go accepts them) but the engine refuses to evaluate them.
      n.isComplex = true;
      return n;
    }
    const u = parseUint(text, 0);
    if (!u.err) {
      n.isUint = true;
      n.uint64 = u.value;
    }
    const i = parseInt64(text, 0);
    if (!i.err) {
      n.isInt = true;
      n.int64 = i.value;
      if (i.value === 0n) {
        n.isUint = true;
        n.uint64 = u.value;
      }
    }
    if (n.isInt) {
      n.isFloat = true;
      n.float64 = Number(n.int64);
    } else if (n.isUint) {
      n.isFloat = true;
      n.float64 = Number(n.uint64);
    } else {
      const f = parseFloat64(text);
      if (!f.err) {
        if (!/[.eEpP]/.test(text)) this.errorf(`integer overflow: ${quoteGo(text)}`);
        n.isFloat = true;
        n.float64 = f.value;
        if (Number.isInteger(f.value) && Math.abs(f.value) < 2 ** 63) {
          n.isInt = true;
          n.int64 = BigInt(f.value);
        }
        if (Number.isInteger(f.value) && f.value >= 0 && f.value < 2 ** 64) {
          n.isUint = true;
          n.uint64 = BigInt(f.value);
        }
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat) this.errorf(`illegal number syntax: ${quoteGo(text)}`);
    return n;
  }
}
