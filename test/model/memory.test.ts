// A model's GPU memory: memory() accounts for every buffer the model holds (what the context
// gains when it loads and segments, beside the pool's idle buffers), dispose() gives it all back
// on a shared context, and a memoryBudget is kept by releasing older programs or refused with the
// sizes named, before anything is allocated.
import { expect } from 'chai';
import type { GpuContext } from '../../src/gpu/context.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { expectRejects, randomRgbImage, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
const SHORT_SIDE = 33;

/** What the context holds beyond its pool's idle buffers: the bytes a model's memory() must account for. */
function heldBytes(ctx: GpuContext): number {
  return ctx.liveBufferBytes - ctx.pool.stats.idleBytes;
}

describe('model: memory() and memoryBudget', () => {
  let ctx: GpuContext;
  before(async () => {
    ctx = await testContext();
  });

  it('memory() counts every buffer the model holds, its parts add up, and dispose() gives them all back on a shared context', async () => {
    const before = heldBytes(ctx);
    const beforeLive = ctx.liveBufferBytes;
    const model = await loadModel(MNV3_RANDOM, { ctx, shortSide: SHORT_SIDE });
    try {
      const loaded = model.memory();
      expect(loaded.weights, 'weights').to.be.greaterThan(0);
      expect(loaded.activations, 'activations of the program compiled at load').to.be.greaterThan(0);
      expect(loaded.total).to.equal(loaded.weights + loaded.activations + loaded.readback + loaded.kernels + loaded.frames);
      expect(loaded.budget).to.equal(null);
      expect(heldBytes(ctx) - before, 'bytes the context gained at load').to.equal(loaded.total);
      // Two more input sizes: a program each, its read-back copies and the post-processing.
      await model.segment(randomRgbImage(40, 33, 1));
      await model.segment(randomRgbImage(33, 57, 2));
      const used = model.memory();
      expect(used.total, 'more programs held').to.be.greaterThan(loaded.total);
      expect(used.readback, 'read-back copies').to.be.greaterThan(0);
      expect(heldBytes(ctx) - before, 'bytes the context gained after segmenting').to.equal(used.total);
    } finally {
      model.dispose();
    }
    expect(heldBytes(ctx), 'bytes held after dispose()').to.equal(before);
    // Given back to the device, not kept idle in the shared context's pool.
    expect(ctx.liveBufferBytes - beforeLive, 'bytes on the device after dispose()').to.equal(0);
  });

  describe('memoryBudget', () => {
    let free: DeepLabModel;
    before(async () => {
      free = await loadModel(MNV3_RANDOM, { ctx, shortSide: SHORT_SIDE });
    });
    after(() => free?.dispose());

    it('keeps the model under its budget by releasing the least recently used programs, with the same results', async () => {
      const images = [randomRgbImage(40, 33, 3), randomRgbImage(33, 57, 4), randomRgbImage(66, 33, 5)];
      const expected = [];
      for (const img of images) expected.push(await free.segment(img));
      const one = free.memory();
      // Room for the weights and the largest input size's programs (about 40 % of the three's), not all three.
      const budget = Math.ceil(one.weights + (one.total - one.weights) * 0.6);
      const model = await loadModel(MNV3_RANDOM, { ctx, shortSide: SHORT_SIDE, memoryBudget: budget });
      try {
        for (let round = 0; round < 2; round++) {
          for (const [i, img] of images.entries()) {
            const r = await model.segment(img);
            expect(Buffer.from(r.classes).equals(Buffer.from(expected[i].classes)), `round ${round}, image ${i}: classes as without a budget`).to.equal(true);
            const m = model.memory();
            expect(m.budget).to.equal(budget);
            expect(m.total, `round ${round}, image ${i}: bytes held`).to.be.at.most(budget);
          }
        }
        expect(model.memory().total, 'bytes held with the budget').to.be.lessThan(one.total);
      } finally {
        model.dispose();
      }
    });

    it('refuses a load whose weights alone pass the budget, and one whose first program cannot fit, naming the sizes', async () => {
      const m = free.memory();
      const live = ctx.liveBufferCount;
      await expectRejects(loadModel(MNV3_RANDOM, { ctx, shortSide: SHORT_SIDE, memoryBudget: 1024 }), /its weights needs [\d.]+ MiB .*over its memoryBudget of 0\.0 MiB/);
      await expectRejects(
        loadModel(MNV3_RANDOM, { ctx, shortSide: SHORT_SIDE, memoryBudget: m.weights + 1024 }),
        /the network at \d+x\d+ needs [\d.]+ MiB of GPU memory beside the [\d.]+ MiB .*over its memoryBudget/,
      );
      expect(ctx.liveBufferCount, 'buffers left by the refused loads').to.equal(live);
    });

    it('refuses an input whose program cannot fit beside the weights, and the model goes on working', async () => {
      const budget = free.memory().total + 64 * 1024;
      const model = await loadModel(MNV3_RANDOM, { ctx, shortSide: SHORT_SIDE, memoryBudget: budget });
      try {
        // At scale 8 the network's input has 64 times the pixels, and so have its activations.
        // Its first program (the network or the logits' resize, whichever is made first) is refused.
        await expectRejects(model.segment(randomRgbImage(40, 33, 6), { scales: [8] }), /(the network at|post-processing) \d+x\d+.* needs [\d.]+ MiB .* over its memoryBudget/);
        const r = await model.segment(randomRgbImage(40, 33, 3));
        expect(r.classes.length).to.equal(40 * 33);
        expect(model.memory().total).to.be.at.most(budget);
      } finally {
        model.dispose();
      }
    });

    it('refuses a budget that is not a positive number of bytes', async () => {
      for (const bad of [0, -5, Number.NaN, Infinity, '1e9']) {
        await expectRejects(loadModel(MNV3_RANDOM, { ctx, shortSide: SHORT_SIDE, memoryBudget: bad as number }), /memoryBudget must be a positive number of bytes/, `memoryBudget ${String(bad)}`);
      }
    });
  });
});
