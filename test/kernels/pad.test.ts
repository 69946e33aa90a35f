import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { roundToHalf } from '../../src/gpu/half.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { type PadParams, inversePad, padCpu, padOutputShape, preparePad } from '../../src/kernels/layout/pad.js';
import { disposeAfterTest, expectClose, expectThrows, numel, poisonedTensor, randomArray, testContext } from '../helpers.js';

describe('kernel: pad (zero padding and cropping of a map)', () => {
  it('CPU reference pads with zeros and crops by hand', () => {
    // [1,2,3,1]: rows [1,2,3], [4,5,6].
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect([...padCpu(x, [1, 2, 3, 1], { top: 1, bottom: 0, left: 0, right: 1 })]).to.deep.equal([0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0]);
    expect([...padCpu(x, [1, 2, 3, 1], { top: 0, bottom: -1, left: -1, right: 0 })]).to.deep.equal([2, 3]);
    // Cropping one side while padding the other.
    expect([...padCpu(x, [1, 2, 3, 1], { top: -1, bottom: 1, left: 1, right: -2 })]).to.deep.equal([0, 4, 0, 0]);
  });

  it('the inverse amounts crop what was padded and pad back what was cropped', () => {
    const shape = [2, 5, 7, 3];
    const x = randomArray(numel(shape));
    const p: PadParams = { top: 0, bottom: -1, left: 2, right: -3 };
    const there = padCpu(x, shape, p);
    const back = padCpu(there, padOutputShape(shape, p), inversePad(p));
    expect(padOutputShape(padOutputShape(shape, p), inversePad(p))).to.deep.equal(shape);
    // Row 4 and the last three columns were cropped: zeros now; the rest is the input.
    for (let i = 0; i < x.length; i++) {
      const [y, px] = [Math.floor(i / 21) % 5, Math.floor(i / 3) % 7];
      expect(back[i], `value ${i}`).to.equal(y === 4 || px >= 4 ? 0 : x[i]);
    }
  });

  // Crops to whole 2x2 patches and pads back (MobileViTV2's odd maps), a mixed pad, sizes off the 256-lane workgroup.
  const cases: [number[], PadParams][] = [
    [[2, 13, 17, 5], { top: 0, bottom: -1, left: 0, right: -1 }],
    [[2, 12, 16, 5], { top: 0, bottom: 1, left: 0, right: 1 }],
    [[1, 9, 11, 37], { top: 2, bottom: -3, left: -1, right: 4 }],
    [[3, 1, 97, 3], { top: 1, bottom: 1, left: 0, right: 0 }],
  ];
  for (const [shape, p] of cases) {
    it(`GPU equals the CPU reference on ${JSON.stringify(shape)} by ${JSON.stringify(p)}`, async () => {
      const ctx = await testContext();
      const x = randomArray(numel(shape));
      const outShape = padOutputShape(shape, p);
      const input = disposeAfterTest(uploadTensor(ctx, x, shape));
      const out = disposeAfterTest(poisonedTensor(ctx, outShape));
      await runOnce(ctx, 'pad test', () => preparePad(ctx, { input, out }, p));
      expectClose(await readTensor(ctx, out), padCpu(x, shape, p), `pad ${shape}`);
    });
  }

  it('half precision: f16 in, f16 out', async function () {
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    const shape = [1, 7, 9, 6];
    const p = { top: 0, bottom: 1, left: -1, right: 0 };
    const x = roundToHalf(randomArray(numel(shape)));
    const input = disposeAfterTest(uploadTensor(ctx, x, shape, 'x', true));
    const out = disposeAfterTest(poisonedTensor(ctx, padOutputShape(shape, p), 'out', 'f16'));
    await runOnce(ctx, 'pad f16', () => preparePad(ctx, { input, out }, p));
    // A copy: exact.
    expect([...(await readTensor(ctx, out))]).to.deep.equal([...padCpu(x, shape, p)]);
  });

  it('refuses a crop that leaves nothing, amounts that are not integers, and a wrong output', async () => {
    const ctx = await testContext();
    expectThrows(() => padOutputShape([1, 3, 4, 2], { top: -2, bottom: -1, left: 0, right: 0 }), 'pad: cropping [1,3,4,2] by {"top":-2,"bottom":-1,"left":0,"right":0} leaves 0x4');
    expectThrows(() => padOutputShape([1, 3, 4, 2], { top: 0.5, bottom: 0, left: 0, right: 0 }), 'pad: top must be an integer, got 0.5');
    expectThrows(() => padCpu(new Float32Array(6), [2, 3], { top: 0, bottom: 0, left: 0, right: 0 }), 'pad: input must have rank 4');
    const input = disposeAfterTest(uploadTensor(ctx, randomArray(24), [1, 3, 4, 2]));
    const out = disposeAfterTest(poisonedTensor(ctx, [1, 3, 4, 2]));
    expectThrows(() => preparePad(ctx, { input, out }, { top: 1, bottom: 0, left: 0, right: 0 }), 'pad: out has shape [1,3,4,2], expected [1,4,4,2]');
  });
});
