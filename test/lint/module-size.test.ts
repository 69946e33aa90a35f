// Small modules with one job: every source module of the library, the benchmarks, the scripts and
// the demo page within 350 lines, and the README, the project's front door, within 220 (its depth
// lives in docs/). Test files are lists of cases and are left out.
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'); // dist/test/lint -> root
const MODULE_LINES = 350;
const README_LINES = 220;
const FOLDERS = ['src', 'bench', 'scripts', 'demo'];

/** The source modules under `dir`: TypeScript and JavaScript files. */
function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modules(path);
    return /\.(ts|mts|js|mjs|cjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const lines = (path: string): number => readFileSync(path, 'utf8').split('\n').length - 1;

describe('lint: module size', () => {
  it(`every module of ${FOLDERS.join(', ')} is within ${MODULE_LINES} lines`, () => {
    const files = FOLDERS.flatMap((f) => modules(join(ROOT, f)));
    expect(files.length, 'modules found').to.be.greaterThan(300);
    const long = files.filter((f) => lines(f) > MODULE_LINES).map((f) => `${relative(ROOT, f)} (${lines(f)} lines)`);
    expect(long, `modules over ${MODULE_LINES} lines: split them by job`).to.deep.equal([]);
  });

  it(`the README is within ${README_LINES} lines`, () => {
    expect(lines(join(ROOT, 'README.md')), 'README.md: move depth to docs/').to.be.at.most(README_LINES);
  });
});
