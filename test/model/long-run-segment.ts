// 1,000 segment() calls, measured: run by long-run.test.ts in a child process (`node
// --expose-gc`, see test/memory.ts), which asserts on the report this sends.
//
// The network is torchvision's MobileNetV3-Large DeepLabv3 (random weights, a fixture) with the
// image's short side resized to 16: the real network, at an input lavapipe runs in about 40 ms
// per call. Two network sizes in turn (16x16 and 16x24); every 10th call flips (the averaged
// path, with its pooled probability sum), every 10th another asks for probabilities. Both push
// the post-processing programs (a cache of three) out, so programs are rebuilt and disposed all
// along the run.
import { GpuContext } from '../../src/gpu/context.js';
import { backOffHostPolling } from '../../src/gpu/host-poll.js';
import { ensureRuntimeDir } from '../../src/gpu/runtime-dir.js';
import { type SegmentOptions, loadModel } from '../../src/model/model.js';
import { randomRgbImage } from '../helpers.js';
import { type MemorySample, heapCensus, sampleMemory, sendReport, takeHeapSnapshot } from '../memory.js';
import { sharedPath } from '../shared.js';

const SEGMENT_CALLS = 1000;
/** Samples of the heap and buffers every this many calls: a multiple of the pattern's period (10), so every sample sees the same state. */
const EVERY = 50;
/** Heap snapshots: the first only settles what taking one leaves behind; the census compares the others. */
const SNAPSHOTS = [200, 500, SEGMENT_CALLS];

async function main(): Promise<void> {
  ensureRuntimeDir();
  backOffHostPolling();
  const ctx = await GpuContext.create();
  const model = await loadModel(sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth'), { ctx, shortSide: 16 });
  const square = randomRgbImage(16, 16, 1);
  const wide = randomRgbImage(24, 16, 2);
  const options = (i: number): SegmentOptions => (i % 10 === 4 ? { flip: true } : i % 10 === 9 ? { include: ['probabilities'] } : {});
  const samples: MemorySample[] = [];
  const snapshots: string[] = [];
  let working = 0;
  const started = performance.now();
  for (let i = 0; i < SEGMENT_CALLS; i++) {
    const t = performance.now();
    const r = await model.segment(i % 2 === 0 ? square : wide, options(i));
    working += performance.now() - t;
    if (r.classes.length !== r.width * r.height) throw new Error(`call ${i}: ${r.classes.length} classes for ${r.width}x${r.height}`);
    if ((i + 1) % EVERY === 0) samples.push(await sampleMemory(ctx, i + 1));
    if (SNAPSHOTS.includes(i + 1)) snapshots.push(await takeHeapSnapshot());
  }
  const seconds = (performance.now() - started) / 1000;
  heapCensus(snapshots[0]);
  model.dispose();
  ctx.destroy();
  await sendReport({ samples, snapshots: [snapshots[1], snapshots[2]], between: SNAPSHOTS[2] - SNAPSHOTS[1], seconds, workSeconds: working / 1000, extra: {} });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
