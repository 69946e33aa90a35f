// A hub MobileNetV2 DeepLabV3's training step against transformers' (../shared/fixtures/hf, README
// there): the folder loaded as any model is (its batch norms kept), batch norms in training mode
// as the trainer runs them without freezeBn (trainingBatchNorms), batch 2 at 65x97, dropout off.
// The loss, every parameter's gradient and the running statistics after the step, which
// transformers' port updates with momentum 0.997 (a batch's statistics weigh 0.997), compared in
// transformers' names and layouts through the hub export's mapping.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Value } from '../../src/graph/ir.js';
import type { HostParam, HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import { permuteCpu } from '../../src/kernels/layout/permute.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import { parseNpy, readNpy } from '../../src/model/weights/import/npy.js';
import type { HostTensor, TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { readZip } from '../../src/model/weights/import/zip.js';
import { mobilenetV2HubTensors } from '../../src/model/weights/transformers-mobilenet-v2.js';
import { buildTrainingGraphs, gradName, trainingBatchNorms } from '../../src/train/training-graph.js';
import { relativeError, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { asF64, worstError } from './float64-gradients.js';

const DIR = sharedPath('fixtures', 'hf', 'deeplabv3_mobilenet_v2_1.0_513');
const STEP = `${DIR}/train_seed1_2x65x97`;

function readNpz(path: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, bytes] of readZip(readFileSync(path))) out.set(name.replace(/\.npy$/, ''), parseNpy(bytes, `${path}:${name}`));
  return out;
}

/** The step's results against the fixture's: the loss's relative error, the worst gradient, the zero gradients, the running statistics' worst relative error. */
function compare(loss: number, ours: TensorMap, zeroTolerance: number) {
  const lossRef = (JSON.parse(readFileSync(`${STEP}_loss.json`, 'utf8')) as { loss: number }).loss;
  const refs = readNpz(`${STEP}_grads.npz`);
  const names = [...refs.keys()];
  for (const name of names) expect(ours.has(name), `a gradient for ${name}`).to.equal(true);
  const { worst, zeros } = worstError(names, (n) => ours.get(n)!.data, (n) => refs.get(n)!.data, 'MobileNetV2', zeroTolerance);
  const after = readNpz(`${STEP}_bn_after.npz`);
  // transformers also runs the classifier's features (conv_1x1), which segmentation never reads and we do not build.
  const stats = [...after.keys()].filter((n) => !n.startsWith('mobilenet_v2.conv_1x1.'));
  expect(stats.length, 'running statistics compared').to.equal(2 * 54);
  let statsErr = 0;
  for (const name of stats) statsErr = Math.max(statsErr, relativeError(ours.get(name)!.data, after.get(name)!.data));
  const result = { loss: Math.abs(loss - lossRef) / lossRef, worst, zeros, stats: statsErr };
  console.log(`      (loss rel. ${result.loss.toExponential(1)}, worst of ${names.length - zeros} parameter grads ${worst.err.toExponential(1)} (${worst.name}), ${zeros} exact zeros, running stats ${statsErr.toExponential(1)})`);
  // 0 in exact arithmetic: the batch-norm shifts of the 17 blocks' projections, seen only through
  // 1x1 convolutions into training-mode batch norms (every reader of the residual stream), which
  // remove any per-channel constant.
  expect(zeros, 'gradients 0 in exact arithmetic').to.equal(17);
  return result;
}

/** Gradients by parameter name and the statistics after the step, as transformers' tensors. */
const inTransformersNames = (grads: HostParams, statistics: HostParams): TensorMap => mobilenetV2HubTensors(new Map([...grads, ...statistics]));

describe('training: a hub MobileNetV2 with batch statistics against transformers (fixtures/hf) @slow', function () {
  this.timeout(900_000);
  let w: LoadedWeights;
  let image: Float32Array;
  let labels: Uint32Array;
  let size: { batch: number; height: number; width: number };
  before(async () => {
    w = await loadWeights(DIR);
    const pixels = readNpy(`${STEP}_pixel_values.npy`);
    const [N, C, H, W] = pixels.shape;
    size = { batch: N, height: H, width: W };
    image = permuteCpu(pixels.data, pixels.shape, { view: pixels.shape, perm: [0, 2, 3, 1], shape: [N, H, W, C] });
    labels = Uint32Array.from(readNpy(`${STEP}_labels.npy`).data);
  });

  it('float32 on the GPU, the step the trainer builds: loss, every parameter gradient, running statistics (momentum 0.997)', async () => {
    const ctx = await testContext();
    // Built without dropout, as the fixture's step ran.
    const canonical = w.buildGraph(size);
    const graphs = buildTrainingGraphs(trainingBatchNorms(canonical), { ignoreIndex: 255 }, () => ({ lrScale: 1 }));
    const session = Session.create(ctx, canonical, w.params, 'hub mobilenet_v2');
    const program = await Program.create(ctx, compile(graphs.step, { mode: 'training' }), session, 'hub mobilenet_v2 step');
    try {
      const got = await program.run({ image, labels });
      expect(graphs.trainable.length, 'every parameter trains').to.equal(164);
      const accumulated = await session.downloadAll(graphs.step, ['gradient']);
      const grads: HostParams = new Map(graphs.trainable.map((p) => [p.name, accumulated.get(gradName(p.name))!]));
      const ours = inTransformersNames(grads, await session.downloadAll(canonical, ['statistic']));
      // Zero gradients must be as small as rounding noise, 1e-4 of a typical gradient.
      const r = compare((got.get('loss') as Float32Array)[0], ours, 1e-4);
      expect(r.loss, 'loss').to.be.lessThan(1e-5);
      // transformers' own float32 run lands 1.6e-2 from the float64 gradients at worst (README):
      // ReLU6 kinks and the image-pooling batch norm, which sees two values per channel at
      // batch 2, make some tensors ill-conditioned (the float32 rounding of the pixel values
      // alone moves the float64 gradients by 4e-3). Within twice that.
      expect(r.worst.err, `parameter gradient ${r.worst.name}`).to.be.lessThan(3.2e-2);
      expect(r.stats, 'running statistics').to.be.lessThan(1e-4);
    } finally {
      program.dispose();
      session.dispose();
    }
  });

  it('float64 in the CPU interpreter, from the pixel values transformers computed: the same step to float32 storage precision', () => {
    const network = trainingBatchNorms(w.buildGraph(size));
    const b = GraphBuilder.extend(network);
    const logits = network.outputs.get('logits')!;
    const [loss, dlogits] = b.node('loss', { type: 'softmax_cross_entropy', logits, labels: b.input('labels', [size.batch, size.height, size.width], 'u32'), attrs: { ignoreIndex: 255, scale: 1 } });
    b.output('loss', loss);
    const wrt = network.state.filter((v) => v.role === 'param');
    const d = differentiate(b.build(), new Map([[logits, dlogits]]), wrt);
    const out = GraphBuilder.extend(d.graph);
    for (const p of wrt) out.output(`grad:${p.name}`, d.grads.get(p.id)!);
    const statistics = network.state.filter((v) => v.role === 'statistic');
    for (const v of statistics) out.output(`state:${v.name}`, v);
    // The pixel levels behind the fixture's float32 values, scaled in double as the processor
    // did before they were stored: the references were computed from these.
    const image64 = Float64Array.from(image, (v) => (Math.round((v + 1) * 127.5) / 255 - 0.5) / 0.5);
    const got = runGraphCpu(out.build(), asF64(w.params), { image: image64, labels });
    // Rounded to float32, as the references are stored.
    const tensor = (v: Value, key: string): [string, HostParam] => [v.name, { shape: [...v.shape], data: Float32Array.from(got.get(key)!) }];
    const ours = inTransformersNames(new Map(wrt.map((p) => tensor(p, `grad:${p.name}`))), new Map(statistics.map((v) => tensor(v, `state:${v.name}`))));
    const r = compare((got.get('loss') as Float64Array)[0], ours, 1e-10);
    expect(r.loss, 'loss').to.be.lessThan(1e-12);
    // The references are stored as float32: 6e-8 relative.
    expect(r.worst.err, `parameter gradient ${r.worst.name}`).to.be.lessThan(1e-6);
    expect(r.stats, 'running statistics').to.be.lessThan(1e-6);
  });
});
