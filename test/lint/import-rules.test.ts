// The import rules npm test checks (.dependency-cruiser.cjs, npm run lint:imports): layers look
// down only, the networks ask no backbone record, and no module imports itself in a circle.
// Checked here on a small tree that breaks them, so a rule that stopped catching them fails a
// test. That src keeps them is `npm run lint:imports`, which npm test and test:quick run before
// any test file.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const DEPCRUISE = resolve('node_modules/.bin/depcruise');
const CONFIG = resolve('.dependency-cruiser.cjs');

/** depcruise's report on `src` under `cwd` (with this project's rules), and whether it passed. */
function cruise(cwd: string): { ok: boolean; report: string } {
  try {
    const report = execFileSync(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'err'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { ok: true, report };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, report: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('lint: the import rules', function () {
  this.timeout(120_000);

  it('an upward import, a network asking a record and a circle are refused, each named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deeplab-imports-'));
    const file = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    try {
      file('tsconfig.json', '{ "compilerOptions": { "module": "NodeNext", "moduleResolution": "NodeNext" } }');
      file('src/gpu/device.ts', "import { conv } from '../kernels/conv.js';\nexport const device = conv;\n");
      file('src/kernels/conv.ts', 'export const conv = 1;\n');
      file('src/model/a.ts', "import { b } from './b.js';\nexport const a = b;\n");
      file('src/model/b.ts', "import { a } from './a.js';\nexport const b = () => a;\n");
      file('src/model/networks/net.ts', "import { record } from '../backbones/record.js';\nexport const net = record;\n");
      file('src/model/backbones/record.ts', 'export const record = 1;\n');
      const { ok, report } = cruise(dir);
      expect(ok).to.equal(false);
      expect(report).to.match(/no-upward-from-gpu[\s\S]*src\/gpu\/device\.ts → src\/kernels\/conv\.ts/);
      expect(report).to.match(/no-circular[\s\S]*src\/model\/a\.ts/);
      expect(report).to.match(/networks-below-backbones[\s\S]*src\/model\/networks\/net\.ts → src\/model\/backbones\/record\.ts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
