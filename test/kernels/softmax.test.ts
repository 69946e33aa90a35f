import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { type GpuTensor, readTensor, readTensorU32, uploadTensor } from '../../src/gpu/tensor.js';
import {
  argmax,
  argmaxCpu,
  argmaxOutputShape,
  prepareArgmax,
  prepareSoftmax,
  prepareSoftmaxGrad,
  softmax,
  softmaxCpu,
  softmaxGradCpu,
} from '../../src/kernels/softmax/softmax.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { expectClose, expectThrows, numel, poisonedTensor, poisonedU32Tensor, randomArray, rng, testContext } from '../helpers.js';

describe('kernel: softmax', () => {
  const shape = [2, 13, 11, 19];

  async function runSoftmax(x: Float32Array, s: number[]): Promise<Float32Array> {
    const ctx = await testContext();
    const input = uploadTensor(ctx, x, s);
    const out = poisonedTensor(ctx, s);
    try {
      await runOnce(ctx, 'softmax test', () => prepareSoftmax(ctx, { input, out }));
      return await readTensor(ctx, out);
    } finally {
      input.dispose();
      out.dispose();
    }
  }

  function expectRowsSumToOne(p: Float32Array, C: number): void {
    for (let r = 0; r < p.length / C; r++) {
      let sum = 0;
      for (let c = 0; c < C; c++) sum += p[r * C + c];
      expect(sum, `row ${r}`).to.be.closeTo(1, 1e-5);
    }
  }

  it('matches the CPU reference and rows sum to 1 ([2,13,11,19])', async () => {
    const x = randomArray(numel(shape), -10, 10);
    const got = await runSoftmax(x, shape);
    expectClose(got, softmaxCpu(x, shape), 'softmax');
    expectRowsSumToOne(got, 19);
  });

  it('subtracts the row max: logits near 100 (exp would overflow f32) stay finite', async () => {
    const x = randomArray(numel(shape), 90, 110);
    const got = await runSoftmax(x, shape);
    expectClose(got, softmaxCpu(x, shape), 'softmax of large logits');
    expectRowsSumToOne(got, 19);
  });

  it('a single channel gives probability 1', async () => {
    const s = [1, 5, 3, 1];
    const got = await runSoftmax(randomArray(numel(s), -5, 5), s);
    expect(Array.from(got)).to.deep.equal(new Array(15).fill(1));
  });

  it('softmax convenience call', async () => {
    const ctx = await testContext();
    const s = [1, 3, 7, 21];
    const x = randomArray(numel(s), -4, 4);
    const input = uploadTensor(ctx, x, s);
    let out: GpuTensor | undefined;
    try {
      out = await softmax(ctx, input);
      expect(out.shape).to.deep.equal(s);
      expectClose(await readTensor(ctx, out), softmaxCpu(x, s), 'softmax()');
    } finally {
      input.dispose();
      out?.dispose();
    }
  });

  it('rejects a wrong output shape and a u32 output', async () => {
    const ctx = await testContext();
    const input = uploadTensor(ctx, randomArray(numel(shape)), shape);
    const bad = poisonedTensor(ctx, [2, 13, 11, 18]);
    const u32 = poisonedU32Tensor(ctx, shape);
    try {
      expect(() => prepareSoftmax(ctx, { input, out: bad })).to.throw(/softmax: out has shape \[2,13,11,18\], expected \[2,13,11,19\]/);
      expect(() => prepareSoftmax(ctx, { input, out: u32 })).to.throw(/softmax: out \[2,13,11,19\] must be f32, got u32/);
    } finally {
      input.dispose();
      bad.dispose();
      u32.dispose();
    }
  });
});

describe('kernel: softmax over attention keys (any rank, long rows)', () => {
  for (const shape of [[12, 37, 37], [2, 3, 5, 257], [300, 7]]) {
    it(`matches the CPU reference on ${JSON.stringify(shape)}`, async () => {
      const ctx = await testContext();
      const x = randomArray(numel(shape), -8, 8);
      const input = uploadTensor(ctx, x, shape);
      const out = poisonedTensor(ctx, shape);
      try {
        await runOnce(ctx, 'softmax keys', () => prepareSoftmax(ctx, { input, out }));
        expectClose(await readTensor(ctx, out), softmaxCpu(x, shape), `softmax ${shape}`);
      } finally {
        input.dispose();
        out.dispose();
      }
    });
  }
});

