import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { roundToHalf } from '../../src/gpu/half.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { type PermuteParams, inversePermute, permute, permuteCpu, permuteOutputShape, preparePermute } from '../../src/kernels/layout/permute.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { expectThrows, numel, poisonedTensor, randomArray, testContext } from '../helpers.js';

/** MobileViT's unfolding of an NHWC map [B,H,W,C] into 2x2 patches: [B*4, H/2*W/2, C]. */
function unfold(b: number, h: number, w: number, c: number): PermuteParams {
  return { view: [b, h / 2, 2, w / 2, 2, c], perm: [0, 2, 4, 1, 3, 5], shape: [b * 4, (h / 2) * (w / 2), c] };
}

const cases: [string, number[], PermuteParams][] = [
  ['a 2-D transpose', [37, 23], { view: [37, 23], perm: [1, 0], shape: [23, 37] }],
  ['NHWC to NCHW', [2, 5, 7, 3], { view: [2, 5, 7, 3], perm: [0, 3, 1, 2], shape: [2, 3, 5, 7] }],
  ['unfolding into 2x2 patches', [2, 6, 10, 5], unfold(2, 6, 10, 5)],
  ['attention heads [B,N,h*d] -> [B*h,N,d]', [3, 17, 12], { view: [3, 17, 4, 3], perm: [0, 2, 1, 3], shape: [12, 17, 3] }],
  ['a reshape (identity permutation)', [4, 9, 11], { view: [4, 9, 11], perm: [0, 1, 2], shape: [36, 11] }],
  ['rank 6, every axis moved', [2, 3, 4, 5, 3, 2], { view: [2, 3, 4, 5, 3, 2], perm: [5, 3, 1, 4, 0, 2], shape: [2, 5, 3, 3, 2, 4] }],
];

describe('kernel: permute (transpose with reshapes)', () => {
  it('CPU reference transposes a 2x3 matrix by hand', () => {
    const out = permuteCpu(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], { view: [2, 3], perm: [1, 0], shape: [3, 2] });
    expect([...out]).to.deep.equal([1, 4, 2, 5, 3, 6]);
  });

  it('CPU reference unfolds a 4x4 map into four 2x2-patch sequences, in transformers order', () => {
    // One channel, x[y][x] = 10 y + x. Patch position (py, px) collects the pixels at that
    // offset of every 2x2 patch, patches in row-major order.
    const x = Float32Array.from({ length: 16 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4));
    const out = permuteCpu(x, [1, 4, 4, 1], unfold(1, 4, 4, 1));
    expect([...out]).to.deep.equal([0, 2, 20, 22, 1, 3, 21, 23, 10, 12, 30, 32, 11, 13, 31, 33]);
  });

  for (const [what, shape, p] of cases) {
    it(`GPU equals the CPU reference: ${what} ${JSON.stringify(shape)}`, async () => {
      const ctx = await testContext();
      const x = randomArray(numel(shape));
      const input = uploadTensor(ctx, x, shape);
      const out = poisonedTensor(ctx, p.shape);
      try {
        await runOnce(ctx, 'permute test', () => preparePermute(ctx, { input, out }, p));
        // A copy: exactly the reference.
        expect(Array.from(await readTensor(ctx, out))).to.deep.equal(Array.from(permuteCpu(x, shape, p)));
      } finally {
        input.dispose();
        out.dispose();
      }
    });

    it(`the inverse restores the input, and is the gradient: ${what}`, () => {
      const x = f64(randomArray(numel(shape)));
      const inverse = inversePermute(shape, p);
      expect(Array.from(permuteCpu(permuteCpu(x, shape, p), p.shape, inverse))).to.deep.equal(Array.from(x));
      const r = f64(randomArray(numel(p.shape)));
      expectGradient((v) => permuteCpu(v, shape, p), x, r, permuteCpu(r, p.shape, inverse), what);
    });
  }

  it('folding back (the inverse on the GPU) restores a map that has more elements than a workgroup', async () => {
    const ctx = await testContext();
    const shape = [2, 14, 18, 7];
    const p = unfold(2, 14, 18, 7);
    const x = randomArray(numel(shape));
    const input = uploadTensor(ctx, x, shape);
    try {
      const patches = await permute(ctx, input, p);
      const back = await permute(ctx, patches, inversePermute(shape, p));
      try {
        expect(back.shape).to.deep.equal(shape);
        expect(Array.from(await readTensor(ctx, back))).to.deep.equal(Array.from(x));
      } finally {
        patches.dispose();
        back.dispose();
      }
    } finally {
      input.dispose();
    }
  });

  it('half precision: an f16 tensor is copied exactly', async function () {
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    const [, shape, p] = cases[2];
    const x = roundToHalf(randomArray(numel(shape)));
    const input = uploadTensor(ctx, x, shape, 'x', true);
    const out = poisonedTensor(ctx, p.shape, 'out', 'f16');
    try {
      await runOnce(ctx, 'permute f16', () => preparePermute(ctx, { input, out }, p));
      expect(Array.from(await readTensor(ctx, out))).to.deep.equal(Array.from(permuteCpu(x, shape, p)));
    } finally {
      input.dispose();
      out.dispose();
    }
  });

  it('refuses views, permutations and shapes that do not fit, and a wrong output', async () => {
    expectThrows(() => permuteOutputShape([2, 3], { view: [7], perm: [0], shape: [6] }), 'permute: view [7] does not hold the 6 elements of [2,3]');
    expectThrows(() => permuteOutputShape([2, 3], { view: [2, 3], perm: [0, 0], shape: [3, 2] }), 'permute: [0,0] is not a permutation of the 2 axes of view [2,3]');
    expectThrows(() => permuteOutputShape([2, 3], { view: [2, 3], perm: [1, 0], shape: [5] }), 'permute: shape [5] does not hold the 6 elements of view [2,3]');
    expectThrows(() => permuteOutputShape([128], { view: [2, 2, 2, 2, 2, 2, 2], perm: [0, 1, 2, 3, 4, 5, 6], shape: [128] }), 'has more than 6 axes');
    const ctx = await testContext();
    const input = uploadTensor(ctx, randomArray(6), [2, 3]);
    const out = poisonedTensor(ctx, [2, 3]);
    try {
      expectThrows(() => preparePermute(ctx, { input, out }, { view: [2, 3], perm: [1, 0], shape: [3, 2] }), 'permute: out has shape [2,3], expected [3,2]');
    } finally {
      input.dispose();
      out.dispose();
    }
  });
});
