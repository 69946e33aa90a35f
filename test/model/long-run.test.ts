// Long runs and concurrency: 1,000 segment() calls with the GPU buffers and the JS heap flat
// after warm-up (test/model/long-run-segment.ts, in a child process; test/memory.ts describes the
// checks), and overlapping segment() calls from concurrent callers (one model; two models on one
// context) each returning exactly what the same call returns run alone.
//
// The network is torchvision's MobileNetV3-Large DeepLabv3 (random weights, a fixture) with
// the image's short side resized to 16: the real network, at an input lavapipe runs in about
// 40 ms per call.
import { expect } from 'chai';
import type { GpuContext } from '../../src/gpu/context.js';
import type { RgbImage } from '../../src/io/image.js';
import { type DeepLabModel, type SegmentOptions, type SegmentResult, loadModel } from '../../src/model/model.js';
import { expectFlat, expectNoDataGrowth, reportCensuses, runLongRun } from '../memory.js';
import { makeRng, RUN_SEED, randomRgbImage as image, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');

// Heap bounds (test/memory.ts; measured on lavapipe, Node 20). heapUsed's floor grows by
// ~470-520 B per call over calls 500-1,000 (~70-150 B over calls 1,000-2,000: the JIT settling),
// so it bounds only coarse leaks. The census of the data between calls 500 and 1,000 moved by
// ~1.8-2.1 KiB (the run's own samples are ~1 KiB of it) and no kind by more than 23 objects;
// one leaked `{ i }` per call adds ~22 KiB and 520 objects, over both bounds (4 KiB, 125). So
// 1,000 calls (34 s alone) are enough: the buffers must be exact at every sample from call 250,
// and the census window is long enough to see a leak of one object a call.
const HEAP_USED_BYTES_PER_CALL = 1024;
const DATA_BYTES_PER_CALL = 8;
const OBJECTS_PER_CALL = 0.25;

/** Bit-for-bit equality of two results (classes, and whatever else both carry). */
function expectSame(got: SegmentResult, want: SegmentResult, what: string): void {
  expect([got.width, got.height], `${what}: size`).to.deep.equal([want.width, want.height]);
  const differ = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let n = 0;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) n++;
    return n + Math.abs(a.length - b.length);
  };
  expect(differ(got.classes, want.classes), `${what}: classes that differ from the call run alone`).to.equal(0);
  for (const k of ['probabilities', 'logits'] as const) {
    expect(got[k] === undefined, `${what}: ${k} present`).to.equal(want[k] === undefined);
    if (want[k]) expect(differ(got[k]!, want[k]!), `${what}: ${k} that differ from the call run alone`).to.equal(0);
  }
}

