// fineTune on the CPU device (ONNX Runtime) against the same call on WebGPU, as a user makes it:
// each family of the suite's fixtures loaded on both devices and taught the same window of the
// VOC photo; every step's loss agrees within 1e-4 (relative) and the taught models label the photo
// alike (recipe 'plain': the engine's training as deeplab train runs it). A run kept on one device
// resumes on the other with the losses of one never stopped, and the recipe for strokes
// (distillation, held-out strokes measured whole by a second run on the parameters, the best step
// kept) gives the same losses and keeps the same step.
//
// The shapes are the smallest that still train each family's whole network (batch 1, crops of 25
// and 32): the default model and SegFormer, cheap, for 20 steps; the ResNets (12-40 M weights,
// 0.6-1.6 s a step on lavapipe) for 5, ResNet-50 for 3; the taught models segment at a small size
// of their own (shortSide, testScale). At batch 2, 20 steps each and the ResNets' own test scales,
// the file took 745 s on the 2-core EPYC host.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RgbImage } from '../../src/io/rgb-image.js';
import type { LoadOptions } from '../../src/model/loading/options.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { type FineTuneOptions, type TeachSample, fineTune } from '../../src/train/fine-tune.js';
import type { FineTuneReport } from '../../src/train/fine-tune-loop.js';
import { classAgreement, relativeError, testContext } from '../helpers.js';
import { type Saved, savedTensor, torchSaveZip } from '../import/torch-save.js';
import { NUM_BATCHES_TRACKED, prngStateDict, readManifest } from '../model/mmseg-prng.js';
import { writeSmpFolder } from '../model/smp-fixture.js';
import { sharedPath } from '../shared.js';
import { cropImage, cropLabels, teachWindow } from './teach-fixture.js';

/**
 * A source of weights (a registry name, or a path made in `dir` where the suite writes it), the
 * load options that keep its segment() small, and the run taught: a rate at which its losses are
 * well-conditioned. Where a run is not (the default model at lr 1e-4 on this window: its first
 * losses of 6 and 7 make steps so large that the same device, started from weights 1e-7 apart,
 * ends 3e-2 apart in 10 steps), any two float32 implementations part as far, and the devices are
 * compared where they can agree.
 */
interface Family {
  name: string;
  source(dir: string): string;
  load?: LoadOptions;
  run: FineTuneOptions;
}

const FAMILIES: Family[] = [
  { name: 'TF MobileNetV2 (the default model)', source: () => 'mobilenetv2-pascal-257', run: { steps: 20, crop: 25, batch: 1, lr: 1e-5, seed: 7, recipe: 'plain' } },
  {
    name: 'torchvision ResNet-50 (random weights, float16 .pth) @extended',
    source: () => sharedPath('fixtures', 'torchvision', 'deeplabv3_resnet50_random_fp16.pth'),
    load: { shortSide: 64 },
    run: { steps: 3, crop: 25, batch: 1, lr: 1e-4, seed: 7, recipe: 'plain' },
  },
  { name: 'smp DeepLabV3+ ResNet-34 (3 classes)', source: (dir) => writeSmpFolder('deeplabv3plus-resnet34', mkdtempSync(join(dir, 'smp-'))).dir, run: { steps: 5, crop: 25, batch: 1, lr: 1e-4, seed: 7, recipe: 'plain' } },
  {
    name: "mmseg ResNet-18 DeepLabv3 (mmseg's {'meta', 'state_dict'} file)",
    source: (dir) => mmsegFile(dir),
    load: { testScale: [64, 64] },
    run: { steps: 5, crop: 25, batch: 1, lr: 1e-4, seed: 7, recipe: 'plain' },
  },
  // An imported ONNX family: PyTorch's export of transformers' SegFormer (layer norms, attention).
  { name: "imported ONNX: transformers' SegFormer (PyTorch's export)", source: () => 'test/fixtures/hub-onnx/train-segformer/model.onnx', run: { steps: 20, crop: 32, batch: 1, lr: 1e-4, seed: 7, recipe: 'plain' } },
];

/** mmseg's ResNet-18 DeepLabv3 (Cityscapes' 19 classes) as its tools save it, the values from the fixture's PRNG. */
function mmsegFile(dir: string): string {
  const dict = new Map<string, Saved>();
  for (const [name, t] of prngStateDict(readManifest('manifest_r18-d8_c19.json'))) {
    dict.set(name, name.endsWith('num_batches_tracked') ? savedTensor([], BigInt64Array.of(BigInt(NUM_BATCHES_TRACKED))) : savedTensor([...t.shape], t.data));
  }
  const path = join(mkdtempSync(join(dir, 'mmseg-')), 'deeplabv3_r18-d8_512x1024_80k_cityscapes.pth');
  writeFileSync(path, torchSaveZip(new Map<string, Saved>([['meta', new Map()], ['state_dict', dict]])));
  return path;
}

/** The losses of a fineTune run, and the model it taught. */
async function taught(model: DeepLabModel, samples: TeachSample[], o: FineTuneOptions): Promise<{ losses: number[]; model: DeepLabModel }> {
  const losses: number[] = [];
  const tuned = await fineTune(model, samples, { ...o, onStep: (r) => void losses.push(r.loss) });
  return { losses, model: tuned };
}

function expectSameLosses(cpu: number[], webgpu: number[], what: string): void {
  expect(cpu.length, `${what}: steps`).to.equal(webgpu.length);
  const errors = cpu.map((l, i) => relativeError([l], [webgpu[i]]));
  const worst = Math.max(...errors);
  console.log(`      (${what}: worst loss ${worst.toExponential(1)} relative, step ${errors.indexOf(worst) + 1} of ${cpu.length})`);
  errors.forEach((e, i) => expect(e, `${what}: step ${i + 1}'s loss, CPU ${cpu[i]} vs WebGPU ${webgpu[i]}`).to.be.lessThan(1e-4));
}

