// Loads WGSL sources from the package's `shaders/` folder.
//
// A source may pull in shared snippets with a line `//#include "name.wgsl"`; each snippet is
// inserted once. Specialisation (activation, fused add, workgroup size) is expressed with
// WGSL `override` constants, not text substitution, so one source file serves every variant.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let shaderDir: string | null = null;

/** The `shaders/` folder of this package, found by walking up from this compiled file. */
export function shadersDirectory(): string {
  if (shaderDir) return shaderDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'shaders');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) {
      shaderDir = candidate;
      return candidate;
    }
    dir = dirname(dir);
  }
  throw new Error('deeplab: cannot find the shaders/ folder next to package.json');
}

const sourceCache = new Map<string, string>();

export function loadShader(name: string): string {
  const cached = sourceCache.get(name);
  if (cached !== undefined) return cached;
  const included = new Set<string>();
  const expand = (file: string): string => {
    const text = readFileSync(join(shadersDirectory(), file), 'utf8');
    return text.replace(/^\/\/#include "([^"]+)"\s*$/gm, (_m, inc: string) => {
      if (included.has(inc)) return '';
      included.add(inc);
      return expand(inc);
    });
  };
  const source = expand(name);
  sourceCache.set(name, source);
  return source;
}
