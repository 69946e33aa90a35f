import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { flipWidthCpu, prepareFlipWidth } from '../../src/kernels/layout/flip.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernel: flip (left-right mirror)', () => {
  it('CPU reference mirrors columns by hand', () => {
    // [1,2,3,1]: two rows of three pixels.
    const out = flipWidthCpu(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 2, 3, 1]);
    expect([...out]).to.deep.equal([3, 2, 1, 6, 5, 4]);
    const twice = flipWidthCpu(flipWidthCpu(Float32Array.from([1, 2, 3, 4]), [1, 1, 2, 2]), [1, 1, 2, 2]);
    expect([...twice]).to.deep.equal([1, 2, 3, 4]);
  });

  for (const shape of [[2, 13, 11, 21], [1, 7, 1, 3], [3, 5, 97, 2]]) {
    it(`GPU equals the CPU reference on ${JSON.stringify(shape)}`, async () => {
      const ctx = await testContext();
      const x = randomArray(numel(shape));
      const input = disposeAfterTest(uploadTensor(ctx, x, shape));
      const out = disposeAfterTest(poisonedTensor(ctx, shape));
      await runOnce(ctx, 'flip test', () => prepareFlipWidth(ctx, { input, out }));
      expectClose(await readTensor(ctx, out), flipWidthCpu(x, shape), `flip ${shape}`);
    });
  }

  it('rejects an output of another shape and a non-4-D input', async () => {
    const ctx = await testContext();
    const input = disposeAfterTest(uploadTensor(ctx, randomArray(12), [1, 2, 3, 2]));
    const out = disposeAfterTest(poisonedTensor(ctx, [1, 3, 2, 2]));
    expectThrows(() => prepareFlipWidth(ctx, { input, out }), /flipWidth: out has shape \[1,3,2,2\], expected \[1,2,3,2\]/);
    expectThrows(() => flipWidthCpu(new Float32Array(6), [2, 3]), /flipWidth/);
  });
});
