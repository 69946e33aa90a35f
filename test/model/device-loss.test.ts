// A lost device is survived: the model renews its context's device, uploads its weights again and
// retries the call once, with the same results as without the loss, and tells the caller; with
// deviceLoss 'fail' the call rejects instead. A loss is made here by destroying the device
// behind the model's back (GpuContext.destroy() would be the owner's intent, not a loss).
import { expect } from 'chai';
import { GpuContext } from '../../src/gpu/context.js';
import { Program } from '../../src/graph/program.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { DeviceLostEvent } from '../../src/model/model.js';
import { loadModel } from '../../src/model/model.js';
import { expectRejects, randomRgbImage } from '../helpers.js';
import { sharedPath } from '../shared.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
const SHORT_SIDE = 33;

/** Loses `ctx`'s device as a driver reset would, and waits until the context knows. */
async function loseDevice(ctx: GpuContext): Promise<void> {
  const device = ctx.device;
  device.destroy();
  await device.lost;
  expect(ctx.isLost, 'the context saw its device lost').to.equal(true);
}

describe('model: surviving a lost device', function () {
  this.timeout(120_000);
  const image = randomRgbImage(40, 33, 7);

  it('between calls: a new device, the weights uploaded again, the same logits; the caller is told', async () => {
    const events: DeviceLostEvent[] = [];
    const model = await loadModel(MNV3_RANDOM, { shortSide: SHORT_SIDE, onDeviceLost: (e) => events.push(e) });
    try {
      const before = await model.segment(image, { include: ['logits'] });
      const lost = model.ctx.device;
      await loseDevice(model.ctx);
      const after = await model.segment(image, { include: ['logits'] });
      expect(model.ctx.device, 'a new device').to.not.equal(lost);
      expect(model.ctx.generation).to.equal(1);
      expect([...after.logits!], 'logits after the loss').to.deep.equal([...before.logits!]);
      expect([...after.classes]).to.deep.equal([...before.classes]);
      expect(events).to.have.length(1);
      expect(events[0]).to.include({ model: 'deeplabv3_mobilenet_v3_large_random.pth', recovered: true });
      expect(events[0].reason).to.match(/destroyed/);
      // Everything the new device holds is the model's, and counted.
      expect(model.ctx.liveBufferBytes - model.ctx.pool.stats.idleBytes, 'bytes on the new device').to.equal(model.memory().total);
      // A second call needs nothing renewed.
      await model.segment(image);
      expect(events).to.have.length(1);
    } finally {
      model.dispose();
    }
  });

  it('during a call: the turn the loss broke runs again on a new device, with the same result', async () => {
    const events: DeviceLostEvent[] = [];
    const model = await loadModel(MNV3_RANDOM, { shortSide: SHORT_SIDE, onDeviceLost: (e) => events.push(e) });
    try {
      const opts = { tile: 32, batchSize: 1, include: ['probabilities' as const] };
      const expected = await model.segment(image, opts);
      let progress = 0;
      // Tiled inference is one turn: the loss after its first window breaks the second.
      const result = await model.segment(image, {
        ...opts,
        onTileProgress: () => {
          if (progress++ === 0) model.ctx.device.destroy();
        },
      });
      expect(events.map((e) => e.recovered), 'one loss, recovered').to.deep.equal([true]);
      expect(progress, 'the windows of the broken turn and of its retry').to.be.greaterThan(2);
      expect([...result.classes]).to.deep.equal([...expected.classes]);
      expect([...result.probabilities!]).to.deep.equal([...expected.probabilities!]);
    } finally {
      model.dispose();
    }
  });

  it("a shared context: the other model on it rebuilds on the renewed device", async () => {
    const ctx = await GpuContext.create();
    const a = await loadModel(MNV3_RANDOM, { ctx, shortSide: SHORT_SIDE });
    const b = await loadModel(MNV3_RANDOM, { ctx, shortSide: 40 });
    try {
      const [ra, rb] = [await a.segment(image), await b.segment(image)];
      await loseDevice(ctx);
      expect([...(await a.segment(image)).classes], 'the model that renewed').to.deep.equal([...ra.classes]);
      expect([...(await b.segment(image)).classes], 'the other model').to.deep.equal([...rb.classes]);
      expect(ctx.generation, 'renewed once').to.equal(1);
    } finally {
      a.dispose();
      b.dispose();
      ctx.destroy();
    }
  });

  it("deviceLoss 'fail': the call and every later one reject with the loss, and the caller is told it was not recovered", async () => {
    const events: DeviceLostEvent[] = [];
    const model = await loadModel(MNV3_RANDOM, { shortSide: SHORT_SIDE, deviceLoss: 'fail', onDeviceLost: (e) => events.push(e) });
    try {
      await loseDevice(model.ctx);
      await expectRejects(model.segment(image), /deeplabv3_mobilenet_v3_large_random\.pth: GPU device lost \(destroyed/);
      await expectRejects(model.segment(image), /GPU device lost/, 'a later call');
      expect(events.map((e) => e.recovered)).to.deep.equal([false, false]);
      expect(model.ctx.generation, 'not renewed').to.equal(0);
    } finally {
      model.dispose();
    }
  });

  it('refuses an unknown deviceLoss before making a device', async () => {
    await expectRejects(loadModel(MNV3_RANDOM, { deviceLoss: 'retry' as 'fail' }), /deviceLoss must be 'recover' or 'fail', got "retry"/);
  });

  it('a program made before the device was renewed refuses to run, saying so', async () => {
    const ctx = await GpuContext.create();
    try {
      const g = new GraphBuilder();
      g.output('y', g.activation('relu', g.input('x', [1, 4]), 'relu'));
      const program = await Program.create(ctx, g.build());
      await loseDevice(ctx);
      await ctx.renew();
      await expectRejects(program.run({ x: new Float32Array(4) }), /made before the GPU device was lost and renewed/);
      program.dispose();
    } finally {
      ctx.destroy();
    }
  });
});
