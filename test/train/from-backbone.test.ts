// `deeplab train --backbone-weights FILE`: a DeepLabv3 on a torchvision classification
// checkpoint. The files are written here with torchvision's exact keys and shapes and random
// values (test/train/classification-checkpoints.ts, its key lists checked against state dicts
// torchvision wrote); the mapping is checked on the CPU tensor by tensor, the new head's values
// against PyTorch's initialisation rule, one small forward pass on the GPU against the CPU
// reference, and a one-step run of the command end to end.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { type ClassSet, defaultClassSet } from '../../src/model/voc.js';
import { readPth } from '../../src/model/weights/import/pth.js';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { type FromBackbone, loadBackboneWeights, weightsFromBackbone } from '../../src/train/from-backbone.js';
import { runTraining } from '../../src/train/run.js';
import { messages, runCli } from '../cli/run-cli.js';
import { expectClose, expectRejects, randomArray, relativeError, testContext } from '../helpers.js';
import { type TensorSpec, mobileNetV3LargeSpec, randomState, resnetSpec, writePth, writeStateSafetensors } from './classification-checkpoints.js';
import { readRunLog, smallCamvid } from './small-camvid.js';
import { sharedPath } from '../shared.js';

const TV = sharedPath('fixtures', 'torchvision');

/** Keys and shapes as one line each, for comparing lists. */
const describeSpec = (spec: readonly { key: string; shape: readonly number[] }[]): string[] => spec.map((s) => `${s.key} [${s.shape.join(',')}]`);

/** Parameters (not running statistics or counters) a spec holds: what torchvision's num_params counts. */
const parameterCount = (spec: readonly TensorSpec[]): number =>
  spec.filter((s) => s.dtype === 'f32' && !/running_(mean|var)$/.test(s.key)).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);

const isCounter = (key: string): boolean => key.endsWith('.num_batches_tracked');

/** How each network's classification keys sit in a segmentation model: torchvision wraps the whole ResNet, but only MobileNetV3's `features`. */
const NETWORKS = {
  resnet: { head: 'fc.', prefix: '' },
  mobilenet: { head: 'classifier.', prefix: 'features.' },
} as const;
type Network = (typeof NETWORKS)[keyof typeof NETWORKS];

/**
 * Asserts that the backbone params are exactly the file's tensors without the head and the
 * counters: `backbone.<key>` for the file's `<prefix><key>`, 4-D ones transposed OIHW -> HWIO
 * (indexed here independently).
 */
function expectBackboneIsFile(params: HostParams, state: TensorMap, net: Network): void {
  const keys = [...state.keys()].filter((k) => !k.startsWith(net.head) && !isCounter(k));
  expect(keys.every((k) => k.startsWith(net.prefix))).to.equal(true);
  const ourName = (key: string): string => `backbone.${key.slice(net.prefix.length)}`;
  expect([...params.keys()].filter((k) => k.startsWith('backbone.')).sort()).to.deep.equal(keys.map(ourName).sort());
  let differing = 0;
  for (const key of keys) {
    const file = state.get(key)!;
    const ours = params.get(ourName(key))!;
    if (file.shape.length !== 4) {
      expect(ours.shape, key).to.deep.equal(file.shape);
      for (let i = 0; i < file.data.length; i++) if (ours.data[i] !== file.data[i]) differing++;
      continue;
    }
    const [O, I, KH, KW] = file.shape;
    expect(ours.shape, key).to.deep.equal([KH, KW, I, O]);
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++)
        for (let h = 0; h < KH; h++)
          for (let w = 0; w < KW; w++) if (ours.data[((h * KW + w) * I + i) * O + o] !== file.data[((o * I + i) * KH + h) * KW + w]) differing++;
  }
  expect(differing, 'backbone values that differ from the file').to.equal(0);
}

/** torchvision's DeepLabHead(in, classes) state dict keys: ASPP (1x1, three 3x3, pooling, projection), 3x3 conv + BN, classifier. */
function deepLabHeadKeys(): string[] {
  const bn = (p: string): string[] => ['weight', 'bias', 'running_mean', 'running_var'].map((s) => `${p}.${s}`);
  const keys: string[] = [];
  for (const [conv, norm] of [['0.0', '0.1'], ['1.0', '1.1'], ['2.0', '2.1'], ['3.0', '3.1'], ['4.1', '4.2']]) {
    keys.push(`classifier.0.convs.${conv}.weight`, ...bn(`classifier.0.convs.${norm}`));
  }
  keys.push('classifier.0.project.0.weight', ...bn('classifier.0.project.1'));
  keys.push('classifier.1.weight', ...bn('classifier.2'), 'classifier.4.weight', 'classifier.4.bias');
  return keys;
}

