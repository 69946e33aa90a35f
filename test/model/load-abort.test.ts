// loadModel's signal: an aborted signal refuses the load before anything is read, and an abort
// while compiling rejects with an AbortError and gives back every GPU buffer the load made.
// (Cancelling a download: test/model/weights-store.test.ts.)
import { expect } from 'chai';
import type { GpuContext } from '../../src/gpu/context.js';
import { loadModel } from '../../src/model/model.js';
import { expectAbortError, expectRejects, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');

describe('model: cancelling loadModel', function () {
  this.timeout(120_000);
  let ctx: GpuContext;
  before(async () => {
    ctx = await testContext();
  });

  it('an aborted signal refuses the load before the weights are read', async () => {
    const controller = new AbortController();
    controller.abort();
    const heard: string[] = [];
    await expectAbortError(loadModel(MNV3_RANDOM, { ctx, shortSide: 33, signal: controller.signal, onProgress: (m) => void heard.push(m) }));
    expect(heard, 'nothing under way').to.deep.equal([]);
  });

  it('an abort while compiling rejects with an AbortError and leaves no GPU memory held', async () => {
    const held = ctx.heldBufferCount;
    const controller = new AbortController();
    const heard: string[] = [];
    await expectAbortError(
      loadModel(MNV3_RANDOM, {
        ctx,
        shortSide: 33,
        signal: controller.signal,
        onProgress: (m) => {
          heard.push(m);
          if (m.startsWith('compiling')) controller.abort();
        },
      }),
    );
    expect(heard.some((m) => m.startsWith('compiling')), 'the abort came while compiling').to.equal(true);
    expect(ctx.heldBufferCount, 'GPU buffers held after the cancelled load').to.equal(held);
    // The context goes on: a load without a signal still works.
    const model = await loadModel(MNV3_RANDOM, { ctx, shortSide: 33 });
    model.dispose();
  });

  it('refuses a signal that is not an AbortSignal', async () => {
    await expectRejects(loadModel(MNV3_RANDOM, { ctx, signal: 'stop' as never }), /loadModel: signal must be an AbortSignal/);
  });
});
