import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensorU32, uploadTensor } from '../../src/gpu/tensor.js';
import { type ResizeMode, resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { prepareResizeArgmax, resizeArgmaxCpu } from '../../src/kernels/resize/resize-argmax.js';
import { argmaxCpu } from '../../src/kernels/softmax/softmax.js';
import { numel, poisonedU32Tensor, randomArray, rng, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernel: fused resize + argmax', () => {
  const cases: [number[], number, number, ResizeMode][] = [
    [[1, 13, 11, 21], 97, 129, 'half_pixel'],
    [[2, 9, 7, 5], 20, 3, 'align_corners'],
    [[1, 33, 33, 21], 17, 19, 'asymmetric'],
    [[1, 1, 1, 4], 5, 6, 'half_pixel'],
  ];
  for (const [shape, outH, outW, mode] of cases) {
    it(`[${shape}] -> ${outH}x${outW} (${mode}) equals resize then argmax`, async () => {
      const ctx = await testContext();
      const x = randomArray(numel(shape), -4, 4);
      const p = { outH, outW, mode };
      const input = disposeAfterTest(uploadTensor(ctx, x, shape));
      const out = disposeAfterTest(poisonedU32Tensor(ctx, [shape[0], outH, outW]));
      await runOnce(ctx, 'resizeArgmax test', () => prepareResizeArgmax(ctx, { input, out }, p));
      const got = await readTensorU32(ctx, out);
      const ref = resizeArgmaxCpu(x, shape, p);
      // Exact, except where the two best interpolated values are within float rounding.
      const resized = resizeBilinearCpu(x, shape, p);
      const C = shape[3];
      let mismatches = 0;
      for (let i = 0; i < ref.length; i++) {
        if (got[i] === ref[i]) continue;
        expect(got[i], `pixel ${i}`).to.be.lessThan(C);
        const gap = Math.abs(resized[i * C + got[i]] - resized[i * C + ref[i]]);
        expect(gap, `pixel ${i}: class ${got[i]} vs ${ref[i]}`).to.be.lessThan(1e-5);
        mismatches++;
      }
      expect(mismatches).to.be.lessThan(ref.length / 1000 + 1);
    });
  }

  it("the CPU reference's shortcut (four source pixels sharing a clear winner) gives resize then argmax exactly: random, tied and regional logits", () => {
    const r = rng();
    const modes: ResizeMode[] = ['half_pixel', 'align_corners', 'asymmetric'];
    for (let trial = 0; trial < 24; trial++) {
      const [H, W, C] = [3 + (trial % 11), 2 + ((trial * 7) % 13), 1 + (trial % 6) * 4];
      const x = randomArray(H * W * C, -20, 20, r);
      // Ties: small integers; regions: a class well ahead over runs of pixels.
      if (trial % 3 === 0) for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i] / 10);
      if (trial % 3 === 1) for (let p = 0; p < H * W; p++) x[p * C + (Math.floor(p / 5) % C)] += 50;
      const shape = [1, H, W, C];
      const p = { outH: 5 + ((trial * 3) % 29), outW: 4 + ((trial * 5) % 31), mode: modes[trial % 3] };
      const want = argmaxCpu(resizeBilinearCpu(x, shape, p), [1, p.outH, p.outW, C]);
      expect(Array.from(resizeArgmaxCpu(x, shape, p)), `trial ${trial}`).to.deep.equal(Array.from(want));
    }
  });

  it('rejects a wrong output shape or type', async () => {
    const ctx = await testContext();
    const input = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 3 * 4), [1, 2, 3, 4]));
    const out = disposeAfterTest(poisonedU32Tensor(ctx, [1, 5, 5]));
    expectThrows(() => prepareResizeArgmax(ctx, { input, out }, { outH: 6, outW: 5, mode: 'half_pixel' }), /resizeArgmax: out has shape \[1,5,5\], expected \[1,6,5\]/);
  });
});
