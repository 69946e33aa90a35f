// WGSL sources with shared snippets: a line `//#include "name.wgsl"` is replaced by that file,
// each snippet inserted once. Specialisation (activation, fused add, workgroup size) uses WGSL
// `override` constants, not text substitution, so one source file serves every variant. Where
// a variant needs other WGSL text (an `enable` directive, extra builtins, another inner loop), a
// small file says `//#define NAME` and includes the shared source, whose `//#if NAME` ...
// `//#else` ... `//#endif` blocks then keep one copy of everything the variants share. Where
// the files come from is the caller's: dist/shaders/ on disk in Node, strings in the browser bundle.
// Straight-line code that some drivers need (SwiftShader keeps loops as loops and private arrays
// in memory) is written once with `//#repeat NAME COUNT` ... `//#end`: the lines between are
// repeated COUNT times (a number, or a module const of the kernel spec), `{NAME}` in them
// replaced by 0, 1, ... (see expandRepeats).

const INCLUDE = /^\/\/#include "([^"]+)"\s*$/gm;
const DIRECTIVE = /^\s*\/\/#(define|if|else|endif)\b\s*(\S*)\s*$/;

/** The source of shader `name` with its includes expanded and its conditional blocks resolved; `read` gives a file's text. */
export function expandShader(name: string, read: (file: string) => string): string {
  const included = new Set<string>();
  const expand = (file: string): string =>
    read(file).replace(INCLUDE, (_m, inc: string) => {
      if (included.has(inc)) return '';
      included.add(inc);
      return expand(inc);
    });
  return resolveConditionals(expand(name), name);
}

/** Keeps the `//#if` blocks whose name some `//#define` line (anywhere in the source) defines. */
function resolveConditionals(source: string, name: string): string {
  const lines = source.split('\n');
  const defined = new Set<string>();
  for (const line of lines) {
    const m = DIRECTIVE.exec(line);
    if (m?.[1] === 'define') defined.add(m[2]);
  }
  // One entry per open #if: whether its current branch is kept.
  const open: { keep: boolean; sawElse: boolean; line: number }[] = [];
  const out: string[] = [];
  lines.forEach((line, i) => {
    const m = DIRECTIVE.exec(line);
    const where = `${name} (expanded), line ${i + 1}`;
    if (!m || m[1] === 'define') {
      if (open.every((b) => b.keep)) out.push(line);
      return;
    }
    if (m[1] === 'if') {
      if (!m[2]) throw new Error(`shader ${where}: //#if needs a name`);
      open.push({ keep: defined.has(m[2]), sawElse: false, line: i + 1 });
      return;
    }
    const top = open[open.length - 1];
    if (!top) throw new Error(`shader ${where}: //#${m[1]} without //#if`);
    if (m[1] === 'else') {
      if (top.sawElse) throw new Error(`shader ${where}: a second //#else for the //#if of line ${top.line}`);
      top.keep = !top.keep;
      top.sawElse = true;
    } else {
      open.pop();
    }
  });
  if (open.length) throw new Error(`shader ${name}: the //#if of line ${open[open.length - 1].line} has no //#endif`);
  return out.join('\n');
}

const REPEAT = /^\s*\/\/#repeat\s+([A-Za-z_]\w*)\s+(\S+)\s*$/;
const END = /^\s*\/\/#end\s*$/;
/** At most this many lines a shader may expand to: a wrong count fails loudly, not slowly. */
const MAX_EXPANDED_LINES = 200_000;

const BRACED = /\{([A-Za-z0-9_ +*-]+)\}/g;
const TERM = /^\s*([A-Za-z_]\w*|\d+)\s*$/;

/**
 * `{expr}` in a repeated line, where expr is a sum of products of repeat indices, consts and
 * integers (`{r*SSH+kh}`) naming at least one index, becomes its value; other braces stay.
 */
function substitute(line: string, vars: Map<string, number>, consts: Record<string, number>): string {
  return line.replace(BRACED, (whole, expr: string) => {
    let usesIndex = false;
    const value = (term: string): number | undefined => {
      const m = TERM.exec(term);
      if (!m) return undefined;
      if (/^\d+$/.test(m[1])) return Number(m[1]);
      if (vars.has(m[1])) {
        usesIndex = true;
        return vars.get(m[1]);
      }
      return consts[m[1]];
    };
    let sum = 0;
    for (const signed of expr.replace(/-/g, '+-').split('+')) {
      const negative = signed.trim().startsWith('-');
      let product = 1;
      for (const factor of signed.replace('-', '').split('*')) {
        const v = value(factor);
        if (v === undefined) return whole;
        product *= v;
      }
      sum += negative ? -product : product;
    }
    return usesIndex ? String(sum) : whole;
  });
}

/**
 * Expands `//#repeat NAME COUNT` ... `//#end` blocks (nested ones too): COUNT is a non-negative
 * integer or a name in `consts` (the kernel spec's module constants, which also key the module);
 * `{NAME}` in the block's lines becomes the repetition's index, and `{expr}` the value of a sum
 * of products of indices, consts and integers (`{r*SSH+kh}`). `name` is for error messages.
 */
export function expandRepeats(source: string, consts: Record<string, number> = {}, name = 'shader'): string {
  const lines = source.split('\n');
  let produced = 0;
  // Expands lines[from, to) with the given variable bindings; returns the output lines.
  const expand = (from: number, to: number, vars: Map<string, number>): string[] => {
    const out: string[] = [];
    for (let i = from; i < to; i++) {
      const m = REPEAT.exec(lines[i]);
      if (!m) {
        if (END.test(lines[i])) throw new Error(`${name}, line ${i + 1}: //#end without //#repeat`);
        out.push(vars.size ? substitute(lines[i], vars, consts) : lines[i]);
        if (++produced > MAX_EXPANDED_LINES) throw new Error(`${name}: //#repeat expands past ${MAX_EXPANDED_LINES} lines`);
        continue;
      }
      const [, variable, countText] = m;
      const count = /^\d+$/.test(countText) ? Number(countText) : consts[countText];
      if (count === undefined || !Number.isInteger(count) || count < 0) {
        throw new Error(`${name}, line ${i + 1}: //#repeat ${variable} ${countText}: the count must be a non-negative integer or a const of the kernel`);
      }
      if (vars.has(variable)) throw new Error(`${name}, line ${i + 1}: //#repeat ${variable} inside a //#repeat of the same name`);
      // The matching //#end, counting nested repeats.
      let depth = 1;
      let j = i + 1;
      for (; j < to && depth > 0; j++) {
        if (REPEAT.test(lines[j])) depth++;
        else if (END.test(lines[j]) && --depth === 0) break;
      }
      if (depth !== 0) throw new Error(`${name}, line ${i + 1}: //#repeat ${variable} has no //#end`);
      for (let k = 0; k < count; k++) out.push(...expand(i + 1, j, new Map([...vars, [variable, k]])));
      i = j;
    }
    return out;
  };
  return expand(0, lines.length, new Map()).join('\n');
}
