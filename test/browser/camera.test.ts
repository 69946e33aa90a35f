// Live video in a real browser: headless Chromium with a fake camera
// (--use-fake-device-for-media-stream: a synthetic picture, here at 60 fps), WebGPU on SwiftShader.
//
//  - The demo's camera mode (segmentStream) runs over CAMERA_FRAMES frames (default 1,000, 96x96):
//    after warm-up the GPU buffers (the context's live count, the pool's buffers and bytes) stay
//    exactly as they were, and the JS heap stays flat (bounds below); stop() releases what the
//    loop made.
//  - segment() of page frames (ImageBitmap, OffscreenCanvas, VideoFrame) goes through
//    copyExternalImageToTexture and the frame kernels, and gives what segment() of the same
//    pixels as RGB gives, bit for bit.
//
// Headless Chromium composites in software by default, and then can neither copy a video frame
// into a WebGPU texture ("Failed to copy content from video element") nor present a WebGPU
// canvas (the WebGPU instance is dropped). GPU compositing on SwiftShader's Vulkan
// (VIDEO_FLAGS) gives it both, as a browser on a real GPU has them.
//
// The network is a MobileNetV2 DeepLab at width 0.25 with random weights and a 17x17 input
// (tiny-checkpoint.ts), written here and served by the demo server: the real network's layers,
// at a cost SwiftShader runs about 7 frames a second at 160x120.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { PoolStats } from '../../src/gpu/buffer-pool.js';
import { type HeapCensus, expectNoDataGrowth, floorSlope, heapCensus } from '../memory.js';
import { CHROMIUM_FLAGS, type DemoPage, openDemoPage } from './chromium.js';
import { TINY_WEIGHTS as WEIGHTS, writeTinyCheckpoint } from './tiny-checkpoint.js';
import { readFlag } from '../../src/util/flags.js';

/** GPU compositing on SwiftShader's Vulkan, a fake camera, gc() and exact heap figures. */
const VIDEO_FLAGS = [
  ...CHROMIUM_FLAGS,
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  // The fake camera runs at 20 fps unless told (its track's frameRate capability tops at the
  // flag's rate; getUserMedia's frameRate constraint cannot raise it), and 60 is the most it
  // gives. The loop waits for a new frame after each, so at 20 fps a ~55 ms frame then idled
  // 23-36 ms more; at 60, 9-13 ms (measured with the host loaded: 62-66 ms a frame against
  // 75-104 ms; the 1,000 frames below 108 s against 138 s).
  '--use-fake-device-for-media-stream=fps=60',
  '--use-fake-ui-for-media-stream',
  '--js-flags=--expose-gc',
  '--enable-precise-memory-info',
];

const FRAMES = readFlag('CAMERA_FRAMES');
/** Frames before the reference sample: programs compiled, caches filled, the JIT settled. */
const WARM_UP = 100;
/** A sample every this many frames after warm-up. */
const EVERY = 50;
/** From this frame the heap is checked: the census compares it with the last frame's. */
const CENSUS_FROM = 300;
// The soak's frame size: the fake camera's smallest own size (it scales nothing; 80x60 and other
// sizes under ~100 wide come rotated, 60x80). What the soak checks is the same at any size (the
// loop makes its texture and class map once a size); SwiftShader's frame copy, class map and
// overlay cost by the pixel: measured with the host loaded, 64 ms a frame and 43 ms of the GPU
// process's CPU at 96x96, against 87-101 ms and 57-62 ms at 160x120 (this soak, two pairs of
// runs: 95 and 110 s against 145 and 134 s).
const SOAK_SIZE = { width: 96, height: 96 };

