import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { accumulateCpu, prepareAccumulate } from '../../src/kernels/optimizer/accumulate.js';
import { expectClose, poisonedTensor, randomArray, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernel: accumulate (in place, over micro-batches)', () => {
  it('first run overwrites whatever the accumulator held, later runs add', async () => {
    const ctx = await testContext();
    const shape = [3, 7, 5, 11];
    const n = 3 * 7 * 5 * 11;
    const acc = poisonedTensor(ctx, shape); // NaN: the first run must not read it
    const gs = [randomArray(n), randomArray(n), randomArray(n)];
    const gTensors = gs.map((g) => uploadTensor(ctx, g, shape));
    const first = uploadTensor(ctx, Uint32Array.of(1), [1]);
    const later = uploadTensor(ctx, Uint32Array.of(0), [1]);
    try {
      let ref: Float32Array = new Float32Array(n);
      for (const [k, g] of gTensors.entries()) {
        await runOnce(ctx, 'accumulate test', () => prepareAccumulate(ctx, { g, first: k === 0 ? first : later, acc }));
        ref = accumulateCpu(ref, gs[k], k === 0);
        expectClose(await readTensor(ctx, acc), ref, `after micro-batch ${k}`);
      }
    } finally {
      for (const t of [acc, first, later, ...gTensors]) t.dispose();
    }
  });

  it('rejects mismatched shapes and a flag that is not one u32', async () => {
    const ctx = await testContext();
    const acc = disposeAfterTest(uploadTensor(ctx, randomArray(6), [2, 3]));
    const g = disposeAfterTest(uploadTensor(ctx, randomArray(5), [5]));
    const flag = disposeAfterTest(uploadTensor(ctx, new Float32Array(1), [1]));
    expectThrows(() => prepareAccumulate(ctx, { g, first: flag, acc }), /accumulate: g has shape \[5\], expected \[2,3\]/);
    expectThrows(() => prepareAccumulate(ctx, { g: acc, first: flag, acc }), /accumulate: first must be one u32/);
  });
});
