// TF DeepLab's Xception-65 DeepLabv3+ against TF DeepLab's own model code (tensorflow/models
// research/deeplab run in TensorFlow 2.21: scripts/fixtures/tf-xception), on weights from the
// team's counter PRNG under TF's variable names (regenerated here, bit for bit): the logits at
// output strides 8 and 16 on an odd and an even input, the labels of the whole pipeline, the
// zoo's three forms (checkpoint bundle, frozen graph, tarball) written here from the same weights,
// and the ONNX export through onnxruntime.
import { expect } from 'chai';
import { zooLabelAgreement } from './tf-zoo-labels.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/graph/compile.js';
import type { HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { describeModel } from '../../src/model/analysis/describe.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { permuteCpu } from '../../src/kernels/layout/permute.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { decodeModel } from '../../src/graph/onnx/proto.js';
import { runCli } from '../cli/run-cli.js';
import { runOnnx } from '../onnx-runtime.js';
import { defaultTfBnEpsilon, tfKeptParams } from '../../src/model/weights/tf-checkpoint.js';
import { tfZooModel } from '../../src/model/loading/tf-zoo-model.js';
import { xceptionUnitStrides } from '../../src/model/networks/xception.js';
import { expectClose, expectThrows, numel, relativeError, testContext } from '../helpers.js';
import { buildBundle, buildTar, frozenGraph } from '../import/tf-writers.js';
import { XCEPTION_FIXTURES, xceptionFixtureVariables, xceptionManifest } from './xception-fixture.js';

const DIR = XCEPTION_FIXTURES;
const manifest = xceptionManifest();
const variables = xceptionFixtureVariables;

const configOf = (outputStride: number, asppRates: number[]) => defaultConfig('xception_65', { numClasses: manifest.num_classes, outputStride, asppRates });

/** The image as the network takes it: (2 / 255) x - 1, NHWC. */
function normalised(file: string): { data: Float32Array; height: number; width: number } {
  const t = readNpy(join(DIR, file));
  return { data: Float32Array.from(t.data, (v) => (2 / 255) * v - 1), height: t.shape[0], width: t.shape[1] };
}

describe('model: TF DeepLab Xception-65 DeepLabv3+ (the zoo\'s xception65_* checkpoints)', function () {
  this.timeout(600_000);

  it('runs its units at TF\'s strides and rates: OS 16 dilates the exit flow by 2, OS 8 the middle flow by 2 and the exit flow by 4', () => {
    const at = (os: number) => xceptionUnitStrides(os).map((u) => `${u.stride}/${u.rate}`);
    // entry 1..3, middle x16, exit 1..2
    expect(at(16)).to.deep.equal(['2/1', '2/1', '2/1', ...Array(16).fill('1/1'), '1/1', '1/2']);
    expect(at(8)).to.deep.equal(['2/1', '2/1', '1/1', ...Array(16).fill('1/2'), '1/2', '1/4']);
    expect(at(32)).to.deep.equal(['2/1', '2/1', '2/1', ...Array(16).fill('1/1'), '2/1', '1/1']);
    expectThrows(() => xceptionUnitStrides(4), 'xception_65: output stride must be 8, 16 or 32, got 4');
  });

  it("declares exactly TF DeepLab's variables (names, shapes), 41.25 M values, with its batch-norm eps (1e-3 backbone, 1e-5 head)", () => {
    const graph = buildDeepLab(configOf(16, [6, 12, 18]), { height: 33, width: 45 });
    const params = tfKeptParams(graph, variables(), defaultTfBnEpsilon, 'manifest');
    expect(params.size).to.equal(manifest.variables.length);
    expect(manifest.variables.reduce((s, [, shape]) => s + numel(shape), 0)).to.equal(41_254_101);
    // The frozen graph's FusedBatchNorm epsilons (its reused scopes carry a '_1').
    for (const [scope, eps] of Object.entries(manifest.bn_epsilon)) {
      const ours = defaultTfBnEpsilon(scope.replace(/_1(\/|$)/, '$1'));
      expect(Math.abs(ours - eps) / eps, scope).to.be.lessThan(1e-6);
    }
    const bns = graph.nodes.filter((n) => n.op.type === 'batchnorm');
    expect(bns.length).to.equal(manifest.variables.filter(([n]) => n.endsWith('/moving_mean')).length);
    // A file whose eps differs is refused, naming the batch norm.
    expectThrows(() => tfKeptParams(graph, variables(), (scope) => (scope === 'aspp0' ? 0.01 : defaultTfBnEpsilon(scope)), 'x.pb'), "x.pb: the batch norm 'aspp0/BatchNorm' has eps 0.01 in the file, but TF DeepLab's network has 0.00001");
  });

  it('a zoo checkpoint missing a variable, holding one more, or of another shape is refused, naming each', () => {
    const zoo = (vars: TensorMap) => tfZooModel('x', { variables: vars, epsilon: defaultTfBnEpsilon, from: 'model.ckpt' }, {}, {}, [33, 45]);
    const w = zoo(variables());
    expect(w.config).to.deep.include({ backbone: 'xception_65', numClasses: 5, outputStride: 16 });
    const depthwise = 'xception_65/middle_flow/block1/unit_3/xception_module/separable_conv2_depthwise/depthwise_weights';
    const broken = new Map(variables());
    broken.delete('aspp2_pointwise/weights');
    broken.set('aspp4_pointwise/weights', broken.get('aspp0/weights')!);
    broken.set(depthwise, { shape: [3, 3, 1, 728], data: broken.get(depthwise)!.data, sourceDType: 'f32' });
    const e = expectThrows(() => zoo(broken), 'model.ckpt: weights do not match the model');
    expect(e.message).to.include('missing (1): aspp2_pointwise/weights');
    expect(e.message).to.include('unexpected (1): aspp4_pointwise/weights');
    expect(e.message).to.include(`mis-shaped (1): ${depthwise} expected [3,3,728,1] got [3,3,1,728]`);
  });

  it("counts the multiply-adds TF DeepLab's model zoo publishes (OS 16, one scale): 54.17 B at 513x513 (VOC), 418.64 B at 2049x1025 (Cityscapes)", () => {
    const voc = describeModel(defaultConfig('xception_65', { numClasses: 21 }), 513, 513).totals;
    const cityscapes = describeModel(defaultConfig('xception_65', { numClasses: 19 }), 1025, 2049).totals;
    console.log(`      (${(voc.macs / 1e9).toFixed(2)} G and ${(cityscapes.macs / 1e9).toFixed(2)} G; ${(voc.params / 1e6).toFixed(2)} M parameters)`);
    // The zoo rounds its counts and may count a few element-wise ops: within 0.5 %.
    expect(voc.macs / 54.17e9).to.be.closeTo(1, 0.005);
    expect(cityscapes.macs / 418.64e9).to.be.closeTo(1, 0.005);
  });

  describe("the logits against TF DeepLab's @slow", () => {
    for (const c of manifest.cases) {
      it(`${c.height}x${c.width} at OS ${c.output_stride} (rates ${c.atrous_rates.join(', ')}): the GPU's stride-4 logits within 1e-4 of TF's`, async () => {
        const image = normalised(`image_${c.height}x${c.width}.npy`);
        const ref = readNpy(join(DIR, `logits_${c.name}.npy`)).data;
        const graph = buildDeepLab(configOf(c.output_stride, c.atrous_rates), { height: c.height, width: c.width }, { extraOutputs: true });
        expect(graph.outputs.get('logits_raw')!.shape).to.deep.equal(c.logits_shape);
        const params: HostParams = tfKeptParams(graph, variables(), defaultTfBnEpsilon, 'fixture');
        const program = await Program.create(await testContext(), compile(graph, { mode: 'inference' }), params);
        try {
          const out = await program.run({ image: image.data });
          const logits = out.get('logits_raw')!;
          console.log(`      (relative error of the logits: ${relativeError(logits, ref).toExponential(1)})`);
          expectClose(logits, ref, `${c.name} logits`);
        } finally {
          program.dispose();
        }
      });
    }
  });

  describe("the zoo's forms, written from the same weights @slow", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'xception-zoo-'));
      const tensors = new Map([...variables()].map(([name, t]) => [name, { dtype: 1, shape: [...t.shape], bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) }]));
      // What the zoo's checkpoints hold besides the model: Momentum slots (here the head's alone, to keep the files small) and the step.
      for (const [name, t] of variables()) if (!name.startsWith('xception_65/') && !/moving_(mean|variance)$/.test(name)) tensors.set(`${name}/Momentum`, { dtype: 1, shape: [...t.shape], bytes: new Uint8Array(t.data.byteLength) });
      tensors.set('global_step', { dtype: 9, shape: [], bytes: new Uint8Array(8) });
      const { index, data } = buildBundle(tensors);
      const graph = frozenGraph(variables(), defaultTfBnEpsilon);
      const folder = join(dir, 'deeplabv3_tiny_xception');
      mkdirSync(folder);
      writeFileSync(join(folder, 'model.ckpt.index'), index);
      writeFileSync(join(folder, 'model.ckpt.data-00000-of-00001'), data);
      writeFileSync(join(dir, 'frozen_inference_graph.pb'), graph);
      const files = new Map([
        ['deeplabv3_tiny_xception/frozen_inference_graph.pb', graph],
        ['deeplabv3_tiny_xception/model.ckpt.index', index],
        ['deeplabv3_tiny_xception/model.ckpt.data-00000-of-00001', data],
      ]);
      writeFileSync(join(dir, 'deeplabv3_tiny_xception.tar'), buildTar(files, false));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const expectXception = (w: LoadedWeights, what: string) => {
      expect(w.config, what).to.deep.include({ backbone: 'xception_65', head: 'tf', decoder: 'deeplabv3plus', numClasses: 5, outputStride: 16, asppRates: [6, 12, 18], resizeMode: 'align_corners', normalization: 'minus_one_one' });
      expect(w.params.size, what).to.equal(manifest.variables.length);
      for (const [name, t] of variables()) {
        const ours = w.params.get(name.replace(/\/depthwise_weights$/, '/weights'))!;
        expect(ours, `${what}: ${name}`).to.not.equal(undefined);
        expect(Buffer.from(ours.data.buffer, ours.data.byteOffset, ours.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), `${what}: ${name}`).to.equal(true);
      }
    };

    it('the checkpoint bundle (by its prefix and its folder), the frozen graph and the tarball load as the same Xception-65, every value exact', async () => {
      expectXception(await loadWeights(join(dir, 'deeplabv3_tiny_xception', 'model.ckpt')), 'prefix');
      expectXception(await loadWeights(join(dir, 'deeplabv3_tiny_xception')), 'folder');
      expectXception(await loadWeights(join(dir, 'frozen_inference_graph.pb')), 'frozen graph');
      const fromTar = await loadWeights(join(dir, 'deeplabv3_tiny_xception.tar'));
      expectXception(fromTar, 'tarball');
      // Its graph records no crop (test/model/tf-zoo-export.test.ts reads one that does): the zoo's VOC crop.
      expect(fromTar.inputPolicy).to.deep.equal({ kind: 'pad-to-crop', height: 513, width: 513 });
      const os8 = await loadWeights(join(dir, 'deeplabv3_tiny_xception.tar'), { outputStride: 8 });
      expect(os8.config).to.deep.include({ outputStride: 8, asppRates: [12, 24, 36] });
    });

    it("loadModel(tarball, { ownSize, outputStride }), segment(): the zoo's pipeline ([-1, 1] inputs, the logits resized with aligned corners, arg max) at a crop of the image's size gives TF's labels on >= 99.9 % of pixels", async () => {
      // The fixture's graph was built with the crop at the image's size: ownSize runs it so.
      for (const outputStride of [8, 16]) {
        const cases = manifest.cases.filter((c) => c.output_stride === outputStride);
        for (const share of await zooLabelAgreement(join(dir, 'deeplabv3_tiny_xception.tar'), { outputStride, ownSize: true }, DIR, cases)) expect(share).to.be.at.least(0.999);
      }
    });

    it("deeplab export --format onnx: onnxruntime gives TF's logits (resized to the input with aligned corners) within 1e-4", async () => {
      const c = manifest.cases.find((k) => k.name === 'os16_33x45')!;
      const out = join(dir, 'xception.onnx');
      const r = await runCli(['export', '--model', join(dir, 'deeplabv3_tiny_xception.tar'), '--format', 'onnx', '--out', out, '--size', `${c.width}x${c.height}`]);
      expect(r.code, r.stderr).to.equal(0);
      const bytes = readFileSync(out);
      const model = decodeModel(bytes);
      const dims = (v: (typeof model.graph.input)[number]) => v.type.tensor_type.shape.dim.map((d) => d.dim_value);
      expect(model.graph.input.map((v) => [v.name, dims(v)])).to.deep.equal([['image', [1, 3, c.height, c.width]]]);
      const image = normalised(`image_${c.height}x${c.width}.npy`);
      const nchwImage = permuteCpu(image.data, [1, c.height, c.width, 3], { view: [1, c.height, c.width, 3], perm: [0, 3, 1, 2], shape: [1, 3, c.height, c.width] });
      const logits = (await runOnnx(bytes, { image: { dims: [1, 3, c.height, c.width], data: nchwImage } })).get('logits')!;
      const classes = manifest.num_classes;
      expect(logits.dims).to.deep.equal([1, classes, c.height, c.width]);
      // TF's stride-4 logits as predict_labels resizes them before its arg max.
      const ref = resizeBilinearCpu(readNpy(join(DIR, `logits_${c.name}.npy`)).data, c.logits_shape, { outH: c.height, outW: c.width, mode: 'align_corners' });
      const nchwRef = permuteCpu(ref, [1, c.height, c.width, classes], { view: [1, c.height, c.width, classes], perm: [0, 3, 1, 2], shape: [1, classes, c.height, c.width] });
      console.log(`      (onnxruntime vs TF: relative error ${relativeError(logits.data, nchwRef).toExponential(1)})`);
      expectClose(logits.data, nchwRef, 'onnxruntime logits');
    });
  });
});