// The JS heap, two ways (as test/memory.ts does in Node):
//  - usedJSHeapSize after gc(), every EVERY frames. It counts V8's own growing structures too:
//    measured over 1,000 frames it rose in steps of 30-80 KiB at a few points up to frame ~700
//    (flat between, ~6.8 -> 7.0 MiB in all), the engine's bookkeeping rather than the loop's
//    data. So it bounds only coarse leaks: its floor (what it never went below again) may grow
//    by at most 1 KiB a frame from CENSUS_FROM on. A leaked class map (96x96 bytes) is 9 KiB.
//  - A census of the heap (snapshots through the DevTools protocol, counted by kind without
//    V8's code and internal nodes; test/memory.ts) at CENSUS_FROM and at the end. Measured from
//    frame 300 to 1,000 (ten runs, at 20 and 60 fps, 160x120 and 96x96, the host loaded): +5 to
//    +18 KiB (7-27 B a frame; the most with the page's long-animation-frame entries, +14-24,
//    which a loaded host makes), the most grown kind V8's WeakArrayList (+89 to +104; with its
//    JIT's ProtectedFixedArray and SharedFunctionInfoWrapper, +34-40, it grows in steps up to
//    frame ~700 and not after: censuses every 100 frames counted 186 218 221 226 305 316 316 316
//    316 from frame 200), closures, contexts and promises (in flight) up to +42. One object
//    leaked per frame would add 700. The window cannot start after V8's growth and be shorter:
//    from frame 700, a kind's +42 needs 170 frames to stay under the bound, and twice that for a
//    margin, which ends past frame 1,000.
const HEAP_FLOOR_BYTES_PER_FRAME = 1024;
const DATA_BYTES_PER_FRAME = 32;
const OBJECTS_PER_FRAME = 0.25;

/** A census of the page's heap (a snapshot through the DevTools protocol, after its GC; test/memory.ts). */
async function pageHeapCensus(page: Page, dir: string): Promise<HeapCensus> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const chunks: string[] = [];
    cdp.on('HeapProfiler.addHeapSnapshotChunk', (e) => chunks.push(e.chunk));
    await cdp.send('HeapProfiler.enable');
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    const path = join(dir, `page-${Date.now()}.heapsnapshot`);
    writeFileSync(path, chunks.join(''));
    return heapCensus(path);
  } finally {
    await cdp.detach();
  }
}

interface PageSample {
  frames: number;
  fps: number;
  liveBuffers: number;
  pool: PoolStats;
  heap: number;
}

interface DemoWindow {
  deeplabDemo: {
    ready: Promise<void>;
    startCamera(video?: MediaTrackConstraints | boolean): Promise<void>;
    stopCamera(): Promise<void>;
    stats(): { frames: number; fps: number; liveBuffers: number; pool: PoolStats };
  };
  gc(): void;
}

