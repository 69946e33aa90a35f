// An imported ONNX graph trains as our own networks do (test/fixtures/onnx-train, README in
// scripts/fixtures/onnx-train): a small DeepLab-style network exported by PyTorch with its batch
// norms kept, loaded from the file alone, its training step in train mode (batch statistics)
// against PyTorch's in float64: the loss, the logits, every parameter's gradient, the running
// statistics after the step, and the parameters after one SGD step, each within a few times the
// spread PyTorch's own float32 step has from float64 (meta.json's float32_spread); and the same
// gradient graph run in float64 by the CPU interpreter gives PyTorch's float64 numbers.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { compile } from '../../src/graph/compile.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import { sgdHyperData } from '../../src/kernels/optimizer/sgd.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readPth } from '../../src/model/weights/import/pth.js';
import { buildTrainingGraphs, trainingBatchNorms } from '../../src/train/training-graph.js';
import { relativeError, testContext } from '../helpers.js';
import { asFixture, nchwToNhwc } from './fixtures.js';
import { gradientGraph } from './onnx-train-graph.js';

export const ONNX_TRAIN = 'test/fixtures/onnx-train';
const file = (name: string) => `${ONNX_TRAIN}/${name}`;

interface TrainMeta {
  input: [number, number, number, number];
  sgd: { lr: number; momentum: number; weight_decay: number };
  float32_spread: { loss: number; logits: number; worst_gradient: number; gradients: Record<string, number> };
}

