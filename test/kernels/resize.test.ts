import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import {
  RESIZE_MODES,
  type ResizeLayout,
  type ResizeMode,
  type ResizeParams,
  prepareResizeBilinear,
  resizeBilinear,
  resizeBilinearCpu,
  resizeBilinearOutputShape,
} from '../../src/kernels/resize/resize.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernel: resizeBilinear', () => {
  async function runGpu(x: Float32Array, shape: number[], p: ResizeParams, layout?: ResizeLayout): Promise<Float32Array> {
    const ctx = await testContext();
    const input = uploadTensor(ctx, x, shape);
    const out = poisonedTensor(ctx, resizeBilinearOutputShape(shape, p));
    try {
      await runOnce(ctx, 'resize test', () => prepareResizeBilinear(ctx, { input, out }, p, layout));
      return await readTensor(ctx, out);
    } finally {
      input.dispose();
      out.dispose();
    }
  }

  /** Both layouts (an element or a pixel an invocation) against the CPU reference, and bit for bit against each other. */
  async function checkRandom(shape: number[], outH: number, outW: number, mode: ResizeMode): Promise<void> {
    const x = randomArray(numel(shape));
    const p = { outH, outW, mode };
    const ref = resizeBilinearCpu(x, shape, p);
    const [element, pixel] = [await runGpu(x, shape, p, 'element'), await runGpu(x, shape, p, 'pixel')];
    expectClose(element, ref, `${mode} ${shape} -> ${outH}x${outW} (an element an invocation)`);
    expectClose(pixel, ref, `${mode} ${shape} -> ${outH}x${outW} (a pixel an invocation)`);
    expect(Buffer.from(pixel.buffer).equals(Buffer.from(element.buffer)), 'both layouts give the same bits').to.equal(true);
  }

  for (const mode of RESIZE_MODES) {
    describe(`${mode}: GPU vs CPU reference on random data`, () => {
      it('upsample [2,13,11,19] -> 29x24', () => checkRandom([2, 13, 11, 19], 29, 24, mode));
      it('downsample [2,13,11,19] -> 5x4', () => checkRandom([2, 13, 11, 19], 5, 4, mode));
      it('non-square odd [1,97,129,3] -> 13x17', () => checkRandom([1, 97, 129, 3], 13, 17, mode));
      it('non-square odd [1,13,17,3] -> 97x129', () => checkRandom([1, 13, 17, 3], 97, 129, mode));
      it('1x1 input broadcasts: [2,1,1,19] -> 5x7', async () => {
        const shape = [2, 1, 1, 19];
        const x = randomArray(numel(shape));
        const got = await runGpu(x, shape, { outH: 5, outW: 7, mode });
        const want = new Float32Array(2 * 5 * 7 * 19);
        for (let i = 0; i < want.length; i++) want[i] = x[Math.floor(i / (5 * 7 * 19)) * 19 + (i % 19)];
        expectClose(got, want, `${mode} 1x1 broadcast`);
      });
      it('mixed: height up, width down [2,7,23,5] -> 16x3', () => checkRandom([2, 7, 23, 5], 16, 3, mode));
    });
  }

  it('output size 1: align_corners takes the top-left, half_pixel the centre, asymmetric the top-left', async () => {
    const shape = [1, 13, 11, 3];
    const x = randomArray(numel(shape));
    const px = (h: number, w: number): number[] => [0, 1, 2].map((c) => x[(h * 11 + w) * 3 + c]);
    // half_pixel: src = 0.5 * in - 0.5 = 6 (of 13) and 5 (of 11), an exact pixel.
    const want: Record<ResizeMode, number[]> = { align_corners: px(0, 0), half_pixel: px(6, 5), asymmetric: px(0, 0) };
    for (const mode of RESIZE_MODES) {
      const p = { outH: 1, outW: 1, mode };
      const got = Array.from(await runGpu(x, shape, p));
      expectClose(got, want[mode], `${mode} -> 1x1 (GPU)`);
      expectClose(resizeBilinearCpu(x, shape, p), want[mode], `${mode} -> 1x1 (CPU reference)`);
    }
  });

  describe('hand-derived cases from the published formulas', () => {
    // Expected values worked out by hand (see the comments); both the GPU kernel and the CPU
    // reference must reproduce them, so the reference itself is checked too.
    async function expectValues(input: number[][], mode: ResizeMode, want: number[][]): Promise<void> {
      const shape = [1, input.length, input[0].length, 1];
      const x = new Float32Array(input.flat());
      const p = { outH: want.length, outW: want[0].length, mode };
      const flat = want.flat();
      for (const [who, got] of [
        ['GPU', await runGpu(x, shape, p)],
        ['CPU reference', resizeBilinearCpu(x, shape, p)],
      ] as const) {
        got.forEach((v, i) => expect(v, `${who} ${mode} element ${i}`).to.be.closeTo(flat[i], 1e-6));
      }
    }
    const ramp = [
      [0, 1],
      [2, 3],
    ];

    // Source coordinates along each axis: d * (2-1)/(4-1) = 0, 1/3, 2/3, 1. The input is the
    // plane v = 2*y + x, which bilinear interpolation reproduces exactly.
    it('align_corners: [[0,1],[2,3]] -> 4x4', () =>
      expectValues(ramp, 'align_corners', [
        [0, 1 / 3, 2 / 3, 1],
        [2 / 3, 1, 4 / 3, 5 / 3],
        [4 / 3, 5 / 3, 2, 7 / 3],
        [2, 7 / 3, 8 / 3, 3],
      ]));

    // (d + 0.5) * 2/4 - 0.5 = -0.25 -> clamped 0, 0.25, 0.75, 1.25 -> both taps at 1; so
    // coordinates 0, 0.25, 0.75, 1 on the plane v = 2*y + x.
    it('half_pixel: [[0,1],[2,3]] -> 4x4', () =>
      expectValues(ramp, 'half_pixel', [
        [0, 0.25, 0.75, 1],
        [0.5, 0.75, 1.25, 1.5],
        [1.5, 1.75, 2.25, 2.5],
        [2, 2.25, 2.75, 3],
      ]));

    // d * 2/4 = 0, 0.5, 1, 1.5 -> both taps at 1; coordinates 0, 0.5, 1, 1.
    it('asymmetric: [[0,1],[2,3]] -> 4x4', () =>
      expectValues(ramp, 'asymmetric', [
        [0, 0.5, 1, 1],
        [1, 1.5, 2, 2],
        [2, 2.5, 3, 3],
        [2, 2.5, 3, 3],
      ]));

    // A corner impulse exposes the product of the two 1-D weights (the plane above cannot).
    // align_corners 2 -> 3: coordinates 0, 0.5, 1, weights of pixel 0: 1, 0.5, 0.
    const impulse = [
      [1, 0],
      [0, 0],
    ];
    it('align_corners: impulse 2x2 -> 3x3', () =>
      expectValues(impulse, 'align_corners', [
        [1, 0.5, 0],
        [0.5, 0.25, 0],
        [0, 0, 0],
      ]));
    // half_pixel 2 -> 3: (d + 0.5) * 2/3 - 0.5 = -1/6 -> 0, 0.5, 7/6 -> taps both at 1:
    // the same weights 1, 0.5, 0 as align_corners here.
    it('half_pixel: impulse 2x2 -> 3x3', () =>
      expectValues(impulse, 'half_pixel', [
        [1, 0.5, 0],
        [0.5, 0.25, 0],
        [0, 0, 0],
      ]));
    // asymmetric 2 -> 3: d * 2/3 = 0, 2/3, 4/3 -> weights 1, 1/3, 0.
    it('asymmetric: impulse 2x2 -> 3x3', () =>
      expectValues(impulse, 'asymmetric', [
        [1, 1 / 3, 0],
        [1 / 3, 1 / 9, 0],
        [0, 0, 0],
      ]));

    // Downsampling a 1x5 row [0, 10, 20, 40, 80] to 1x2.
    //   align_corners: d * 4/1 = 0, 4          -> 0, 80
    //   half_pixel:    (d + 0.5) * 2.5 - 0.5 = 0.75, 3.25 -> 0.75*10 = 7.5, 40 + 0.25*40 = 50
    //   asymmetric:    d * 2.5 = 0, 2.5        -> 0, 20 + 0.5*20 = 30
    const row = [[0, 10, 20, 40, 80]];
    it('align_corners: downsample 1x5 -> 1x2', () => expectValues(row, 'align_corners', [[0, 80]]));
    it('half_pixel: downsample 1x5 -> 1x2', () => expectValues(row, 'half_pixel', [[7.5, 50]]));
    it('asymmetric: downsample 1x5 -> 1x2', () => expectValues(row, 'asymmetric', [[0, 30]]));
  });

  it('resizeBilinear convenience call allocates [N,outH,outW,C]', async () => {
    const ctx = await testContext();
    const shape = [2, 3, 4, 5];
    const x = randomArray(numel(shape));
    const input = uploadTensor(ctx, x, shape);
    const p: ResizeParams = { outH: 7, outW: 2, mode: 'half_pixel' };
    let out;
    try {
      out = await resizeBilinear(ctx, input, p);
      expect(out.shape).to.deep.equal([2, 7, 2, 5]);
      expectClose(await readTensor(ctx, out), resizeBilinearCpu(x, shape, p), 'resizeBilinear()');
    } finally {
      input.dispose();
      out?.dispose();
    }
  });

  describe('errors', () => {
    it('rejects an unknown mode string', () => {
      expectThrows(() => resizeBilinearOutputShape([1, 4, 4, 1], { outH: 2, outW: 2, mode: 'bicubic' as ResizeMode }), /resizeBilinear: unknown mode 'bicubic' \(expected one of align_corners, half_pixel, asymmetric\)/);
    });
    it('rejects output sizes <= 0 or non-integers', () => {
      expectThrows(() => resizeBilinearOutputShape([1, 4, 4, 1], { outH: 0, outW: 2, mode: 'half_pixel' }), /outH must be a positive integer, got 0/);
      expectThrows(() => resizeBilinearOutputShape([1, 4, 4, 1], { outH: 2, outW: -3, mode: 'half_pixel' }), /outW must be a positive integer, got -3/);
      expectThrows(() => resizeBilinearOutputShape([1, 4, 4, 1], { outH: 2.5, outW: 2, mode: 'half_pixel' }), /outH must be a positive integer, got 2.5/);
    });
    it('rejects zero-size and wrong-rank inputs', () => {
      expectThrows(() => resizeBilinearOutputShape([1, 0, 4, 1], { outH: 2, outW: 2, mode: 'half_pixel' }), /resizeBilinear.*zero-size.*\[1,0,4,1\]/);
      expectThrows(() => resizeBilinearOutputShape([4, 4, 1], { outH: 2, outW: 2, mode: 'half_pixel' }), /resizeBilinear: input must have rank 4/);
    });
    it('rejects an output tensor of the wrong shape', async () => {
      const ctx = await testContext();
      const input = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 3 * 4 * 5), [2, 3, 4, 5]));
      const out = disposeAfterTest(poisonedTensor(ctx, [2, 6, 8, 4]));
      expectThrows(() => prepareResizeBilinear(ctx, { input, out }, { outH: 6, outW: 8, mode: 'align_corners' }), /resizeBilinear\(align_corners\): out has shape \[2,6,8,4\], expected \[2,6,8,5\]/);
    });
  });
});
