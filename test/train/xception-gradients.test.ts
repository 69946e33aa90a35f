// TF DeepLab's Xception-65 DeepLabv3+: a fine-tuning step's gradients against TF's own
// (scripts/fixtures/tf-xception, `--gradients`): the zoo's fine-tuning with
// fine_tune_batch_norm false (batch norms with their moving statistics, as our fineTune's
// freezeBn), no dropout, train_utils' cross-entropy (the logits resized to the labels with aligned
// corners, ignore label 255, the mean over labelled pixels) at 33x45, output stride 16. The loss,
// eight variables' whole gradients, and the gradient norm of every one of the 440 trainable variables.
// TF's norms equal float64's (the CPU interpreter) to 6e-7; ours differ from TF's by up to 2.7e-4 on
// the variables behind one ReLU input that our float32 forward puts 1e-7 on the other side of 0
// (middle flow unit 4), and equal float64's to 2e-6 once float64 takes that side of the kink, which
// the test names. And fineTune() on the model.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { tfZooModel } from '../../src/model/loading/tf-zoo-model.js';
import { DeepLabModel } from '../../src/model/model.js';
import { type FineTuneStep, fineTune } from '../../src/train/fine-tune.js';
import { defaultTfBnEpsilon, tfKeptParams } from '../../src/model/weights/tf-checkpoint.js';
import { expectClose, relativeError, testContext } from '../helpers.js';
import { xceptionFixtureVariables } from '../model/xception-fixture.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { againstFloat64, describeFlip, followKinks, norm, reluNodes, worstError } from './float64-gradients.js';
import type { ActivationOp } from '../../src/graph/ops/elementwise.js';
import type { HostArray } from '../../src/graph/ops/registry.js';

const DIR = join(process.cwd(), 'test', 'fixtures', 'tf-xception');
interface Gradients {
  case: { height: number; width: number; output_stride: number; atrous_rates: number[] };
  loss: number;
  grad_norms: Record<string, number>;
  kept: string[];
}

/** The variable whose norm in `a` is relatively farthest from `ref`'s. */
function worstOf(names: string[], a: number[], ref: number[]) {
  return names.reduce((w, name, i) => {
    const err = Math.abs(a[i] - ref[i]) / ref[i];
    return err > w.err ? { name, err } : w;
  }, { name: '', err: 0 });
}

/** Our parameter of a TF variable: a depthwise conv's `depthwise_weights` is our `weights`. */
const ourName = (tf: string) => tf.replace(/\/depthwise_weights$/, '/weights');

