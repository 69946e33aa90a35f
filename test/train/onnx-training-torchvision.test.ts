// A training step of PyTorch's own ONNX export against PyTorch's step on the same model
// (test/fixtures/onnx/train-tv-deeplabv3-resnet50, scripts/fixtures/onnx/README.md "The training
// fixture": torchvision's DeepLabV3-ResNet-50 at 1/32 width, exported by torch.onnx with its batch
// norms kept). The file is loaded alone; its step in train mode (batch statistics, cross-entropy
// ignoring 255) is held to PyTorch's float64 step: our float64 run (the CPU interpreter) to float32's
// last digit, which shows every rule exact; our float32 run (the GPU) within the spread PyTorch's
// own float32 step has from float64 (meta.json training.float32_vs_float64), tensor by tensor.
import { expect } from 'chai';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { compile } from '../../src/graph/compile.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import { sgdHyperData } from '../../src/kernels/optimizer/sgd.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { buildTrainingGraphs, trainingBatchNorms } from '../../src/train/training-graph.js';
import { relativeError, testContext } from '../helpers.js';
import { onnxCasePath, readOnnxCase } from '../onnx-fixture.js';
import { asFixture, nchwToNhwc } from './fixtures.js';
import { globalError, gradientGraph } from './onnx-train-graph.js';
import { readNpz } from './smp-step.js';

const CASE = 'train-tv-deeplabv3-resnet50';
const file = (name: string): string => onnxCasePath(CASE, name);

interface Spread {
  loss: number;
  logits: number;
  grads_global: number;
  grads_worst_tensor: number;
  bn_stats_worst: number;
  params_after_worst: number;
  grads_per_tensor: Record<string, number>;
}
interface Training {
  loss_float64: number;
  sgd: { lr: number; momentum: number; weight_decay: number };
  float32_vs_float64: Spread;
}