describe("training: an imported ONNX graph's step against PyTorch's (fixtures/onnx-train)", function () {
  this.timeout(300_000);
  const meta = JSON.parse(readFileSync(file('meta.json'), 'utf8')) as TrainMeta;
  const [N, , H, W] = meta.input;
  const input = readNpy(file('input.npy'));
  const image = nchwToNhwc(input.data, input.shape);
  const labels = Uint32Array.from(readNpy(file('labels.npy')).data);

  it('the gradient graph in float64 (the CPU interpreter) is PyTorch float64 step: the rules are exact', async () => {
    const w = await loadWeights(file('model.onnx'));
    const canonical = w.buildGraph({ batch: N, height: H, width: W }, { training: true });
    const network = trainingBatchNorms(canonical);
    const params64 = new Map([...w.params].map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]));
    const out = runGraphCpu(gradientGraph(network), params64, { image: Float64Array.from(image), labels });
    const shapes = new Map(network.state.map((v) => [v.name, v.shape]));
    let worst = { name: 'loss', err: Math.abs((out.get('loss') as Float64Array)[0] - readNpy(file('loss.npy')).data[0]) / readNpy(file('loss.npy')).data[0] };
    for (const [name, ref] of readPth(file('grads.pth'))) {
      const err = relativeError(asFixture(out.get(`grad:${name}`) as Float64Array, shapes.get(name)!, ref.shape), ref.data);
      if (err > worst.err) worst = { name, err };
    }
    console.log(`      (worst of the loss and ${shapes.size} gradients in float64: ${worst.err.toExponential(1)} (${worst.name}), the fixture's float32 rounding)`);
    // The references are float64 results stored as float32: agreement to float32's last digit.
    expect(worst.err, worst.name).to.be.lessThan(1e-6);
  });

  it('train mode: loss, logits, every parameter gradient and the running statistics', async () => {
    const ctx = await testContext();
    const w = await loadWeights(file('model.onnx'));
    const canonical = w.buildGraph({ batch: N, height: H, width: W }, { training: true });
    const network = trainingBatchNorms(canonical);
    const program = await Program.create(ctx, compile(gradientGraph(network), { mode: 'training' }), Session.create(ctx, canonical, w.params, 'onnx-train'));
    try {
      const out = await program.run({ image, labels });
      const loss = (out.get('loss') as Float32Array)[0];
      const lossErr = Math.abs(loss - readNpy(file('loss.npy')).data[0]) / Math.abs(loss);
      const logitsRef = readNpy(file('logits_train.npy'));
      const logitsErr = relativeError(out.get('logits')!, nchwToNhwc(logitsRef.data, logitsRef.shape));
      const grads = readPth(file('grads.pth'));
      const shapes = new Map(network.state.map((v) => [v.name, v.shape]));
      expect(grads.size).to.equal(network.state.filter((v) => v.role === 'param').length);
      // Each gradient against PyTorch float32's own error on it: the image-pooling branch's batch
      // norm normalises 2 values per channel, and its conv's gradient is ill-conditioned in any float32.
      let worst = { name: '', err: 0, ratio: 0 };
      for (const [name, ref] of grads) {
        const ours = out.get(`grad:${name}`) as Float32Array | undefined;
        expect(ours, `gradient of ${name}`).to.not.equal(undefined);
        const err = relativeError(asFixture(ours!, shapes.get(name)!, ref.shape), ref.data);
        const ratio = err / Math.max(meta.float32_spread.gradients[name], 1e-6);
        if (ratio > worst.ratio) worst = { name, err, ratio };
      }
      let statsErr = 0;
      for (const [name, ref] of readPth(file('running_stats_after.pth'))) statsErr = Math.max(statsErr, relativeError(out.get(`state:${name}`)!, ref.data));
      const s = meta.float32_spread;
      console.log(
        `      (loss ${lossErr.toExponential(1)}, logits ${logitsErr.toExponential(1)}, running statistics ${statsErr.toExponential(1)}; worst of ${grads.size} gradients against PyTorch float32's error on it: ` +
          `${worst.err.toExponential(1)}, ${worst.ratio.toFixed(1)} times (${worst.name}); PyTorch float32: loss ${s.loss.toExponential(1)}, logits ${s.logits.toExponential(1)}, worst gradient ${s.worst_gradient.toExponential(1)})`,
      );
      expect(lossErr, 'loss').to.be.lessThan(1e-6);
      expect(logitsErr, 'logits').to.be.lessThan(Math.max(10 * s.logits, 1e-6));
      expect(worst.ratio, `gradient of ${worst.name}: ${worst.err} against PyTorch float32's ${s.gradients[worst.name]}`).to.be.lessThan(20);
      expect(statsErr, 'running statistics').to.be.lessThan(1e-5);
    } finally {
      program.dispose();
      program.session.dispose();
    }
  });

  it("one SGD step (momentum, weight decay): PyTorch's parameter updates", async () => {
    const ctx = await testContext();
    const w = await loadWeights(file('model.onnx'));
    const canonical = w.buildGraph({ batch: N, height: H, width: W }, { training: true });
    const graphs = buildTrainingGraphs(trainingBatchNorms(canonical), { ignoreIndex: 255 }, () => ({}));
    const session = Session.create(ctx, canonical, w.params, 'onnx-train');
    const step = await Program.create(ctx, compile(graphs.step, { mode: 'training' }), session);
    const update = await Program.create(ctx, graphs.update, session);
    try {
      await step.run({ image, labels });
      await update.run({ sgd: sgdHyperData({ lr: meta.sgd.lr, momentum: meta.sgd.momentum, weightDecay: meta.sgd.weight_decay, first: true }) });
      let worst = { name: '', err: 0 };
      for (const [name, ref] of readPth(file('params_after_step.pth'))) {
        const v = canonical.state.find((x) => x.name === name)!;
        const before = asFixture(w.params.get(name)!.data, v.shape, ref.shape);
        const after = asFixture(await session.download(name), v.shape, ref.shape);
        const err = relativeError(after.map((x, i) => x - before[i]), ref.data.map((x, i) => x - before[i]));
        if (err > worst.err) worst = { name, err };
      }
      console.log(`      (worst parameter update ${worst.err.toExponential(1)} (${worst.name}))`);
      expect(worst.err, worst.name).to.be.lessThan(20 * meta.float32_spread.worst_gradient);
    } finally {
      step.dispose();
      update.dispose();
      session.dispose();
    }
  });
});
