import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { type GpuTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { concat, concatCpu, concatOutputShape, prepareConcat } from '../../src/kernels/layout/concat.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernel: concat', () => {
  async function check(shapes: number[][]): Promise<void> {
    const ctx = await testContext();
    const xs = shapes.map((s) => randomArray(numel(s)));
    const inputs = xs.map((x, i) => uploadTensor(ctx, x, shapes[i], `in${i}`));
    const out = poisonedTensor(ctx, concatOutputShape(shapes));
    try {
      await runOnce(ctx, 'concat test', () => prepareConcat(ctx, { inputs, out }));
      expectClose(await readTensor(ctx, out), concatCpu(xs, shapes), `concat ${JSON.stringify(shapes)}`);
    } finally {
      for (const t of inputs) t.dispose();
      out.dispose();
    }
  }

  it('three inputs with 5, 1 and 19 channels on [2,13,11,*]', () =>
    check([
      [2, 13, 11, 5],
      [2, 13, 11, 1],
      [2, 13, 11, 19],
    ]));
  it('a single input is a copy', () => check([[2, 7, 5, 3]]));
  it('five ASPP-like branches, one of them a 1x1-broadcast-sized map', () =>
    check([
      [1, 9, 7, 8],
      [1, 9, 7, 8],
      [1, 9, 7, 8],
      [1, 9, 7, 8],
      [1, 9, 7, 3],
    ]));

  it('CPU reference places channels at the right offsets', () => {
    // Two 1x1x2 maps: channels [a0, b0, b1] per pixel.
    const got = concatCpu([new Float32Array([1, 2]), new Float32Array([10, 20, 30, 40])], [
      [1, 1, 2, 1],
      [1, 1, 2, 2],
    ]);
    expect(Array.from(got)).to.deep.equal([1, 10, 20, 2, 30, 40]);
  });

  it('concat convenience call allocates [N,H,W,sum C]', async () => {
    const ctx = await testContext();
    const shapes = [
      [1, 3, 5, 2],
      [1, 3, 5, 7],
    ];
    const xs = shapes.map((s) => randomArray(numel(s)));
    const inputs = xs.map((x, i) => uploadTensor(ctx, x, shapes[i]));
    let out: GpuTensor | undefined;
    try {
      out = await concat(ctx, inputs);
      expect(out.shape).to.deep.equal([1, 3, 5, 9]);
      expectClose(await readTensor(ctx, out), concatCpu(xs, shapes), 'concat()');
    } finally {
      for (const t of inputs) t.dispose();
      out?.dispose();
    }
  });

  describe('errors', () => {
    it('rejects inputs whose N, H or W differ, naming the input and shapes', async () => {
      const ctx = await testContext();
      const a = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 13 * 11 * 5), [2, 13, 11, 5]));
      const b = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 13 * 10 * 1), [2, 13, 10, 1]));
      const out = disposeAfterTest(poisonedTensor(ctx, [2, 13, 11, 6]));
      const live = ctx.liveBufferCount;
      expectThrows(() => prepareConcat(ctx, { inputs: [a, b], out }), /concat: inputs\[1\] has shape \[2,13,10,1\] but inputs\[0\] is \[2,13,11,5\]/);
      expect(ctx.liveBufferCount, 'no uniform buffers leaked').to.equal(live);
    });
    it('rejects a wrong output shape', async () => {
      const ctx = await testContext();
      const a = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 3 * 4 * 5), [2, 3, 4, 5]));
      const out = disposeAfterTest(poisonedTensor(ctx, [2, 3, 4, 6]));
      expectThrows(() => prepareConcat(ctx, { inputs: [a, a], out }), /concat: out has shape \[2,3,4,6\], expected \[2,3,4,10\]/);
    });
    it('rejects no inputs, zero-size and wrong-rank shapes', () => {
      expectThrows(() => concatOutputShape([]), /concat: needs at least one input/);
      expectThrows(() => concatOutputShape([[1, 2, 2, 3], [1, 2, 2, 0]]), /concat: inputs\[1\].*zero-size/);
      expectThrows(() => concatOutputShape([[2, 2, 3]]), /concat: inputs\[0\] must have rank 4/);
    });
  });
});

describe('kernel: channel slice (the gradient of concat)', () => {
  it('slices concatenated inputs back out, on the CPU and the GPU', async () => {
    const { channelSliceCpu, prepareChannelSlice } = await import('../../src/kernels/layout/concat.js');
    const ctx = await testContext();
    const shapes = [[2, 9, 7, 5], [2, 9, 7, 1], [2, 9, 7, 13]];
    const parts = shapes.map((s) => randomArray(s.reduce((a, b) => a * b, 1)));
    const joined = concatCpu(parts, shapes);
    const whole = [2, 9, 7, 19];
    const input = disposeAfterTest(uploadTensor(ctx, joined, whole));
    let offset = 0;
    for (const [i, s] of shapes.entries()) {
      expect([...channelSliceCpu(joined, whole, offset, s[3])]).to.deep.equal([...parts[i]]);
      const out = disposeAfterTest(poisonedTensor(ctx, s));
      await runOnce(ctx, 'slice test', () => prepareChannelSlice(ctx, { input, out }, offset));
      expect([...(await readTensor(ctx, out))]).to.deep.equal([...parts[i]]);
      offset += s[3];
    }
    const out = disposeAfterTest(poisonedTensor(ctx, [2, 9, 7, 4]));
    expectThrows(() => prepareChannelSlice(ctx, { input, out }, 16), /channelSlice: channels \[16, 20\) are outside the input's 19/);
  });
});
