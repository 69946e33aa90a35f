// A convolution with an activation in its epilogue (and a bias) on the device against the CPU
// reference, random inputs, the output poisoned: the check each activation's test runs.
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { prepareConv2d } from '../../src/kernels/conv2d/conv2d.js';
import { type Conv2dParams, conv2dOutputShape } from '../../src/kernels/conv2d/params.js';
import { conv2dCpu } from '../../src/kernels/conv2d/reference.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext } from '../helpers.js';

export async function expectConvEpilogueAsCpu(what: string, inShape: number[], wShape: number[], p: Conv2dParams): Promise<void> {
  const ctx = await testContext();
  const outShape = conv2dOutputShape(inShape, wShape, p);
  const x = randomArray(numel(inShape), -3, 3);
  const w = randomArray(numel(wShape), -1, 1);
  const b = randomArray(wShape[3], -1, 1);
  const input = uploadTensor(ctx, x, inShape);
  const weight = uploadTensor(ctx, w, wShape);
  const bias = uploadTensor(ctx, b, [wShape[3]]);
  const out = poisonedTensor(ctx, outShape);
  try {
    await runOnce(ctx, what, () => prepareConv2d(ctx, { input, weight, bias, out }, p));
    expectClose(await readTensor(ctx, out), conv2dCpu(x, inShape, w, wShape, p, { bias: b }), what);
  } finally {
    for (const t of [input, weight, bias, out]) t.dispose();
  }
}
