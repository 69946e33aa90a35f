// TF DeepLab's MobileNetV3 segmentation models (the zoo's mobilenetv3_{large,small}_cityscapes_
// trainfine) against TF DeepLab's own model code (scripts/fixtures/tf-mnv3), on weights from the
// team's counter PRNG under TF's variable names (regenerated here): every variable of TF's graph
// read, the logits at output stride 32 on an odd and an even input and at 16 and 8 (slim's
// dilation) on the odd one, the zoo's tarball layout
// written here from the same weights, and the registry entries. The labels of the whole pipeline,
// through loadModel and segment(), are test/model/tf-zoo-export.test.ts's (export_model.py's
// frozen graph, which records the image pooling's windows).
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../../src/graph/compile.js';
import { Program } from '../../src/graph/program.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { backboneRecord } from '../../src/model/backbones/registry.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import { findModel } from '../../src/model/loading/registry.js';
import { loadedNetwork } from '../../src/model/loading/loaded-weights.js';
import { tfZooModel } from '../../src/model/loading/tf-zoo-model.js';
import { tfMobilenetV3Strides } from '../../src/model/networks/tf-mobilenet-v3.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { defaultTfBnEpsilon } from '../../src/model/weights/tf-checkpoint.js';
import { setFlags } from '../../src/util/flags.js';
import { encodeModel } from '../../src/graph/onnx/proto.js';
import { permuteCpu } from '../../src/kernels/layout/permute.js';
import { onnxModel } from '../../src/model/onnx-export.js';
import { runOnnx } from '../onnx-runtime.js';
import { expectClose, expectThrows, relativeError, testContext } from '../helpers.js';
import { buildBundle, buildTar, frozenGraph } from '../import/tf-writers.js';
import { xceptionPrngValues } from './xception-fixture.js';

const DIR = join(process.cwd(), 'test', 'fixtures', 'tf-mnv3');

interface Variant {
  variables: [string, number[]][];
  bn_epsilon: Record<string, number>;
  cases: { name: string; height: number; width: number; output_stride: number; logits_shape: number[] }[];
}
interface Manifest {
  seed: number;
  num_classes: number;
  flags: { image_pooling_crop_size: string[] };
  variants: Record<'mobilenet_v3_large_seg' | 'mobilenet_v3_small_seg', Variant>;
}

const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as Manifest;
const POOLING_CROP = manifest.flags.image_pooling_crop_size.map(Number) as [number, number];
const variablesOf = (v: Variant): TensorMap => new Map(v.variables.map(([name, shape]) => [name, { shape, data: xceptionPrngValues(name, shape, manifest.seed), sourceDType: 'f32' as const }]));
const zoo = (vars: TensorMap, size: [number, number], outputStride?: number) => tfZooModel('mnv3', { variables: vars, epsilon: defaultTfBnEpsilon, from: 'model.ckpt' }, { outputStride }, {}, size);
/** The fixture's image-pooling crop (49 rather than the zoo's 769: see make_fixtures.py). */
const withCrop = (w: LoadedWeights): LoadedWeights => ({ ...w, ...loadedNetwork(w.config, backboneRecord(w.config.backbone).architecture.fromJson(POOLING_CROP, 'fixture')) });

/** The zoo's tarball layout: the frozen graph and the checkpoint bundle (with Momentum slots and the step) in one folder. */
function zooTarball(folder: string, vars: TensorMap): Uint8Array {
  const tensors = new Map([...vars].map(([name, t]) => [name, { dtype: 1, shape: [...t.shape], bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) }]));
  for (const [name, t] of vars) if (!/moving_(mean|variance)$/.test(name)) tensors.set(`${name}/Momentum`, { dtype: 1, shape: [...t.shape], bytes: new Uint8Array(t.data.byteLength) });
  tensors.set('global_step', { dtype: 9, shape: [], bytes: new Uint8Array(8) });
  const { index, data } = buildBundle(tensors);
  return buildTar(new Map([
    [`${folder}/frozen_inference_graph.pb`, frozenGraph(vars, defaultTfBnEpsilon)],
    [`${folder}/model.ckpt.index`, index],
    [`${folder}/model.ckpt.data-00000-of-00001`, data],
  ]));
}

const normalised = (h: number, w: number) => Float32Array.from(readNpy(join(DIR, `image_${h}x${w}.npy`)).data, (v) => (2 / 255) * v - 1);