/**
 * PyTorch's defaults, checked on every initialised tensor: BatchNorm weight 1, bias 0, running
 * mean 0, running var 1; Conv2d weight and bias uniform on +-1/sqrt(fan_in), fan_in = kh*kw*cin
 * (kaiming_uniform_ with a = sqrt(5)). Large tensors must also fill the interval as a uniform
 * distribution does: variance bound^2/3 and the extremes near the bound.
 */
function expectPyTorchInit(r: FromBackbone): void {
  const params = r.weights.params;
  let checkedStatistics = 0;
  for (const name of r.initialised) {
    const { shape, data } = params.get(name)!;
    const bnPrefix = name.replace(/\.(weight|bias|running_mean|running_var)$/, '');
    const isBn = params.has(`${bnPrefix}.running_var`);
    if (isBn) {
      const want = /\.(weight|running_var)$/.test(name) ? 1 : 0;
      expect(data.every((v) => v === want), `${name} all ${want}`).to.equal(true);
      continue;
    }
    const weight = shape.length === 4 ? shape : params.get(`${bnPrefix}.weight`)!.shape;
    const fanIn = weight[0] * weight[1] * weight[2];
    const bound = 1 / Math.sqrt(fanIn);
    // Rounding to float32 is monotonic: values drawn within the bound stay within its float32 value.
    const outside = data.filter((v) => Math.abs(v) > Math.fround(bound)).length;
    expect(outside, `${name}: values beyond 1/sqrt(${fanIn})`).to.equal(0);
    if (data.length >= 2000) {
      const mean = data.reduce((a, b) => a + b, 0) / data.length;
      const variance = data.reduce((a, b) => a + (b - mean) ** 2, 0) / data.length;
      // Sampling error of the variance of n uniform values: sqrt(0.8 / n) relative (under 2 % here).
      expect(variance / (bound * bound / 3), `${name}: variance / (bound^2 / 3)`).to.be.within(0.9, 1.1);
      expect(Math.abs(mean) / bound, `${name}: |mean| / bound`).to.be.below(0.1);
      const largest = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(largest / bound, `${name}: max |w| / bound`).to.be.above(0.99);
      checkedStatistics++;
    }
  }
  expect(checkedStatistics, 'tensors large enough for the statistics').to.be.at.least(8);
}

