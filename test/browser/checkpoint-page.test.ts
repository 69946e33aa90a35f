// fineTune's checkpoints and kept models in the page, through the library, in headless Chromium
// (SwiftShader) and Firefox (wgpu on lavapipe), on the page tests' small network
// (tiny-checkpoint.ts): a run kept in the origin private file system and reloaded mid-training
// resumes with the losses of a run never stopped, bit for bit; a worker terminated while it writes a
// checkpoint leaves the previous one, which loads and which a second worker resumes (its stop
// keeping a checkpoint, its abort writing nothing); a full quota
// (simulated: the browser's estimate, then its write refusing) is an error naming the bytes needed
// and free, and the last checkpoint stays; a kept model loads after a reload and segments as it did
// before (every pixel), exports and is deleted. In Chromium also: the page's checkpoint loads in
// `deeplab segment` and `deeplab train --resume`, and a `deeplab train` run folder resumes in the page.
// The cases run in order on one page (its storage carries from one to the next), each page load
// with one GPU context.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { runTraining } from '../../src/train/run.js';
import { readLog } from '../../src/train/run-log.js';
import { runCli } from '../cli/run-cli.js';
import { VOC_SAMPLE } from '../train/teach-fixture.js';
import { BROWSER_TITLES, BROWSERS, openTestPage, repeatTag, type TestPage } from './browsers.js';
import { PLAIN_PAGE } from './chromium.js';
import { TINY_SIZE, TINY_WEIGHTS, writeTinyCheckpoint } from './tiny-checkpoint.js';
import { waitUntil } from '../wait-until.js';

/** The bundle as the page imports it (a variable, so the compiler does not look for the module). */
const BUNDLE = '/deeplab.js';
const SIDE = 24;
const STEPS = 8;
/** Every run's settings: batch norms training, so their statistics are state a resume restores too. */
const SETTINGS = { recipe: 'plain', steps: STEPS, crop: TINY_SIZE, batch: 2, lr: 0.01, seed: 3, freezeBn: false };

/**
 * What the page keeps on `window.__t` for the test's calls (set up again after each reload): the
 * bundle, the samples, and one GPU context for the page load's models, so a fine-tune compiles its
 * step once per page load (wgpu on lavapipe takes tens of seconds to).
 */
interface PageKit {
  lib: Record<string, (...args: unknown[]) => Promise<unknown>> & { SegmentationWorker: { start(url: string): PageWorker } };
  samples: { image: { width: number; height: number; data: Uint8Array }; labels: Uint8Array }[];
  weights: string;
  /** loadModel's options: the page load's context. */
  on: { ctx: unknown };
}

interface PageWorker {
  load(source: string | ArrayBuffer): Promise<unknown>;
  fineTune(samples: unknown, o: unknown): Promise<{ losses: number[] }>;
  stopFineTune(): Promise<void>;
  segment(image: ImageData): Promise<{ classes: Uint8Array }>;
  terminate(o?: { wait?: boolean }): Promise<void>;
}

/** Imports the bundle in the page and makes the samples: a patterned RGB image, two classes in bands, every third row unlabelled. */
async function setUp(page: TestPage): Promise<void> {
  await page.evaluate(
    async ({ bundle, side, weights }) => {
      const lib = await import(bundle);
      const image = { width: side, height: side, data: Uint8Array.from({ length: side * side * 3 }, (_, i) => (i * 97 + (i % 3) * 41) % 256) };
      const labels = Uint8Array.from({ length: side * side }, (_, p) => (Math.floor(p / side) % 3 === 2 ? 255 : p % side < side / 2 ? 0 : 15));
      (window as unknown as { __t: unknown }).__t = { lib, samples: [{ image, labels }], weights: `/weights/${weights}`, on: { ctx: await lib.GpuContext.create() } };
    },
    { bundle: BUNDLE, side: SIDE, weights: TINY_WEIGHTS },
  );
}