describe('training: TF DeepLab Xception-65 gradients against TF (fixtures/tf-xception) @slow', function () {
  this.timeout(900_000);

  it("33x45 at OS 16, frozen batch norms: the loss, 8 variables' gradients and all 440 gradient norms within 1e-4 of TF's; every gradient within 1e-4 of float64's, a float32 ReLU kink flip named", async () => {
    const ref = JSON.parse(readFileSync(join(DIR, 'gradients.json'), 'utf8')) as Gradients;
    const { height, width, output_stride: outputStride, atrous_rates: asppRates } = ref.case;
    const canonical = buildDeepLab(defaultConfig('xception_65', { numClasses: 5, outputStride, asppRates }), { height, width });
    const params = tfKeptParams(canonical, xceptionFixtureVariables(), defaultTfBnEpsilon, 'fixture');
    // The network as it is (batch norms in inference mode), the loss of its logits at the input's size.
    const b = GraphBuilder.extend(canonical);
    const logits = canonical.outputs.get('logits')!;
    const labels = b.input('labels', [1, height, width], 'u32');
    const [loss, dlogits] = b.node('loss', { type: 'softmax_cross_entropy', logits, labels, attrs: { ignoreIndex: 255, scale: 1 } });
    b.output('loss', loss);
    const forward = b.build();
    const wrt = canonical.state.filter((v) => v.role === 'param');
    const d = differentiate(forward, new Map([[logits, dlogits]]), wrt);
    const out = GraphBuilder.extend(d.graph);
    for (const p of wrt) out.output(`grad:${p.name}`, d.grads.get(p.id)!);
    const graph = out.build();
    const image = readNpy(join(DIR, `image_${height}x${width}.npy`));
    const inputs = {
      image: Float32Array.from(image.data, (v) => (2 / 255) * v - 1),
      labels: Uint32Array.from(readNpy(join(DIR, `grad_labels_${height}x${width}.npy`)).data),
    };
    // The GPU's step, and the same step in float64 by the CPU interpreter: on its own (`free`) and
    // from the GPU's forward values (`exact`: what the backward kernels compute).
    const { gpu, exact, free, forwardOps, params64 } = await againstFloat64(graph, forward.nodes.length, params, inputs, 'xception');
    const ourLoss = gpu.get('loss')![0];
    console.log(`      (loss ${ourLoss.toFixed(6)}, TF ${ref.loss.toFixed(6)})`);
    expect(Math.abs(ourLoss - ref.loss) / ref.loss).to.be.lessThan(1e-4);
    for (const name of ref.kept) {
      const g = gpu.get(`grad:${ourName(name)}`)!;
      const tf = readNpy(join(DIR, `grad_${name.replace(/\//g, '__')}.npy`)).data;
      console.log(`      (${name}: ${relativeError(g, tf).toExponential(1)})`);
      expectClose(g, tf, `gradient of ${name}`);
    }
    // Every variable's gradient norm: TF's 440 trainable ones (every weight, gamma, beta and the logits' biases).
    const names = Object.keys(ref.grad_norms);
    expect(names.length).to.equal(wrt.length);
    const normsOf = (run: Map<string, HostArray>) => names.map((n) => norm(run.get(`grad:${ourName(n)}`)!));
    const ours = normsOf(gpu);
    const theirs = names.map((n) => ref.grad_norms[n]);
    const worst = worstOf(names, ours, theirs);
    console.log(`      (gradient norms: relative error ${relativeError(ours, theirs).toExponential(1)}, the worst variable's ${worst.err.toExponential(1)}: ${worst.name})`);
    expectClose(ours, theirs, 'gradient norms');

    // A single variable can be further from TF's than the whole: TF's float32 forward keeps every
    // ReLU input on float64's side of its kink, ours may put one within rounding of 0 on the other
    // side, which moves the gradients behind it by that element's whole share. So: TF's norms are
    // float64's; the flips are named and within float32 rounding of 0; and every gradient of ours
    // is float64's once float64 takes the GPU's side of those kinks.
    const tfWorst = worstOf(names, theirs, normsOf(free()));
    const reluInput = new Map(reluNodes(forward.nodes).map((n) => [n.name, (n.op as ActivationOp).input.id]));
    const { hook, flips } = followKinks(forward.nodes, (layer) => gpu.get(`forward:${reluInput.get(layer)!}`)!);
    const matched = runGraphCpu(graph, params64, { image: Float64Array.from(inputs.image), labels: inputs.labels }, hook);
    const grads = wrt.map((p) => `grad:${p.name}`);
    const { worst: ourWorst } = worstError(grads, (n) => gpu.get(n)!, (n) => matched.get(n)!, 'against float64 on our kinks', 1e-5);
    const { worst: backward } = worstError(grads, (n) => gpu.get(n)!, (n) => exact.get(n)!, 'from our forward values', 1e-5);
    console.log(
      `      (TF's norms against float64: worst ${tfWorst.err.toExponential(1)}; ReLU inputs on the other side of 0 than float64's: ${flips.map(describeFlip).join('; ') || 'none'}; ` +
        `every gradient against float64 on those kinks: worst ${ourWorst.err.toExponential(1)} (${ourWorst.name}); from our forward values ${backward.err.toExponential(1)}; forward ops ${forwardOps.err.toExponential(1)})`,
    );
    expect(tfWorst.err, `TF's float32 norm of ${tfWorst.name} against float64`).to.be.lessThan(1e-5);
    // Xception has ReLUs only: a flipped element is within float32 rounding of 0.
    for (const f of flips) expect(Math.abs(f.f64), `${describeFlip(f)}: within float32 rounding of 0`).to.be.lessThan(1e-5 * f.rms);
    expect(ourWorst.err, ourWorst.name).to.be.lessThan(1e-4);
    expect(backward.err, backward.name).to.be.lessThan(1e-4);
    expect(forwardOps.err, forwardOps.name).to.be.lessThan(1e-4);
  });

  it('fineTune() on the zoo model (frozen batch norms, its default): the loss falls, and the tuned model segments @extended', async () => {
    const ref = JSON.parse(readFileSync(join(DIR, 'gradients.json'), 'utf8')) as Gradients;
    const { height, width } = ref.case;
    const weights = tfZooModel('xception-fixture', { variables: xceptionFixtureVariables(), epsilon: defaultTfBnEpsilon, from: 'fixture' }, {}, {}, [height, width]);
    const model = await DeepLabModel.fromWeights(weights, { ctx: await testContext() });
    const img = readNpy(join(DIR, `image_${height}x${width}.npy`));
    const image = { width, height, data: Uint8Array.from(img.data) };
    const labels = Uint8Array.from(readNpy(join(DIR, `grad_labels_${height}x${width}.npy`)).data);
    const steps: FineTuneStep[] = [];
    try {
      const tuned = await fineTune(model, [{ image, labels }], { recipe: 'plain', steps: 6, crop: 33, lr: 0.01, scale: [1, 1], flip: false, seed: 3, onStep: (r) => void steps.push(r) });
      try {
        const losses = steps.map((s) => s.loss);
        console.log(`      (loss ${losses.map((l) => l.toFixed(3)).join(' ')}; ${(steps.reduce((t, s) => t + s.ms, 0) / steps.length).toFixed(0)} ms a step)`);
        expect(losses[losses.length - 1]).to.be.lessThan(losses[0]);
        expect(tuned.numClasses).to.equal(5);
        expect((await tuned.segment(image)).classes.length).to.equal(width * height);
      } finally {
        tuned.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});
