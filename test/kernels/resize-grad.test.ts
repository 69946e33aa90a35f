import { runOnce } from '../../src/gpu/dispatch.js';
import { createTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import {
  RESIZE_MODES,
  type ResizeParams,
  prepareResizeBilinearGrad,
  resizeBilinearCpu,
  resizeBilinearGradCpu,
  resizeBilinearGradScratchShape,
  resizeBilinearOutputShape,
} from '../../src/kernels/resize/resize.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernel: bilinear resize gradient', () => {
  for (const mode of RESIZE_MODES) {
    for (const [shape, outH, outW] of [
      [[2, 4, 5, 3], 9, 11],
      [[1, 9, 7, 2], 4, 3],
      [[1, 3, 4, 2], 3, 4],
    ] as [number[], number, number][]) {
      it(`${mode}: CPU gradient equals central differences, ${JSON.stringify(shape)} -> ${outH}x${outW}`, () => {
        const p: ResizeParams = { outH, outW, mode };
        const x = f64(randomArray(numel(shape)));
        const r = f64(randomArray(numel(resizeBilinearOutputShape(shape, p))));
        expectGradient((v) => resizeBilinearCpu(v, shape, p), x, r, resizeBilinearGradCpu(r, shape, p), mode);
      });
    }

    for (const [shape, outH, outW] of [
      [[2, 9, 9, 21], 65, 65], // the logits' upsampling
      [[1, 33, 31, 5], 17, 13], // downsampling
      [[2, 7, 6, 3], 7, 6], // same size
      [[1, 1, 1, 4], 5, 6], // image pooling's broadcast back
      [[1, 6, 5, 3], 1, 1],
      [[1, 13, 11, 3], 97, 129],
    ] as [number[], number, number][]) {
      it(`${mode}: GPU equals the CPU reference, ${JSON.stringify(shape)} -> ${outH}x${outW}`, async () => {
        const ctx = await testContext();
        const p: ResizeParams = { outH, outW, mode };
        const outShape = resizeBilinearOutputShape(shape, p);
        const dys = randomArray(numel(outShape));
        const dy = disposeAfterTest(uploadTensor(ctx, dys, outShape));
        const scratch = disposeAfterTest(createTensor(ctx, resizeBilinearGradScratchShape(shape, p)));
        const dx = disposeAfterTest(poisonedTensor(ctx, shape));
        await runOnce(ctx, 'resize grad test', () => prepareResizeBilinearGrad(ctx, { dy, scratch, dx }, p));
        expectClose(await readTensor(ctx, dx), resizeBilinearGradCpu(dys, shape, p), `${mode} ${shape} -> ${outH}x${outW}`);
      });
    }
  }

  it('rejects a gradient of the wrong shape', async () => {
    const ctx = await testContext();
    const dy = disposeAfterTest(uploadTensor(ctx, randomArray(12), [1, 2, 2, 3]));
    const dx = disposeAfterTest(createTensor(ctx, [1, 4, 4, 3]));
    const scratch = disposeAfterTest(createTensor(ctx, [1, 3, 4, 3]));
    expectThrows(() => prepareResizeBilinearGrad(ctx, { dy, scratch, dx }, { outH: 3, outW: 3, mode: 'half_pixel' }), /resizeBilinearGrad\(half_pixel\): dy has shape \[1,2,2,3\], expected \[1,3,3,3\]/);
  });
});
