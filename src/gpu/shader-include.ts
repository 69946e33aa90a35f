// WGSL sources with shared snippets: a line `//#include "name.wgsl"` is replaced by that file,
// each snippet inserted once. Specialisation (activation, fused add, workgroup size) uses WGSL
// `override` constants, not text substitution, so one source file serves every variant. Where
// the files come from is the caller's: shaders/ on disk in Node, strings in the browser bundle.

/** The source of shader `name` with its includes expanded; `read` gives a file's text. */
export function expandShader(name: string, read: (file: string) => string): string {
  const included = new Set<string>();
  const expand = (file: string): string =>
    read(file).replace(/^\/\/#include "([^"]+)"\s*$/gm, (_m, inc: string) => {
      if (included.has(inc)) return '';
      included.add(inc);
      return expand(inc);
    });
  return expand(name);
}
