// Fine-tuning end to end on a few CamVid images (tiny crops, a few steps: lavapipe is slow):
// the log and checkpoints, resuming with the same losses as a run never stopped, a loss that
// falls when a batch is repeated, and bad labels named by file.
import { expect } from 'chai';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { openDataset } from '../../src/data/dataset.js';
import { TrainLoader } from '../../src/data/loader.js';
import { confusionLayout } from '../../src/eval/confusion-png.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { loadModel } from '../../src/model/model.js';
import { adaptWeights } from '../../src/train/adapt.js';
import type { ConfusionFile } from '../../src/train/confusion-files.js';
import { type RunOptions, runTraining } from '../../src/train/run.js';
import { Trainer } from '../../src/train/trainer.js';
import { runCli } from '../cli/run-cli.js';
import { expectRejects, testContext } from '../helpers.js';
import { CAMVID, readRunLog as readLog, smallCamvid } from './small-camvid.js';

describe('training: a fine-tuning run', function () {
  this.timeout(600_000);
  let dir: string;
  let data: string;
  const options = (out: string): RunOptions => ({ data, out, model: 'mobilenetv2-pascal-257', steps: 4, batch: 2, crop: 33, lr: 0.002, evalLimit: 1, seed: 5 });
  let a: string;
  let whole: Awaited<ReturnType<typeof runTraining>>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-train-'));
    data = smallCamvid(dir, 3);
    a = join(dir, 'a');
    whole = await runTraining(options(a));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the log, latest and best checkpoints and the curves; a resumed run repeats the losses of one never stopped', async () => {
    expect(whole.steps).to.equal(4);
    const logA = readLog(a);
    expect(logA.map((r) => r.step)).to.deep.equal([1, 2, 3, 4]);
    expect(logA.every((r) => Number.isFinite(r.loss) && r.lr > 0)).to.equal(true);
    expect(logA[3].valMIoU, 'validated after the last step').to.be.a('number');
    for (const f of ['latest.safetensors', 'best.safetensors', 'loss.png', 'val.png']) expect(existsSync(join(a, f)), f).to.equal(true);
    expectDiagnostics(a, 4);

    const b = join(dir, 'b');
    let steps = 0;
    const stopped = await runTraining(options(b), { shouldStop: () => ++steps >= 2 });
    expect(stopped.interrupted).to.equal(true);
    expect(readLog(b).map((r) => r.step)).to.deep.equal([1, 2]);
    await runTraining({ ...options(b), resume: true });
    const logB = readLog(b);
    expect(logB.map((r) => r.step)).to.deep.equal([1, 2, 3, 4]);
    expect(logB.map((r) => r.loss)).to.deep.equal(logA.map((r) => r.loss));
    expectDiagnostics(b, 4);
  });

  /** The validation after `step`: per-class IoU in the log, the confusion files, and the one following from the other. */
  function expectDiagnostics(out: string, step: number): void {
    const names = JSON.parse(readFileSync(join(CAMVID, 'classes.json'), 'utf8')).names as string[];
    const log = readLog(out);
    expect(log.filter((r) => r.valPerClassIoU).map((r) => r.step), 'per-class IoU where validation ran').to.deep.equal([step]);
    const record = log.find((r) => r.step === step)!;
    const perClass = record.valPerClassIoU!;
    expect(Object.keys(perClass)).to.deep.equal(names);
    const doc = JSON.parse(readFileSync(join(out, 'confusion.json'), 'utf8')) as ConfusionFile;
    expect([doc.step, doc.classes, doc.rows, doc.columns, doc.ignoreIndex]).to.deep.equal([step, names, 'ground truth', 'prediction', 11]);
    // --eval-limit 1: the rows hold the first val image's labelled pixels.
    const val = openDataset(data, 'val');
    const label = val.readLabel(val.items[0].labelPath).indices;
    expect(doc.counts.flat().reduce((x, y) => x + y, 0)).to.equal(label.filter((v) => v !== 11).length);
    // Each logged IoU (percent; null: in neither ground truth nor prediction) from the matrix's counts.
    names.forEach((name, c) => {
      const union = doc.counts[c].reduce((x, y) => x + y, 0) + doc.counts.reduce((x, row) => x + row[c], 0) - doc.counts[c][c];
      if (union === 0) expect(perClass[name], name).to.equal(null);
      else expect(perClass[name], name).to.be.closeTo((100 * doc.counts[c][c]) / union, 1e-9);
    });
    const mean = Object.values(perClass).reduce((x: number, v) => x + (v ?? 0), 0) / names.length;
    expect(record.valMIoU).to.be.closeTo(mean, 1e-9);
    const png = PNG.sync.read(readFileSync(join(out, 'confusion.png')));
    const layout = confusionLayout(names, `CONFUSION MATRIX AT STEP ${step}`);
    expect([png.width, png.height]).to.deep.equal([layout.width, layout.height]);
    // One validation: it is the best one too.
    expect(JSON.parse(readFileSync(join(out, 'confusion-best.json'), 'utf8'))).to.deep.equal(doc);
    expect(readFileSync(join(out, 'confusion-best.png')).equals(readFileSync(join(out, 'confusion.png')))).to.equal(true);
  }

  it("the checkpoints load in segment, with the data set's classes", async () => {
    const model = await loadModel(join(a, 'latest.safetensors'), { ctx: await testContext() });
    try {
      expect(model.classNames).to.deep.equal(JSON.parse(readFileSync(join(CAMVID, 'classes.json'), 'utf8')).names);
      const r = await model.segment(join(data, 'images', 'val', readdirSync(join(data, 'images', 'val'))[0]));
      expect([r.width, r.height]).to.deep.equal([480, 360]);
      expect(r.classes.reduce((m, c) => Math.max(m, c), 0)).to.be.lessThan(11);
    } finally {
      model.dispose();
    }
  });

  it("deeplab eval --data scores a checkpoint on the folders layout with the data set's classes and ignore index", async () => {
    const r = await runCli(['eval', '--data', data, '--split', 'val', '--model', join(a, 'best.safetensors'), '--limit', '1']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('split val (1 of 3 images)');
    // Each class row: its IoU and its Dice, or '-' where the class is in neither.
    expect(r.stdout).to.match(/^Sky\s+(\d+\.\d\d|-)\s+(\d+\.\d\d|-)$/m);
    expect(r.stdout).to.match(/^Bicyclist\s+(\d+\.\d\d|-)\s+(\d+\.\d\d|-)$/m);
  });

  it('deeplab train runs to the end in its own process, with samples made on a worker thread', async () => {
    // Only the workers' pending samples keep such a process alive between GPU steps.
    const out = join(dir, 'cli');
    const r = await runCli(['train', '--data', data, '--model', 'mobilenetv2-pascal-257', '--out', out, '--steps', '3', '--batch', '2', '--crop', '33', '--eval-limit', '1', '--seed', '2', '--workers', '1']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^trained 3 steps in \d+ s, best validation mIoU \d+\.\d\d; /m);
    expect(readLog(out).map((l) => l.step)).to.deep.equal([1, 2, 3]);
    expect(readLog(out)[0].lr, 'the default learning rate at batch 2 with no warm-up for 3 steps').to.be.closeTo(0.005 / 16, 1e-12);
  });

  it('--hard-pixels takes the loss over the hardest pixels only (a larger first loss on the same batch); a bad percentage and an unknown class to repeat are refused', async () => {
    const first = async (hardPixels?: number): Promise<number> => {
      const out = join(dir, `hard-${hardPixels ?? 'all'}`);
      await runTraining({ ...options(out), steps: 1, hardPixels, workers: 0 });
      return readLog(out)[0].loss;
    };
    const [all, hard] = [await first(), await first(0.25)];
    console.log(`      (first loss: all pixels ${all.toFixed(3)}, hardest 25 % ${hard.toFixed(3)})`);
    expect(hard).to.be.greaterThan(all + 0.05); // with a fresh classifier the losses are close to ln 11 everywhere
    await expectRejects(runTraining({ ...options(join(dir, 'nope')), steps: 1, repeatClasses: ['Bicyclist', 'Unicorn'] }), /bootstrapping: no class 'Unicorn' \(classes: Sky, Building, /);
    const r = await runCli(['train', '--data', data, '--out', join(dir, 'bad'), '--hard-pixels', '0']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/--hard-pixels must be a percentage in \(0, 100\], got '0'/);
  });

  it("--loss: CE + Dice adds the Dice loss to the first step's cross-entropy; a loss not offered, and BCE on a model of several classes, are refused", async () => {
    const first = async (loss?: RunOptions['loss']): Promise<number> => {
      const out = join(dir, `loss-${loss ?? 'ce'}`);
      await runTraining({ ...options(out), steps: 1, loss, workers: 0 });
      return readLog(out)[0].loss;
    };
    const [ce, both] = [await first(), await first('ce+dice')];
    console.log(`      (first loss: cross-entropy ${ce.toFixed(3)}, + Dice ${both.toFixed(3)})`);
    // Dice is 1 - a mean soft overlap: in (0, 1) with a fresh classifier.
    expect(both - ce).to.be.within(0.05, 1);
    await expectRejects(runTraining({ ...options(join(dir, 'nope')), steps: 1, loss: 'bce' }), /loss 'bce': BCE is a binary model's loss/);
    await expectRejects(runTraining({ ...options(join(dir, 'nope')), steps: 1, loss: 'focal' as never }), /runTraining: loss must be one of ce, bce, dice, ce\+dice, bce\+dice, got "focal"/);
    const r = await runCli(['train', '--data', data, '--out', join(dir, 'bad'), '--loss', 'lovasz']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/--loss must be one of ce, bce, dice, ce\+dice, bce\+dice, got 'lovasz'/);
  });

  it('the loss falls when one batch is trained on repeatedly', async () => {
    const train = openDataset(data, 'train');
    const weights = adaptWeights(await loadWeights('mobilenetv2-pascal-257'), { classes: train.classes, outputStride: 16, seed: 1 }).weights;
    const loader = new TrainLoader(train, { batch: 2, crop: 49, seed: 3, normalization: 'minus_one_one', workers: 0 });
    const batch = await loader.batch(0);
    const trainer = await Trainer.create(await testContext(), weights, { batch: 2, crop: 49, baseLr: 0.002, steps: 30, ignoreIndex: train.ignoreIndex });
    try {
      const losses: number[] = [];
      for (let s = 0; s < 30; s++) losses.push((await trainer.train([batch])).loss);
      console.log(`      (loss ${losses[0].toFixed(3)} -> ${losses[29].toFixed(3)})`);
      expect(losses[29]).to.be.lessThan(0.6 * losses[0]);
    } finally {
      trainer.dispose();
    }
  });

  it('a label value that is neither a class nor the ignore index is an error naming the file', async () => {
    const bad = join(dir, 'bad');
    cpSync(data, bad, { recursive: true });
    const labelDir = join(bad, 'labels', 'train');
    const file = readdirSync(labelDir).sort()[0];
    const png = PNG.sync.read(readFileSync(join(labelDir, file)));
    const grey = new PNG({ width: png.width, height: png.height, colorType: 0, inputColorType: 0 });
    for (let i = 0; i < png.width * png.height; i++) grey.data[i] = png.data[4 * i];
    grey.data[17] = 42;
    writeFileSync(join(labelDir, file), PNG.sync.write(grey, { colorType: 0, inputColorType: 0 }));
    const err = await expectRejects(
      runTraining({ ...options(join(dir, 'bad-out')), data: bad, steps: 2 }),
      /label values 42 \(1 pixels\) are neither a class \(0\.\.10\) nor the ignore index 11/,
      'a bad label',
    );
    expect(err.message).to.include(file);
  });
});
