import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { type SgdHyper, prepareSgd, sgdCpu, sgdHyperData } from '../../src/kernels/optimizer/sgd.js';
import { expectClose, poisonedTensor, randomArray, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernel: SGD (momentum, weight decay; PyTorch semantics)', () => {
  it('CPU reference replays torch.optim.SGD by hand on one value', () => {
    // p 1, grads 0.5 then 0.25, lr 0.1, momentum 0.9, decay 0.01.
    const h = { lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
    const s1 = sgdCpu([1], [0.5], [0], { ...h, first: true });
    expect(s1.momentum[0]).to.be.closeTo(0.51, 1e-15); // d = 0.5 + 0.01; buf = d
    expect(s1.param[0]).to.be.closeTo(1 - 0.051, 1e-15);
    const s2 = sgdCpu(s1.param, [0.25], s1.momentum, { ...h, first: false });
    const d2 = 0.25 + 0.01 * s1.param[0];
    expect(s2.momentum[0]).to.be.closeTo(0.9 * 0.51 + d2, 1e-15);
    expect(s2.param[0]).to.be.closeTo(s1.param[0] - 0.1 * (0.9 * 0.51 + d2), 1e-15);
  });

  for (const [momentum, weightDecay] of [[0.9, 1e-4], [0, 0], [0.9, 0]] as const) {
    it(`GPU equals the CPU reference over three steps (momentum ${momentum}, decay ${weightDecay}, lr scale 10)`, async () => {
      const ctx = await testContext();
      const shape = [3, 3, 7, 11];
      const n = 3 * 3 * 7 * 11;
      let p: Float64Array = Float64Array.from(randomArray(n));
      let buf: Float64Array = new Float64Array(n);
      const param = uploadTensor(ctx, Float32Array.from(p), shape);
      const mom = poisonedTensor(ctx, shape); // the first step must not read it
      const grads = [randomArray(n), randomArray(n), randomArray(n)];
      const hyper = uploadTensor(ctx, new Float32Array(4), [4]);
      try {
        for (const [step, g] of grads.entries()) {
          const h: SgdHyper = { lr: 0.01 * (1 - step / 3), momentum, weightDecay, first: step === 0 };
          ctx.device.queue.writeBuffer(hyper.buffer, 0, sgdHyperData(h));
          const grad = disposeAfterTest(uploadTensor(ctx, g, shape));
          await runOnce(ctx, 'sgd test', () => prepareSgd(ctx, { param, grad, momentum: mom, hyper }, { lrScale: 10 }));
          ({ param: p, momentum: buf } = sgdCpu(p, g, buf, h, { lrScale: 10 }));
          expectClose(await readTensor(ctx, param), p, `param after step ${step + 1}`);
          expectClose(await readTensor(ctx, mom), buf, `momentum after step ${step + 1}`);
        }
      } finally {
        for (const t of [param, mom, hyper]) t.dispose();
      }
    });
  }

  it('rejects a negative learning rate and mismatched shapes', async () => {
    expectThrows(() => sgdHyperData({ lr: -1, momentum: 0.9, weightDecay: 0, first: true }), /sgd: lr must be a finite number >= 0, got -1/);
    const ctx = await testContext();
    const a = disposeAfterTest(uploadTensor(ctx, randomArray(6), [2, 3]));
    const b = disposeAfterTest(uploadTensor(ctx, randomArray(6), [3, 2]));
    const h = disposeAfterTest(uploadTensor(ctx, new Float32Array(4), [4]));
    expectThrows(() => prepareSgd(ctx, { param: a, grad: b, momentum: a, hyper: h }), /sgd: grad has shape \[3,2\], expected \[2,3\]/);
  });
});
