// WGSL sources with shared snippets: a line `//#include "name.wgsl"` is replaced by that file,
// each snippet inserted once. Specialisation (activation, fused add, workgroup size) uses WGSL
// `override` constants, not text substitution, so one source file serves every variant. Where
// a variant needs other WGSL text (an `enable` directive, extra builtins, another inner loop), a
// small file says `//#define NAME` and includes the shared source, whose `//#if NAME` ...
// `//#else` ... `//#endif` blocks then keep one copy of everything the variants share. Where
// the files come from is the caller's: dist/shaders/ on disk in Node, strings in the browser bundle.

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
