// Parity of our torchvision DeepLabv3 graphs with torchvision itself, on the fixtures in
// ../shared/fixtures/torchvision (random weights, outputs computed by PyTorch; see its README).
// The fixtures are NCHW; our graphs are NHWC, so inputs and outputs are transposed here.
import { expect } from 'chai';
import { type CompiledGraph, compile } from '../../src/graph/compile.js';
import { Program } from '../../src/graph/program.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import type { Graph } from '../../src/graph/ir.js';
import { type HostParams, ParamMismatchError, checkParams } from '../../src/graph/params.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readPth } from '../../src/model/weights/import/pth.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { resnetGeometry } from '../../src/model/networks/resnet.js';
import { oihwToHwio } from '../../src/model/weights/layouts.js';
import { detectTorchvisionBackbone, torchvisionConfigFromState, torchvisionParams } from '../../src/model/weights/torchvision.js';
import { expectClose, randomArray, relativeError, testContext, expectThrows } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { nchwToNhwc, nhwcToNchw } from './layout.js';

const FIXTURES = sharedPath('fixtures', 'torchvision');
const R50_PTH = `${FIXTURES}/deeplabv3_resnet50_random_fp16.pth`;
const MV3_PTH = `${FIXTURES}/deeplabv3_mobilenet_v3_large_random.pth`;

/** The fixture image as our 'image' input. */
function loadInput(): { image: Float32Array; h: number; w: number } {
  const t = readNpy(`${FIXTURES}/input_97x129.npy`);
  expect(t.shape).to.deep.equal([1, 3, 97, 129]);
  return { image: nchwToNhwc(t.data, t.shape), h: t.shape[2], w: t.shape[3] };
}

/** Runs a graph once and returns every output, transposed to NCHW, with its NCHW shape. */
async function runModel(model: Graph | CompiledGraph, params: HostParams, image: Float32Array): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const ctx = await testContext();
  const graph = 'derive' in model ? model.graph : model;
  const ex = await Program.create(ctx, model, params, 'torchvision test');
  try {
    const out = await ex.run({ image });
    const result = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, v] of graph.outputs) {
      const [n, h, w, c] = v.shape;
      result.set(name, { shape: [n, c, h, w], data: nhwcToNchw(out.get(name) as Float32Array, v.shape) });
    }
    return result;
  } finally {
    ex.dispose();
  }
}

/** Compares one of our outputs with a fixture .npy, shape first. */
function expectMatchesFixture(got: { shape: number[]; data: Float32Array } | undefined, fixture: string): void {
  expect(got, `output for ${fixture}`).to.not.equal(undefined);
  const ref = readNpy(`${FIXTURES}/${fixture}`);
  expect(got!.shape, fixture).to.deep.equal(ref.shape);
  console.log(`      ${fixture}: relative error ${relativeError(got!.data, ref.data).toExponential(2)}`);
  expectClose(got!.data, ref.data, fixture);
}

function hasBatchNorm(g: Graph): boolean {
  return g.nodes.some((n) => n.op.type === 'batchnorm');
}

