// Python assignments of literals read as data, never run: the config text that mmengine and mmcv
// save in a checkpoint (`Config.pretty_text`, or a config file's own text) is a series of
// `name = value` statements whose values are literals: numbers, strings of every quote style,
// True/False/None, tuples, lists, `{...}` and `dict(...)`, with comments, trailing commas and
// line continuations in whatever layout yapf or a person gave them.
//
// Names bound earlier in the text are substituted where they are used (`norm_cfg=norm_cfg`);
// numeric arithmetic (`1 / 255`, `-1`) is evaluated; anything else (a comprehension, a call other
// than dict(), `<class ...>`, an unknown name) becomes an opaque value holding a short excerpt of
// its text, so a statement the reader does not understand costs nothing beyond itself. Checkpoints
// are untrusted: the text's length and the nesting depth are bounded, and every message quotes a
// bounded excerpt with its line and column.

import { CLOSERS, OPENERS, type Token, excerpt, tokenize } from './python-tokens.js';

export type PyValue =
  | { type: 'number'; value: number; integer: boolean; text: string }
  | { type: 'string'; value: string }
  | { type: 'bool'; value: boolean }
  | { type: 'none' }
  | { type: 'list' | 'tuple'; items: PyValue[] }
  | { type: 'dict'; entries: Map<string, PyValue> }
  | { type: 'call'; callee: string; args: PyValue[]; kwargs: Map<string, PyValue> }
  | { type: 'name'; name: string }
  | { type: 'opaque'; text: string };

/** The longest text read (mmseg's configs as mmengine writes them are 10-30 KB). */
export const MAX_LITERAL_TEXT = 1024 * 1024;
/** The deepest nesting of brackets and calls read (configs nest about eight deep). */
export const MAX_LITERAL_DEPTH = 64;
class LiteralError extends Error {}

/** A number token's value; Python's integers and floats alike (underscores allowed). */
function numberValue(text: string): PyValue {
  const t = text.replace(/_/g, '');
  if (/[jJ]$/.test(t)) return { type: 'opaque', text };
  const based = /^0([xXoObB])/.exec(t);
  if (based) return { type: 'number', value: Number(BigInt(t)), integer: true, text };
  const integer = /^\d+$/.test(t);
  return { type: 'number', value: Number(t), integer, text };
}

const NUMERIC_OPS: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '//': (a, b) => Math.floor(a / b),
  '%': (a, b) => a - b * Math.floor(a / b),
  '**': (a, b) => a ** b,
};
/** Binding power of the binary operators evaluated on numbers. */
const PRECEDENCE: Record<string, number> = { '+': 1, '-': 1, '*': 2, '/': 2, '//': 2, '%': 2, '**': 3 };