describe("model: TF DeepLab's MobileNetV3 segmentation models (the zoo's mobilenetv3_{large,small}_cityscapes_trainfine)", function () {
  this.timeout(600_000);

  it("runs slim's stride rule: at OS 32 every stride kept; at OS 16 and 8 the later blocks at stride 1, dilated", () => {
    const at = (v: 'large' | 'small', os: number) => tfMobilenetV3Strides(v, os).map((u) => `${u.stride}/${u.rate}`).join(' ');
    expect(at('large', 32)).to.equal('1/1 2/1 1/1 2/1 1/1 1/1 2/1 1/1 1/1 1/1 1/1 1/1 2/1 1/1 1/1');
    expect(at('large', 16)).to.equal('1/1 2/1 1/1 2/1 1/1 1/1 2/1 1/1 1/1 1/1 1/1 1/1 1/1 1/2 1/2');
    expect(at('small', 8)).to.equal('2/1 2/1 1/1 1/1 1/2 1/2 1/2 1/2 1/2 1/4 1/4');
    expectThrows(() => tfMobilenetV3Strides('small', 4), 'mobilenet_v3_small_seg: output stride must be 8, 16 or 32, got 4');
  });

  it("pools as the zoo's graph does at its 2049x1025 input (25x25 windows at strides 4, 5: a 3x9 map), and an input under the crop over the whole map", () => {
    const w = zoo(variablesOf(manifest.variants.mobilenet_v3_small_seg), [1025, 2049]);
    const pool = (height: number, width: number) => {
      const node = w.buildGraph({ height, width }).nodes.find((n) => n.name === 'image_pooling/pool')!;
      if (node.op.type !== 'pool2d') throw new Error('image_pooling/pool is no pool2d');
      return [node.op.input.shape.slice(1, 3), [node.op.attrs.kernelH, node.op.attrs.kernelW], node.outputs[0].shape.slice(1, 3)];
    };
    expect(pool(1025, 2049)).to.deep.equal([[33, 65], [25, 25], [3, 9]]);
    expect(pool(161, 193)).to.deep.equal([[6, 7], [6, 7], [1, 1]]);
  });

  for (const [name, variant] of Object.entries(manifest.variants)) {
    describe(name, () => {
      const vars = variablesOf(variant);

      it("reads every variable of TF DeepLab's graph (names, shapes), with its batch norms' eps (1e-3 backbone, 1e-5 aspp0)", () => {
        const w = zoo(vars, [161, 193]);
        expect(w.config).to.deep.include({ backbone: name, numClasses: 19, outputStride: 32, asppRates: [], asppChannels: 128, resizeMode: 'align_corners', normalization: 'minus_one_one' });
        expect(w.classes.names[0]).to.equal('road');
        expect(w.params.size).to.equal(variant.variables.length);
        for (const [v] of variant.variables) expect(w.params.has(v.replace(/\/depthwise_weights$/, '/weights')), v).to.equal(true);
        // The frozen graph's reused scopes (predict_labels builds the network again) carry a '_1'.
        for (const [scope, eps] of Object.entries(variant.bn_epsilon)) expect(Math.abs(defaultTfBnEpsilon(scope.replace(/_1(\/|$)/, '$1')) - eps) / eps, scope).to.be.lessThan(1e-6);
      });

      it('a variable missing, one more, or of another shape is refused, naming each', () => {
        const broken = new Map(vars);
        broken.delete('aspp0/BatchNorm/gamma');
        broken.set('decoder/decoder_conv1/weights', vars.get('decoder/decoder_conv0/weights')!);
        const se = 'MobilenetV3/expanded_conv_3/squeeze_excite/Conv/weights';
        const t = vars.get(se)!;
        broken.set(se, { shape: [1, 1, t.shape[3], t.shape[2]], data: t.data, sourceDType: 'f32' });
        const e = expectThrows(() => zoo(broken, [161, 193]), 'model.ckpt: weights do not match the model');
        expect(e.message).to.include('missing (1): aspp0/BatchNorm/gamma');
        expect(e.message).to.include('unexpected (1): decoder/decoder_conv1/weights');
        expect(e.message).to.include(`mis-shaped (1): ${se}`);
      });

      describe("the logits against TF DeepLab's @slow", () => {
        for (const c of variant.cases) {
          it(`${c.height}x${c.width} at OS ${c.output_stride}: the GPU's logits within 1e-4 of TF's (its stride-8 logits resized with aligned corners)`, async () => {
            const w = withCrop(zoo(vars, [c.height, c.width], c.output_stride));
            const graph = w.buildGraph({ height: c.height, width: c.width });
            const program = await Program.create(await testContext(), compile(graph, { mode: 'inference' }), w.params);
            try {
              const logits = (await program.run({ image: normalised(c.height, c.width) })).get('logits')!;
              const ref = resizeBilinearCpu(readNpy(join(DIR, `logits_${c.name}.npy`)).data, c.logits_shape, { outH: c.height, outW: c.width, mode: 'align_corners' });
              console.log(`      (relative error of the logits: ${relativeError(logits, ref).toExponential(1)})`);
              expectClose(logits, ref, `${c.name} logits`);
            } finally {
              program.dispose();
            }
          });
        }
      });

      it("as ONNX (onnxModel): onnxruntime gives TF's logits (resized to the input with aligned corners) within 1e-4 @slow", async () => {
        const c = variant.cases[0];
        const w = withCrop(zoo(vars, [c.height, c.width]));
        const bytes = encodeModel(onnxModel(w, { height: c.height, width: c.width }));
        const nchw = (data: Float32Array, channels: number) => permuteCpu(data, [1, c.height, c.width, channels], { view: [1, c.height, c.width, channels], perm: [0, 3, 1, 2], shape: [1, channels, c.height, c.width] });
        const logits = (await runOnnx(bytes, { image: { dims: [1, 3, c.height, c.width], data: nchw(normalised(c.height, c.width), 3) } })).get('logits')!;
        expect(logits.dims).to.deep.equal([1, 19, c.height, c.width]);
        const ref = resizeBilinearCpu(readNpy(join(DIR, `logits_${c.name}.npy`)).data, c.logits_shape, { outH: c.height, outW: c.width, mode: 'align_corners' });
        console.log(`      (onnxruntime vs TF: relative error ${relativeError(logits.data, nchw(ref, 19)).toExponential(1)})`);
        expectClose(logits.data, nchw(ref, 19), 'onnxruntime logits');
      });

      describe("the zoo's tarball, written from the same weights @slow", () => {
        const size = name === 'mobilenet_v3_large_seg' ? 'large' : 'small';
        const file = `deeplab_mnv3_${size}_cityscapes_trainfine_2019_11_15.tar.gz`;
        let dir: string;
        before(() => {
          dir = mkdtempSync(join(tmpdir(), 'mnv3-'));
          writeFileSync(join(dir, file), zooTarball(`deeplab_mnv3_${size}_cityscapes_trainfine`, vars));
        });
        after(() => rmSync(dir, { recursive: true, force: true }));

        it('the frozen graph alone loads as the same network, every value exact', async () => {
          writeFileSync(join(dir, 'frozen_inference_graph.pb'), frozenGraph(vars, defaultTfBnEpsilon));
          const w = await loadWeights(join(dir, 'frozen_inference_graph.pb'));
          expect(w.config).to.deep.include({ backbone: name, numClasses: 19, outputStride: 32 });
          expect(w.params.size).to.equal(vars.size);
          for (const [v, t] of vars) expect(Array.from(w.params.get(v.replace(/\/depthwise_weights$/, '/weights'))!.data), v).to.deep.equal(Array.from(t.data));
        });

        it(`the registry entry loads its file from DEEPLAB_WEIGHTS_DIR: OS 32, 1025x2049, Cityscapes' 19 classes, the zoo's 769 image-pooling crop`, async () => {
          const entry = findModel(`mobilenetv3-${size}-cityscapes`);
          expect(entry.fileName).to.equal(file);
          const restore = setFlags({ DEEPLAB_WEIGHTS_DIR: dir });
          try {
            const w = await loadWeights(entry.name, { download: false });
            expect(w.config).to.deep.include({ backbone: name, numClasses: 19, outputStride: 32 });
            // Its graph here records no crop: the registry entry's, padded to as the zoo's graph pads.
            expect(w.inputPolicy).to.deep.equal({ kind: 'pad-to-crop', height: 1025, width: 2049 });
            expect(backboneRecord(name).architecture.toJson(w.architecture)).to.deep.equal([769, 769]);
          } finally {
            restore();
          }
        });
      });
    });
  }
});
