// A JSON object's text with some of its top-level members' values replaced (or added), every other
// byte as it was: a Python library's config.json keeps its floats' text (0.0, 1e-06), its escapes
// and its key order, which parsing it and writing it again in JavaScript would not.

const SPACE = new Set([' ', '\t', '\n', '\r']);

/** The index just past the string that opens at `i`. */
function stringEnd(text: string, i: number): number {
  for (let k = i + 1; k < text.length; k++) {
    if (text[k] === '\\') k++;
    else if (text[k] === '"') return k + 1;
  }
  return text.length;
}

/** The index just past the value that starts at `i`. */
function valueEnd(text: string, i: number): number {
  if (text[i] === '"') return stringEnd(text, i);
  if (text[i] !== '{' && text[i] !== '[') {
    let k = i;
    while (k < text.length && !SPACE.has(text[k]) && text[k] !== ',' && text[k] !== '}' && text[k] !== ']') k++;
    return k;
  }
  let depth = 0;
  for (let k = i; k < text.length; k++) {
    const c = text[k];
    if (c === '"') k = stringEnd(text, k) - 1;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return k + 1;
  }
  return text.length;
}

interface Members {
  /** Each key's value as the span [start, end) of the text (the last, where a key repeats, as JSON.parse takes it). */
  spans: Map<string, [number, number]>;
  /** The index of the object's closing brace. */
  close: number;
  /** The whitespace before the first key on its line ('  ' where there is none). */
  indent: string;
}

function members(text: string): Members {
  const spans = new Map<string, [number, number]>();
  let indent: string | undefined;
  const skip = (k: number): number => {
    while (SPACE.has(text[k])) k++;
    return k;
  };
  let i = skip(0) + 1; // past '{'
  for (;;) {
    i = skip(i);
    if (text[i] === '}') return { spans, close: i, indent: indent ?? '  ' };
    if (text[i] === ',') {
      i++;
      continue;
    }
    const keyEnd = stringEnd(text, i);
    if (indent === undefined) {
      const line = text.lastIndexOf('\n', i) + 1;
      indent = /^[ \t]*$/.test(text.slice(line, i)) ? text.slice(line, i) : '  ';
    }
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const start = skip(skip(keyEnd) + 1); // past ':'
    const end = valueEnd(text, start);
    spans.set(key, [start, end]);
    i = end;
  }
}

/**
 * The text of a JSON object (`what` names it in errors) with the top-level members of `values`
 * written as JSON.stringify(value, null, 2) at the object's indentation: in place where the key is
 * there, else added after the last member. Every other byte is the text's own.
 */
export function withJsonMembers(text: string, values: Readonly<Record<string, unknown>>, what: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: not valid JSON (${(e as Error).message.slice(0, 120)})`, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${what}: not a JSON object`);
  const { spans, close, indent } = members(text);
  const written = (v: unknown): string => JSON.stringify(v, null, 2).replace(/\n/g, `\n${indent}`);
  const edits: { start: number; end: number; text: string }[] = [];
  const added: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const span = spans.get(key);
    if (span) edits.push({ start: span[0], end: span[1], text: written(value) });
    else added.push(`${indent}${JSON.stringify(key)}: ${written(value)}`);
  }
  if (added.length) {
    let last = close - 1;
    while (SPACE.has(text[last])) last--;
    const empty = text[last] === '{';
    edits.push({ start: last + 1, end: last + 1, text: `${empty ? '' : ','}\n${added.join(',\n')}${empty ? '\n' : ''}` });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
