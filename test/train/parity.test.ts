// Whole-network gradients against PyTorch's autograd (../shared/fixtures/train, README there):
// torchvision DeepLabv3 MobileNetV3-Large and ResNet-50 with the auxiliary head, batch 2,
// loss = CE(out) + 0.5 CE(aux) with ignore index 255, in training mode (batch statistics) and
// with frozen batch norms; the loss, the input gradient, the parameter gradients of the
// fixture's subset, the running statistics after the step, and the parameters after two SGD
// steps. Tolerances follow the fixture README's "how close float32 gets".
import { expect } from 'chai';
import { compile } from '../../src/graph/compile.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readPth } from '../../src/model/weights/import/pth.js';
import { sgdHyperData } from '../../src/kernels/optimizer/sgd.js';
import { buildTrainingGraphs } from '../../src/train/training-graph.js';
import { relativeError, testContext } from '../helpers.js';
import { MODELS, TRAIN, asFixture, gradientGraph, nchwToNhwc, scalar, setup } from './fixtures.js';
import { readFlag } from '../../src/util/flags.js';

/** MobileNetV3 in training mode: these get gradient 0 in exact arithmetic (fixture README). */
const EXACT_ZERO_GRADIENTS = ['backbone.1.block.1.1.bias', 'backbone.13.block.3.1.bias'];

