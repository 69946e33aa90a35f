import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { ACTIVATIONS } from '../../src/kernels/activation/activation.js';
import { type ElementwiseParams, elementwiseCpu, prepareElementwise } from '../../src/kernels/elementwise/elementwise.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernel: elementwise', () => {
  const shape = [2, 7, 5, 13]; // no dimension a multiple of the 256-wide workgroup

  async function check(params: ElementwiseParams, bShape?: number[]): Promise<void> {
    const ctx = await testContext();
    // Inputs spread over [-8, 8] so relu6 / hardswish clamp on both sides.
    const a = randomArray(numel(shape), -8, 8);
    const b = bShape ? randomArray(numel(bShape), -2, 2) : undefined;
    const ta = uploadTensor(ctx, a, shape);
    const tb = b ? uploadTensor(ctx, b, bShape!) : undefined;
    const out = poisonedTensor(ctx, shape);
    try {
      await runOnce(ctx, 'elementwise test', () => prepareElementwise(ctx, { a: ta, b: tb, out }, params));
      const got = await readTensor(ctx, out);
      expectClose(got, elementwiseCpu(a, shape, b, bShape, params), JSON.stringify(params));
    } finally {
      ta.dispose();
      tb?.dispose();
      out.dispose();
    }
  }

  for (const activation of ACTIVATIONS) {
    it(`unary ${activation}`, () => check({ op: 'unary', activation }));
  }
  it('add, same shape, then relu', () => check({ op: 'add', activation: 'relu' }, shape));
  it('multiply, same shape', () => check({ op: 'mul' }, shape));
  it('multiply broadcast [N,1,1,C] (squeeze-excite)', () => check({ op: 'mul' }, [2, 1, 1, 13]));

  it('rejects mismatched shapes with a clear error', async () => {
    const ctx = await testContext();
    const ta = disposeAfterTest(uploadTensor(ctx, randomArray(numel(shape)), shape));
    const tb = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 7 * 5 * 3), [2, 7, 5, 3]));
    const out = disposeAfterTest(poisonedTensor(ctx, shape));
    expectThrows(() => prepareElementwise(ctx, { a: ta, b: tb, out }, { op: 'add' }), /elementwise\(add\): b .*\[2,7,5,3\]/);
  });
});