describe('browser: live video in headless Chromium (fake camera) @slow', function () {
  this.timeout(900_000);
  let demo: DemoPage;
  let page: Page;
  let pageErrors: string[];
  let weightsDir: string;

  before(async () => {
    if (!(FRAMES >= CENSUS_FROM + 2 * EVERY)) throw new Error(`CAMERA_FRAMES must be at least ${CENSUS_FROM + 2 * EVERY}, got ${FRAMES}`);
    weightsDir = mkdtempSync(join(tmpdir(), 'deeplab-video-'));
    writeTinyCheckpoint(join(weightsDir, WEIGHTS));
    demo = await openDemoPage({ server: { weightsDir }, flags: VIDEO_FLAGS });
    ({ page, pageErrors } = demo);
    await page.evaluate(() => (window as unknown as DemoWindow).deeplabDemo.ready);
  });

  after(async () => {
    await demo?.close();
    if (weightsDir) rmSync(weightsDir, { recursive: true, force: true });
  });

  it("the demo's camera mode goes live and draws frames with the GPU buffers exactly as they were; stop() releases the loop's", async () => {
    await page.evaluate((size) => (window as unknown as DemoWindow).deeplabDemo.startCamera(size), SOAK_SIZE);
    expect(await page.evaluate(() => document.getElementById('status')!.textContent)).to.equal('camera: live');
    /** The loop's stats once it has drawn `frames` frames. */
    const statsAt = (frames: number) =>
      page.evaluate(async (target) => {
        const demo = (window as unknown as DemoWindow).deeplabDemo;
        while (demo.stats().frames < target) await new Promise((resolve) => setTimeout(resolve, 20));
        return demo.stats();
      }, frames);
    const ref = await statsAt(10);
    const later = await statsAt(30);
    await page.evaluate(() => (window as unknown as DemoWindow).deeplabDemo.stopCamera());
    const stopped = await page.evaluate(() => (window as unknown as DemoWindow).deeplabDemo.stats());
    expect([later.liveBuffers, later.pool], `live GPU buffers and the pool at frame ${later.frames} against frame ${ref.frames}`).to.deep.equal([ref.liveBuffers, ref.pool]);
    expect(stopped.frames, 'no loop after stop').to.equal(0);
    expect(stopped.pool.inUse, 'pool buffers in use after stop').to.equal(ref.pool.inUse - 1);
    expect(stopped.liveBuffers, 'live GPU buffers after stop').to.equal(ref.liveBuffers - 2);
    expect(pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
  });

  // The soak (the heap over a thousand frames) is the extended tier's (test/extended-tier.cjs).
  describe('a soak @extended', () => {
    it(`the camera mode runs ${FRAMES} frames with the GPU buffers exactly flat and the JS heap flat after warm-up; stop() releases the loop's`, async () => {
      const t0 = Date.now();
      await page.evaluate((size) => (window as unknown as DemoWindow).deeplabDemo.startCamera(size), SOAK_SIZE);
      expect(await page.evaluate(() => document.getElementById('status')!.textContent)).to.equal('camera: live');
      /** Waits in the page for `frames` frames, then samples after a full GC. */
      const sampleAt = (frames: number): Promise<PageSample> =>
        page.evaluate(async (target) => {
          const w = window as unknown as DemoWindow;
          const status = () => document.getElementById('status')!.textContent ?? '';
          while (w.deeplabDemo.stats().frames < target) {
            if (status() !== 'camera: live') throw new Error(`the camera loop stopped: ${status()}`);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          w.gc();
          const s = w.deeplabDemo.stats();
          const memory = (performance as unknown as { memory: { usedJSHeapSize: number } }).memory;
          return { frames: s.frames, fps: s.fps, liveBuffers: s.liveBuffers, pool: s.pool, heap: memory.usedJSHeapSize };
        }, frames);
      const samples: PageSample[] = [];
      const censuses: { at: number; census: HeapCensus }[] = [];
      for (let at = WARM_UP; at <= FRAMES; at += EVERY) {
        samples.push(await sampleAt(at));
        if (at === CENSUS_FROM || at + EVERY > FRAMES) censuses.push({ at: samples[samples.length - 1].frames, census: await pageHeapCensus(page, weightsDir) });
      }
      const seconds = (Date.now() - t0) / 1000;
      const timing = await page.evaluate(() => document.getElementById('timing')!.textContent);
      await page.evaluate(() => (window as unknown as DemoWindow).deeplabDemo.stopCamera());
      const stopped = await page.evaluate(() => (window as unknown as DemoWindow).deeplabDemo.stats());

      const ref = samples[0];
      const last = samples[samples.length - 1];
      const checked = samples.filter((s) => s.frames >= CENSUS_FROM);
      const kib = (b: number) => (b / 1024).toFixed(1);
      const floor = floorSlope(checked.map((s) => [s.frames, s.heap]));
      const [a, b] = censuses;
      console.log(
        `      (${last.frames} frames in ${seconds.toFixed(0)} s, ${(last.frames / seconds).toFixed(1)} frames/s overall; "${timing}"; ` +
          `${ref.liveBuffers} GPU buffers, pool ${ref.pool.inUse} in use (${kib(ref.pool.inUseBytes)} KiB) + ${ref.pool.idle} idle; ` +
          `usedJSHeapSize floor ${floor.toFixed(1)} B/frame from frame ${CENSUS_FROM}, KiB at ${samples.map((s) => `${s.frames}: ${kib(s.heap)}`).join(', ')})`,
      );
      expect(last.frames, 'frames segmented').to.be.at.least(FRAMES);
      const at = `${SOAK_SIZE.width}x${SOAK_SIZE.height}`;
      expect(timing).to.match(new RegExp(`^tiny-random: \\d+\\.\\d frames per second \\(\\d+ ms a frame at ${at}, network input 17x17\\)$`));
      for (const s of samples) {
        expect(s.liveBuffers, `live GPU buffers at frame ${s.frames} (reference: frame ${ref.frames})`).to.equal(ref.liveBuffers);
        expect(s.pool, `buffer pool at frame ${s.frames} (reference: frame ${ref.frames})`).to.deep.equal(ref.pool);
      }
      const data = expectNoDataGrowth(a.census, b.census, { calls: b.at - a.at, bytesPerCall: DATA_BYTES_PER_FRAME, objectsPerCall: OBJECTS_PER_FRAME, unit: 'frame' });
      console.log(`      (heap data ${data.bytes >= 0 ? '+' : ''}${data.bytes} B from frame ${a.at} to ${b.at}; most grown: ${data.topKinds})`);
      expect(floor, `usedJSHeapSize floor growth from frame ${CENSUS_FROM} (bytes per frame)`).to.be.lessThan(HEAP_FLOOR_BYTES_PER_FRAME);
      // stop(): the class map back in the pool, the renderer's palette and params destroyed.
      expect(stopped.frames, 'no loop after stop').to.equal(0);
      expect(stopped.pool.inUse, 'pool buffers in use after stop').to.equal(ref.pool.inUse - 1);
      expect(stopped.liveBuffers, 'live GPU buffers after stop').to.equal(ref.liveBuffers - 2);
      expect(pageErrors, 'no uncaught errors in the page').to.deep.equal([]);
    });
  });

  it('a lost device: segment() of a frame gives the same result on the renewed device, and the camera loop goes on drawing', async () => {
    const got = await page.evaluate(async (weights) => {
      const lib = await import('/deeplab.js' as string);
      const events: { recovered: boolean; reason: string }[] = [];
      const model = await lib.loadModel(`/weights/${weights}`, { onDeviceLost: (e: { recovered: boolean; reason: string }) => events.push(e) });
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 160, height: 120 } });
      // No limit of its own: the test's timeout is the one (test/wait-until.ts).
      const until = async (done: () => boolean): Promise<void> => {
        while (!done()) await new Promise((r) => setTimeout(r, 20));
      };
      try {
        const bitmap = await createImageBitmap(await (await fetch('/samples/2007_000033.jpg')).blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
        const opts = { include: ['probabilities'] };
        const before = await model.segment(bitmap, opts);
        model.ctx.device.destroy();
        const after = await model.segment(bitmap, opts);
        let differ = 0;
        for (let i = 0; i < before.probabilities.length; i++) if (!Object.is(before.probabilities[i], after.probabilities[i])) differ++;
        bitmap.close();
        let frames = 0;
        let error = '';
        const loop = lib.segmentStream(model, stream, document.createElement('canvas'), {
          onFrame: (i: { frames: number }) => void (frames = i.frames),
          onError: (e: Error) => void (error = e.message),
        });
        await until(() => frames >= 5 || error !== ''); // the loop draws 5 frames
        const lostAt = frames;
        model.ctx.device.destroy();
        await until(() => frames >= lostAt + 10 || error !== ''); // and 10 more after the loss
        await loop.stop();
        return { differ, events, generation: model.ctx.generation, framesAfterLoss: frames - lostAt, error };
      } finally {
        for (const track of stream.getTracks()) track.stop();
        model.dispose();
      }
    }, WEIGHTS);
    console.log(`      (${JSON.stringify({ ...got, events: got.events.map((e) => e.reason) })})`);
    expect(got.error, 'the loop ran on').to.equal('');
    expect(got.differ, 'probabilities differing after the first loss').to.equal(0);
    expect(got.events.map((e) => e.recovered), 'two losses, both recovered').to.deep.equal([true, true]);
    expect(got.generation, 'renewed twice').to.equal(2);
    expect(got.framesAfterLoss, 'frames drawn after the loss').to.be.at.least(10);
  });

  it("a signal stops the camera loop: done rejects with the AbortError, no frame is drawn after it, and an aborted signal refuses to start", async () => {
    const got = await page.evaluate(async (weights) => {
      const lib = await import('/deeplab.js' as string);
      const model = await lib.loadModel(`/weights/${weights}`);
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 160, height: 120 } });
      try {
        const controller = new AbortController();
        let frames = 0;
        const loop = lib.segmentStream(model, stream, document.createElement('canvas'), { signal: controller.signal, onFrame: (i: { frames: number }) => void (frames = i.frames) });
        while (frames < 3) await new Promise((r) => setTimeout(r, 20));
        controller.abort();
        const rejected = await loop.done.then(() => 'resolved', (e: Error) => e.name);
        const atStop = frames;
        await new Promise((r) => setTimeout(r, 500));
        let refused = '';
        try {
          lib.segmentStream(model, stream, document.createElement('canvas'), { signal: controller.signal });
        } catch (e) {
          refused = (e as Error).name;
        }
        return { rejected, atStop, after: frames, refused };
      } finally {
        for (const track of stream.getTracks()) track.stop();
        model.dispose();
      }
    }, WEIGHTS);
    expect(got.atStop, 'frames drawn before the abort').to.be.at.least(3);
    expect(got.rejected, 'done').to.equal('AbortError');
    expect(got.after, 'frames drawn after done settled').to.equal(got.atStop);
    expect(got.refused, 'a loop given an aborted signal').to.equal('AbortError');
  });

  it('segment() of an ImageBitmap, an OffscreenCanvas and a VideoFrame equals segment() of their pixels, bit for bit', async () => {
    const got = await page.evaluate(async (weights) => {
      const lib = await import('/deeplab.js' as string);
      const ctx = await lib.GpuContext.create();
      const model = await lib.loadModel(`/weights/${weights}`, { ctx });
      try {
        const blob = await (await fetch('/samples/2007_000033.jpg')).blob();
        const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
        const frame = new VideoFrame(bitmap, { timestamp: 0 });
        const rgb = lib.imageToRgb(bitmap);
        const opts = { include: ['probabilities'] };
        const want = await model.segment(rgb, opts);
        const differ = (a: ArrayLike<number>, b: ArrayLike<number>) => {
          let n = Math.abs(a.length - b.length);
          for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) n++;
          return n;
        };
        const out: Record<string, unknown> = { size: [want.width, want.height], classes: new Set(want.classes).size };
        for (const [what, source] of [['bitmap', bitmap], ['canvas', canvas], ['videoFrame', frame]] as const) {
          const r = await model.segment(source, opts);
          out[what] = { size: [r.width, r.height], classes: differ(r.classes, want.classes), probabilities: differ(r.probabilities, want.probabilities) };
        }
        frame.close();
        bitmap.close();
        return out;
      } finally {
        model.dispose();
        ctx.destroy();
      }
    }, WEIGHTS);
    console.log(`      (500x366 VOC photo: ${JSON.stringify(got)})`);
    for (const what of ['bitmap', 'canvas', 'videoFrame']) {
      expect(got[what], what).to.deep.equal({ size: [500, 366], classes: 0, probabilities: 0 });
    }
  });
});
