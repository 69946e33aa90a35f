import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { type GpuTensor, readTensor, readTensorU32, uploadTensor } from '../../src/gpu/tensor.js';
import { prepareTileBlend, prepareTileFinalize, tileBlendCpu, tileFinalizeCpu } from '../../src/kernels/tiles/tile-blend.js';
import { expectClose, expectRejects, numel, poisonedTensor, poisonedU32Tensor, randomArray, testContext, disposeAfterTest } from '../helpers.js';

/** Labels equal, except where the reference's two best values are within float rounding. */
function expectLabels(got: ArrayLike<number>, ref: Uint32Array, refValues: Float32Array, C: number, what: string): void {
  let mismatches = 0;
  for (let i = 0; i < ref.length; i++) {
    if (got[i] === ref[i]) continue;
    expect(got[i], `${what}: pixel ${i}`).to.be.lessThan(C);
    const gap = Math.abs(refValues[i * C + got[i]] - refValues[i * C + ref[i]]);
    expect(gap, `${what}: pixel ${i}: class ${got[i]} vs ${ref[i]}`).to.be.lessThan(1e-6);
    mismatches++;
  }
  expect(mismatches, what).to.be.lessThan(ref.length / 1000 + 1);
}

describe('kernel: tile blend and finalize (sliding-window inference)', () => {
  it('blend adds weighted windows at their place, wrapping around the ring of rows, and nothing else', async () => {
    const ctx = await testContext();
    const probsShape = [3, 7, 11, 5];
    const accShape = [9, 23, 5]; // 9 ring rows for windows 7 high
    const probs = randomArray(numel(probsShape), 0, 1);
    const rowW = randomArray(7, 0.05, 1);
    const colW = randomArray(11, 0.05, 1);
    // The accumulator already holds sums (a window row before this one): blends add to them.
    const acc = randomArray(numel(accShape), 0, 2);
    const sum = randomArray(9 * 23, 0.5, 2);
    const owned: GpuTensor[] = [];
    const up = (a: Float32Array, shape: number[]): GpuTensor => (owned.push(uploadTensor(ctx, a, shape)), owned[owned.length - 1]);
    const t = { probs: up(probs, probsShape), rowWeights: up(rowW, [7]), colWeights: up(colW, [11]), acc: up(acc, accShape), weightSum: up(sum, [9, 23]) };
    try {
      // Item 1 from image row 13 (ring rows 4..8, then 0 and 1), item 0 at the corner, item 2 on the right edge.
      for (const p of [{ item: 1, x0: 5, y0: 13 }, { item: 0, x0: 0, y0: 0 }, { item: 2, x0: 12, y0: 22 }]) {
        const before = await readTensor(ctx, t.acc);
        const inWindow = new Uint8Array(9 * 23);
        for (let y = 0; y < 7; y++) for (let x = 0; x < 11; x++) inWindow[((p.y0 + y) % 9) * 23 + p.x0 + x] = 1;
        await runOnce(ctx, 'tileBlend test', () => prepareTileBlend(ctx, t, p));
        tileBlendCpu(acc, sum, accShape, probs, probsShape, rowW, colW, p);
        const gotAcc = await readTensor(ctx, t.acc);
        expectClose(gotAcc, acc, `acc after item ${p.item}`);
        expectClose(await readTensor(ctx, t.weightSum), sum, `weight sum after item ${p.item}`);
        // Outside the window the accumulator is bit for bit what it was.
        let changed = 0;
        for (let i = 0; i < acc.length; i++) if (!inWindow[Math.floor(i / 5)] && gotAcc[i] !== before[i]) changed++;
        expect(changed, `values outside window ${p.item} changed`).to.equal(0);
      }
    } finally {
      for (const x of owned) x.dispose();
    }
  });

  for (const withProbabilities of [true, false]) {
    it(`finalize normalises and argmaxes a band of rows${withProbabilities ? ' with its probabilities' : ''}, then clears only those rows`, async () => {
      const ctx = await testContext();
      const accShape = [9, 23, 21];
      const acc = randomArray(numel(accShape), 0, 3);
      const sum = randomArray(9 * 23, 0.25, 4);
      const tAcc = uploadTensor(ctx, acc, accShape);
      const tSum = uploadTensor(ctx, sum, [9, 23]);
      const labels = poisonedU32Tensor(ctx, [9, 23]);
      const probabilities = withProbabilities ? poisonedTensor(ctx, [9, 23, 21]) : undefined;
      try {
        // Image rows 13..18 live in ring rows 4..8 and 0.
        const p = { row0: 13, rows: 6 };
        await runOnce(ctx, 'tileFinalize test', () => prepareTileFinalize(ctx, { acc: tAcc, weightSum: tSum, labels, probabilities }, p));
        const ref = tileFinalizeCpu(acc, sum, accShape, p);
        const gotLabels = await readTensorU32(ctx, labels);
        expectLabels(gotLabels.subarray(0, 6 * 23), ref.labels, ref.probabilities, 21, 'labels');
        // Past the band the output is untouched.
        expect([...gotLabels.subarray(6 * 23)].every((v) => v === 0xffffffff), 'labels past the band written').to.equal(true);
        if (probabilities) {
          const got = await readTensor(ctx, probabilities);
          expectClose(got.subarray(0, 6 * 23 * 21), ref.probabilities, 'probabilities');
          expect(got.subarray(6 * 23 * 21).every(Number.isNaN), 'probabilities past the band written').to.equal(true);
        }
        // The finalised rows are cleared, the others kept bit for bit (the CPU reference cleared its copy alike).
        expect([...(await readTensor(ctx, tAcc))]).to.deep.equal([...acc]);
        expect([...(await readTensor(ctx, tSum))]).to.deep.equal([...sum]);
        expect(acc.subarray(4 * 23 * 21).every((v) => v === 0) && sum.subarray(4 * 23).every((v) => v === 0)).to.equal(true);
        expect(acc.subarray(23 * 21, 4 * 23 * 21).every((v) => v > 0), 'rows outside the band kept').to.equal(true);
      } finally {
        for (const x of [tAcc, tSum, labels, probabilities]) x?.dispose();
      }
    });
  }

  it('rejects a window outside the image or the batch, a ring lower than the window, and bad outputs', async () => {
    const ctx = await testContext();
    const probs = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 5 * 6 * 3), [2, 5, 6, 3]));
    const rowWeights = disposeAfterTest(uploadTensor(ctx, randomArray(5), [5]));
    const colWeights = disposeAfterTest(uploadTensor(ctx, randomArray(6), [6]));
    const acc = disposeAfterTest(uploadTensor(ctx, randomArray(5 * 10 * 3), [5, 10, 3]));
    const weightSum = disposeAfterTest(uploadTensor(ctx, randomArray(50), [5, 10]));
    const lowAcc = disposeAfterTest(uploadTensor(ctx, randomArray(4 * 10 * 3), [4, 10, 3]));
    const lowSum = disposeAfterTest(uploadTensor(ctx, randomArray(40), [4, 10]));
    const floatLabels = disposeAfterTest(poisonedTensor(ctx, [5, 10]));
    const labels = disposeAfterTest(poisonedU32Tensor(ctx, [5, 10]));
    const t = { probs, rowWeights, colWeights, acc, weightSum };
    await expectRejects(() => prepareTileBlend(ctx, t, { item: 0, x0: 5, y0: 0 }), /tileBlend: a window 6 wide at x 5 leaves the image's 10 columns/, 'window past the edge');
    await expectRejects(() => prepareTileBlend(ctx, t, { item: 2, x0: 0, y0: 0 }), /tileBlend: item 2 outside a batch of 2/, 'item past the batch');
    await expectRejects(() => prepareTileBlend(ctx, { ...t, acc: lowAcc, weightSum: lowSum }, { item: 0, x0: 0, y0: 0 }), /accumulator of 4 rows cannot hold a window 5 rows high/, 'ring too low');
    await expectRejects(() => prepareTileBlend(ctx, { ...t, rowWeights: colWeights }, { item: 0, x0: 0, y0: 0 }), /tileBlend: rowWeights has shape \[6\], expected \[5\]/, 'wrong weights');
    await expectRejects(() => prepareTileFinalize(ctx, { acc, weightSum, labels }, { row0: 0, rows: 6 }), /tileFinalize: rows must be 1 to the accumulator's 5, got 6/, 'band above the ring');
    await expectRejects(() => prepareTileFinalize(ctx, { acc, weightSum, labels: floatLabels }, { row0: 0, rows: 2 }), /tileFinalize: labels must be u32/, 'float labels');
  });
});
