// A training step of transformers' SegFormer as PyTorch exports it against PyTorch's step on the
// same model (test/fixtures/hub-onnx/train-segformer, scripts/fixtures/hub-onnx/README.md "The
// training fixture": the segformer-torchscript case's network and weights, exported with its batch
// norm kept). The file is loaded alone; its step in train mode (batch statistics, the logits resized
// to the labels bilinearly as transformers' loss does, cross-entropy ignoring 255) is held to
// PyTorch's float64 step: our float64 run (the CPU interpreter) to float32's last digit, our float32
// run (the GPU) within the spread PyTorch's own float32 step has from float64, tensor by tensor;
// the same through the trainer's graphs with an SGD step, and through loadModel and fineTune (the
// update of one plain SGD step read back as the gradient). A fine-tune to new classes, exported by
// `deeplab export --format onnx`, runs in onnxruntime to our logits within 1e-5.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { compile } from '../../src/graph/compile.js';
import { readOnnx } from '../../src/graph/onnx/read.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import { sgdHyperData } from '../../src/kernels/optimizer/sgd.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import type { BandArray } from '../../src/io/band-image.js';
import { loadModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { type FineTuneStep, fineTune } from '../../src/train/fine-tune.js';
import { buildTrainingGraphs, trainingBatchNorms } from '../../src/train/training-graph.js';
import { messages, runCli } from '../cli/run-cli.js';
import { expectClose, randomArray, relativeError, rng, testContext } from '../helpers.js';
import { runOnnx } from '../onnx-runtime.js';
import { nchwToNhwc } from './fixtures.js';
import { norm } from './float64-gradients.js';
import { type ToFileLayout, globalError, gradientGraph, initializerLayouts } from './onnx-train-graph.js';
import { updateRounding } from './sgd-update.js';
import { readNpz } from './smp-step.js';

const DIR = 'test/fixtures/hub-onnx/train-segformer';
const file = (name: string): string => join(DIR, name);

interface Spread {
  loss: number;
  logits: number;
  upsampled_logits: number;
  grads_global: number;
  bn_stats_worst: number;
  grads_per_tensor: Record<string, number>;
}
interface Meta {
  training: {
    batch: { preprocessing: { mean: number[]; std: number[] } };
    loss_float64: number;
    sgd: { lr: number; momentum: number; weight_decay: number };
    float32_vs_float64: Spread;
    /** The gradients that are zero in exact arithmetic (a relative error of rounding means nothing there). */
    zero_gradients: { tensors: string[] };
    /** PyTorch float32's error on each gradient in four of its own summation orders, and the largest ratio they span on one tensor. */
    summation_orders: { per_tensor: Record<string, number[]>; ratio_max: number };
  };
}

describe("training: PyTorch's ONNX export of transformers' SegFormer, its step against PyTorch's (fixtures/hub-onnx/train-segformer)", function () {
  this.timeout(300_000);
  const meta = JSON.parse(readFileSync(file('meta.json'), 'utf8')) as Meta;
  const t = meta.training;
  const s = t.float32_vs_float64;
  const zero = new Set(t.zero_gradients.tensors);
  const input = readNpy(file('train_input_2x64x64.npy'));
  const [N, , H, W] = input.shape;
  const image = nchwToNhwc(input.data, input.shape);
  const labels = Uint32Array.from(readNpy(file('train_label_2x64x64.npy')).data);
  const grads64 = readNpz(file('train_grads_f64.npz'));
  const grads32 = readNpz(file('train_grads.npz'));
  const upsampled64 = readNpy(file('train_upsampled_logits_2x64x64_f64.npy'));
  const own64 = readNpy(file('train_logits_2x16x16_f64.npy'));
  let w: LoadedWeights;
  let layouts: Map<string, ToFileLayout>;

  before(async () => {
    w = await loadWeights(file('model.onnx'), { mean: t.batch.preprocessing.mean, std: t.batch.preprocessing.std });
    layouts = initializerLayouts(file('model.onnx'));
  });
  const training = () => {
    const canonical = w.buildGraph({ batch: N, height: H, width: W }, { training: true });
    return { canonical, network: trainingBatchNorms(canonical) };
  };
  /** The worst running statistic after the step against PyTorch float32's (the only ones stored). */
  const statisticsError = (out: Map<string, ArrayLike<number>>): number => {
    const stats = readNpz(file('train_bn_after.npz'));
    expect([...stats.keys()].every((k) => out.has(`state:${k}`)), 'every running statistic').to.equal(true);
    return Math.max(...[...stats].map(([name, ref]) => relativeError(Float32Array.from(out.get(`state:${name}`)!), ref.data)));
  };
  /** Our gradient (or parameter) in the initializer's own layout. */
  const asInitializer = <T extends Float32Array | Float64Array>(name: string, ours: T): T => layouts.get(name)!(ours);

  it("our float64 step (the CPU interpreter) is PyTorch's float64 step: loss, logits and every gradient to float32's last digit", () => {
    const { network } = training();
    const params64 = new Map([...w.params].map(([k, p]) => [k, { shape: p.shape, data: Float64Array.from(p.data) }]));
    const out = runGraphCpu(gradientGraph(network, { ownLogits: 'logits:resize' }), params64, { image: Float64Array.from(image), labels });
    const lossErr = Math.abs((out.get('loss') as Float64Array)[0] - t.loss_float64) / t.loss_float64;
    const logitsErr = relativeError(out.get('logits') as Float64Array, nchwToNhwc(upsampled64.data, upsampled64.shape));
    const ownErr = relativeError(out.get('own_logits') as Float64Array, nchwToNhwc(own64.data, own64.shape));
    let worst = { name: '', err: 0 };
    let zeroWorst = 0;
    for (const [name, ref] of grads64) {
      const ours = out.get(`grad:${name}`) as Float64Array | undefined;
      expect(ours, `gradient of ${name}`).to.not.equal(undefined);
      const mine = asInitializer(name, ours!);
      if (zero.has(name)) {
        zeroWorst = Math.max(zeroWorst, norm(mine));
        continue;
      }
      const err = relativeError(mine, ref.data);
      if (err > worst.err) worst = { name, err };
    }
    const statsErr = statisticsError(out);
    console.log(
      `      (float64: loss ${lossErr.toExponential(1)}, logits ${logitsErr.toExponential(1)} (before the resize ${ownErr.toExponential(1)}), worst of ${grads64.size - zero.size} gradients ${worst.err.toExponential(1)} (${worst.name}); ` +
        `the ${zero.size} zero gradients at most ${zeroWorst.toExponential(1)}; running statistics against PyTorch float32's ${statsErr.toExponential(1)} [its spread ${s.bn_stats_worst.toExponential(1)}])`,
    );
    expect(grads64.size).to.equal(network.state.filter((v) => v.role === 'param').length);
    expect(statsErr, 'running statistics').to.be.lessThan(3 * s.bn_stats_worst);
    // The references are float64 results stored as float32.
    expect(lossErr, 'loss').to.be.lessThan(1e-7);
    expect(logitsErr, 'logits').to.be.lessThan(1e-6);
    expect(ownErr, 'logits before the resize').to.be.lessThan(1e-6);
    expect(worst.err, worst.name).to.be.lessThan(1e-6);
    expect(zeroWorst, 'the gradients that are zero').to.be.lessThan(1e-12);
  });

  it("our float32 step (the GPU): loss, logits and every gradient within PyTorch float32's spread from float64", async () => {
    const ctx = await testContext();
    const { canonical, network } = training();
    const program = await Program.create(ctx, compile(gradientGraph(network, { ownLogits: 'logits:resize' }), { mode: 'training' }), Session.create(ctx, canonical, w.params, 'onnx-train-segformer'));
    try {
      const out = await program.run({ image, labels });
      const lossErr = Math.abs((out.get('loss') as Float32Array)[0] - t.loss_float64) / t.loss_float64;
      const logitsErr = relativeError(out.get('logits')!, nchwToNhwc(upsampled64.data, upsampled64.shape));
      const ownErr = relativeError(out.get('own_logits')!, nchwToNhwc(own64.data, own64.shape));
      const pairs: [Float32Array, Float32Array][] = [];
      let worst = { name: '', err: 0, ratio: 0 };
      let zeroWorst = { name: '', ratio: 0 };
      // Against the largest of PyTorch float32's errors on the tensor over its summation orders.
      let orders = 0;
      for (const [name, ref] of grads64) {
        const ours = asInitializer(name, out.get(`grad:${name}`) as Float32Array);
        pairs.push([ours, ref.data as Float32Array]);
        if (zero.has(name)) {
          // Rounding of 0 in both: our norm against PyTorch float32's.
          const ratio = norm(ours) / norm(grads32.get(name)!.data);
          if (ratio > zeroWorst.ratio) zeroWorst = { name, ratio };
          continue;
        }
        const err = relativeError(ours, ref.data);
        const ratio = err / s.grads_per_tensor[name];
        if (ratio > worst.ratio) worst = { name, err, ratio };
        orders = Math.max(orders, err / Math.max(...t.summation_orders.per_tensor[name]));
      }
      const gradsErr = globalError(pairs);
      const statsErr = statisticsError(out);
      console.log(
        `      (ours against float64 [PyTorch float32's]: loss ${lossErr.toExponential(1)} [${s.loss.toExponential(1)}], logits ${logitsErr.toExponential(1)} [${s.upsampled_logits.toExponential(1)}], before the resize ${ownErr.toExponential(1)} [${s.logits.toExponential(1)}], ` +
          `gradients together ${gradsErr.toExponential(1)} [${s.grads_global.toExponential(1)}], worst tensor against PyTorch float32's on it ${worst.ratio.toFixed(2)}x (${worst.name}: ${worst.err.toExponential(1)}; ` +
          `${orders.toFixed(2)}x the worst of its summation orders), the zero gradients' norms at most ${zeroWorst.ratio.toFixed(2)}x PyTorch float32's (${zeroWorst.name}), ` +
          `running statistics ${statsErr.toExponential(1)} [${s.bn_stats_worst.toExponential(1)}])`,
      );
      // The loss is one float32 number: within twice PyTorch's error, or one unit in its last place.
      expect(lossErr, 'loss').to.be.lessThan(Math.max(2 * s.loss, 2 ** -23));
      expect(logitsErr, 'logits').to.be.lessThan(2 * s.upsampled_logits);
      expect(ownErr, 'logits before the resize').to.be.lessThan(2 * s.logits);
      expect(gradsErr, 'every gradient together').to.be.lessThan(2 * s.grads_global);
      // One tensor's error moves with the summation order alone by up to ratio_max (3.4x) in PyTorch's own float32 step.
      expect(worst.ratio, `gradient of ${worst.name}`).to.be.lessThan(t.summation_orders.ratio_max);
      expect(zeroWorst.ratio, `gradient of ${zeroWorst.name}`).to.be.lessThan(2);
      expect(statsErr, 'running statistics').to.be.lessThan(2 * s.bn_stats_worst);
    } finally {
      program.dispose();
      program.session.dispose();
    }
  });

  it("one SGD step (momentum, weight decay), its first, through the trainer's graphs: the updates within PyTorch float32's spread from float64's", async () => {
    const ctx = await testContext();
    const { canonical, network } = training();
    const graphs = buildTrainingGraphs(network, { ignoreIndex: 255 }, () => ({}));
    const session = Session.create(ctx, canonical, w.params, 'onnx-train-segformer');
    const step = await Program.create(ctx, compile(graphs.step, { mode: 'training' }), session);
    const update = await Program.create(ctx, graphs.update, session);
    try {
      const lossErr = Math.abs((await step.run({ image, labels })).get('loss')![0] - t.loss_float64) / t.loss_float64;
      const { lr, momentum, weight_decay: weightDecay } = t.sgd;
      await update.run({ sgd: sgdHyperData({ lr, momentum, weightDecay, first: true }) });
      // float64's update from its gradients (SGD's first step: -lr (g + wd p)); ours and PyTorch float32's against it.
      const after = readNpz(file('train_params_after.npz'));
      const ours: [Float32Array, Float64Array][] = [];
      const theirs: [Float32Array, Float64Array][] = [];
      let worst = { name: '', ratio: 0, err: 0, torch: 0 };
      for (const [name, ref] of after) {
        const before = asInitializer(name, w.params.get(name)!.data as Float32Array);
        const g = grads64.get(name)!.data;
        const want = Float64Array.from(before, (p, i) => -lr * (g[i] + weightDecay * p));
        const mine = asInitializer(name, await session.download(name)).map((x, i) => x - before[i]);
        const torch = (ref.data as Float32Array).map((x, i) => x - before[i]);
        ours.push([mine, want]);
        theirs.push([torch, want]);
        // A zero gradient's update is weight decay alone, so every update has a relative error.
        const [err, torchErr] = [relativeError(mine, want), relativeError(torch, want)];
        if (err / torchErr > worst.ratio) worst = { name, ratio: err / torchErr, err, torch: torchErr };
      }
      const [all, allTorch] = [globalError(ours), globalError(theirs)];
      console.log(
        `      (the trainer's loss ${lossErr.toExponential(1)}; ${after.size} updates against float64's: together ${all.toExponential(1)} [PyTorch float32 ${allTorch.toExponential(1)}]; ` +
          `worst tensor ${worst.ratio.toFixed(2)}x PyTorch float32's error on it (${worst.name}: ${worst.err.toExponential(1)} [${worst.torch.toExponential(1)}]))`,
      );
      expect(lossErr, "the trainer's loss").to.be.lessThan(Math.max(2 * s.loss, 2 ** -23));
      expect(after.size).to.equal(network.state.filter((x) => x.role === 'param').length);
      expect(all, 'every update together').to.be.lessThan(2 * allTorch);
      expect(worst.ratio, `update of ${worst.name}`).to.be.lessThan(t.summation_orders.ratio_max);
    } finally {
      step.dispose();
      update.dispose();
      session.dispose();
    }
  });

  it("through the calls users make: loadModel(file) and fineTune() one step (no augmentation, plain SGD at 2^12): the update is -lr x the gradient within PyTorch float32's spread", async () => {
    const model = await loadModel(file('model.onnx'), { ctx: await testContext() });
    try {
      const before = await model.parameters();
      const steps: FineTuneStep[] = [];
      // momentum 0 and no weight decay: after = before - lr g; lr a power of two, so lr g is exact and the update's rounding small.
      const o = { recipe: 'plain' as const, steps: 1, crop: W, batch: N, lr: DOOR_LR, momentum: 0, weightDecay: 0, scale: [1, 1] as [number, number], flip: false, freezeBn: false, seed: 1 };
      const tuned = await fineTune(model, teachSamples(), { ...o, onStep: (r) => void steps.push(r) });
      try {
        const after = await tuned.parameters();
        expect(steps.map((x) => x.lr), 'one step at the rate given').to.deep.equal([DOOR_LR]);
        const lossErr = Math.abs(steps[0].loss - t.loss_float64) / t.loss_float64;
        const pairs: [Float64Array, ArrayLike<number>][] = [];
        let worst = { name: '', ratio: 0 };
        let zeroWorst = 0;
        for (const [name, ref] of grads64) {
          const [b, a] = [before.get(name)!.data, after.get(name)!.data];
          const g = asInitializer(name, Float64Array.from(b, (v, i) => (v - a[i]) / DOOR_LR));
          pairs.push([g, ref.data]);
          if (zero.has(name)) zeroWorst = Math.max(zeroWorst, norm(g) / norm(grads32.get(name)!.data));
          else worst = [worst, { name, ratio: relativeError(g, ref.data) / s.grads_per_tensor[name] }].reduce((x, y) => (y.ratio > x.ratio ? y : x));
        }
        const gradsErr = globalError(pairs);
        const params = tuned.loadedWeights.buildGraph({ height: H, width: W }).state.filter((v) => v.role === 'param');
        const rounding = updateRounding(before, after, params, zero);
        console.log(`      (fineTune: loss ${lossErr.toExponential(1)}; rounding the parameters after the step moves an update by at most ${rounding.bound.toExponential(1)} of itself; -update / lr against float64's gradients: together ${gradsErr.toExponential(1)} [PyTorch float32 ${s.grads_global.toExponential(1)}], worst tensor ${worst.ratio.toFixed(2)}x PyTorch float32's error on it (${worst.name}), zero gradients' norms at most ${zeroWorst.toFixed(2)}x)`);
        expect(lossErr, 'loss').to.be.lessThan(Math.max(2 * s.loss, 2 ** -23));
        // The parameters after are lr g to within a few ulps of themselves: the update read back is the gradient to float32's last place.
        expect(rounding.bound, `rounding of the update of ${rounding.name}`).to.be.lessThan(2 ** -23);
        expect(gradsErr, 'every gradient together').to.be.lessThan(2 * s.grads_global);
        expect(worst.ratio, `gradient of ${worst.name}`).to.be.lessThan(t.summation_orders.ratio_max);
        expect(zeroWorst, 'the zero gradients').to.be.lessThan(2);
      } finally {
        tuned.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it("fineTune to new classes, saved, exported by deeplab export --format onnx: the file's graph with the trained weights, which onnxruntime runs to our logits within 1e-5", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-segformer-'));
    const model = await loadModel(file('model.onnx'), { ctx: await testContext() });
    try {
      const tuned = await fineTune(model, teachSamples(), { recipe: 'plain', steps: 2, crop: 48, batch: 2, lr: 0.01, classes: ['sky', 'road', 'car'], freezeBn: false, seed: 3 });
      try {
        const ckpt = join(dir, 'tuned.safetensors');
        await tuned.save(ckpt);
        const out = join(dir, 'tuned.onnx');
        const cli = await runCli(['export', '--model', ckpt, '--format', 'onnx', '--out', out]);
        expect(cli.code, messages(cli.stderr)).to.equal(0);
        const [original, back] = [readOnnx(readFileSync(file('model.onnx')), 'model.onnx'), readOnnx(readFileSync(out), out)];
        expect(back.graph.nodes.map((n) => `${n.name} ${n.opType}`)).to.deep.equal(original.graph.nodes.map((n) => `${n.name} ${n.opType}`));
        expect(back.graph.initializers.get('model.decode_head.classifier.weight')!.dims).to.deep.equal([3, 16, 1, 1]);
        const moved = (name: string) => back.graph.initializers.get(name)!.data.some((v, i) => v !== original.graph.initializers.get(name)!.data[i]);
        expect(['model.decode_head.batch_norm.running_mean', 'onnx::MatMul_1035'].every(moved), 'trained weights and statistics written back').to.equal(true);
        for (const [h, w] of [[64, 64], [67, 53]]) {
          const x = randomArray(3 * h * w, -2, 2, rng());
          const theirs = (await runOnnx(readFileSync(out), { pixel_values: { dims: [1, 3, h, w], data: x } })).get('logits')!;
          const ours = await tuned.forwardToHost(nchwToNhwc(x, [1, 3, h, w]), h, w);
          // onnxruntime's output is the file's (H/4); ours is at the input's size where our model resizes the logits there.
          let want = nchwToNhwc(theirs.data, theirs.dims);
          const [, c, oh, ow] = theirs.dims;
          if (ours.length === h * w * c) want = resizeBilinearCpu(want, [1, oh, ow, c], { outH: h, outW: w, mode: 'half_pixel' });
          console.log(`      (${h}x${w}: onnxruntime against ours ${relativeError(ours, want).toExponential(1)})`);
          expectClose(ours, want, `the exported fine-tuned SegFormer at ${h}x${w}`, 1e-5);
        }
      } finally {
        tuned.dispose();
      }
    } finally {
      model.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** fineTune's rate in the door test: a power of two (lr x g exact in float32), so large that rounding the parameters after the step moves an update by a negligible share of itself. */
const DOOR_LR = 2 ** 12;

/** The fixture's two crops and labels as fineTune takes them. */
function teachSamples(): { image: BandArray; labels: Uint8Array }[] {
  const u8 = readNpy(file('train_image_2x64x64_uint8.npy'));
  const labels = readNpy(file('train_label_2x64x64.npy'));
  const [N, H, W, C] = u8.shape;
  return Array.from({ length: N }, (_, k) => ({
    image: { width: W, height: H, channels: C, layout: 'interleaved', data: Uint8Array.from(u8.data.subarray(k * H * W * C, (k + 1) * H * W * C)) },
    labels: Uint8Array.from(labels.data.subarray(k * H * W, (k + 1) * H * W)),
  }));
}
