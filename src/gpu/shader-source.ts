// Loads WGSL sources by file name from the package's `dist/shaders/` folder (Node), where the
// build copies them from their kernel families' folders (scripts/shaders.mjs). The browser bundle
// replaces this module with src/browser/shader-source.ts, which has the same files built in.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandShader } from './shader-include.js';

let shaderDir: string | null = null;

/** The package's `dist/shaders/` folder, found by walking up from this compiled file. */
export function shadersDirectory(): string {
  if (shaderDir) return shaderDir;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'dist', 'shaders');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) {
      shaderDir = candidate;
      return candidate;
    }
    dir = dirname(dir);
  }
  throw new Error('deeplab: cannot find dist/shaders/ next to package.json (run `npm run build`)');
}

const sourceCache = new Map<string, string>();

export function loadShader(name: string): string {
  let source = sourceCache.get(name);
  if (source === undefined) {
    source = expandShader(name, (file) => readFileSync(join(shadersDirectory(), file), 'utf8'));
    sourceCache.set(name, source);
  }
  return source;
}
