// fineTune's checkpoints in Node (src/train/fine-tune-checkpoint.ts): a run kept in a folder every
// 2 steps and stopped after step 3 resumes from the folder with the losses and the tuned logits of
// a run never stopped, bit for bit; the folder is a `deeplab train` run folder, so runTraining
// (`deeplab train --resume`) continues a fine-tune's run and fineTune continues a deeplab train
// run; a store with no checkpoint, or one of other classes, is refused by name. The network is the
// page tests' small one (tiny-checkpoint.ts), so each step costs little.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RgbImage } from '../../src/io/rgb-image.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { type FineTuneOptions, type TeachSample, UNLABELLED, fineTune } from '../../src/train/fine-tune.js';
import { lastCheckpoint } from '../../src/train/fine-tune-checkpoint.js';
import { runTraining } from '../../src/train/run.js';
import { TINY_SIZE, TINY_WEIGHTS, writeTinyCheckpoint } from '../browser/tiny-checkpoint.js';
import { expectRejects, randomRgbImage, testContext } from '../helpers.js';
import { VOC_SAMPLE } from './teach-fixture.js';

const SIDE = 24;
const STEPS = 6;
/** The settings of every run here: batch norms training, so their statistics are state a resume must restore too. */
const SETTINGS = { recipe: 'plain', steps: STEPS, crop: TINY_SIZE, batch: 2, lr: 0.001, seed: 3, freezeBn: false } satisfies Partial<FineTuneOptions>;