class Parser {
  private i = 0;
  private depth = 0;
  readonly bindings = new Map<string, PyValue>();

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
    private readonly fail: (pos: number, msg: string) => never,
  ) {}

  private get tok(): Token {
    return this.tokens[this.i];
  }

  private is(text: string): boolean {
    return this.tok.kind === 'op' && this.tok.text === text;
  }

  private expect(text: string): void {
    if (!this.is(text)) throw new LiteralError(`expected '${text}'`);
    this.i++;
  }

  /** Every top-level `name = value` of the text; other statements are passed over. */
  module(): Map<string, PyValue> {
    while (this.tok.kind !== 'eof') {
      const start = this.i;
      if (this.tok.kind === 'name' && this.tokens[this.i + 1].kind === 'op' && this.tokens[this.i + 1].text === '=') {
        const name = this.tok.text;
        this.i += 2;
        this.bindings.set(name, this.value(new Set(['\n'])));
      }
      // The rest of the statement, if any (an import, a chained or tuple assignment, a block).
      if (this.tok.kind !== 'newline' || this.i === start) this.skipTo(new Set(['\n']));
      this.i++;
    }
    return this.bindings;
  }

  /** One value: what it is, or opaque (its excerpt) up to the next of `stops` at its own nesting. */
  private value(stops: Set<string>): PyValue {
    const start = this.i;
    try {
      const v = this.binary(0);
      if (this.atStop(stops)) return v;
    } catch (e) {
      if (!(e instanceof LiteralError)) throw e;
      this.i = start;
    }
    this.skipTo(stops);
    const from = this.tokens[start].pos;
    return { type: 'opaque', text: excerpt(this.text.slice(from, this.tok.pos).trim(), 0) };
  }

  private atStop(stops: Set<string>): boolean {
    const t = this.tok;
    if (t.kind === 'newline' || t.kind === 'eof') return stops.has('\n') || t.kind === 'eof';
    return t.kind === 'op' && (stops.has(t.text) || CLOSERS.has(t.text));
  }

  /** Moves to the next of `stops` (or a closing bracket) outside any bracket opened on the way. */
  private skipTo(stops: Set<string>): void {
    let level = 0;
    for (; this.tok.kind !== 'eof'; this.i++) {
      const t = this.tok;
      if (level === 0 && this.atStop(stops)) return;
      if (t.kind === 'op' && OPENERS[t.text]) level++;
      else if (t.kind === 'op' && CLOSERS.has(t.text)) level--;
    }
  }

  /** Numbers combined by arithmetic operators, evaluated; anything else with an operator is not a literal. */
  private binary(minPrecedence: number): PyValue {
    let left = this.unary();
    for (;;) {
      const op = this.tok.kind === 'op' ? this.tok.text : '';
      const p = PRECEDENCE[op];
      if (p === undefined || p < minPrecedence) return left;
      const pos = this.tok.pos;
      this.i++;
      const right = this.nested(pos, () => this.binary(op === '**' ? p : p + 1));
      if (left.type !== 'number' || right.type !== 'number') throw new LiteralError(`'${op}' of values that are not numbers`);
      const value = NUMERIC_OPS[op](left.value, right.value);
      left = { type: 'number', value, integer: left.integer && right.integer && op !== '/' && Number.isInteger(value), text: String(value) };
    }
  }

  private unary(): PyValue {
    if (this.is('-') || this.is('+')) {
      const sign = this.tok.text === '-' ? -1 : 1;
      const pos = this.tok.pos;
      this.i++;
      // Python's power binds tighter than a sign: -2 ** 2 is -4.
      const v = this.nested(pos, () => this.binary(PRECEDENCE['**']));
      if (v.type !== 'number') throw new LiteralError('a sign before a value that is not a number');
      return { ...v, value: sign * v.value, text: `${sign < 0 ? '-' : ''}${v.text}` };
    }
    return this.postfix();
  }

  private postfix(): PyValue {
    const t = this.tok;
    let v = this.primary();
    // A dotted name (mmcv's `torch.nn.ReLU`, written as text by hand).
    let name = v.type === 'name' ? v.name : null;
    while (name !== null && this.is('.') && this.tokens[this.i + 1].kind === 'name') {
      name += `.${this.tokens[this.i + 1].text}`;
      this.i += 2;
      v = { type: 'name', name };
    }
    if (this.is('(')) {
      if (name === null) throw new LiteralError('a call of something that is not a name');
      v = this.call(name, t.pos);
    }
    if (this.is('(') || this.is('[') || this.is('.')) throw new LiteralError('a call, subscript or attribute of a value');
    return v;
  }

  private nested<T>(pos: number, read: () => T): T {
    if (++this.depth > MAX_LITERAL_DEPTH) this.fail(pos, `nested more than ${MAX_LITERAL_DEPTH} deep (brackets, calls, signs and powers)`);
    try {
      return read();
    } finally {
      this.depth--;
    }
  }

  private primary(): PyValue {
    const t = this.tok;
    if (t.kind === 'number') {
      this.i++;
      return numberValue(t.text);
    }
    if (t.kind === 'string') {
      let value = '';
      // Adjacent literals are one string ('a' 'b').
      while (this.tok.kind === 'string') value += this.tokens[this.i++].value;
      return { type: 'string', value };
    }
    if (t.kind === 'name') {
      this.i++;
      if (t.text === 'True' || t.text === 'False') return { type: 'bool', value: t.text === 'True' };
      if (t.text === 'None') return { type: 'none' };
      return this.bindings.get(t.text) ?? { type: 'name', name: t.text };
    }
    if (t.kind === 'op' && OPENERS[t.text]) return this.nested(t.pos, () => this.bracketed());
    throw new LiteralError(`unexpected '${t.text}'`);
  }

  /** Items up to `close`, separated by commas (a trailing one allowed). */
  private items(close: string, read: () => void): void {
    while (!this.is(close)) {
      read();
      if (this.is(',')) this.i++;
      else if (!this.is(close)) throw new LiteralError(`expected ',' or '${close}'`);
    }
    this.i++;
  }

  private bracketed(): PyValue {
    const open = this.tok.text;
    const close = OPENERS[open];
    this.i++;
    const stops = new Set([',', ':']);
    if (open === '{') {
      const entries = new Map<string, PyValue>();
      const set: PyValue[] = [];
      this.items(close, () => {
        const key = this.value(stops);
        if (this.is(':')) {
          this.i++;
          entries.set(keyText(key), this.value(stops));
        } else set.push(key);
      });
      if (set.length && entries.size) throw new LiteralError('a set and a dict at once');
      return set.length ? { type: 'call', callee: 'set', args: set, kwargs: new Map() } : { type: 'dict', entries };
    }
    const items: PyValue[] = [];
    let commas = false;
    this.items(close, () => {
      items.push(this.value(stops));
      commas ||= this.is(',');
    });
    if (open === '[') return { type: 'list', items };
    // (x) is x; (x,) and () are tuples.
    return items.length === 1 && !commas ? items[0] : { type: 'tuple', items };
  }

  /** `callee(...)`: dict() keyword arguments as a dict (and `**d` merged), other calls kept with their arguments. */
  private call(callee: string, pos: number): PyValue {
    return this.nested(pos, () => {
      this.expect('(');
      const args: PyValue[] = [];
      const kwargs = new Map<string, PyValue>();
      const stops = new Set([',']);
      this.items(')', () => {
        if (this.is('**')) {
          this.i++;
          const spread = this.value(stops);
          if (spread.type !== 'dict') throw new LiteralError('** of something that is not a dict');
          for (const [k, v] of spread.entries) kwargs.set(k, v);
        } else if (this.tok.kind === 'name' && this.tokens[this.i + 1].kind === 'op' && this.tokens[this.i + 1].text === '=') {
          const key = this.tok.text;
          this.i += 2;
          kwargs.set(key, this.value(stops));
        } else args.push(this.value(stops));
      });
      if (callee === 'dict' && args.length === 0) return { type: 'dict', entries: kwargs };
      return { type: 'call', callee, args, kwargs };
    });
  }
}

