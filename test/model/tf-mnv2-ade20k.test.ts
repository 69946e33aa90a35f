// TF DeepLab's ADE20K MobileNetV2 (the zoo's mobilenetv2_ade20k_train: DeepLabv3+ with image
// pooling and aspp0, no atrous branches, the decoder on layer_4/depthwise_output, 151 classes)
// against TF DeepLab's own model code (scripts/fixtures/tf-mnv2-ade20k), on weights from the team's
// counter PRNG under TF's variable names (regenerated here): the logits at output strides 8 and 16
// on an odd and an even input, the zoo's tarball layout written here from the same weights, the
// labels of the whole pipeline, and the registry entry loading from a local copy.
import { expect } from 'chai';
import { zooLabelAgreement } from './tf-zoo-labels.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/graph/compile.js';
import { Program } from '../../src/graph/program.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { tfZooModel } from '../../src/model/loading/tf-zoo-model.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { defaultTfBnEpsilon } from '../../src/model/weights/tf-checkpoint.js';
import { setFlags } from '../../src/util/flags.js';
import { expectClose, expectThrows, relativeError, testContext } from '../helpers.js';
import { buildBundle, buildTar } from '../import/tf-writers.js';
import { xceptionPrngValues } from './xception-fixture.js';

const DIR = join(process.cwd(), 'test', 'fixtures', 'tf-mnv2-ade20k');

interface Manifest {
  seed: number;
  num_classes: number;
  variables: [string, number[]][];
  bn_epsilon: Record<string, number>;
  cases: { name: string; height: number; width: number; output_stride: number; logits_shape: number[] }[];
}

const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Manifest;
/** make_fixtures.py's weights: the PRNG (tf-xception's) under TF's names. */
const variables: TensorMap = new Map(manifest.variables.map(([name, shape]) => [name, { shape, data: xceptionPrngValues(name, shape, manifest.seed), sourceDType: 'f32' as const }]));
const zoo = (vars: TensorMap, outputStride: number, size: [number, number]) => tfZooModel('ade20k', { variables: vars, epsilon: defaultTfBnEpsilon, from: 'model.ckpt' }, { outputStride }, {}, size);

/** The image as the network takes it: (2 / 255) x - 1, NHWC. */
function normalised(h: number, w: number): Float32Array {
  return Float32Array.from(readNpy(join(DIR, `image_${h}x${w}.npy`)).data, (v) => (2 / 255) * v - 1);
}

/** The zoo's tarball layout: the checkpoint bundle (with Momentum slots and the step) in one folder. */
function zooTarball(vars: TensorMap): Uint8Array {
  const tensors = new Map([...vars].map(([name, t]) => [name, { dtype: 1, shape: [...t.shape], bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) }]));
  for (const [name, t] of vars) if (!/moving_(mean|variance)$/.test(name)) tensors.set(`${name}/Momentum`, { dtype: 1, shape: [...t.shape], bytes: new Uint8Array(t.data.byteLength) });
  tensors.set('global_step', { dtype: 9, shape: [], bytes: new Uint8Array(8) });
  const { index, data } = buildBundle(tensors);
  return buildTar(new Map([
    ['deeplabv3_mnv2_ade20k_train/model.ckpt.index', index],
    ['deeplabv3_mnv2_ade20k_train/model.ckpt.data-00000-of-00001', data],
  ]));
}