for (const browser of BROWSERS) {
  describe(`browser: fineTune's checkpoints and kept models in the page's storage, in headless ${BROWSER_TITLES[browser]} @slow${repeatTag(browser, 'chromium')}`, function () {
    this.timeout(300_000);
    let page: TestPage;
    let dir: string;
    /** The losses of the run never stopped. */
    let whole: number[];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'deeplab-checkpoint-page-'));
      mkdirSync(join(dir, 'weights'));
      writeTinyCheckpoint(join(dir, 'weights', TINY_WEIGHTS));
      page = await openTestPage(browser, { server: { weightsDir: join(dir, 'weights') }, path: PLAIN_PAGE });
      await setUp(page);
      whole = await page.evaluate(async (settings) => {
        const t = (window as unknown as { __t: PageKit }).__t;
        const model = (await t.lib.loadModel(t.weights, t.on)) as { dispose(): void };
        const losses: number[] = [];
        const tuned = (await t.lib.fineTune(model, t.samples, { ...settings, onStep: (r: { loss: number }) => losses.push(r.loss) })) as { dispose(): void };
        tuned.dispose();
        model.dispose();
        return losses;
      }, SETTINGS);
      expect(whole).to.have.length(STEPS);
    });

    after(async () => {
      await page?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('a run reloaded mid-training resumes from its last checkpoint with the losses of a run never stopped', async () => {
      // The run goes on in the page while the test waits for its third step, then reloads the page under it.
      await page.evaluate(async (settings) => {
        const w = window as unknown as { __t: PageKit; __steps: number };
        w.__steps = 0;
        const model = await w.__t.lib.loadModel(w.__t.weights, w.__t.on);
        void w.__t.lib.fineTune(model, w.__t.samples, { ...settings, checkpoint: { store: 'runs/library', every: 2 }, onStep: (r: { step: number }) => void (w.__steps = r.step) });
      }, SETTINGS);
      await waitUntil(async () => (await page.evaluate(() => (window as unknown as { __steps: number }).__steps)) >= 3, 'the run to reach step 3');
      await page.reload();
      await setUp(page);
      const resumed = await page.evaluate(async (settings) => {
        const t = (window as unknown as { __t: PageKit }).__t;
        const kept = (await t.lib.lastCheckpoint('runs/library')) as { step: number; steps: number; log: { loss: number }[]; base: string };
        const model = (await t.lib.loadModel(t.weights, t.on)) as { dispose(): void };
        const losses: number[] = [];
        const tuned = (await t.lib.fineTune(model, t.samples, { ...settings, checkpoint: { store: 'runs/library', every: 2 }, resume: 'runs/library', onStep: (r: { loss: number }) => losses.push(r.loss) })) as { dispose(): void };
        tuned.dispose();
        model.dispose();
        const done = (await t.lib.lastCheckpoint('runs/library')) as { step: number; log: { loss: number }[] };
        return { kept: { step: kept.step, steps: kept.steps, base: kept.base, log: kept.log.map((r) => r.loss) }, losses, done: { step: done.step, log: done.log.map((r) => r.loss) } };
      }, SETTINGS);
      console.log(`      (reloaded after step 3 or later; resumed from the checkpoint of step ${resumed.kept.step})`);
      expect(resumed.kept.step, 'a checkpoint of the run before the reload').to.be.oneOf([2, 4, 6]);
      expect(resumed.kept).to.include({ steps: STEPS, base: 'tiny-random' });
      expect(resumed.kept.log, "the kept log: the first steps' losses").to.deep.equal(whole.slice(0, resumed.kept.step));
      expect(resumed.losses, 'the resumed steps').to.deep.equal(whole.slice(resumed.kept.step));
      expect(resumed.done).to.deep.equal({ step: STEPS, log: whole });
      expect(page.pageErrors).to.deep.equal([]);
    });

    it('a worker terminated while it writes a checkpoint leaves the previous one, which loads; another worker resumes it, stopped and aborted on the way', async () => {
      const got = await page.evaluate(
        async ({ settings }) => {
          const t = (window as unknown as { __t: PageKit }).__t;
          // The worker's second checkpoint write stops half-way and never returns, as a write does when its tab is closed part-way.
          const patch = `
            import '${location.origin}/deeplab-worker.js';
            const write = FileSystemWritableFileStream.prototype.write;
            let large = 0;
            FileSystemWritableFileStream.prototype.write = async function (data) {
              if (data && data.byteLength > 65536 && ++large === 2) {
                await write.call(this, data.subarray(0, data.byteLength >> 1));
                return new Promise(() => {});
              }
              return write.call(this, data);
            };`;
          const url = URL.createObjectURL(new Blob([patch], { type: 'text/javascript' }));
          const worker = t.lib.SegmentationWorker.start(url);
          await worker.load(t.weights);
          let writing: () => void;
          const writingSecond = new Promise<void>((resolve) => (writing = resolve));
          const run = worker.fineTune(t.samples, { ...settings, checkpoint: { store: 'runs/worker', every: 2 }, onProgress: (m: string) => m.startsWith('keeping step 4') && writing() });
          run.catch(() => undefined);
          await writingSecond;
          // Half the file is written by now, and the rest never will be.
          await new Promise((resolve) => setTimeout(resolve, 1000));
          await worker.terminate({ wait: false });
          const kept = (await t.lib.lastCheckpoint('runs/worker')) as { step: number };
          const root = await navigator.storage.getDirectory();
          const store = await (await root.getDirectoryHandle('runs')).getDirectoryHandle('worker');
          const bytes = new Uint8Array(await (await (await store.getFileHandle('latest.safetensors')).getFile()).arrayBuffer());
          const model = (await t.lib.loadModel(bytes, t.on)) as { segment(i: unknown): Promise<{ classes: Uint8Array }>; dispose(): void };
          const classes = (await model.segment(t.samples[0].image)).classes.length;
          model.dispose();
          // Another worker goes on from it: stopped after one step (its checkpoint kept), then a run
          // aborted before its first step (nothing written), then to the end.
          const second = t.lib.SegmentationWorker.start('/deeplab-worker.js');
          const resume = { ...settings, checkpoint: { store: 'runs/worker', every: 2 }, resume: 'runs/worker' };
          try {
            await second.load(t.weights);
            const stopped = await second.fineTune(t.samples, { ...resume, onStep: () => void second.stopFineTune() });
            const afterStop = ((await t.lib.lastCheckpoint('runs/worker')) as { step: number }).step;
            const abort = new AbortController();
            let aborted = 'no error';
            try {
              await second.fineTune(t.samples, { ...resume, signal: abort.signal, onProgress: (m: string) => m.startsWith('compiling') && abort.abort() });
            } catch (e) {
              aborted = `${(e as Error).name}: ${(e as Error).message}`;
            }
            const afterAbort = ((await t.lib.lastCheckpoint('runs/worker')) as { step: number }).step;
            const rest = await second.fineTune(t.samples, resume);
            return { kept: kept.step, bytes: bytes.length, classes, stopped: stopped.losses, afterStop, aborted, afterAbort, rest: rest.losses };
          } finally {
            await second.terminate();
          }
        },
        { settings: SETTINGS },
      );
      console.log(`      (the checkpoint of step ${got.kept}, ${got.bytes} bytes, survived the write of step 4 cut off)`);
      expect(got.kept, 'the checkpoint before the write cut off').to.equal(2);
      expect(got.classes, 'it segments').to.equal(SIDE * SIDE);
      // The stop reaches the worker during the step after the one it was asked at, or the next.
      expect(got.stopped.length, 'steps before the stop').to.be.within(1, 2);
      expect(got.stopped, 'the steps before the stop').to.deep.equal(whole.slice(2, 2 + got.stopped.length));
      expect(got.afterStop, 'the checkpoint of the stop').to.equal(2 + got.stopped.length);
      expect(got.aborted).to.match(/^AbortError: /);
      expect(got.afterAbort, 'an aborted run writes nothing').to.equal(got.afterStop);
      expect(got.rest, 'the steps after it').to.deep.equal(whole.slice(got.afterStop));
      expect(page.pageErrors).to.deep.equal([]);
    });

    it('a full quota is an error naming the bytes needed and free, and the last checkpoint stays', async () => {
      const got = await page.evaluate(async (settings) => {
        const t = (window as unknown as { __t: PageKit }).__t;
        const model = (await t.lib.loadModel(t.weights, t.on)) as { dispose(): void };
        const estimate = navigator.storage.estimate;
        const caught = async (p: Promise<unknown>) => {
          try {
            await p;
            return { message: 'no error', name: '' };
          } catch (e) {
            return { message: (e as Error).message, name: (e as Error).name };
          }
        };
        try {
          // The browser's estimate: 2 kB left after step 2's checkpoint (enough for the log, not the weights).
          const full = await caught(
            t.lib.fineTune(model, t.samples, {
              ...settings,
              steps: 4,
              checkpoint: { store: 'runs/quota', every: 2 },
              onStep: async (r: { step: number }) => {
                if (r.step !== 3) return;
                const { usage } = await estimate.call(navigator.storage);
                navigator.storage.estimate = async () => ({ quota: usage! + 2000, usage });
              },
            }),
          );
          navigator.storage.estimate = estimate;
          // The browser's write refusing: the same error, with the estimate's figures.
          const write = FileSystemWritableFileStream.prototype.write;
          FileSystemWritableFileStream.prototype.write = async function () {
            throw new DOMException('quota reached', 'QuotaExceededError');
          };
          const refused = await caught(t.lib.fineTune(model, t.samples, { ...settings, steps: 3, checkpoint: { store: 'runs/quota', every: 2 }, resume: 'runs/quota' }));
          const keep = await caught(t.lib.keepModel(model, { name: 'never kept' }));
          FileSystemWritableFileStream.prototype.write = write;
          const kept = (await t.lib.lastCheckpoint('runs/quota')) as { step: number; log: unknown[] };
          const names = ((await t.lib.keptModels()) as { name: string }[]).map((k) => k.name);
          return { full, refused, keep, kept: { step: kept.step, log: kept.log.length }, names };
        } finally {
          navigator.storage.estimate = estimate;
          model.dispose();
        }
      }, SETTINGS);
      console.log(`      (${got.full.message})`);
      expect(got.full.name).to.equal('QuotaExceededError');
      expect(got.full.message).to.match(
        /^fineTune: step 4: could not write the checkpoint \(OPFS runs\/quota\/latest\.safetensors needs [\d.]+ (kB|MB) of storage and the browser gives this site 2 kB more \(quota [\d.]+ (kB|MB|GB), [\d.]+ (kB|MB|GB) used\)\); OPFS runs\/quota still holds the checkpoint of step 2$/,
      );
      expect(got.refused.name).to.equal('QuotaExceededError');
      expect(got.refused.message).to.match(/^fineTune: step 3: could not write the checkpoint \(OPFS runs\/quota\/log\.jsonl needs \d+ bytes of storage and the browser gives this site [\d.]+ (kB|MB|GB) more/);
      expect(got.refused.message).to.match(/; OPFS runs\/quota still holds the checkpoint of step 2$/);
      expect(got.keep.message).to.match(/^keepModel: OPFS deeplab-webgpu\/models\/never kept\/model\.safetensors needs [\d.]+ (kB|MB) of storage/);
      expect(got.kept, 'the last checkpoint, as it was').to.deep.equal({ step: 2, log: 2 });
      expect(got.names, 'nothing kept').to.not.include('never kept');
    });

    if (browser === 'chromium') {
      it("the page's checkpoint loads in deeplab segment and deeplab train --resume; a deeplab train run folder resumes in the page", async () => {
        const b64 = await page.evaluate(async () => {
          const root = await navigator.storage.getDirectory();
          const store = await (await root.getDirectoryHandle('runs')).getDirectoryHandle('library');
          const out: Record<string, string> = {};
          for (const name of ['latest.safetensors', 'log.jsonl']) {
            const bytes = new Uint8Array(await (await (await store.getFileHandle(name)).getFile()).arrayBuffer());
            let text = '';
            for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
            out[name] = btoa(text);
          }
          return out;
        });
        const fromPage = join(dir, 'from-page');
        mkdirSync(fromPage);
        for (const [name, text] of Object.entries(b64)) writeFileSync(join(fromPage, name), Buffer.from(text, 'base64'));
        const segmented = await runCli(['segment', join(VOC_SAMPLE, 'JPEGImages', '2007_000033.jpg'), '--model', join(fromPage, 'latest.safetensors'), '--out', join(dir, 'segmented')]);
        expect(segmented.code, segmented.stderr).to.equal(0);
        expect(readdirSync(join(dir, 'segmented'))).to.include('2007_000033.png');
        const resumed = await runCli(['train', '--data', VOC_SAMPLE, '--out', fromPage, '--resume', '--steps', String(STEPS + 1), '--batch', '1', '--crop', String(TINY_SIZE), '--eval-limit', '1', '--workers', '0']);
        expect(resumed.code, resumed.stderr).to.equal(0);
        expect(resumed.stderr + resumed.stdout).to.match(new RegExp(`resuming .*latest\\.safetensors at step ${STEPS}`));
        expect(readLog(join(fromPage, 'log.jsonl'), 99).map((r) => r.step)).to.deep.equal([...Array(STEPS + 1).keys()].map((k) => k + 1));

        // deeplab train's own run folder (runTraining is the command's run), continued in the page.
        const cliRun = join(dir, 'cli-run');
        await runTraining({ data: VOC_SAMPLE, model: join(dir, 'weights', TINY_WEIGHTS), out: cliRun, steps: 2, batch: 1, crop: TINY_SIZE, lr: 0.001, evalLimit: 1, workers: 0, seed: 1 });
        const files = Object.fromEntries(['latest.safetensors', 'log.jsonl'].map((n) => [n, readFileSync(join(cliRun, n)).toString('base64')]));
        const inPage = await page.evaluate(
          async ({ files, settings }) => {
            const t = (window as unknown as { __t: PageKit }).__t;
            const root = await navigator.storage.getDirectory();
            const store = await (await root.getDirectoryHandle('runs', { create: true })).getDirectoryHandle('cli', { create: true });
            for (const [name, text] of Object.entries(files)) {
              const writable = await (await store.getFileHandle(name, { create: true })).createWritable();
              await writable.write(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
              await writable.close();
            }
            const kept = (await t.lib.lastCheckpoint(store)) as { step: number; log: unknown[]; options: unknown };
            const model = (await t.lib.loadModel(t.weights, t.on)) as { dispose(): void };
            const losses: number[] = [];
            const tuned = (await t.lib.fineTune(model, t.samples, { ...settings, steps: 4, resume: store, checkpoint: { store }, onStep: (r: { loss: number }) => losses.push(r.loss) })) as { classNames: string[]; dispose(): void };
            const classes = tuned.classNames.length;
            tuned.dispose();
            model.dispose();
            const done = (await t.lib.lastCheckpoint(store)) as { step: number; log: { step: number }[] };
            return { kept: { step: kept.step, log: kept.log.length, options: kept.options }, losses, classes, done: done.log.map((r) => r.step) };
          },
          { files, settings: SETTINGS },
        );
        expect(inPage.kept).to.deep.equal({ step: 2, log: 2, options: null });
        expect(inPage.losses).to.have.length(2);
        expect(inPage.classes).to.equal(21);
        expect(inPage.done).to.deep.equal([1, 2, 3, 4]);
        expect(readSafetensors(join(cliRun, 'latest.safetensors')).metadata.training).to.match(/"step":2/);
      });
    }

    it('a kept model loads after a reload and segments as before it was kept (every pixel); it exports and is deleted', async () => {
      const keptFrom = Date.now();
      const before = await page.evaluate(async (settings) => {
        const t = (window as unknown as { __t: PageKit }).__t;
        const model = (await t.lib.loadModel(t.weights, t.on)) as { dispose(): void };
        const taught = (await t.lib.fineTune(model, t.samples, { ...settings, steps: 2 })) as { segment(i: unknown): Promise<{ classes: Uint8Array }>; dispose(): void };
        const persist = (await t.lib.persistStorage()) as { persisted: boolean; asked: boolean };
        const info = await t.lib.keepModel(taught, { name: 'taught bands', base: 'tiny-random' });
        const classes = Array.from((await taught.segment(t.samples[0].image)).classes);
        taught.dispose();
        model.dispose();
        return { info: info as unknown as { name: string; base: string; bytes: number }, classes, persist };
      }, SETTINGS);
      const keptBy = Date.now();
      console.log(`      (persistent storage: ${JSON.stringify(before.persist)})`);
      expect(before.info).to.include({ name: 'taught bands', base: 'tiny-random' });
      await page.reload();
      await setUp(page);
      const after = await page.evaluate(async () => {
        const t = (window as unknown as { __t: PageKit }).__t;
        const list = (await t.lib.keptModels()) as { name: string; classNames: string[]; bytes: number; date: string; base: string }[];
        const model = (await t.lib.loadKeptModel('taught bands', t.on)) as { name: string; segment(i: unknown): Promise<{ classes: Uint8Array }>; dispose(): void };
        const classes = Array.from((await model.segment(t.samples[0].image)).classes);
        model.dispose();
        const kept = (await t.lib.keptModelBytes('taught bands')) as Uint8Array;
        const exported: Record<string, string> = {};
        for (const format of ['checkpoint', 'onnx', 'tflite', 'smp']) {
          try {
            const file = (await t.lib.exportKeptModel('taught bands', format)) as { fileName: string; bytes: Uint8Array };
            exported[format] = `${file.fileName} ${file.bytes.length}${format === 'checkpoint' ? (file.bytes.length === kept.length ? ' same' : ' differs') : ''}`;
          } catch (e) {
            exported[format] = (e as Error).message;
          }
        }
        await t.lib.deleteKeptModel('taught bands');
        const left = ((await t.lib.keptModels()) as { name: string }[]).map((k) => k.name);
        return { list, classes, exported, left, name: model.name };
      });
      expect(after.list).to.have.length(1);
      expect(after.list[0]).to.include({ name: 'taught bands', base: 'tiny-random', bytes: before.info.bytes });
      expect(after.list[0].classNames).to.have.length(21);
      // The page and Node read the same system clock: the date is when keepModel ran (to the second at least).
      expect(Date.parse(after.list[0].date), 'dated when it was kept').to.be.within(keptFrom - 1000, keptBy + 1000);
      let same = 0;
      for (let i = 0; i < before.classes.length; i++) if (before.classes[i] === after.classes[i]) same++;
      expect(same, 'pixels segmented as before it was kept').to.equal(SIDE * SIDE);
      expect(after.exported.checkpoint).to.match(/^taught_bands\.safetensors \d+ same$/);
      expect(after.exported.onnx).to.match(/^taught_bands\.onnx \d+$/);
      expect(after.exported.tflite).to.match(/^taught_bands\.tflite \d+$/);
      expect(after.exported.smp).to.match(/is not an smp model/);
      expect(after.left).to.deep.equal([]);
      expect(page.pageErrors).to.deep.equal([]);
    });

  });
}
