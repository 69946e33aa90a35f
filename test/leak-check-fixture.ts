// Cases for test/leak-check.test.ts, run by it in a mocha of their own with the root hooks
// (test/setup.ts): what leaks fails, what is released passes, and the suite goes on after a leak.
import { GpuContext } from '../src/gpu/context.js';
import { uploadTensor } from '../src/gpu/tensor.js';
import { disposeAfterTest, testContext } from './helpers.js';

describe('leak-check fixture', () => {
  it('leaves a tensor', async () => {
    uploadTensor(await testContext(), new Float32Array(4), [4], 'left-behind');
  });

  it('leaves a context', async () => {
    await GpuContext.create();
  });

  it('releases its tensor', async () => {
    uploadTensor(await testContext(), new Float32Array(4), [4]).dispose();
  });

  it('hands its tensors to disposeAfterTest', async () => {
    const ctx = await testContext();
    disposeAfterTest(uploadTensor(ctx, new Float32Array(4), [4]));
    disposeAfterTest(uploadTensor(ctx, new Float32Array(8), [8]));
  });

  it('fails on its own and leaves a tensor', async () => {
    disposeAfterTest(uploadTensor(await testContext(), new Float32Array(4), [4]));
    throw new Error('the failure of the test itself');
  });
});
