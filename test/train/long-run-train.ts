// 500 training steps, measured: run by long-run.test.ts in a child process (`node
// --expose-gc`, see test/memory.ts), which asserts on the report this sends.
//
// TF's MobileNetV2 DeepLab (the registry's mobilenetv2-pascal-257 weights), batch 2, 17x17
// crops: about 70 ms a step on lavapipe. The Trainer is driven directly: run.ts adds data
// loading, validation and checkpoints, which test/train/run.test.ts covers.
import { GpuContext } from '../../src/gpu/context.js';
import { backOffHostPolling } from '../../src/gpu/host-poll.js';
import { ensureRuntimeDir } from '../../src/gpu/runtime-dir.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { type MicroBatch, Trainer } from '../../src/train/trainer.js';
import { RUN_SEED, makeRng } from '../helpers.js';
import { type MemorySample, heapCensus, sampleMemory, sendReport, takeHeapSnapshot } from '../memory.js';

const STEPS = 500;
const BATCH = 2;
const CROP = 17;
const EVERY = 25;
/** Heap snapshots: the first only settles what taking one leaves behind; the census compares the others. */
const SNAPSHOTS = [50, 200, STEPS];

async function main(): Promise<void> {
  ensureRuntimeDir();
  backOffHostPolling();
  const ctx = await GpuContext.create();
  const weights = await loadWeights('mobilenetv2-pascal-257');
  const C = weights.config.numClasses;
  const trainer = await Trainer.create(ctx, weights, { batch: BATCH, crop: CROP, baseLr: 0.002, steps: STEPS, ignoreIndex: 255, seed: 3 });
  // Four batches in turn: images in [-1, 1], labels a class or (one in ten) ignored.
  const r = makeRng(RUN_SEED ^ 0x5eed);
  const batches: MicroBatch[] = Array.from({ length: 4 }, () => ({
    images: Float32Array.from({ length: BATCH * CROP * CROP * 3 }, () => r() * 2 - 1),
    labels: Uint32Array.from({ length: BATCH * CROP * CROP }, () => (r() < 0.1 ? 255 : Math.floor(r() * C))),
  }));
  const samples: MemorySample[] = [];
  const snapshots: string[] = [];
  // Preallocated: a growing array would read as a leak.
  const losses = new Float64Array(STEPS);
  let working = 0;
  const started = performance.now();
  for (let s = 0; s < STEPS; s++) {
    const t = performance.now();
    losses[s] = (await trainer.train([batches[s % batches.length]])).loss;
    working += performance.now() - t;
    if ((s + 1) % EVERY === 0) samples.push(await sampleMemory(ctx, s + 1));
    if (SNAPSHOTS.includes(s + 1)) snapshots.push(await takeHeapSnapshot());
  }
  const seconds = (performance.now() - started) / 1000;
  heapCensus(snapshots[0]);
  const stepsDone = trainer.stepsDone;
  trainer.dispose();
  ctx.destroy();
  await sendReport({
    samples,
    snapshots: [snapshots[1], snapshots[2]],
    between: SNAPSHOTS[2] - SNAPSHOTS[1],
    seconds,
    workSeconds: working / 1000,
    extra: { stepsDone, steps: STEPS, losses: Array.from(losses) },
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