describe('kernel: softmax gradient', () => {
  it('CPU gradient equals central differences (float64)', () => {
    const shape = [3, 4, 9];
    const x = f64(randomArray(numel(shape), -3, 3));
    const r = f64(randomArray(numel(shape)));
    expectGradient((v) => softmaxCpu(v, shape), x, r, softmaxGradCpu(softmaxCpu(x, shape), r, shape), 'softmax');
  });

  for (const shape of [[2, 13, 11, 19], [12, 37, 37], [5, 300]]) {
    it(`GPU equals the CPU reference on ${JSON.stringify(shape)}`, async () => {
      const ctx = await testContext();
      const ys = softmaxCpu(randomArray(numel(shape), -5, 5), shape);
      const dys = randomArray(numel(shape));
      const y = uploadTensor(ctx, ys, shape);
      const dy = uploadTensor(ctx, dys, shape);
      const dx = poisonedTensor(ctx, shape);
      try {
        await runOnce(ctx, 'softmax grad', () => prepareSoftmaxGrad(ctx, { y, dy, dx }));
        expectClose(await readTensor(ctx, dx), softmaxGradCpu(ys, dys, shape), `softmax grad ${shape}`);
      } finally {
        for (const t of [y, dy, dx]) t.dispose();
      }
    });
  }

  it('rejects a gradient of another shape', async () => {
    const ctx = await testContext();
    const y = uploadTensor(ctx, randomArray(12), [2, 6]);
    const dy = uploadTensor(ctx, randomArray(12), [3, 4]);
    try {
      expectThrows(() => prepareSoftmaxGrad(ctx, { y, dy, dx: y }), 'softmaxGrad: dy has shape [3,4], expected [2,6]');
    } finally {
      y.dispose();
      dy.dispose();
    }
  });
});

describe('kernel: argmax', () => {
  const shape = [2, 13, 11, 19];

  async function runArgmax(x: Float32Array, s: number[]): Promise<Uint32Array> {
    const ctx = await testContext();
    const input = uploadTensor(ctx, x, s);
    const out = poisonedU32Tensor(ctx, argmaxOutputShape(s));
    try {
      await runOnce(ctx, 'argmax test', () => prepareArgmax(ctx, { input, out }));
      return await readTensorU32(ctx, out);
    } finally {
      input.dispose();
      out.dispose();
    }
  }

  it('matches the CPU reference exactly on random logits', async () => {
    const x = randomArray(numel(shape), -10, 10);
    expect(Array.from(await runArgmax(x, shape))).to.deep.equal(Array.from(argmaxCpu(x, shape)));
  });

  it('ties go to the lowest channel index (planted ties)', async () => {
    const C = shape[3];
    const rows = numel(shape) / C;
    const r = rng();
    const x = randomArray(numel(shape), -10, 10);
    const expected = new Uint32Array(rows);
    for (let row = 0; row < rows; row++) {
      // Plant the row maximum (20, above every random value) in 2..4 random distinct channels.
      const channels = new Set<number>();
      const copies = 2 + Math.floor(r() * 3);
      while (channels.size < copies) channels.add(Math.floor(r() * C));
      for (const c of channels) x[row * C + c] = 20;
      expected[row] = Math.min(...channels);
    }
    // Rows where every channel ties: the answer is channel 0.
    for (const row of [0, rows - 1]) {
      x.fill(-3.5, row * C, (row + 1) * C);
      expected[row] = 0;
    }
    const got = await runArgmax(x, shape);
    expect(Array.from(got)).to.deep.equal(Array.from(expected));
    expect(Array.from(argmaxCpu(x, shape)), 'CPU reference').to.deep.equal(Array.from(expected));
  });

  it('argmax convenience call returns u32 [N,H,W]', async () => {
    const ctx = await testContext();
    const s = [2, 5, 3, 21];
    const x = randomArray(numel(s), -4, 4);
    const input = uploadTensor(ctx, x, s);
    let out: GpuTensor | undefined;
    try {
      out = await argmax(ctx, input);
      expect(out.shape).to.deep.equal([2, 5, 3]);
      expect(out.dtype).to.equal('u32');
      expect(Array.from(await readTensorU32(ctx, out))).to.deep.equal(Array.from(argmaxCpu(x, s)));
    } finally {
      input.dispose();
      out?.dispose();
    }
  });

  it('rejects wrong output shapes and dtypes, zero-size and rank-1 inputs', async () => {
    const ctx = await testContext();
    const input = uploadTensor(ctx, randomArray(numel(shape)), shape);
    const f32 = poisonedTensor(ctx, [2, 13, 11]);
    const bad = poisonedU32Tensor(ctx, [2, 13, 11, 1]);
    try {
      expect(() => prepareArgmax(ctx, { input, out: f32 })).to.throw(/argmax: out \[2,13,11\] must be u32, got f32/);
      expect(() => prepareArgmax(ctx, { input, out: bad })).to.throw(/argmax: out has shape \[2,13,11,1\], expected \[2,13,11\]/);
      expect(() => argmaxOutputShape([2, 0, 3, 4])).to.throw(/argmax.*zero-size/);
      expect(() => argmaxOutputShape([5])).to.throw(/argmax: input must have rank >= 2/);
    } finally {
      input.dispose();
      f32.dispose();
      bad.dispose();
    }
  });
});
