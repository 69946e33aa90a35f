// Window placement and weights of sliding-window inference (no GPU).
import { expect } from 'chai';
import { MIN_TILE, type TilePlan, axisWeights, blendWindowsCpu, checkTileOptions, planTiles, planWeights, windowStarts } from '../../src/model/tiling.js';
import { expectThrows } from '../helpers.js';

describe('tiling: window placement and weights', () => {
  it('places windows every round(tile * (1 - overlap)) pixels, the last one shifted to end on the edge', () => {
    expect(windowStarts(97, 49, 0.25)).to.deep.equal([0, 37, 48]);
    expect(windowStarts(65, 49, 0.25)).to.deep.equal([0, 16]);
    expect(windowStarts(98, 49, 0)).to.deep.equal([0, 49]);
    expect(windowStarts(99, 49, 0)).to.deep.equal([0, 49, 50]);
    expect(windowStarts(1000, 513, 0.5)).to.deep.equal([0, 257, 487]);
    // No longer than the tile: one window, at 0 (as long as the image, see planTiles).
    expect(windowStarts(49, 49, 0.25)).to.deep.equal([0]);
    expect(windowStarts(20, 49, 0.9)).to.deep.equal([0]);
  });

  it('covers every pixel, stays inside the image, overlaps neighbours by at least the overlap, with no window to spare', () => {
    for (const tile of [32, 33, 49, 64, 100])
      for (const overlap of [0, 0.1, 0.25, 0.5, 0.75, 0.9])
        for (const length of [1, 31, tile - 1, tile, tile + 1, 2 * tile - 1, 2 * tile, 3 * tile + 7, 517]) {
          const what = `length ${length}, tile ${tile}, overlap ${overlap}`;
          const starts = windowStarts(length, tile, overlap);
          const t = Math.min(tile, length);
          const stride = Math.max(1, Math.round(tile * (1 - overlap)));
          expect(starts[0], what).to.equal(0);
          expect(starts[starts.length - 1] + t, `${what}: last window ends on the edge`).to.equal(length);
          const covered = new Uint8Array(length);
          for (const s of starts) covered.fill(1, s, s + t);
          expect(covered.every((c) => c === 1), `${what}: coverage`).to.equal(true);
          for (let i = 1; i < starts.length; i++) {
            const step = starts[i] - starts[i - 1];
            expect(step, `${what}: windows in order, none repeated`).to.be.greaterThan(0);
            expect(step, `${what}: step ${i}`).to.be.at.most(stride);
            if (i < starts.length - 1) expect(step, `${what}: regular steps`).to.equal(stride);
          }
          // One window fewer at this stride would not reach the edge.
          if (starts.length > 1) expect((starts.length - 2) * stride + t, `${what}: a window to spare`).to.be.lessThan(length);
        }
  });

  it('plans windows row by row, of the tile or of the image where it is smaller than the tile', () => {
    const plan = planTiles(65, 97, 49, 0.25);
    expect([plan.windowWidth, plan.windowHeight]).to.deep.equal([49, 49]);
    expect(plan.xs).to.deep.equal([0, 16]);
    expect(plan.ys).to.deep.equal([0, 37, 48]);
    expect(plan.windows.map((w) => [w.x, w.y, w.row])).to.deep.equal([
      [0, 0, 0], [16, 0, 0], [0, 37, 1], [16, 37, 1], [0, 48, 2], [16, 48, 2],
    ]);
    const narrow = planTiles(40, 300, 64, 0.5);
    expect([narrow.windowWidth, narrow.windowHeight]).to.deep.equal([40, 64]);
    expect(narrow.xs).to.deep.equal([0]);
    expect(narrow.ys).to.deep.equal([0, 32, 64, 96, 128, 160, 192, 224, 236]);
    const within = planTiles(61, 47, 64);
    expect(within.windows).to.deep.equal([{ x: 0, y: 0, row: 0 }]);
    expect([within.windowWidth, within.windowHeight]).to.deep.equal([61, 47]);
  });

  it('refuses a tile below the minimum or not whole, and an overlap outside [0, 1)', () => {
    for (const tile of [MIN_TILE - 1, 0, -64, 48.5, NaN, Infinity]) {
      expectThrows(() => checkTileOptions(tile, 0.25), new RegExp(`segment: tile must be a whole number of pixels, at least ${MIN_TILE}, got ${tile}`), `tile ${tile}`);
    }
    for (const overlap of [1, 1.5, -0.1, NaN, Infinity]) {
      expectThrows(() => checkTileOptions(64, overlap), /segment: overlap must be a share of the tile, at least 0 and below 1/, `overlap ${overlap}`);
    }
    checkTileOptions(MIN_TILE, 0); // the smallest tile, no overlap: accepted
    expectThrows(() => planTiles(100, 100, 16), /tile must be a whole number of pixels/);
  });

  it('weights are tents over pixel centres, largest in the middle and never zero; flat for a window alone on its axis', () => {
    expect([...axisWeights(4, false)]).to.deep.equal([0.25, 0.75, 0.75, 0.25]);
    expect([...axisWeights(5, false)].map((v) => Math.round(v * 1e6) / 1e6)).to.deep.equal([0.2, 0.6, 1, 0.6, 0.2]);
    expect([...axisWeights(5, true)]).to.deep.equal([1, 1, 1, 1, 1]);
    const w = axisWeights(49, false);
    expect(Math.min(...w)).to.be.closeTo(1 / 49, 1e-7);
    expect(w[24]).to.equal(1);
    for (let i = 0; i < 49; i++) expect(w[i], `symmetric at ${i}`).to.equal(w[48 - i]);
    const plan = planTiles(65, 40, 49);
    const { rows, cols } = planWeights(plan);
    expect(rows.every((v) => v === 1), 'one window row: flat').to.equal(true);
    expect(cols[0]).to.be.lessThan(cols[24]);
  });

  it('the CPU blend averages overlapping windows by their weights and names an uncovered pixel', () => {
    // Two windows 2 wide on a 3x1 image, classes [a, b]: the middle pixel averages both.
    const plan: TilePlan = { width: 3, height: 1, windowWidth: 2, windowHeight: 1, xs: [0, 1], ys: [0], windows: [{ x: 0, y: 0, row: 0 }, { x: 1, y: 0, row: 0 }] };
    const left = Float32Array.of(0.9, 0.1, 0.8, 0.2);
    const right = Float32Array.of(0.2, 0.8, 0.3, 0.7);
    const weights = { rows: Float32Array.of(1), cols: Float32Array.of(1, 3) };
    const r = blendWindowsCpu(plan, [left, right], 2, weights);
    // Middle: (3 * [0.8, 0.2] + 1 * [0.2, 0.8]) / 4.
    expect([...r.probabilities].map((v) => Math.round(v * 1e6) / 1e6)).to.deep.equal([0.9, 0.1, 0.65, 0.35, 0.3, 0.7]);
    expect([...r.classes]).to.deep.equal([0, 0, 1]);
    const gap = { ...plan, width: 4, xs: [0, 2], windows: [{ x: 0, y: 0, row: 0 }, { x: 1, y: 0, row: 0 }] };
    expectThrows(() => blendWindowsCpu(gap, [left, right], 2, weights), /pixel \(3, 0\) is in no window/);
  });
});
