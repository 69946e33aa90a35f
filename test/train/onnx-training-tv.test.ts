// A torchvision network's ONNX file trains as PyTorch trains it (test/fixtures/onnx/train-tv-deeplabv3-resnet50,
// scripts/fixtures/onnx/README.md "The training fixture"): DeepLabV3 on a narrow ResNet-50 exported by
// torch.onnx with its batch norms kept, loaded from the file alone, its training-mode step (batch
// statistics, cross-entropy ignoring 255) run in float64 by the CPU interpreter: the loss, the logits and
// every parameter's gradient are PyTorch's float64 step's, and the running statistics after the step
// PyTorch float32's within a few times float32's own spread. The narrow network's float32 gradients
// spread up to 3e-2 from float64 (meta.json), so float64 is where the rules are held exactly; the
// float32 step on the device is held to PyTorch float32's own error on each tensor.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { parseNpy, readNpy } from '../../src/model/weights/import/npy.js';
import type { HostTensor } from '../../src/model/weights/import/tensor-map.js';
import { readZip } from '../../src/model/weights/import/zip.js';
import { trainingBatchNorms } from '../../src/train/training-graph.js';
import { relativeError, testContext } from '../helpers.js';
import { onnxCasePath } from '../onnx-fixture.js';
import { asFixture, gradientGraph, nchwToNhwc } from './fixtures.js';

const CASE = 'train-tv-deeplabv3-resnet50';
const file = (name: string) => onnxCasePath(CASE, name);

function readNpz(path: string): Map<string, HostTensor> {
  return new Map([...readZip(readFileSync(path))].map(([name, bytes]) => [name.replace(/\.npy$/, ''), parseNpy(bytes, `${path}:${name}`)]));
}

interface TrainingMeta {
  loss_float32: number;
  loss_float64: number;
  float32_vs_float64: { loss: number; logits: number; bn_stats_worst: number; grads_per_tensor: Record<string, number> };
}

describe("training: a torchvision ONNX file's step in float64 against PyTorch's (fixtures/onnx/train-tv-deeplabv3-resnet50)", () => {
  const meta = (JSON.parse(readFileSync(file('meta.json'), 'utf8')) as { training: TrainingMeta }).training;
  let out: Map<string, Float32Array | Float64Array | Uint32Array>;
  let shapes: Map<string, readonly number[]>;
  let step: () => Promise<Map<string, Float32Array | Uint32Array>>;

  before(async () => {
    const input = readNpy(file('train_input_2x32x32.npy'));
    const [N, , H, W] = input.shape;
    const image = nchwToNhwc(input.data, input.shape);
    const labels = Uint32Array.from(readNpy(file('train_label_2x32x32.npy')).data);
    const w = await loadWeights(file('model.onnx'));
    const canonical = w.buildGraph({ batch: N, height: H, width: W }, { training: true });
    const network = trainingBatchNorms(canonical);
    shapes = new Map(network.state.map((v) => [v.name, v.shape]));
    const graph = gradientGraph(network).graph;
    const params64 = new Map([...w.params].map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]));
    out = runGraphCpu(graph, params64, { image: Float64Array.from(image), labels }) as typeof out;
    step = async () => {
      const ctx = await testContext();
      const program = await Program.create(ctx, compile(graph, { mode: 'training' }), Session.create(ctx, canonical, w.params, CASE));
      try {
        return await program.run({ image, labels });
      } finally {
        program.dispose();
        program.session.dispose();
      }
    };
  });

  it("the loss, the train-mode logits and every parameter's gradient are PyTorch float64's", () => {
    const loss = (out.get('loss_out') as Float64Array)[0];
    expect(Math.abs(loss - meta.loss_float64) / meta.loss_float64, 'loss').to.be.lessThan(1e-9);
    const logits = readNpy(file('train_logits_2x32x32_f64.npy'));
    // The references are float64 results stored as float32: agreement to float32's last digit.
    expect(relativeError(Float32Array.from(out.get('logits')!), nchwToNhwc(logits.data, logits.shape)), 'logits').to.be.lessThan(1e-6);
    const grads = readNpz(file('train_grads_f64.npz'));
    expect(grads.size, 'gradients').to.equal([...out.keys()].filter((k) => k.startsWith('grad:')).length);
    let worst = { name: '', err: 0 };
    for (const [name, ref] of grads) {
      const ours = out.get(`grad:${name}`) as Float64Array | undefined;
      expect(ours, `gradient of ${name}`).to.not.equal(undefined);
      const err = relativeError(Float32Array.from(asFixture(ours!, shapes.get(name)!, ref.shape)), ref.data);
      if (err > worst.err) worst = { name, err };
    }
    expect(worst.err, worst.name).to.be.lessThan(1e-6);
  });

  it("the running statistics after the step: PyTorch float32's within 3 times float32's spread", () => {
    const after = readNpz(file('train_bn_after.npz'));
    expect(after.size, 'running statistics').to.equal([...out.keys()].filter((k) => k.startsWith('state:')).length);
    let worst = { name: '', err: 0 };
    for (const [name, ref] of after) {
      const ours = out.get(`state:${name}`) as Float64Array | undefined;
      expect(ours, name).to.not.equal(undefined);
      const err = relativeError(Float32Array.from(ours!), ref.data);
      if (err > worst.err) worst = { name, err };
    }
    expect(worst.err, worst.name).to.be.lessThan(3 * meta.float32_vs_float64.bn_stats_worst);
  });

  it("on the device in float32: the loss, the logits and every gradient within PyTorch float32's own error", async () => {
    const got = await step();
    const s = meta.float32_vs_float64;
    const loss = (got.get('loss_out') as Float32Array)[0];
    expect(Math.abs(loss - meta.loss_float64) / meta.loss_float64, 'loss').to.be.lessThan(Math.max(10 * s.loss, 1e-6));
    const logits = readNpy(file('train_logits_2x32x32_f64.npy'));
    expect(relativeError(got.get('logits') as Float32Array, nchwToNhwc(logits.data, logits.shape)), 'logits').to.be.lessThan(10 * s.logits);
    // Against PyTorch float64's step, each gradient within a few times PyTorch float32's own error on it.
    let worst = { name: '', err: 0, ratio: 0 };
    const grads = readNpz(file('train_grads_f64.npz'));
    for (const [name, ref] of grads) {
      const ours = got.get(`grad:${name}`) as Float32Array | undefined;
      expect(ours, `gradient of ${name}`).to.not.equal(undefined);
      const err = relativeError(asFixture(ours!, shapes.get(name)!, ref.shape), ref.data);
      const ratio = err / s.grads_per_tensor[name];
      if (ratio > worst.ratio) worst = { name, err, ratio };
    }
    console.log(`      (worst of ${grads.size} gradients ${worst.err.toExponential(1)}, ${worst.ratio.toFixed(2)} times PyTorch float32's (${worst.name}))`);
    expect(worst.ratio, `gradient of ${worst.name}: ${worst.err} against PyTorch float32's ${s.grads_per_tensor[worst.name]}`).to.be.lessThan(20);
  });
});
