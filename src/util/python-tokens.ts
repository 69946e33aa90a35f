// Python source split into tokens for the literal reader (python-literal.ts): names, numbers,
// strings (every prefix and quote, escapes applied), operators and the newlines that end
// statements; comments, line continuations and newlines inside brackets dropped, as Python's own
// tokenizer drops them. Brackets are matched here, so a crossed or unclosed one is refused at once.
import { ownValue } from './own-key.js';

/** The longest excerpt of the text an error message or an opaque value quotes. */
const EXCERPT = 60;

export type TokenKind = 'name' | 'number' | 'string' | 'op' | 'newline' | 'eof';
export interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
  /** A string token's value (escapes applied). */
  value?: string;
}

export const OPENERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
export const CLOSERS = new Set([')', ']', '}']);
const TWO_CHAR_OPS = new Set(['**', '//', '==', '!=', '<=', '>=', '->', ':=', '<<', '>>']);
// Sticky: each matches at lastIndex only (matchAt).
const STRING_START = /[rRbBuUfF]{0,2}('''|"""|'|")/y;
const NUMBER = /(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?)/y;
const NAME = /[A-Za-z_\u00c0-\uffff][\w\u00c0-\uffff]*/y;

const PREFIX_LETTERS = 'rRbBuUfF';

function matchAt(re: RegExp, text: string, i: number): RegExpExecArray | null {
  re.lastIndex = i;
  return re.exec(text);
}

/** A bounded, one-line excerpt of `text` from `pos`. */
export function excerpt(text: string, pos = 0, length = EXCERPT): string {
  const part = text.slice(pos, pos + length).replace(/\s+/g, ' ');
  return pos + length < text.length ? `${part}...` : part;
}

/** Splits `text` into tokens; newlines inside brackets, comments and backslash-newlines are dropped. */
export function tokenize(text: string, fail: (pos: number, msg: string) => never): Token[] {
  const tokens: Token[] = [];
  const brackets: string[] = [];
  let i = 0;
  let m: RegExpExecArray | null;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      if (brackets.length === 0 && tokens.length > 0 && tokens[tokens.length - 1].kind !== 'newline') tokens.push({ kind: 'newline', text: '\n', pos: i });
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f') i++;
    else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '\\' && (text[i + 1] === '\n' || (text[i + 1] === '\r' && text[i + 2] === '\n'))) {
      i += text[i + 1] === '\n' ? 2 : 3;
    } else if ((c === "'" || c === '"' || PREFIX_LETTERS.includes(c)) && (m = matchAt(STRING_START, text, i))) {
      const quote = m[1];
      const end = stringEnd(text, i + m[0].length, quote, fail, i);
      const body = text.slice(i + m[0].length, end - quote.length);
      tokens.push({ kind: 'string', text: text.slice(i, end), pos: i, value: /[rR]/.test(m[0].slice(0, -quote.length)) ? body : unescape(body) });
      i = end;
    } else if (((c >= '0' && c <= '9') || c === '.') && (m = matchAt(NUMBER, text, i))) {
      tokens.push({ kind: 'number', text: m[0], pos: i });
      i += m[0].length;
    } else if (((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_' || c >= '\u00c0') && (m = matchAt(NAME, text, i))) {
      tokens.push({ kind: 'name', text: m[0], pos: i });
      i += m[0].length;
    } else {
      const two = text.slice(i, i + 2);
      const op = TWO_CHAR_OPS.has(two) ? two : c;
      if (OPENERS[op]) brackets.push(OPENERS[op]);
      else if (CLOSERS.has(op)) {
        if (brackets.pop() !== op) fail(i, `'${op}' closes no bracket opened before it`);
      }
      tokens.push({ kind: 'op', text: op, pos: i });
      i += op.length;
    }
  }
  if (brackets.length) fail(text.length, `${brackets.length} bracket(s) never closed (expected '${brackets[brackets.length - 1]}')`);
  tokens.push({ kind: 'newline', text: '', pos: text.length }, { kind: 'eof', text: '', pos: text.length });
  return tokens;
}

/** The index just past a string's closing quote; `from` is just past its opening quote. */
function stringEnd(text: string, from: number, quote: string, fail: (pos: number, msg: string) => never, start: number): number {
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (text.startsWith(quote, i)) return i + quote.length;
    else if (c === '\n' && quote.length === 1) break;
    else i++;
  }
  return fail(start, `a string opened with ${quote} is never closed`);
}

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };

/** Python's escapes in a non-raw string (unknown ones keep their backslash, as Python does). */
function unescape(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|N\{[^}]{0,100}\}|[\s\S])/g, (all, e: string) => {
    const simple = ownValue(SIMPLE_ESCAPES, e);
    if (simple !== undefined) return simple;
    if (/^[xuU]/.test(e)) {
      const code = parseInt(e.slice(1), 16);
      return code <= 0x10ffff ? String.fromCodePoint(code) : all;
    }
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return all;
  });
}