/** A dict key as text: a string's value, a number's text (mmengine writes non-identifier keys so). */
function keyText(key: PyValue): string {
  if (key.type === 'string') return key.value;
  if (key.type === 'number') return key.text;
  return pyRepr(key);
}

/**
 * The top-level bindings of a Python text of literals (see the header). `what` names the text in
 * errors, which give the line and column and a bounded excerpt.
 */
export function parsePythonLiterals(text: string, what: string): Map<string, PyValue> {
  if (text.length > MAX_LITERAL_TEXT) throw new Error(`${what}: ${text.length} characters, over the ${MAX_LITERAL_TEXT} this reader takes`);
  const fail = (pos: number, msg: string): never => {
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const column = pos - before.lastIndexOf('\n');
    throw new Error(`${what}: line ${line}, column ${column}: ${msg}: ${JSON.stringify(excerpt(text, Math.max(0, pos - 10)))}`);
  };
  const parser = new Parser(text, tokenize(text, fail), fail);
  return parser.module();
}

/** A short Python-like rendering of a value for messages (bounded in length and depth). */
export function pyRepr(v: PyValue, depth = 0): string {
  const out = ((): string => {
    if (depth > 3) return '...';
    switch (v.type) {
      case 'number':
        return v.text;
      case 'string':
        return `'${excerpt(v.value)}'`;
      case 'bool':
        return v.value ? 'True' : 'False';
      case 'none':
        return 'None';
      case 'list':
      case 'tuple': {
        const inner = v.items.slice(0, 8).map((x) => pyRepr(x, depth + 1)).join(', ') + (v.items.length > 8 ? ', ...' : '');
        return v.type === 'list' ? `[${inner}]` : `(${inner}${v.items.length === 1 ? ',' : ''})`;
      }
      case 'dict':
        return `dict(${[...v.entries].slice(0, 6).map(([k, x]) => `${k}=${pyRepr(x, depth + 1)}`).join(', ')}${v.entries.size > 6 ? ', ...' : ''})`;
      case 'call':
        return `${v.callee}(...)`;
      case 'name':
        return v.name;
      case 'opaque':
        return v.text;
    }
  })();
  return excerpt(out, 0, 120);
}
