// The unused-code check npm test runs on the project (scripts/unused-code.mjs, npm run lint:unused):
// dead exports, unused imports and locals, and comments citing files that do not exist. Checked
// here on a small tree that has one of each, so a check that stopped finding them fails a test.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const CHECK = resolve('scripts/unused-code.mjs');

/** The check's report on the project at `root`, and whether it passed. */
function check(root: string): { ok: boolean; report: string } {
  try {
    return { ok: true, report: execFileSync(process.execPath, [CHECK, root], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, report: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('lint: unused code', function () {
  this.timeout(120_000);

  it('finds a dead export, an unused import and a stale citation, each named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deeplab-unused-'));
    const file = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    try {
      file('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src/**/*.ts', 'test/**/*.ts'] }));
      file('src/index.ts', "export { used } from './util/a.js';\n");
      file('src/util/a.ts', "import { helper } from './b.js';\nexport const used = 1;\nexport function dead(): number {\n  return 2;\n}\n");
      file('src/util/b.ts', '// Kept in step with src/util/gone.ts and gone_kernel.wgsl.\nexport const helper = 3;\nexport const forTests = 4;\n');
      file('test/b.test.ts', "import { forTests } from '../src/util/b.js';\nconsole.log(forTests);\n");
      const { ok, report } = check(dir);
      expect(ok, report).to.equal(false);
      expect(report).to.include('src/util/a.ts:3: export dead is used nowhere');
      expect(report).to.match(/src\/util\/a\.ts:1: 'helper' is declared but its value is never read/);
      expect(report).to.include('src/util/b.ts:1: cites src/util/gone.ts, which does not exist');
      expect(report).to.include('src/util/b.ts:1: cites gone_kernel.wgsl, which does not exist');
      expect(report, 'an export only a test uses is used').not.to.include('forTests');
      expect(report, 'the entry point re-exports it').not.to.include('export used');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