describe('train: fineTune keeping its run in a folder and resuming it', function () {
  this.timeout(300_000);
  let dir: string;
  let model: DeepLabModel;
  let sample: TeachSample;
  let image: RgbImage;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-finetune-checkpoint-'));
    writeTinyCheckpoint(join(dir, TINY_WEIGHTS));
    model = await loadModel(join(dir, TINY_WEIGHTS), { ctx: await testContext() });
    image = randomRgbImage(SIDE, SIDE, 7);
    // Two classes in bands, every third row unlabelled.
    sample = { image, labels: Uint8Array.from({ length: SIDE * SIDE }, (_, p) => (Math.floor(p / SIDE) % 3 === 2 ? UNLABELLED : p % SIDE < SIDE / 2 ? 0 : 15)) };
  });

  after(() => {
    model?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fine-tune's losses and its model's logits on the sample's image. */
  async function run(o: Partial<FineTuneOptions>): Promise<{ losses: number[]; logits: Float32Array }> {
    const losses: number[] = [];
    const tuned = await fineTune(model, [sample], { ...SETTINGS, ...o, onStep: (r) => void losses.push(r.loss) });
    try {
      return { losses, logits: (await tuned.segment(image, { include: ['logits'] })).logits! };
    } finally {
      tuned.dispose();
    }
  }

  it('stopped after step 3 and resumed: the losses and the tuned logits of a run never stopped, bit for bit; the folder holds the whole run', async () => {
    const store = join(dir, 'run');
    const whole = await run({});
    // The run moved the weights. (Not that the last loss is below the first: the weights are the
    // run seed's draw and each step a crop of its own, so that would hold by chance.)
    const untaught = (await model.segment(image, { include: ['logits'] })).logits!;
    expect([...whole.logits], 'the taught logits against the untaught').to.not.deep.equal([...untaught]);
    const first = await run({ checkpoint: { store, every: 2 }, shouldStop: () => true });
    // shouldStop is polled after the first step: this run stops there.
    expect(first.losses).to.have.length(1);
    let kept = await lastCheckpoint(store);
    expect(kept?.step, 'the checkpoint of the stop').to.equal(1);
    // Two more steps, then a stop after step 3 (the checkpoint of step 2 is kept on the way).
    let n = 0;
    const second = await run({ checkpoint: { store, every: 2 }, resume: store, shouldStop: () => ++n === 2 });
    expect(second.losses).to.deep.equal(whole.losses.slice(1, 3));
    kept = await lastCheckpoint(store);
    expect(kept).to.include({ step: 3, steps: STEPS, name: 'tiny-random', base: 'tiny-random', where: store });
    expect(kept!.log.map((r) => r.loss), 'the log of steps 1-3').to.deep.equal(whole.losses.slice(0, 3));
    expect(kept!.options).to.include({ seed: 3, crop: TINY_SIZE, batch: 2, lr: SETTINGS.lr });
    const rest = await run({ checkpoint: { store, every: 2 }, resume: store });
    expect(rest.losses, 'steps 4-6').to.deep.equal(whole.losses.slice(3));
    expect([...rest.logits], "the tuned model's logits").to.deep.equal([...whole.logits]);
    kept = await lastCheckpoint(store);
    expect(kept?.step, 'the checkpoint of the last step').to.equal(STEPS);
    expect(kept!.log.map((r) => r.loss)).to.deep.equal(whole.losses);
    // The kept weights load as any checkpoint does, to the tuned model.
    const loaded = await loadModel(join(store, 'latest.safetensors'), { ctx: model.ctx });
    try {
      expect([...(await loaded.segment(image, { include: ['logits'] })).logits!]).to.deep.equal([...whole.logits]);
    } finally {
      loaded.dispose();
    }
  });

  it('a log line past the checkpoint (a crash between the two writes) is dropped and written again on resume', async () => {
    const store = join(dir, 'torn');
    let n = 0;
    const first = await run({ checkpoint: { store, every: 10 }, shouldStop: () => ++n === 2 });
    const log = readFileSync(join(store, 'log.jsonl'), 'utf8');
    writeFileSync(join(store, 'log.jsonl'), log + JSON.stringify({ step: 3, loss: 99, lr: 0, imagesPerSecond: 0 }) + '\n');
    expect((await lastCheckpoint(store))!.log.map((r) => r.step)).to.deep.equal([1, 2]);
    const rest = await run({ checkpoint: { store, every: 10 }, resume: store });
    expect([...first.losses, ...rest.losses]).to.have.length(STEPS);
    expect((await lastCheckpoint(store))!.log.map((r) => r.loss)).to.deep.equal([...first.losses, ...rest.losses]);
  });

  it("deeplab train's run folder and a fine-tune's checkpoint folder continue each other", async () => {
    // runTraining is `deeplab train`: 2 steps on the VOC sample's one training image.
    const out = join(dir, 'cli-run');
    const runOptions = { data: VOC_SAMPLE, model: join(dir, TINY_WEIGHTS), out, steps: 2, batch: 1, crop: TINY_SIZE, lr: 0.001, evalLimit: 1, workers: 0, seed: 1 };
    await runTraining(runOptions);
    const cli = await lastCheckpoint(out);
    expect(cli).to.include({ step: 2, steps: 2, base: null, options: null });
    expect(cli!.log.map((r) => r.step)).to.deep.equal([1, 2]);
    // fineTune continues it to step 4 on the sample (the run's classes are the data set's: VOC's 21).
    const more = await run({ steps: 4, resume: out, checkpoint: { store: out } });
    expect(more.losses).to.have.length(2);
    expect((await lastCheckpoint(out))!.log.map((r) => r.step)).to.deep.equal([1, 2, 3, 4]);
    // And deeplab train --resume continues a fine-tune's folder.
    const store = join(dir, 'fine-tuned');
    await run({ steps: 2, checkpoint: { store } });
    const summary = await runTraining({ ...runOptions, out: store, steps: 3, resume: true });
    expect(summary.steps).to.equal(3);
    expect(existsSync(join(store, 'best.safetensors')), 'validated at its last step').to.equal(true);
    expect((await lastCheckpoint(store))!.log.map((r) => r.step)).to.deep.equal([1, 2, 3]);
  });

  it('refuses a store with no checkpoint, a missing one and one of other classes, by name', async () => {
    const nowhere = join(dir, 'nowhere');
    await expectRejects(run({ resume: nowhere }), `fineTune: resume: no folder ${nowhere}`);
    const sixteen = Array.from({ length: 16 }, (_, c) => `class ${c}`);
    const other = join(dir, 'other-classes');
    await run({ steps: 1, checkpoint: { store: other }, classes: sixteen });
    await expectRejects(run({ resume: other, classes: ['a', 'b', 'c'] }), `fineTune: resume: ${other} holds a model of the classes ${sixteen.join(', ')}, not a, b, c`);
    const empty = join(dir, 'empty');
    await run({ steps: 1, checkpoint: { store: empty } });
    rmSync(join(empty, 'latest.safetensors'));
    await expectRejects(run({ resume: empty }), `fineTune: resume: ${empty} holds no checkpoint to resume from`);
    await expectRejects(run({ checkpoint: { store: empty, every: 0 } }), 'fineTune: checkpoint.every must be a positive whole number of steps, got 0');
  });
});