describe("training: PyTorch's ONNX export of torchvision's DeepLabV3, its step against PyTorch's (fixtures/onnx/train-tv-deeplabv3-resnet50)", function () {
  this.timeout(300_000);
  const meta = readOnnxCase(CASE) as ReturnType<typeof readOnnxCase> & { training: Training };
  const t = meta.training;
  const s = t.float32_vs_float64;
  const input = readNpy(file('train_input_2x32x32.npy'));
  const [N, , H, W] = input.shape;
  const image = nchwToNhwc(input.data, input.shape);
  const labels = Uint32Array.from(readNpy(file('train_label_2x32x32.npy')).data);
  const grads64 = readNpz(file('train_grads_f64.npz'));
  const logits64 = readNpy(file('train_logits_2x32x32_f64.npy'));
  let w: LoadedWeights;

  before(async () => {
    w = await loadWeights(file('model.onnx'), { mean: meta.preprocessing.mean, std: meta.preprocessing.std });
  });
  const training = () => {
    const canonical = w.buildGraph({ batch: N, height: H, width: W }, { training: true });
    return { canonical, network: trainingBatchNorms(canonical) };
  };
  const shapesOf = (network: ReturnType<typeof training>['network']) => new Map(network.state.map((v) => [v.name, v.shape]));

  it("our float64 step (the CPU interpreter) is PyTorch's float64 step: loss, logits and every gradient to float32's last digit; the running statistics PyTorch float32's", () => {
    const { network } = training();
    const params64 = new Map([...w.params].map(([k, p]) => [k, { shape: p.shape, data: Float64Array.from(p.data) }]));
    const out = runGraphCpu(gradientGraph(network), params64, { image: Float64Array.from(image), labels });
    const shapes = shapesOf(network);
    const lossErr = Math.abs((out.get('loss') as Float64Array)[0] - t.loss_float64) / t.loss_float64;
    const logitsErr = relativeError(out.get('logits') as Float64Array, nchwToNhwc(logits64.data, logits64.shape));
    let worst = { name: '', err: 0 };
    for (const [name, ref] of grads64) {
      const ours = out.get(`grad:${name}`) as Float64Array | undefined;
      expect(ours, `gradient of ${name}`).to.not.equal(undefined);
      const err = relativeError(asFixture(ours!, shapes.get(name)!, ref.shape), ref.data);
      if (err > worst.err) worst = { name, err };
    }
    // The running statistics after the step, against PyTorch float32's (the only ones stored).
    let statsErr = 0;
    const stats = readNpz(file('train_bn_after.npz'));
    for (const [name, ref] of stats) statsErr = Math.max(statsErr, relativeError(Float32Array.from(out.get(`state:${name}`)!), ref.data));
    console.log(`      (float64: loss ${lossErr.toExponential(1)}, logits ${logitsErr.toExponential(1)}, worst of ${grads64.size} gradients ${worst.err.toExponential(1)} (${worst.name}); ${stats.size} running statistics against PyTorch float32's ${statsErr.toExponential(1)} [its spread ${s.bn_stats_worst.toExponential(1)}])`);
    expect(stats.size).to.equal(network.state.filter((v) => v.role === 'statistic').length);
    expect(statsErr, 'running statistics').to.be.lessThan(3 * s.bn_stats_worst);
    expect(grads64.size).to.equal(network.state.filter((v) => v.role === 'param').length);
    // The references are float64 results stored as float32.
    expect(lossErr, 'loss').to.be.lessThan(1e-7);
    expect(logitsErr, 'logits').to.be.lessThan(1e-6);
    expect(worst.err, worst.name).to.be.lessThan(1e-6);
  });

  it("our float32 step (the GPU): loss, logits, every gradient and the running statistics within PyTorch float32's spread from float64", async () => {
    const ctx = await testContext();
    const { canonical, network } = training();
    const program = await Program.create(ctx, compile(gradientGraph(network), { mode: 'training' }), Session.create(ctx, canonical, w.params, 'onnx-train-tv'));
    try {
      const out = await program.run({ image, labels });
      const shapes = shapesOf(network);
      const lossErr = Math.abs((out.get('loss') as Float32Array)[0] - t.loss_float64) / t.loss_float64;
      const logitsErr = relativeError(out.get('logits')!, nchwToNhwc(logits64.data, logits64.shape));
      const pairs: [Float32Array, Float32Array][] = [];
      let worst = { name: '', err: 0, ratio: 0 };
      for (const [name, ref] of grads64) {
        const ours = asFixture(out.get(`grad:${name}`) as Float32Array, shapes.get(name)!, ref.shape);
        pairs.push([ours, ref.data as Float32Array]);
        const err = relativeError(ours, ref.data);
        const ratio = err / s.grads_per_tensor[name];
        if (ratio > worst.ratio) worst = { name, err, ratio };
      }
      const gradsErr = globalError(pairs);
      let statsErr = 0;
      for (const [name, ref] of readNpz(file('train_bn_after.npz'))) statsErr = Math.max(statsErr, relativeError(out.get(`state:${name}`)!, ref.data));
      console.log(
        `      (ours against float64 [PyTorch float32's]: loss ${lossErr.toExponential(1)} [${s.loss.toExponential(1)}], logits ${logitsErr.toExponential(1)} [${s.logits.toExponential(1)}], ` +
          `gradients together ${gradsErr.toExponential(1)} [${s.grads_global.toExponential(1)}], worst tensor against PyTorch float32's on it ${worst.ratio.toFixed(2)}x (${worst.name}: ${worst.err.toExponential(1)}), ` +
          `running statistics ${statsErr.toExponential(1)} [${s.bn_stats_worst.toExponential(1)}])`,
      );
      expect(lossErr, 'loss').to.be.lessThan(Math.max(2 * s.loss, 1e-6));
      expect(logitsErr, 'logits').to.be.lessThan(2 * s.logits);
      expect(gradsErr, 'every gradient together').to.be.lessThan(2 * s.grads_global);
      expect(worst.ratio, `gradient of ${worst.name}`).to.be.lessThan(2);
      expect(statsErr, 'running statistics').to.be.lessThan(2 * s.bn_stats_worst);
    } finally {
      program.dispose();
      program.session.dispose();
    }
  });

  it("one SGD step (momentum, weight decay), its first: the updates within PyTorch float32's spread from float64's", async () => {
    const ctx = await testContext();
    const { canonical, network } = training();
    const graphs = buildTrainingGraphs(network, { ignoreIndex: 255 }, () => ({}));
    const session = Session.create(ctx, canonical, w.params, 'onnx-train-tv');
    const step = await Program.create(ctx, compile(graphs.step, { mode: 'training' }), session);
    const update = await Program.create(ctx, graphs.update, session);
    try {
      await step.run({ image, labels });
      const { lr, momentum, weight_decay: weightDecay } = t.sgd;
      await update.run({ sgd: sgdHyperData({ lr, momentum, weightDecay, first: true }) });
      // float64's update from its gradients (SGD's first step: -lr (g + wd p)); ours and PyTorch float32's against it.
      const after = readNpz(file('train_params_after.npz'));
      const ours: [Float32Array, Float64Array][] = [];
      const theirs: [Float32Array, Float64Array][] = [];
      let worst = { name: '', ratio: 0, err: 0, torch: 0 };
      for (const [name, ref] of after) {
        const v = canonical.state.find((x) => x.name === name)!;
        const before = asFixture(w.params.get(name)!.data as Float32Array, v.shape, ref.shape);
        const g = grads64.get(name)!.data;
        const want = Float64Array.from(before, (p, i) => -lr * (g[i] + weightDecay * p));
        const mine = asFixture(await session.download(name), v.shape, ref.shape).map((x, i) => x - before[i]);
        const torch = (ref.data as Float32Array).map((x, i) => x - before[i]);
        ours.push([mine, want]);
        theirs.push([torch, want]);
        const [err, torchErr] = [relativeError(mine, want), relativeError(torch, want)];
        if (err / torchErr > worst.ratio) worst = { name, ratio: err / torchErr, err, torch: torchErr };
      }
      const [all, allTorch] = [globalError(ours), globalError(theirs)];
      console.log(`      (${after.size} updates against float64's: together ${all.toExponential(1)} [PyTorch float32 ${allTorch.toExponential(1)}]; worst tensor ${worst.ratio.toFixed(2)}x PyTorch float32's error on it (${worst.name}: ${worst.err.toExponential(1)} [${worst.torch.toExponential(1)}]))`);
      expect(after.size).to.equal(network.state.filter((x) => x.role === 'param').length);
      expect(all, 'every update together').to.be.lessThan(2 * allTorch);
      expect(worst.ratio, `update of ${worst.name}`).to.be.lessThan(2);
    } finally {
      step.dispose();
      update.dispose();
      session.dispose();
    }
  });
});
