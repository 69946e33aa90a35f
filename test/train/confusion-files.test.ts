// A training run's confusion files (no GPU): the JSON read back, the heat map's size, and the
// temporary files of a write killed part-way removed like those of the checkpoints.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { confusionLayout } from '../../src/eval/confusion-png.js';
import { ConfusionMatrix } from '../../src/eval/metrics.js';
import { type ConfusionFile, writeConfusionFiles } from '../../src/train/confusion-files.js';
import { removeStrayTempFiles } from '../../src/train/temp-files.js';
import { expectThrows } from '../helpers.js';

describe('training: the confusion files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-confusion-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes <name>.json (the step and raw counts, rows = ground truth) and <name>.png, and nothing else', () => {
    const m = new ConfusionMatrix(3, 11);
    m.add([0, 0, 1, 2, 2, 1], [0, 1, 1, 2, 11, 11]);
    writeConfusionFiles(dir, 'confusion', 40, m, ['Sky', 'Road', 'Car']);
    expect(readdirSync(dir).sort()).to.deep.equal(['confusion.json', 'confusion.png']);
    const doc = JSON.parse(readFileSync(join(dir, 'confusion.json'), 'utf8')) as ConfusionFile;
    expect(doc).to.deep.equal({
      step: 40,
      classes: ['Sky', 'Road', 'Car'],
      rows: 'ground truth',
      columns: 'prediction',
      ignoreIndex: 11,
      counts: [
        [1, 0, 0],
        [1, 1, 0],
        [0, 0, 1],
      ],
    });
    expect(readFileSync(join(dir, 'confusion.json'), 'utf8')).to.contain('\n    [1, 1, 0],\n'); // a row per line
    const png = PNG.sync.read(readFileSync(join(dir, 'confusion.png')));
    const layout = confusionLayout(['Sky', 'Road', 'Car'], 'CONFUSION MATRIX AT STEP 40');
    expect([png.width, png.height]).to.deep.equal([layout.width, layout.height]);
  });

  it('a folder that cannot be written is an error naming the step and the file', () => {
    const m = new ConfusionMatrix(2);
    const missing = join(dir, 'gone');
    expectThrows(() => writeConfusionFiles(missing, 'confusion', 7, m, ['a', 'b']), new RegExp(`^step 7: could not write the confusion matrix \\(cannot write ${missing}/confusion\\.json: ENOENT`));
  });

  it("a later run in the folder removes the confusion files' temporary files left by a killed writer", () => {
    const deadPid = 2 ** 30; // above Linux's pid_max
    const strays = ['.confusion.json', '.confusion.png', '.confusion-best.json', '.confusion-best.png'].map((n) => `${n}.${deadPid}.abc123.tmp`);
    for (const f of [...strays, 'confusion.json', '.confusion.png.notatemp']) writeFileSync(join(dir, f), 'x');
    expect(removeStrayTempFiles(dir).sort()).to.deep.equal(strays.sort());
    expect(readdirSync(dir).sort()).to.deep.equal(['.confusion.png.notatemp', 'confusion.json']);
  });
});