describe("model: TF DeepLab's ADE20K MobileNetV2 DeepLabv3+ (the zoo's mobilenetv2_ade20k_train)", function () {
  this.timeout(600_000);

  it("reads every variable of TF DeepLab's graph: the backbone and head folded, the decoder's batch norms kept (eps 1e-5)", () => {
    expect(manifest.variables.length).to.equal(297);
    const w = zoo(variables, 16, [33, 45]);
    expect(w.config).to.deep.include({ backbone: 'mobilenet_v2', decoder: 'deeplabv3plus', numClasses: 151, outputStride: 16, asppRates: [], imagePooling: true, resizeMode: 'align_corners', normalization: 'minus_one_one' });
    const decoder = manifest.variables.filter(([n]) => n.startsWith('decoder/'));
    expect(decoder.length).to.equal(25);
    for (const [name] of decoder) {
      const ours = w.params.get(name.replace(/\/depthwise_weights$/, '/weights'))!;
      expect(ours, name).to.not.equal(undefined);
      expect(Array.from(ours.data), name).to.deep.equal(Array.from(variables.get(name)!.data));
    }
    // Every other conv is one folded weight and bias: 297 variables, 5 per conv with a batch norm.
    const convs = manifest.variables.filter(([n]) => /(weights|depthwise_weights)$/.test(n) && !n.startsWith('decoder/')).length;
    expect(w.params.size).to.equal(decoder.length + 2 * convs);
    // TF's graph gave 1e-5 to every decoder batch norm, 1e-3 to the backbone's.
    for (const [scope, eps] of Object.entries(manifest.bn_epsilon)) expect(Math.abs(defaultTfBnEpsilon(scope.replace(/_1(\/|$)/, '$1')) - eps) / eps, scope).to.be.lessThan(1e-6);
  });

  it('a decoder variable missing, one more, or of another shape is refused, naming each', () => {
    const broken = new Map(variables);
    broken.delete('decoder/decoder_conv1_pointwise/BatchNorm/gamma');
    broken.set('decoder/decoder_conv2_pointwise/weights', variables.get('decoder/decoder_conv1_pointwise/weights')!);
    const projection = 'decoder/feature_projection0/weights';
    broken.set(projection, { shape: [1, 1, 48, 144], data: variables.get(projection)!.data, sourceDType: 'f32' });
    const e = expectThrows(() => zoo(broken, 16, [33, 45]), 'model.ckpt: weights do not match the model');
    expect(e.message).to.include('missing (1): decoder/decoder_conv1_pointwise/BatchNorm/gamma');
    expect(e.message).to.include('unexpected (1): decoder/decoder_conv2_pointwise/weights');
    expect(e.message).to.include(`mis-shaped (1): ${projection} expected [1,1,144,48] got [1,1,48,144]`);
  });

  describe("the logits against TF DeepLab's @slow", () => {
    for (const c of manifest.cases) {
      it(`${c.height}x${c.width} at OS ${c.output_stride}: the GPU's logits within 1e-4 of TF's (its stride-4 logits resized with aligned corners)`, async () => {
        const w = zoo(variables, c.output_stride, [c.height, c.width]);
        const graph = w.buildGraph({ height: c.height, width: c.width });
        const program = await Program.create(await testContext(), compile(graph, { mode: 'inference' }), w.params);
        try {
          const logits = (await program.run({ image: normalised(c.height, c.width) })).get('logits')!;
          // Our network's last op resizes the stride-4 logits to the input as predict_labels does.
          const ref = resizeBilinearCpu(readNpy(join(DIR, `logits_${c.name}.npy`)).data, c.logits_shape, { outH: c.height, outW: c.width, mode: 'align_corners' });
          console.log(`      (relative error of the logits: ${relativeError(logits, ref).toExponential(1)})`);
          expectClose(logits, ref, `${c.name} logits`);
        } finally {
          program.dispose();
        }
      });
    }
  });

  describe("the zoo's tarball, written from the same weights @slow", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'mnv2-ade20k-'));
      writeFileSync(join(dir, 'deeplabv3_mnv2_ade20k_train_2018_12_03.tar.gz'), zooTarball(variables));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("loadModel(tarball, { ownSize, outputStride }), segment(): the zoo's pipeline at a crop of the image's size gives TF's labels on >= 99.9 % of pixels, at OS 8 and 16, on both sizes", async () => {
      const path = join(dir, 'deeplabv3_mnv2_ade20k_train_2018_12_03.tar.gz');
      for (const outputStride of [8, 16]) {
        const loaded = await loadWeights(path, { outputStride });
        expect(loaded.config).to.deep.include({ decoder: 'deeplabv3plus', numClasses: 151, outputStride });
        // 151 classes by path: TF's ADE20K, 'other' first; its file name says the ADE20K MobileNetV2's 257x257 crop.
        expect(loaded.classes.names.slice(0, 2)).to.deep.equal(['other', 'wall']);
        expect(loaded.inputPolicy).to.deep.equal({ kind: 'pad-to-crop', height: 257, width: 257 });
        // The fixture's graph was built with the crop at the image's size: ownSize runs it so.
        const cases = manifest.cases.filter((c) => c.output_stride === outputStride);
        for (const share of await zooLabelAgreement(path, { outputStride, ownSize: true }, DIR, cases)) expect(share).to.be.at.least(0.999);
      }
    });

    it('the registry entry mobilenetv2-ade20k-257 loads its file from DEEPLAB_WEIGHTS_DIR: OS 16, 257x257, 151 classes', async () => {
      const restore = setFlags({ DEEPLAB_WEIGHTS_DIR: dir });
      try {
        const w = await loadWeights('mobilenetv2-ade20k-257', { download: false });
        expect(w.config).to.deep.include({ backbone: 'mobilenet_v2', decoder: 'deeplabv3plus', numClasses: 151, outputStride: 16 });
        expect(w.inputPolicy).to.deep.equal({ kind: 'pad-to-crop', height: 257, width: 257 });
        expect(w.classes.names.slice(0, 2)).to.deep.equal(['other', 'wall']);
      } finally {
        restore();
      }
    });
  });
});
