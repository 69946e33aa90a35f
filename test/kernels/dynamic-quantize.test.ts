// Dynamic quantisation (onnxruntime's DynamicQuantizeLinear: the tensor's range with zero in it,
// scale, zero point, each value's uint8 code) on the GPU against its CPU reference, exactly: the
// codes are integers, and the scale and zero point are one f32 rounding each. Random values at
// sizes off every workgroup and share, outputs poisoned with NaN, and values placed on and one
// or two ULPs beside the halfway points between codes, where a division off by an ULP (WGSL's `/`
// may be 2.5 ULP off) or any other rounding than onnxruntime's picks the other code.
import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { readBuffer, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { dynamicQuantizeCpu, prepareDynamicQuantize } from '../../src/kernels/quantize/dynamic-quantize.js';
import { minMaxPartialsCpu, prepareMinMax, rangeGroups } from '../../src/kernels/reduce/min-max.js';
import { STORAGE_USAGE } from '../../src/gpu/buffer-pool.js';
import { roundHalfEven } from '../../src/util/round-half-even.js';
import { disposeAfterTest, expectThrows, poisonedTensor, randomArray, rng, testContext } from '../helpers.js';

const f32 = Math.fround;

/** The f32 next to `x` towards `dir` (+1 or -1), `steps` times. */
function nextF32(x: number, dir: number, steps = 1): number {
  const view = new DataView(new ArrayBuffer(4));
  let v = f32(x);
  for (let k = 0; k < steps; k++) {
    if (v === 0) {
      v = dir * 2 ** -149;
      continue;
    }
    view.setFloat32(0, v);
    const bits = view.getUint32(0);
    view.setUint32(0, (v > 0) === (dir > 0) ? bits + 1 : bits - 1);
    v = view.getFloat32(0);
  }
  return v;
}

async function quantizeOnGpu(x: Float32Array): Promise<{ values: Float32Array; scale: number; zeroPoint: number }> {
  const ctx = await testContext();
  const input = disposeAfterTest(uploadTensor(ctx, x, [x.length]));
  const values = disposeAfterTest(poisonedTensor(ctx, [x.length]));
  const scale = disposeAfterTest(poisonedTensor(ctx, [1]));
  const zeroPoint = disposeAfterTest(poisonedTensor(ctx, [1]));
  await runOnce(ctx, 'dynamic quantize test', () => prepareDynamicQuantize(ctx, { input, values, scale, zeroPoint }));
  return { values: await readTensor(ctx, values), scale: (await readTensor(ctx, scale))[0], zeroPoint: (await readTensor(ctx, zeroPoint))[0] };
}

/** The GPU's codes, scale and zero point are the reference's, every one. */
async function expectAsReference(x: Float32Array, what: string): Promise<void> {
  const got = await quantizeOnGpu(x);
  const want = dynamicQuantizeCpu(x);
  expect(got.scale, `${what}: scale`).to.equal(want.scale);
  expect(got.zeroPoint, `${what}: zero point`).to.equal(want.zeroPoint);
  let wrong = 0;
  for (let i = 0; i < x.length; i++) if (got.values[i] !== want.values[i]) wrong++;
  expect(wrong, `${what}: codes differing from the reference (of ${x.length})`).to.equal(0);
}

describe('kernel: dynamic quantisation (DynamicQuantizeLinear)', () => {
  it("CPU reference: onnxruntime 1.30's codes for halves, saturation and a range of 255", () => {
    // onnxruntime-node's DynamicQuantizeLinear on these values gave scale 1, zero point 128 and
    // these uint8 codes (ties to even; 127.5 and -127.5 saturate).
    const x = [0, 1, 2, 3, 4, 5, -1, -2.5, 2.5, 0.5, 1.5, -0.5, 127.5, 10.5, -127.5, 127.5];
    const codes = [128, 129, 130, 131, 132, 133, 127, 126, 130, 128, 130, 128, 255, 138, 0, 255];
    const q = dynamicQuantizeCpu(x);
    expect([q.scale, q.zeroPoint]).to.deep.equal([1, 128]);
    expect(Array.from(q.values, (v) => v + q.zeroPoint)).to.deep.equal(codes);
    // Only zero, only positives, only negatives: the range always holds zero.
    expect(dynamicQuantizeCpu([0, 0, 0])).to.deep.include({ scale: 1, zeroPoint: 0 });
    expect(dynamicQuantizeCpu([0.5, 2.55])).to.deep.include({ scale: f32(f32(2.55) / 255), zeroPoint: 0 });
    expect(dynamicQuantizeCpu([-0.5, -2.55])).to.deep.include({ scale: f32(f32(2.55) / 255), zeroPoint: 255 });
  });

  it('the partial ranges of min_max.wgsl, workgroup by workgroup', async () => {
    const ctx = await testContext();
    for (const n of [1, 255, 2049, 600_001]) {
      const x = randomArray(n, -3, 2);
      const { groups } = rangeGroups(n);
      const input = disposeAfterTest(uploadTensor(ctx, x, [n]));
      const partial = ctx.createBuffer(8 * groups, STORAGE_USAGE, 'partial');
      try {
        await runOnce(ctx, 'min max test', () => prepareMinMax(ctx, { input, partial }));
        const got = new Float32Array(await readBuffer(ctx, partial, 8 * groups));
        expect(Array.from(got), `${n} values in ${groups} groups`).to.deep.equal(Array.from(minMaxPartialsCpu(x)));
      } finally {
        ctx.destroyBuffer(partial);
      }
    }
  });

  for (const [n, lo, hi] of [
    [1, -1, 1],
    [7, 0, 4],
    [257, -5, 0],
    [2049, -0.3, 2.1],
    [600_001, -3e-3, 4e-3],
  ] as const) {
    it(`GPU codes, scale and zero point are the reference's: ${n} values in [${lo}, ${hi}]`, async () => {
      await expectAsReference(randomArray(n, lo, hi), `${n} values`);
    });
  }

  it('values on and beside the halfway points between codes', async () => {
    const r = rng();
    // The range sets the scale; the values between are halfway points and their neighbours.
    const [lo, hi] = [f32(-1.7 - r()), f32(2.3 + r())];
    const { scale } = dynamicQuantizeCpu([lo, hi]);
    const x: number[] = [lo, hi];
    // Halfway points well inside the range, so that none of them moves it.
    const [first, last] = [Math.ceil(lo / scale) + 2, Math.floor(hi / scale) - 2];
    while (x.length < 4000) {
      const half = first + Math.floor(r() * (last - first)) + 0.5;
      const at = f32(half * scale);
      for (const steps of [0, 1, 2]) for (const dir of [-1, 1]) x.push(nextF32(at, dir, steps));
    }
    const values = Float32Array.from(x);
    // The test holds quotients that are exact halves and quotients an ULP beside them, which an
    // f32 division off by an ULP, or x times 1/scale, would round to the other code.
    const quotients = Array.from(values, (v) => f32(v / scale));
    expect(quotients.filter((q) => Math.abs(q % 1) === 0.5).length, 'exact halves').to.be.greaterThan(100);
    const divided = quotients.map(roundHalfEven);
    const byReciprocal = Array.from(values, (v) => roundHalfEven(f32(v * f32(1 / scale))));
    expect(divided.filter((q, i) => q !== byReciprocal[i]).length, 'codes a reciprocal would change').to.be.greaterThan(0);
    await expectAsReference(values, 'halfway points');
  });

  it('refuses outputs of another shape or type', async () => {
    const ctx = await testContext();
    const input = disposeAfterTest(uploadTensor(ctx, randomArray(6), [2, 3]));
    const values = disposeAfterTest(poisonedTensor(ctx, [3, 2]));
    const one = disposeAfterTest(poisonedTensor(ctx, [1]));
    const two = disposeAfterTest(poisonedTensor(ctx, [2]));
    expectThrows(() => prepareDynamicQuantize(ctx, { input, values, scale: one, zeroPoint: one }), /dynamicQuantize: values has shape \[3,2\], expected \[2,3\]/);
    const same = disposeAfterTest(poisonedTensor(ctx, [2, 3]));
    expectThrows(() => prepareDynamicQuantize(ctx, { input, values: same, scale: two, zeroPoint: one }), /dynamicQuantize: scale has shape \[2\], expected \[1\]/);
  });
});