describe('training: whole-network gradients against PyTorch (fixtures/train) @slow', function () {
  this.timeout(900_000);

  for (const m of MODELS) {
    for (const frozen of [true, false]) {
      // ResNet-50 with frozen BN has its own test below (every activation gradient too).
      if (m.prefix === 'r50' && frozen) continue;
      const mode = frozen ? 'frozen BN' : 'training mode';
      // ResNet-50 in training mode is ill-conditioned at these random weights (fixture README):
      // any float32 implementation lands a few per cent from the exact gradients.
      const loose = m.prefix === 'r50' && !frozen;
      it(`${m.prefix}, ${mode}: loss, input gradient, parameter gradients${frozen ? '' : ', running statistics'}`, async () => {
        const ctx = await testContext();
        const s = setup(m, frozen);
        const { graph } = gradientGraph(s.network);
        const program = await Program.create(ctx, compile(graph, { mode: 'training', fuse: !readFlag('PARITY_NO_FUSE') }), Session.create(ctx, s.canonical, s.params, m.prefix), m.prefix);
        try {
          const out = await program.run({ image: s.image, labels: s.labels });
          const suffix = frozen ? '_frozen_bn' : '';
          const loss = (out.get('loss_out') as Float32Array)[0] + (out.get('loss_aux') as Float32Array)[0];
          const lossRef = scalar(`${TRAIN}/${m.prefix}_loss${suffix}.npy`);
          const lossErr = Math.abs(loss - lossRef) / Math.abs(lossRef);
          const dimage = out.get('dimage') as Float32Array;
          const gradRef = readNpy(`${TRAIN}/${m.prefix}_input_grad${suffix}.npy`);
          const imageErr = relativeError(dimage, nchwToNhwc(gradRef.data, gradRef.shape));
          const grads = readPth(`${TRAIN}/${m.prefix}_grads${suffix}.pth`);
          const shapes = new Map(s.network.state.map((v) => [v.name, v.shape]));
          let worst = { name: '', err: 0 };
          for (const [name, ref] of grads) {
            const ours = out.get(`grad:${name}`) as Float32Array | undefined;
            expect(ours, `gradient of ${name}`).to.not.equal(undefined);
            const mine = asFixture(ours!, shapes.get(name)!, ref.shape);
            const norm = Math.sqrt(ref.data.reduce((a, v) => a + v * v, 0));
            // Exactly-zero references (README "zeros that are right") are compared absolutely.
            const err = norm < 1e-12 ? Math.sqrt(mine.reduce((a, v) => a + v * v, 0)) : relativeError(mine, ref.data);
            if (readFlag('PARITY_VERBOSE')) console.log(`        ${name} ${err.toExponential(2)}`);
            if (err > worst.err) worst = { name, err };
          }
          let statsErr = 0;
          if (!frozen) {
            const after = readPth(`${TRAIN}/${m.prefix}_running_stats_after.pth`);
            for (const [name, ref] of after) statsErr = Math.max(statsErr, relativeError(out.get(`state:${name}`)!, ref.data));
          }
          console.log(`      (loss rel. ${lossErr.toExponential(1)}, input grad ${imageErr.toExponential(1)}, worst of ${grads.size} parameter grads ${worst.err.toExponential(1)} (${worst.name})${frozen ? '' : `, running stats ${statsErr.toExponential(1)}`})`);
          expect(lossErr, 'loss').to.be.lessThan(loose ? 1e-3 : 1e-5);
          expect(imageErr, 'input gradient').to.be.lessThan(loose ? 0.15 : 1e-4);
          expect(worst.err, `parameter gradient ${worst.name}`).to.be.lessThan(loose ? 0.15 : 1e-4);
          if (!frozen) expect(statsErr, 'running statistics').to.be.lessThan(1e-4);
        } finally {
          program.dispose();
          program.session.dispose();
        }
      });
    }
  }

  it("mv3, training mode: two SGD steps (momentum 0.9, weight decay 1e-4): PyTorch's second loss and parameter updates", async () => {
    const ctx = await testContext();
    const m = MODELS[0];
    const s = setup(m, false);
    const graphs = buildTrainingGraphs(s.network, { ignoreIndex: 255, auxWeight: 0.5 }, () => ({}));
    const session = Session.create(ctx, s.canonical, s.params, m.prefix);
    const step = await Program.create(ctx, compile(graphs.step, { mode: 'training' }), session);
    const update = await Program.create(ctx, graphs.update, session);
    try {
      const losses: number[] = [];
      for (let k = 0; k < 2; k++) {
        const out = await step.run({ image: s.image, labels: s.labels });
        losses.push((out.get('loss') as Float32Array)[0]);
        await update.run({ sgd: sgdHyperData({ lr: 0.01, momentum: 0.9, weightDecay: 1e-4, first: k === 0 }) });
      }
      // Compared as updates (after - before): a step can move a parameter by many times its
      // own size at these random weights, so the parameters alone would hide (or inflate) the
      // gradients' agreement by that factor.
      const ref = readPth(`${TRAIN}/${m.prefix}_params_after_2_steps.pth`);
      let worst = { name: '', err: 0 };
      for (const [name, t] of ref) {
        const v = s.network.state.find((x) => x.name === name)!;
        const before = asFixture(s.params.get(name)!.data, v.shape, t.shape);
        const ours = asFixture(await session.download(name), v.shape, t.shape);
        // Gradients exactly 0 in exact arithmetic (README): only weight decay moves them, by
        // amounts at float32's rounding level, so these are compared as parameters.
        const err = EXACT_ZERO_GRADIENTS.includes(name)
          ? relativeError(ours, t.data)
          : relativeError(ours.map((x, i) => x - before[i]), t.data.map((x, i) => x - before[i]));
        if (readFlag('PARITY_VERBOSE')) console.log(`        ${name} ${err.toExponential(2)}`);
        if (err > worst.err) worst = { name, err };
      }
      const step2 = scalar(`${TRAIN}/${m.prefix}_loss_step2.npy`);
      console.log(`      (loss 1 ${losses[0].toFixed(6)}, loss 2 ${losses[1].toFixed(6)} vs ${step2.toFixed(6)}; worst parameter update ${worst.err.toExponential(1)} (${worst.name}))`);
      expect(Math.abs(losses[1] - step2) / step2).to.be.lessThan(1e-5);
      // The fixture is exact (float64); step 2's gradients, taken after a large first step at
      // random weights through train-mode BN (the image-pooling BN sees 2 values), come out a
      // few per cent from exact in float32, and the figure moves with the summation order: 1.1e-2
      // and 2.8e-2 with two sets of backward kernels. The update rule itself is checked exactly
      // in test/kernels/sgd.test.ts; this bound still fails for leaving out weight decay (0.28).
      expect(worst.err, worst.name).to.be.lessThan(5e-2);
    } finally {
      step.dispose();
      update.dispose();
      session.dispose();
    }
  });
});