describe('model: long runs and concurrency', function () {
  this.timeout(900_000);
  let ctx: GpuContext;
  before(async () => {
    ctx = await testContext();
  });

  describe('a long run @slow @extended', () => {
    it('1,000 segment calls: live GPU buffers, the buffer pool and the JS heap stay flat after warm-up', async () => {
      const r = await runLongRun('dist/test/model/long-run-segment.js', RUN_SEED);
      const [a, b] = reportCensuses(r);
      const calls = r.samples[r.samples.length - 1].at;
      const growth = expectFlat(r.samples, { warmUp: 200, heapBytesPerCall: HEAP_USED_BYTES_PER_CALL, unit: 'call' });
      const data = expectNoDataGrowth(a, b, { calls: r.between, bytesPerCall: DATA_BYTES_PER_CALL, objectsPerCall: OBJECTS_PER_CALL, unit: 'call' });
      console.log(
        `      ${calls} calls in ${r.seconds.toFixed(1)} s (${r.workSeconds.toFixed(1)} s in segment()); ` +
          `heapUsed floor ${growth.toFixed(1)} B/call over the last half; data ${data.bytes} B over the last ${r.between} calls (${data.topKinds})`,
      );
    });
  });

  describe('concurrent callers', () => {
    const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

    /** One call: an image, options, and which model runs it. */
    interface Job {
      model: DeepLabModel;
      image: RgbImage;
      options: SegmentOptions;
      what: string;
    }

    /** Each job run alone, one after another. */
    async function sequential(jobs: readonly Job[]): Promise<SegmentResult[]> {
      const out: SegmentResult[] = [];
      for (const j of jobs) out.push(await j.model.segment(j.image, j.options));
      return out;
    }

    /** Every job from its own async caller, each starting after a random few milliseconds, all in flight together. */
    async function concurrent(jobs: readonly Job[], seed: number): Promise<SegmentResult[]> {
      const r = makeRng(RUN_SEED ^ seed);
      // Settled, not Promise.all: a failure must not leave calls running into the next test.
      const settled = await Promise.allSettled(
        jobs.map(async (j) => {
          await delay(Math.floor(r() * 30));
          return j.model.segment(j.image, j.options);
        }),
      );
      return settled.map((s, k) => {
        if (s.status === 'rejected') throw new Error(`${jobs[k].what} failed: ${(s.reason as Error).message}`, { cause: s.reason });
        return s.value;
      });
    }

    /** Options in turn: classes only, probabilities, flip-averaged, logits, two scales. */
    const OPTIONS: SegmentOptions[] = [{}, { include: ['probabilities'] }, { flip: true, include: ['probabilities'] }, { include: ['logits'] }, { scales: [0.75, 1.25] }];
    /** Image sizes: with the short side resized to 16 they give six network sizes (a model keeps programs for three). */
    const SIZES: [number, number][] = [[16, 16], [24, 16], [16, 24], [20, 20], [33, 17], [13, 26], [40, 16], [18, 18]];

    /** GPU buffers in use: live ones not idle in the pool, and the pool's handed-out ones (the pool keeps a disposed model's buffers idle for reuse). */
    const inUse = (): { buffers: number; pooled: number; pooledBytes: number } => {
      const p = ctx.pool.stats;
      return { buffers: ctx.liveBufferCount - p.idle, pooled: p.inUse, pooledBytes: p.inUseBytes };
    };

    function jobs(models: DeepLabModel[], count: number, seed: number): Job[] {
      return Array.from({ length: count }, (_, k) => {
        const [w, h] = SIZES[k % SIZES.length];
        const model = models[k % models.length];
        const options = OPTIONS[k % OPTIONS.length];
        return { model, image: image(w, h, seed + k), options, what: `call ${k} (model ${k % models.length}, ${w}x${h}, ${JSON.stringify(options)})` };
      });
    }

    it('16 overlapping segment() calls on one model each return what the call returns run alone', async () => {
      const before = inUse();
      const model = await loadModel(MNV3_RANDOM, { ctx, shortSide: 16 });
      try {
        const list = jobs([model], 16, 100);
        const alone = await sequential(list);
        for (const round of [1, 2]) {
          const together = await concurrent(list, round);
          together.forEach((r, k) => expectSame(r, alone[k], `round ${round}, ${list[k].what}`));
        }
      } finally {
        model.dispose();
      }
      // Calls racing for a program the cache did not hold must not leave a second copy behind.
      expect(inUse(), 'GPU buffers in use after dispose()').to.deep.equal(before);
    });

    it('two models on one context (other network, other options), called in interleaved overlapping calls, each return what they return alone', async () => {
      const before = inUse();
      const a = await loadModel(MNV3_RANDOM, { ctx, shortSide: 16 });
      // The same weights at output stride 8 and another input size: another network.
      const b = await loadModel(MNV3_RANDOM, { ctx, shortSide: 12, outputStride: 8 });
      try {
        const list = jobs([a, b], 16, 200);
        const alone = await sequential(list);
        for (const round of [3, 4]) {
          const together = await concurrent(list, round);
          together.forEach((r, k) => expectSame(r, alone[k], `round ${round}, ${list[k].what}`));
        }
      } finally {
        a.dispose();
        b.dispose();
      }
      expect(inUse(), 'GPU buffers in use after dispose()').to.deep.equal(before);
    });

    it('dispose() while calls are in flight: the running call completes, queued ones fail as used after dispose(), then every buffer is released', async () => {
      const before = inUse();
      const model = await loadModel(MNV3_RANDOM, { ctx, shortSide: 16 });
      const list = jobs([model], 4, 300);
      const alone = await sequential(list.slice(0, 1));
      const calls = list.map((j) => j.model.segment(j.image, j.options));
      // One event-loop turn: the first call is on the GPU, the others wait their turn.
      await new Promise((resolve) => setImmediate(resolve));
      model.dispose();
      expect(inUse(), 'buffers released while a call is running').to.not.deep.equal(before);
      const settled = await Promise.allSettled(calls);
      expect(settled[0].status, 'the running call').to.equal('fulfilled');
      expectSame((settled[0] as PromiseFulfilledResult<SegmentResult>).value, alone[0], 'the running call');
      for (const s of settled.slice(1)) {
        expect(s.status, 'a queued call').to.equal('rejected');
        expect(((s as PromiseRejectedResult).reason as Error).message).to.match(/used after dispose\(\)/);
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(inUse(), 'GPU buffers in use once the calls have settled').to.deep.equal(before);
    });
  });
});