describe('model: torchvision DeepLabv3', function () {
  this.timeout(300_000);

  describe('config and structure', () => {
    it('defaults follow torchvision and bad fields are named', () => {
      const r = defaultConfig('resnet50');
      expect(r).to.include({ outputStride: 8, imagePooling: true, asppChannels: 256, resizeMode: 'half_pixel', aux: false });
      expect(r.asppRates).to.deep.equal([12, 24, 36]);
      expect(defaultConfig('mobilenet_v3_large').outputStride).to.equal(16);
      expect(defaultConfig('resnet101', { outputStride: 16 }).asppRates).to.deep.equal([12, 24, 36]);
      expectThrows(() => defaultConfig('resnet50', { outputStride: 4 }), /outputStride must be 8, 16 or 32, got 4/);
      expectThrows(() => defaultConfig('resnet50', { multiGrid: [1, 2] }), /multiGrid/);
      expectThrows(() => defaultConfig('resnet50', { asppRates: [6, 0] }), /asppRates/);
    });

    it('ResNet dilation bookkeeping: torchvision keeps the previous rate on a stage\'s first block', () => {
      const dil = (g: ReturnType<typeof resnetGeometry>): number[][] => g.map((s) => s.map((b) => b.dilation));
      const str = (g: ReturnType<typeof resnetGeometry>): number[] => g.map((s) => s[0].stride);
      const os8 = resnetGeometry({ depth: 50, outputStride: 8, dilationConvention: 'torchvision', multiGrid: [1, 1, 1] });
      expect(str(os8)).to.deep.equal([1, 2, 1, 1]);
      expect(dil(os8)[2]).to.deep.equal([1, 2, 2, 2, 2, 2]);
      expect(dil(os8)[3]).to.deep.equal([2, 4, 4]);
      const os16 = resnetGeometry({ depth: 101, outputStride: 16, dilationConvention: 'torchvision', multiGrid: [1, 1, 1] });
      expect(str(os16)).to.deep.equal([1, 2, 2, 1]);
      expect(dil(os16)[2].every((d) => d === 1)).to.equal(true);
      expect(dil(os16)[3]).to.deep.equal([1, 2, 2]);
      // The paper's example (Sec. 3.2): OS 16, Multi_Grid (1,2,4) -> block4 rates (2,4,8).
      const paper = resnetGeometry({ depth: 101, outputStride: 16, dilationConvention: 'paper', multiGrid: [1, 2, 4] });
      expect(dil(paper)[3]).to.deep.equal([2, 4, 8]);
      const os32 = resnetGeometry({ depth: 50, outputStride: 32, dilationConvention: 'torchvision', multiGrid: [1, 1, 1] });
      expect(str(os32)).to.deep.equal([1, 2, 2, 2]);
      expect(dil(os32).flat().every((d) => d === 1)).to.equal(true);
    });

    it("trainable parameter counts equal torchvision's published num_params (ResNet-101 has no fixture)", () => {
      // From torchvision's weight metadata (aux head included): the only check ResNet-101 gets without weights.
      const published = { resnet50: 42004074, resnet101: 60996202, mobilenet_v3_large: 11029328 } as const;
      for (const [backbone, count] of Object.entries(published)) {
        const g = buildDeepLab(defaultConfig(backbone as keyof typeof published, { aux: true }), { height: 65, width: 65 });
        let n = 0;
        for (const p of g.state) if (!/\.running_(mean|var)$/.test(p.name)) n += p.shape.reduce((a, b) => a * b, 1);
        expect(n, backbone).to.equal(count);
      }
    });

    it('builds any output stride and size; shapes follow the stride', () => {
      const cases = [
        ['resnet101', 8, [1, 9, 12, 2048]],
        ['resnet50', 16, [1, 5, 6, 2048]],
        ['resnet50', 32, [1, 3, 3, 2048]],
        ['mobilenet_v3_large', 16, [1, 5, 6, 960]],
        ['mobilenet_v3_large', 32, [1, 3, 3, 960]],
      ] as const;
      for (const [backbone, os, layer4] of cases) {
        const g = buildDeepLab(defaultConfig(backbone, { outputStride: os, aux: true }), { height: 65, width: 90 }, { extraOutputs: true });
        expect(g.outputs.get('layer4')!.shape, `${backbone} OS ${os}`).to.deep.equal(layer4);
        expect(g.outputs.get('logits')!.shape).to.deep.equal([1, 65, 90, 21]);
        expect(g.outputs.get('aux')!.shape).to.deep.equal([1, 65, 90, 21]);
      }
      expectThrows(() => buildDeepLab(defaultConfig('mobilenet_v2', { aux: true }), { height: 65, width: 65 }), /MobileNetV2 DeepLab has no auxiliary head/);
    });

    it('oihwToHwio permutes (2,3,1,0)', () => {
      const shape = [5, 3, 2, 4];
      const data = randomArray(5 * 3 * 2 * 4);
      const t = oihwToHwio(data, shape);
      expect(t.shape).to.deep.equal([2, 4, 3, 5]);
      for (let o = 0; o < 5; o++)
        for (let i = 0; i < 3; i++)
          for (let h = 0; h < 2; h++)
            for (let w = 0; w < 4; w++) expect(t.data[((h * 4 + w) * 3 + i) * 5 + o]).to.equal(data[((o * 3 + i) * 2 + h) * 4 + w]);
    });
  });

  describe('deeplabv3_resnet50 (fp16 random weights) @slow', () => {
    let state: TensorMap;
    let input: ReturnType<typeof loadInput>;
    let os8: Map<string, { shape: number[]; data: Float32Array }>;
    let os8Graph: Graph;

    before(async function () {
      this.timeout(600_000);
      state = readPth(R50_PTH);
      input = loadInput();
      // One OS 8 run, BN folded, with every output the cases below compare.
      const cfg = torchvisionConfigFromState(state, { aux: true });
      const compiled = compile(buildDeepLab(cfg, { height: input.h, width: input.w }, { extraOutputs: true }), { mode: 'inference' });
      os8Graph = compiled.graph;
      os8 = await runModel(compiled, torchvisionParams(state, cfg), input.image);
    });

    it('detects the backbone and class count', () => {
      expect(detectTorchvisionBackbone(state)).to.equal('resnet50');
      expect(torchvisionConfigFromState(state).numClasses).to.equal(21);
    });

    it('OS 8 (torchvision default), BN folded: logits match', () => {
      expect(hasBatchNorm(os8Graph), 'every BN folded into its conv').to.equal(false);
      expectMatchesFixture(os8.get('logits'), 'deeplabv3_resnet50_os8_out.npy');
    });

    it('OS 8, BN folded: aux (FCN head on layer3) matches', () => {
      expectMatchesFixture(os8.get('aux'), 'deeplabv3_resnet50_os8_aux.npy');
    });

    it('OS 8, BN folded: layer4 features match', () => {
      expectMatchesFixture(os8.get('layer4'), 'deeplabv3_resnet50_os8_layer4.npy');
    });

    it('same weights at OS 16 with rates 6/12/18, BN unfolded: logits match', async () => {
      const cfg = torchvisionConfigFromState(state, { outputStride: 16, asppRates: [6, 12, 18] });
      const graph = buildDeepLab(cfg, { height: input.h, width: input.w });
      expect(hasBatchNorm(graph)).to.equal(true);
      const out = await runModel(graph, torchvisionParams(state, cfg), input.image);
      expectMatchesFixture(out.get('logits'), 'deeplabv3_resnet50_os16_rates6-12-18_out.npy');
    });
  });

  describe('deeplabv3_mobilenet_v3_large (random weights) @slow', () => {
    let state: TensorMap;
    let input: ReturnType<typeof loadInput>;

    before(() => {
      state = readPth(MV3_PTH);
      input = loadInput();
    });

    it('detects the backbone', () => {
      expect(detectTorchvisionBackbone(state)).to.equal('mobilenet_v3_large');
    });

    for (const fold of [false, true]) {
      it(`logits and aux match (BN ${fold ? 'folded' : 'unfolded'})`, async () => {
        const cfg = torchvisionConfigFromState(state, { aux: true });
        const canonical = buildDeepLab(cfg, { height: input.h, width: input.w });
        const model = fold ? compile(canonical, { mode: 'inference' }) : canonical;
        const params = torchvisionParams(state, cfg);
        expect(hasBatchNorm('derive' in model ? model.graph : model)).to.equal(!fold);
        const out = await runModel(model, params, input.image);
        expectMatchesFixture(out.get('logits'), 'deeplabv3_mobilenet_v3_large_out.npy');
        expectMatchesFixture(out.get('aux'), 'deeplabv3_mobilenet_v3_large_aux.npy');
      });
    }

    it('a checkpoint with a tensor removed, one mis-shaped and one extra: the error lists all three', () => {
      const cfg = torchvisionConfigFromState(state, { aux: true });
      const graph = buildDeepLab(cfg, { height: 65, width: 65 });
      const broken: TensorMap = new Map(state);
      broken.delete('backbone.5.block.2.fc1.bias');
      broken.set('classifier.4.weight', { shape: [20, 256, 1, 1], data: randomArray(20 * 256), sourceDType: 'f32' });
      broken.set('backbone.fc.weight', { shape: [4], data: randomArray(4), sourceDType: 'f32' });
      const err = expectThrows(() => checkParams(graph, torchvisionParams(broken, cfg)), '', 'a broken checkpoint');
      expect(err).to.be.instanceOf(ParamMismatchError);
      const msg = err.message;
      expect(msg).to.match(/missing \(1\): backbone\.5\.block\.2\.fc1\.bias/);
      expect(msg).to.match(/unexpected \(1\): backbone\.fc\.weight/);
      // Shapes in our layout: HWIO [1,1,256,21] expected, the converted [1,1,256,20] found.
      expect(msg).to.match(/mis-shaped \(1\): classifier\.4\.weight expected \[1,1,256,21\] got \[1,1,256,20\]/);
    });

    it('aux_classifier.* is dropped unless the config asks for the aux head', () => {
      const cfg = torchvisionConfigFromState(state);
      const params = torchvisionParams(state, cfg);
      expect([...params.keys()].some((k) => k.startsWith('aux_classifier.'))).to.equal(false);
      expect([...params.keys()].some((k) => k.endsWith('num_batches_tracked'))).to.equal(false);
      checkParams(buildDeepLab(cfg, { height: 65, width: 65 }), params); // throws on any mismatch
      expectThrows(() => torchvisionParams(state, defaultConfig('resnet50')), /holds a mobilenet_v3_large DeepLabv3 but the config asks for resnet50/);
    });
  });

  describe('checkpoints of other models', () => {
    it('a classification ResNet state dict is rejected by name', () => {
      const other: TensorMap = new Map([
        ['conv1.weight', { shape: [64, 3, 7, 7], data: randomArray(64 * 3 * 49), sourceDType: 'f32' as const }],
        ['fc.weight', { shape: [10, 64], data: randomArray(640), sourceDType: 'f32' as const }],
        ['fc.bias', { shape: [10], data: randomArray(10), sourceDType: 'f32' as const }],
      ]);
      const cfg = defaultConfig('resnet50');
      expectThrows(() => torchvisionParams(other, cfg, 'other.pth'), /other\.pth: not a torchvision DeepLabv3 checkpoint \(no classifier\.0\.convs\.0\.0\.weight and no backbone\.\* tensors; it holds 3 tensors: conv1\.weight, fc\.weight, fc\.bias\)/);
      expectThrows(() => detectTorchvisionBackbone(other), /not a torchvision DeepLabv3 checkpoint/);
    });

    it('an FCN (no ASPP) is rejected; an unknown ResNet depth is named', () => {
      const t = (shape: number[]) => ({ shape, data: randomArray(shape.reduce((a, b) => a * b, 1)), sourceDType: 'f32' as const });
      const fcn: TensorMap = new Map([
        ['backbone.conv1.weight', t([64, 3, 7, 7])],
        ['classifier.0.weight', t([512, 2048, 3, 3])],
      ]);
      expectThrows(() => torchvisionParams(fcn, defaultConfig('resnet50')), /not a torchvision DeepLabv3 checkpoint \(no classifier\.0\.convs\.0\.0\.weight; it holds 2 tensors/);
      const odd: TensorMap = new Map([
        ['backbone.conv1.weight', t([64, 3, 7, 7])],
        ['backbone.layer3.35.conv1.weight', t([1, 1, 1, 1])],
        ['classifier.0.convs.0.0.weight', t([256, 2048, 1, 1])],
      ]);
      expectThrows(() => detectTorchvisionBackbone(odd), /36 blocks in layer3 is neither resnet50 \(6\) nor resnet101 \(23\)/);
    });
  });
});
