// TF DeepLab's Xception-65 DeepLabv3+: a fine-tuning step's gradients against TF's own
// (scripts/fixtures/tf-xception, `--gradients`): the zoo's fine-tuning with
// fine_tune_batch_norm false (batch norms with their moving statistics, as our fineTune's
// freezeBn), no dropout, train_utils' cross-entropy (the logits resized to the labels with aligned
// corners, ignore label 255, the mean over labelled pixels) at 33x45, output stride 16. The loss,
// eight variables' whole gradients, and the gradient norm of every one of the 440 trainable variables;
// and fineTune() on the model.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { compile } from '../../src/graph/compile.js';
import { Program } from '../../src/graph/program.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { tfZooModel } from '../../src/model/loading/tf-zoo-model.js';
import { DeepLabModel } from '../../src/model/model.js';
import { type FineTuneStep, fineTune } from '../../src/train/fine-tune.js';
import { defaultTfBnEpsilon, tfKeptParams } from '../../src/model/weights/tf-checkpoint.js';
import { expectClose, relativeError, testContext } from '../helpers.js';
import { xceptionFixtureVariables } from '../model/xception-fixture.js';

const DIR = join(process.cwd(), 'test', 'fixtures', 'tf-xception');
interface Gradients {
  case: { height: number; width: number; output_stride: number; atrous_rates: number[] };
  loss: number;
  grad_norms: Record<string, number>;
  kept: string[];
}

/** Our parameter of a TF variable: a depthwise conv's `depthwise_weights` is our `weights`. */
const ourName = (tf: string) => tf.replace(/\/depthwise_weights$/, '/weights');

describe('training: TF DeepLab Xception-65 gradients against TF (fixtures/tf-xception) @slow', function () {
  this.timeout(900_000);

  it("33x45 at OS 16, frozen batch norms: the loss, 8 variables' gradients and all 440 gradient norms within 1e-4 of TF's", async () => {
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
    const wrt = canonical.state.filter((v) => v.role === 'param');
    const d = differentiate(b.build(), new Map([[logits, dlogits]]), wrt);
    const out = GraphBuilder.extend(d.graph);
    for (const p of wrt) out.output(`grad:${p.name}`, d.grads.get(p.id)!);
    const image = readNpy(join(DIR, `image_${height}x${width}.npy`));
    const inputs = {
      image: Float32Array.from(image.data, (v) => (2 / 255) * v - 1),
      labels: Uint32Array.from(readNpy(join(DIR, `grad_labels_${height}x${width}.npy`)).data),
    };
    const program = await Program.create(await testContext(), compile(out.build(), { mode: 'training' }), params);
    try {
      const run = await program.run(inputs);
      const ourLoss = run.get('loss')![0];
      console.log(`      (loss ${ourLoss.toFixed(6)}, TF ${ref.loss.toFixed(6)})`);
      expect(Math.abs(ourLoss - ref.loss) / ref.loss).to.be.lessThan(1e-4);
      for (const name of ref.kept) {
        const g = run.get(`grad:${ourName(name)}`)!;
        const tf = readNpy(join(DIR, `grad_${name.replace(/\//g, '__')}.npy`)).data;
        console.log(`      (${name}: ${relativeError(g, tf).toExponential(1)})`);
        expectClose(g, tf, `gradient of ${name}`);
      }
      // Every variable's gradient norm: TF's 440 trainable ones (every weight, gamma, beta and the logits' biases).
      const names = Object.keys(ref.grad_norms);
      expect(names.length).to.equal(wrt.length);
      const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));
      const ours = names.map((n) => norm(run.get(`grad:${ourName(n)}`)!));
      const theirs = names.map((n) => ref.grad_norms[n]);
      let worst = { name: '', err: 0 };
      names.forEach((n, i) => {
        const err = Math.abs(ours[i] - theirs[i]) / theirs[i];
        if (err > worst.err) worst = { name: n, err };
      });
      console.log(`      (gradient norms: relative error ${relativeError(ours, theirs).toExponential(1)}, the worst variable's ${worst.err.toExponential(1)}: ${worst.name})`);
      expectClose(ours, theirs, 'gradient norms');
    } finally {
      program.dispose();
    }
  });

  it('fineTune() on the zoo model (frozen batch norms, its default): the loss falls, and the tuned model segments', async () => {
    const ref = JSON.parse(readFileSync(join(DIR, 'gradients.json'), 'utf8')) as Gradients;
    const { height, width } = ref.case;
    const weights = tfZooModel('xception-fixture', { variables: xceptionFixtureVariables(), epsilon: defaultTfBnEpsilon, from: 'fixture' }, {}, {}, [height, width]);
    const model = await DeepLabModel.fromWeights(weights, { ctx: await testContext() });
    const img = readNpy(join(DIR, `image_${height}x${width}.npy`));
    const image = { width, height, data: Uint8Array.from(img.data) };
    const labels = Uint8Array.from(readNpy(join(DIR, `grad_labels_${height}x${width}.npy`)).data);
    const steps: FineTuneStep[] = [];
    try {
      const tuned = await fineTune(model, [{ image, labels }], { steps: 6, crop: 33, lr: 0.01, scale: [1, 1], flip: false, seed: 3, onStep: (r) => void steps.push(r) });
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
