// A long training run: 500 optimizer steps at a tiny size (test/train/long-run-train.ts, in a
// child process) with the GPU buffers and the JS heap flat after warm-up (test/memory.ts
// describes the checks).
//
// Heap bounds (test/memory.ts; measured on lavapipe, Node 20): heapUsed's floor grew by up to
// ~125 B per step over the last half (the JIT; ~310 B in the test suite's own process, before
// the run moved into a child), under the 1 KiB bound; the census of the data between steps 200
// and 500 moved by ~2 KiB (the run's own 12 samples are ~1.5 KiB of it) and no kind by more than
// 27 objects. One leaked `{ i }` per step adds ~14 KiB and 327 objects over those steps: over
// 16 B and 0.25 objects per step.
import { expect } from 'chai';
import { expectFlat, expectNoDataGrowth, reportCensuses, runLongRun } from '../memory.js';
import { RUN_SEED } from '../helpers.js';

describe('training: a long run @slow @extended', function () {
  this.timeout(900_000);

  it('500 training steps: live GPU buffers, the buffer pool and the JS heap stay flat after warm-up', async () => {
    const r = await runLongRun('dist/test/train/long-run-train.js', RUN_SEED);
    const [a, b] = reportCensuses(r);
    const { stepsDone, steps, losses } = r.extra as { stepsDone: number; steps: number; losses: number[] };
    expect(stepsDone).to.equal(steps);
    expect(losses.every(Number.isFinite), 'every loss finite').to.equal(true);
    const growth = expectFlat(r.samples, { warmUp: 100, heapBytesPerCall: 1024, unit: 'step' });
    const data = expectNoDataGrowth(a, b, { calls: r.between, bytesPerCall: 16, objectsPerCall: 0.25, unit: 'step' });
    console.log(
      `      ${steps} steps in ${r.seconds.toFixed(1)} s (${r.workSeconds.toFixed(1)} s in train(); loss ${losses[0].toFixed(3)} -> ${losses[steps - 1].toFixed(3)}); ` +
        `heapUsed floor ${growth.toFixed(1)} B/step over the last half; data ${data.bytes} B over the last ${r.between} steps (${data.topKinds})`,
    );
  });
});