describe('train: fineTune on the CPU device as on WebGPU @slow', function () {
  this.timeout(600_000);
  let dir: string;
  let photo: RgbImage;
  let window: Awaited<ReturnType<typeof teachWindow>>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-cpu-finetune-'));
    window = await teachWindow(48);
    photo = window.photo;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The 48x48 window of two classes, labelled on every other row (painted strokes). */
  const samples = (): TeachSample[] => [
    { image: cropImage(photo, window.x, window.y, 48, 48), labels: cropLabels(window.truth, window.x, window.y, 48, 48).map((v, p) => (Math.floor(p / 48) % 2 === 0 ? v : 255)) },
  ];

  for (const f of FAMILIES) {
    it(`${f.name}: ${f.run.steps} steps, every loss within 1e-4 of WebGPU's; the taught models label the photo alike (>= 99.9 % of pixels)`, async () => {
      const source = f.source(dir);
      const [onGpu, onCpu] = [await loadModel(source, { ...f.load, ctx: await testContext() }), await loadModel(source, { ...f.load, device: 'cpu' })];
      const o = f.run;
      let a: Awaited<ReturnType<typeof taught>> | undefined;
      let b: Awaited<ReturnType<typeof taught>> | undefined;
      try {
        a = await taught(onGpu, samples(), o);
        b = await taught(onCpu, samples(), o);
        expect([a.model.deviceName, b.model.deviceName]).to.deep.equal(['webgpu', 'cpu']);
        expectSameLosses(b.losses, a.losses, f.name);
        const image = cropImage(photo, window.x - 40, window.y - 40, 128, 128);
        const [ga, gb] = [await a.model.segment(image), await b.model.segment(image)];
        expect(classAgreement(gb.classes, ga.classes), 'labels of the taught models').to.be.at.least(0.999);
      } finally {
        for (const m of [onGpu, onCpu, a?.model, b?.model]) m?.dispose();
      }
    });
  }

  it("the recipe for strokes on the default model: every loss, distillation term and held-out loss within 1e-4 of WebGPU's, the same step kept", async () => {
    const ctx = await testContext();
    const o: FineTuneOptions = { steps: 4, crop: 33, evalEvery: 2, seed: 7 };
    const runs: { losses: number[]; distill: number[]; said: string[]; report: FineTuneReport | null; model: DeepLabModel | null }[] = [];
    const models: DeepLabModel[] = [await loadModel('mobilenetv2-pascal-257', { ctx }), await loadModel('mobilenetv2-pascal-257', { device: 'cpu' })];
    try {
      for (const model of models.slice()) {
        const run: (typeof runs)[number] = { losses: [], distill: [], said: [], report: null, model: null };
        runs.push(run);
        const hooks: FineTuneOptions = { onStep: (r) => void (run.losses.push(r.loss), run.distill.push(r.distillLoss!)), onReport: (r) => void (run.report = r), onProgress: (m) => void run.said.push(m) };
        run.model = await fineTune(model, samples(), { ...o, ...hooks });
        models.push(run.model);
      }
      const [gpu, cpu] = runs;
      // The held-out strokes are measured on the image whole, by a second run at its size: on the CPU one of its own.
      for (const r of runs) expect(r.said.filter((m) => /^compiling the held-out measure at \d+x\d+$/.test(m)), r.said.join('; ')).to.have.length(1);
      expect(cpu.report!.heldOut, 'held-out strokes measured').to.not.equal(null);
      expectSameLosses(cpu.losses, gpu.losses, 'strokes: the loss');
      expectSameLosses(cpu.distill, gpu.distill, 'strokes: the distillation term');
      expectSameLosses(cpu.report!.heldOut!.measured.map((m) => m.loss), gpu.report!.heldOut!.measured.map((m) => m.loss), 'strokes: the held-out loss');
      expect(cpu.report!.heldOut!.measured.map((m) => m.step)).to.deep.equal([0, 2, 4]);
      expect(cpu.report!.keptStep, 'the step kept').to.equal(gpu.report!.keptStep);
    } finally {
      for (const m of models) m.dispose();
    }
  });

  for (const [first, second] of [['cpu', 'webgpu'], ['webgpu', 'cpu']] as const) {
    it(`a run stopped after step 3 on the ${first === 'cpu' ? 'CPU' : 'WebGPU'} resumes on ${second === 'cpu' ? 'the CPU' : 'WebGPU'} with the uninterrupted run's losses`, async () => {
      const ctx = await testContext();
      const load = (device: 'cpu' | 'webgpu'): Promise<DeepLabModel> => loadModel('mobilenetv2-pascal-257', device === 'cpu' ? { device } : { ctx });
      const o: FineTuneOptions = { ...FAMILIES[0].run, steps: 5 };
      const store = join(dir, `run-${first}`);
      const [a, b] = [await load(first), await load(second)];
      const models: DeepLabModel[] = [a, b];
      try {
        const whole = await taught(b, samples(), o);
        models.push(whole.model);
        let done = 0;
        const stopped = await taught(a, samples(), { ...o, checkpoint: { store, every: 3 }, shouldStop: () => ++done === 3 });
        models.push(stopped.model);
        expect(stopped.losses).to.have.length(3);
        const resumed = await taught(b, samples(), { ...o, resume: store });
        models.push(resumed.model);
        expect(resumed.model.deviceName).to.equal(second);
        expectSameLosses([...stopped.losses, ...resumed.losses], whole.losses, `${first} then ${second}`);
      } finally {
        for (const m of models) m.dispose();
      }
    });
  }
});