describe('training from a torchvision classification backbone', function () {
  this.timeout(600_000);
  let dir: string;
  const state = { r50: new Map() as TensorMap, r101: new Map() as TensorMap, mv3: new Map() as TensorMap };
  const file = { r50: '', r101: '', mv3Pth: '', mv3Safetensors: '' };
  const classes11: ClassSet = defaultClassSet(11);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-backbone-'));
    state.r50 = randomState(resnetSpec(50), 50);
    state.r101 = randomState(resnetSpec(101), 101);
    state.mv3 = randomState(mobileNetV3LargeSpec(), 3);
    file.r50 = join(dir, 'resnet50.pth');
    file.r101 = join(dir, 'resnet101.safetensors');
    file.mv3Pth = join(dir, 'mobilenet_v3_large.pth');
    file.mv3Safetensors = join(dir, 'mobilenet_v3_large.safetensors');
    writePth(file.r50, state.r50);
    writeStateSafetensors(file.r101, state.r101);
    writePth(file.mv3Pth, state.mv3);
    writeStateSafetensors(file.mv3Safetensors, state.mv3);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the files' keys and shapes are torchvision's: the backbone.* tensors of state dicts torchvision wrote, and its published parameter counts", () => {
    for (const [spec, fixture, net] of [
      [resnetSpec(50), `${TV}/deeplabv3_resnet50_random_fp16.pth`, NETWORKS.resnet],
      [mobileNetV3LargeSpec(), `${TV}/deeplabv3_mobilenet_v3_large_random.pth`, NETWORKS.mobilenet],
    ] as const) {
      const written = [...readPth(fixture)].filter(([k]) => k.startsWith('backbone.')).map(([k, t]) => ({ key: net.prefix + k.slice('backbone.'.length), shape: t.shape }));
      expect(describeSpec(spec.filter((s) => !s.key.startsWith(net.head))), fixture).to.deep.equal(describeSpec(written));
    }
    // torchvision's weights meta num_params (ResNet50/101_Weights, MobileNet_V3_Large_Weights).
    expect(parameterCount(resnetSpec(50))).to.equal(25_557_032);
    expect(parameterCount(resnetSpec(101))).to.equal(44_549_160);
    expect(parameterCount(mobileNetV3LargeSpec())).to.equal(5_483_032);
  });

  it('resnet50 from a .pth: every backbone tensor is the file\'s (conv weights OIHW -> HWIO), fc dropped, exactly the DeepLabHead new, ASPP 6/12/18 at output stride 16', () => {
    const r = loadBackboneWeights(file.r50, { classes: classes11, outputStride: 16, seed: 1 });
    expect(r.backbone).to.equal('resnet50');
    expect(r.weights.config).to.deep.include({ backbone: 'resnet50', numClasses: 11, outputStride: 16, asppRates: [6, 12, 18], aux: false, imagePooling: true });
    expect(r.weights.classes).to.equal(classes11);
    expectBackboneIsFile(r.weights.params, state.r50, NETWORKS.resnet);
    expect(r.dropped.filter((k) => !isCounter(k))).to.deep.equal(['fc.weight', 'fc.bias']);
    expect(r.dropped.filter(isCounter)).to.have.length(53, 'one num_batches_tracked per BatchNorm2d of resnet50');
    expect([...r.initialised].sort()).to.deep.equal(deepLabHeadKeys().sort());
    expect(r.weights.params.get('classifier.4.weight')!.shape).to.deep.equal([1, 1, 256, 11]);
    expectPyTorchInit(r);
  });

  it("resnet101 from safetensors at output stride 8: torchvision's own network (rates 12/24/36); --backbone must name what the file holds", async () => {
    const r = loadBackboneWeights(file.r101, { backbone: 'resnet101', classes: defaultClassSet(21), outputStride: 8, seed: 2 });
    expect(r.weights.config).to.deep.include({ backbone: 'resnet101', numClasses: 21, outputStride: 8, asppRates: [12, 24, 36], aux: false });
    expectBackboneIsFile(r.weights.params, state.r101, NETWORKS.resnet);
    expect([...r.initialised].sort()).to.deep.equal(deepLabHeadKeys().sort());
    expectPyTorchInit(r);
    await expectRejects(() => loadBackboneWeights(file.r101, { backbone: 'resnet50', classes: classes11, seed: 0 }), /resnet101\.safetensors: holds torchvision's resnet101, not the resnet50 asked for/);
  });

  it('mobilenet_v3_large from .pth and safetensors alike: features.0..16 taken, classifier.* dropped; the head from the seed alone', () => {
    const fromPth = loadBackboneWeights(file.mv3Pth, { classes: classes11, outputStride: 16, seed: 7 });
    const fromSafetensors = loadBackboneWeights(file.mv3Safetensors, { classes: classes11, outputStride: 16, seed: 7 });
    expect(fromPth.backbone).to.equal('mobilenet_v3_large');
    expect(fromPth.weights.config).to.deep.include({ backbone: 'mobilenet_v3_large', outputStride: 16, asppRates: [12, 24, 36], aux: false });
    for (const r of [fromPth, fromSafetensors]) expectBackboneIsFile(r.weights.params, state.mv3, NETWORKS.mobilenet);
    expect(fromPth.dropped.filter((k) => !isCounter(k))).to.deep.equal(['classifier.0.weight', 'classifier.0.bias', 'classifier.3.weight', 'classifier.3.bias']);
    expect([...fromPth.initialised].sort()).to.deep.equal(deepLabHeadKeys().sort());
    expect(fromPth.weights.params.get('classifier.0.convs.0.0.weight')!.shape, 'ASPP reads features[16]: 960 channels').to.deep.equal([1, 1, 960, 256]);
    expectPyTorchInit(fromPth);
    // The same seed gives the same head whatever the file's format; another seed another head.
    for (const name of fromPth.initialised) expect(fromSafetensors.weights.params.get(name)!.data, name).to.deep.equal(fromPth.weights.params.get(name)!.data);
    const reseeded = weightsFromBackbone(state.mv3, 'mv3', { classes: classes11, seed: 8 });
    expect(relativeError(reseeded.weights.params.get('classifier.4.weight')!.data, fromPth.weights.params.get('classifier.4.weight')!.data)).to.be.above(0.5);
  });

  it('mobilenet_v3_large: a 33x33 forward pass on the GPU (batch norms folded) equals the CPU reference', async () => {
    const { weights } = loadBackboneWeights(file.mv3Pth, { classes: classes11, outputStride: 16, seed: 4 });
    const graph = weights.buildGraph({ height: 33, width: 33 });
    const image = randomArray(33 * 33 * 3);
    const ctx = await testContext();
    const program = await Program.create(ctx, compile(graph, { mode: 'inference' }), weights.params, 'backbone test');
    try {
      const logits = (await program.run({ image })).get('logits') as Float32Array;
      expect(graph.outputs.get('logits')!.shape).to.deep.equal([1, 33, 33, 11]);
      const ref = runGraphCpu(graph, weights.params, { image }).get('logits') as Float32Array;
      expect(ref.some((v) => v !== ref[0]), 'the logits vary over the image').to.equal(true);
      console.log(`      33x33 logits: relative error ${relativeError(logits, ref).toExponential(2)}`);
      expectClose(logits, ref, 'logits');
    } finally {
      program.dispose();
    }
  });

  describe('files that are not a classification backbone', () => {
    const load = (s: TensorMap, extra: { backbone?: 'resnet50' } = {}) => () => weightsFromBackbone(s, 'ckpt.pth', { classes: classes11, seed: 0, ...extra });
    const without = (s: TensorMap, drop: (k: string) => boolean): TensorMap => new Map([...s].filter(([k]) => !drop(k)));

    it('missing, unexpected and mis-shaped tensors are named together, in the file\'s names and PyTorch\'s layout', async () => {
      const s = without(state.r50, (k) => k === 'layer4.2.bn3.running_var');
      s.set('layer4.2.extra.weight', { shape: [4], data: new Float32Array(4), sourceDType: 'f32' });
      // resnext50_32x4d's grouped 3x3 conv: [128, 4, 3, 3] where resnet50 has [128, 128, 3, 3].
      s.set('layer2.0.conv2.weight', { shape: [128, 4, 3, 3], data: new Float32Array(128 * 4 * 9), sourceDType: 'f32' });
      const e = await expectRejects(load(s), /ckpt\.pth \(as torchvision's resnet50 classification state dict\): weights do not match/);
      expect(e.message).to.match(/missing \(1\): layer4\.2\.bn3\.running_var$/m);
      expect(e.message).to.match(/unexpected \(1\): layer4\.2\.extra\.weight$/m);
      expect(e.message).to.match(/mis-shaped \(1\): layer2\.0\.conv2\.weight expected \[128,128,3,3\] got \[128,4,3,3\]$/m);
    });

    it('a segmentation checkpoint, a ResNet of another depth or of basic blocks, MobileNetV3-Small or V2, or something else: each said what it is', async () => {
      await expectRejects(() => loadBackboneWeights(`${TV}/deeplabv3_mobilenet_v3_large_random.pth`, { classes: classes11, seed: 0 }), /deeplabv3_mobilenet_v3_large_random\.pth: a DeepLabv3 segmentation checkpoint .*start from it with --model/);
      const r152 = new Map(state.r50);
      for (let b = 6; b < 36; b++) r152.set(`layer3.${b}.conv1.weight`, state.r50.get('layer3.1.conv1.weight')!);
      await expectRejects(load(r152), /ckpt\.pth: a ResNet with 36 blocks in layer3 \(resnet152\); DeepLabv3 takes resnet50 \(6\) or resnet101 \(23\)/);
      await expectRejects(load(without(state.r50, (k) => /\.conv3\./.test(k))), /ckpt\.pth: a ResNet of basic blocks \(resnet18 or resnet34/);
      await expectRejects(load(without(state.mv3, (k) => /^features\.(1[3-6])\./.test(k))), /ckpt\.pth: mobilenet_v3_small/);
      const v2 = new Map([...state.mv3].map(([k, t]) => [k.replace(/^features\.1\.block\./, 'features.1.conv.'), t]));
      await expectRejects(load(v2), /ckpt\.pth: torchvision's mobilenet_v2/);
      const other = new Map([['encoder.weight', { shape: [2], data: new Float32Array(2), sourceDType: 'f32' as const }]]);
      await expectRejects(load(other), /ckpt\.pth: not a torchvision classification state dict we know; expected torchvision's resnet50 or resnet101 .*; it holds 1 tensors: encoder\.weight/);
      await expectRejects(load(new Map()), /it holds no tensors/);
    });

    it('files that are not checkpoints at all, and files not there, are named', async () => {
      const text = join(dir, 'notes.txt');
      writeFileSync(text, 'not weights');
      await expectRejects(() => loadBackboneWeights(text, { classes: classes11, seed: 0 }), /notes\.txt: not a weights file we know/);
      await expectRejects(() => loadBackboneWeights(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), { classes: classes11, seed: 0 }), /deeplabv3_257_mv_gpu\.tflite: a TF Lite model, not a torchvision classification checkpoint/);
      await expectRejects(() => loadBackboneWeights(join(dir, 'nowhere.pth'), { classes: classes11, seed: 0 }), /backbone weights not found: .*nowhere\.pth/);
      await expectRejects(() => loadBackboneWeights(dir, { classes: classes11, seed: 0 }), /a folder; expected a torchvision classification checkpoint/);
      const cut = join(dir, 'cut.pth');
      writeFileSync(cut, readFileSync(file.mv3Pth).subarray(0, 5000));
      await expectRejects(() => loadBackboneWeights(cut, { classes: classes11, seed: 0 }), /cut\.pth: .*zip/);
    });
  });

  describe('deeplab train --backbone-weights', () => {
    let data: string;
    before(() => {
      data = smallCamvid(dir, 2);
    });

    it('trains one step from mobilenet_v3_large; with the backbone frozen, the checkpoint holds the file\'s backbone unchanged', async () => {
      const out = join(dir, 'run-mv3');
      const r = await runCli([
        'train', '--data', data, '--backbone-weights', file.mv3Pth, '--out', out, '--steps', '1', '--batch', '2', '--crop', '33',
        '--freeze-backbone', '--freeze-bn', '--eval-limit', '1', '--workers', '0', '--seed', '3',
      ]);
      expect(r.code, r.stderr).to.equal(0);
      expect(messages(r.stderr)).to.match(/backbone: torchvision's mobilenet_v3_large from .*mobilenet_v3_large\.pth \(its classification head classifier\.0\.weight, classifier\.0\.bias, classifier\.3\.weight, classifier\.3\.bias dropped\); a new DeepLabv3 head for 11 classes at output stride 16, ASPP rates 12, 24, 36: 37 tensors initialised as PyTorch initialises layers/);
      expect(readRunLog(out).map((l) => l.step)).to.deep.equal([1]);
      const { tensors, metadata } = readSafetensors(join(out, 'latest.safetensors'));
      expect(JSON.parse(metadata.config)).to.deep.include({ backbone: 'mobilenet_v3_large', numClasses: 11, outputStride: 16, aux: false });
      const params: HostParams = new Map([...tensors].filter(([k]) => !k.includes('#')).map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
      expectBackboneIsFile(params, state.mv3, NETWORKS.mobilenet);
      const headBefore = loadBackboneWeights(file.mv3Pth, { classes: classes11, outputStride: 16, seed: 3 }).weights.params.get('classifier.4.weight')!;
      expect(relativeError(params.get('classifier.4.weight')!.data, headBefore.data), 'the head trained').to.be.above(0);
    });

    it('refuses --backbone without --backbone-weights, an unknown --backbone, and --model with --backbone-weights', async () => {
      const base = ['train', '--data', data, '--out', join(dir, 'refused')];
      const cases: [string[], RegExp][] = [
        [['--backbone', 'resnet50'], /--backbone names the network of --backbone-weights FILE, which was not given/],
        [['--backbone-weights', file.r50, '--backbone', 'resnet152'], /--backbone: 'resnet152' is not one of resnet50, resnet101, mobilenet_v3_large/],
        [['--backbone-weights', file.r50, '--model', 'mobilenetv2-pascal-257'], /give --model or --backbone-weights, not both/],
      ];
      for (const [args, pattern] of cases) {
        const r = await runCli([...base, ...args]);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.stderr).to.match(pattern);
      }
    });

    it('runTraining (the library) names a segmentation checkpoint given as backbone weights, before any GPU work', async () => {
      await expectRejects(
        runTraining({ data, out: join(dir, 'lib'), backboneWeights: `${TV}/deeplabv3_resnet50_random_fp16.pth`, steps: 1, batch: 2, crop: 33, lr: 0.001 }),
        /deeplabv3_resnet50_random_fp16\.pth: a DeepLabv3 segmentation checkpoint/,
      );
      await expectRejects(runTraining({ data, out: join(dir, 'lib'), model: 'mobilenetv2-pascal-257', backboneWeights: file.mv3Pth, steps: 1, batch: 2, crop: 33, lr: 0.001 }), /give model or backboneWeights, not both/);
    });
  });
});
