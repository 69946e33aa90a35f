import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensorU32, uploadTensor } from '../../src/gpu/tensor.js';
import { type ResizeMode, resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { prepareResizeArgmax, resizeArgmaxCpu } from '../../src/kernels/resize/resize-argmax.js';
import { numel, poisonedU32Tensor, randomArray, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

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

  it('rejects a wrong output shape or type', async () => {
    const ctx = await testContext();
    const input = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 3 * 4), [1, 2, 3, 4]));
    const out = disposeAfterTest(poisonedU32Tensor(ctx, [1, 5, 5]));
    expectThrows(() => prepareResizeArgmax(ctx, { input, out }, { outH: 6, outW: 5, mode: 'half_pixel' }), /resizeArgmax: out has shape \[1,5,5\], expected \[1,6,5\]/);
  });
});
