// The WGSL sources: each lives beside the TypeScript of its kernel family (src/kernels/<family>/,
// and src/gpu/ for the overlay), and is loaded by its file name, so names are unique across the
// tree. `node scripts/shaders.mjs` copies them into dist/shaders/ (what Node's loader reads and
// the package ships); the browser build embeds the same set.
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every .wgsl file under src/, by file name; a name used twice is an error naming both places. */
export function collectShaders() {
  const found = new Map();
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.wgsl')) {
        if (found.has(name)) throw new Error(`shaders: ${name} is in both ${relative(root, found.get(name))} and ${relative(root, path)}; shader names must be unique`);
        found.set(name, path);
      }
    }
  };
  walk(join(root, 'src'));
  return found;
}

/** Copies the shaders into dist/shaders/ (emptied first, so a removed shader does not linger). */
export function copyShaders() {
  const out = join(root, 'dist', 'shaders');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const shaders = collectShaders();
  for (const [name, path] of shaders) copyFileSync(path, join(out, name));
  return shaders.size;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) copyShaders();
