// The browser benchmark's page (bench part browser) in headless Chromium: small cases, one round
// each. Every engine asked for must run on the page's one adapter (or its CPU engines on
// WebAssembly) and give our logits, so the benchmark cannot break without a test failing.
// LiteRT.js and MediaPipe run the official .tflite, whose input is fixed at 257x257: their case
// is at that size, with ours (MediaPipe and ours' segment() from the photo to its class map).
import { expect } from 'chai';
import { type BrowserCase, type BrowserRun, benchBrowser, requireChromium } from '../../bench/browser.js';
import type { EngineName } from '../../bench/page-protocol.js';
import { isPhotoEngine } from '../../bench/photo-engines.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { FP32_TOLERANCE } from '../helpers.js';
import { sharedPath } from '../shared.js';

const TFLITE = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');
const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');

/** TF MobileNetV2 (the official .tflite's weights) at `size`, with TF Lite's class maps of the VOC photos. */
const mobilenet = (size: number): BrowserCase => ({
  name: `mobilenetv2-${size}`,
  size,
  weightsNote: 'mobilenetv2-pascal-257',
  weights: () => loadWeights(TFLITE),
  tflite: { path: TFLITE, size: 257, classes: sharedPath('fixtures', 'tflite') },
});

async function run(size: number, engines: EngineName[], more: Partial<Parameters<typeof benchBrowser>[1]> = {}): Promise<BrowserRun> {
  requireChromium('browser tests');
  const lines: string[] = [];
  const r = await benchBrowser([mobilenet(size)], { repeats: 1, warmup: 0, image: IMAGE, engines, log: (line) => lines.push(line), ...more });
  console.log(lines.map((l) => `      (${l})`).join('\n'));
  return r;
}

/**
 * Every engine but `failing` ran once, on input [1, size, size, 3], its logits within 1e-4 of ours
 * and nearly every pixel of our class; a photo engine from the photo (500x366) to its class map,
 * which nearly matches ours and TF Lite's (MediaPipe resizes differently at class edges).
 */
function expectRan(r: BrowserRun, engines: EngineName[], size: number, failing: EngineName[] = []): void {
  expect(r.rows.map((row) => row.engine)).to.deep.equal(engines);
  for (const row of r.rows.filter((x) => !failing.includes(x.engine))) {
    expect(row.error, `${row.engine} ran`).to.equal(undefined);
    expect(row.samplesMs, `${row.engine}: one timed run`).to.have.length(1);
    // One timed run: the median is that run's time, which is positive.
    expect(row.medianMs, row.engine).to.equal(row.samplesMs[0]).and.be.greaterThan(0);
    expect(row.firstRunMs, row.engine).to.be.at.least(row.firstPassMs!);
    expect(row.loadMs, row.engine).to.be.greaterThan(0);
    expect(row.loadMs! + row.firstPassMs!, `${row.engine}: load and first pass within the first run`).to.be.at.most(row.firstRunMs! + 1e-6);
    expect(row.input).to.deep.equal([1, size, size, 3]);
    if (isPhotoEngine(row.engine)) {
      expect(row.photo, `${row.engine}: the photo, segmented whole`).to.deep.equal([366, 500]);
      expect(row.coldStartMs, `${row.engine}: from nothing, its first run and more`).to.be.at.least(row.firstRunMs!);
      const least = row.engine === 'ours-segment' ? 0.999 : 0.98;
      expect(row.labelAgreementVsTflite, `${row.engine}: pixels of TF Lite's class`).to.be.a('number').at.least(least);
      if (row.engine !== 'ours-segment') expect(row.labelAgreementVsOurs, `${row.engine}: pixels of our class`).to.be.a('number').at.least(0.98);
    } else if (row.engine === 'ours') {
      expect(row.relativeErrorVsOurs).to.equal(null);
    } else {
      expect(row.relativeErrorVsOurs, `${row.engine} vs ours`).to.be.a('number').below(FP32_TOLERANCE);
      expect(row.argmaxAgreementVsOurs, `${row.engine}: pixels of our class`).to.be.at.least(0.999);
    }
  }
  expect(r.pageMessages.filter((m) => m.startsWith('uncaught')), 'no uncaught errors in the page').to.deep.equal([]);
}

describe('browser: the benchmark page runs ours, ONNX Runtime Web and TF.js, on SwiftShader and on lavapipe @slow @extended', function () {
  this.timeout(300_000);

  it('runs ours, ORT and TF.js on one SwiftShader adapter and ORT and TF.js on WebAssembly (threads, the page cross-origin isolated), the peers giving our logits (1e-4); profiles our pass with timestamps; LiteRT.js refuses a size its .tflite is not', async () => {
    const engines: EngineName[] = ['ours', 'ours-tuned', 'ort', 'ort-wasm', 'tfjs', 'tfjs-wasm', 'litert-wasm'];
    const r = await run(33, engines, { profile: { repeats: 1 } });
    expectRan(r, engines, 33, ['litert-wasm']);
    expect(r.rows[6].error).to.match(/fixed at 257x257, the case is 33x33/);
    const adapters = (['ours', 'ort', 'tfjs'] as const).map((e) => r.start.adapters[e]!);
    expect(adapters[0], 'the page is on SwiftShader').to.contain('swiftshader');
    expect(new Set(adapters).size, `one adapter for all: ${adapters.join('; ')}`).to.equal(1);
    // Threads need SharedArrayBuffer: the server's cross-origin isolation headers give it.
    expect(r.start.crossOriginIsolated).to.equal(true);
    const cores = r.start.threads.hardwareConcurrency;
    expect(r.rows[3].threads, 'ORT: a thread a core').to.equal(cores);
    // TF.js caps its pool at half the cores, whatever it is asked for.
    expect(r.rows[5].threads, 'TF.js').to.equal(Math.max(1, Math.min(cores, Math.floor(cores / 2))));
    expect(r.start.adapters['ort-wasm']).to.match(/^CPU: WebAssembly/);
    expect(r.profiles).to.have.length(1);
    const p = r.profiles[0];
    expect(p.timing, 'SwiftShader has timestamp queries').to.equal('timestamps');
    expect(p.input).to.deep.equal([1, 33, 33, 3]);
    expect(p.layers.length).to.be.greaterThan(50);
    for (const l of p.layers) expect(l.kernels, l.name).to.not.be.empty;
    expect(p.passMs).to.be.greaterThan(0);
    expect(p.layersMs).to.be.greaterThan(0);
  });

  it('puts the page on lavapipe (through OpenGL ES on ANGLE) when asked, and profiles our pass on the host there', async () => {
    const r = await run(33, ['ours'], { adapter: 'lavapipe', profile: { repeats: 1 } });
    expectRan(r, ['ours'], 33);
    expect(r.start.adapters.ours).to.contain('llvmpipe');
    expect(r.start.timestamps, 'no timestamp queries in compatibility mode').to.equal(false);
    expect(r.profiles[0].timing).to.equal('host');
    expect(r.profiles[0].hostOverheadMs).to.be.a('number').greaterThan(0);
    expect(r.profiles[0].layersMs).to.be.greaterThan(0);
  });
});

// The .tflite's input is fixed at 257x257: 30-50 s on a loaded 2-core host.
describe('browser: the benchmark page runs LiteRT.js and MediaPipe on the official .tflite @slow @extended', function () {
  this.timeout(300_000);

  it("runs LiteRT.js on WebGPU and on WebAssembly on the official .tflite at 257x257, fully accelerated, giving our logits (1e-4); MediaPipe's ImageSegmenter (CPU and GPU delegates) on it with the bench's metadata, and ours' segment(), from the photo to class maps of ours and TF Lite's", async () => {
    const engines: EngineName[] = ['ours', 'litert-webgpu', 'litert-wasm', 'ours-segment', 'ours-cpu', 'mediapipe-cpu', 'mediapipe-gpu'];
    const r = await run(257, engines);
    expectRan(r, engines, 257);
    expect(r.start.adapters['litert-webgpu'], 'LiteRT.js on our adapter').to.equal(r.start.adapters.ours);
    expect(r.versions.litert).to.match(/^\d+\.\d+\.\d+/);
    expect(r.start.litert!.jspi, 'Chromium has JSPI').to.equal(true);
    for (const row of r.rows.slice(1, 3)) expect(row.fullyAccelerated, row.engine).to.equal(true);
    expect(r.versions.mediapipe).to.match(/^\d+\.\d+\.\d+/);
    const [oursSegment, oursCpu, cpu, gpu] = r.rows.slice(3);
    expect(oursSegment.adapter, 'ours-segment on our adapter').to.equal(r.start.adapters.ours);
    expect(oursCpu.adapter, 'ours on the CPU device').to.match(/^CPU \(onnxruntime-web \d.*\), WebAssembly, SIMD, \d+ thread/);
    expect(oursCpu.labelAgreementVsOurs, "ours on the CPU device labels as ours on WebGPU").to.be.at.least(0.999);
    expect(cpu.adapter).to.equal('CPU: WebAssembly, XNNPACK, 1 thread');
    expect(gpu.adapter, "MediaPipe's GPU delegate on WebGL2 on SwiftShader").to.match(/^WebGL2: .*SwiftShader/);
    for (const row of [cpu, gpu]) expect(row.coldStartMs, `${row.engine}: its module's import counted`).to.be.greaterThan(row.firstRunMs!);
  });
});

// The hub's MobileNetV2 folder, not its MobileViT one (the benchmark runs both): transformers.js
// compiles fewer kinds of kernel for it on SwiftShader (this test 49 s against 81 s, the host
// loaded). Our MobileViT export is checked against onnxruntime in test/model/mobilevit.test.ts.
// In the same page (one Chromium, one start of transformers.js and its WebGPU device), a
// transformers.js folder (test/fixtures/hub-onnx) as part browser runs it: ours loading the folder
// by URL, transformers.js v4's image-segmentation pipeline on the same folder, the photo segmented
// whole by both. SegFormer (TorchScript) is a family the pipeline takes; MobileViT's model type it
// maps to no segmentation class, which its row says.
describe('browser: the benchmark page runs transformers.js on a Hugging Face hub folder and on transformers.js folders @slow @extended', function () {
  this.timeout(300_000);

  it("runs transformers.js' AutoModel on WebGPU from a local hub folder holding our ONNX export, giving our logits (1e-4); refuses a case that is no hub model; runs SegFormer's transformers.js folder in ours and in the image-segmentation pipeline from the photo (networks within 1e-4); the pipeline refuses MobileViT's", async () => {
    requireChromium('browser tests');
    const hubFolder = sharedPath('fixtures', 'hf', 'deeplabv3_mobilenet_v2_1.0_513');
    const hub: BrowserCase = { name: 'mobilenetv2-hf-65', size: 65, weightsNote: 'random (hub fixture)', hubFolder, weights: () => loadWeights(hubFolder) };
    const folder = (fixture: string): BrowserCase => ({ name: `tjs-${fixture}`, size: 64, weightsNote: 'random', tjsFolder: { name: `tjs-${fixture}`, fixture, size: 64 } });
    const lines: string[] = [];
    const engines: EngineName[] = ['ours', 'transformers'];
    const cases = [hub, mobilenet(33), folder('segformer-torchscript'), folder('mobilevit')];
    const r = await benchBrowser(cases, { repeats: 1, warmup: 0, image: IMAGE, photo: IMAGE, engines, log: (line) => lines.push(line) });
    console.log(lines.map((l) => `      (${l})`).join('\n'));
    expectRan({ ...r, rows: r.rows.slice(0, 2) }, engines, 65);
    expect(r.versions.transformers).to.match(/^4\.\d+\.\d+/);
    const [, refused] = r.rows.slice(2, 4);
    expect(refused.engine).to.equal('transformers');
    expect(refused.error).to.equal('not a Hugging Face hub model');

    // SegFormer's folder: both from the photo to its class map, the networks within 1e-4 on the pipeline's pixel_values.
    const [ours, pipeline, mobilevitOurs, mobilevitPipeline] = r.rows.slice(4);
    expectRan({ ...r, rows: [ours, pipeline] }, engines, 64);
    expect(ours.photo, 'the photo, segmented whole').to.deep.equal([366, 500]);
    expect(pipeline.adapter, 'transformers.js on our adapter').to.equal(ours.adapter).and.contain('swiftshader');
    // The class maps differ where the inputs do: transformers.js resizes with a canvas in the page.
    expect(pipeline.labelAgreementVsOurs).to.be.a('number').within(0.5, 1);
    expect(pipeline.inputRelativeErrorVsOurs).to.be.a('number').greaterThan(0);
    expect(mobilevitOurs.error, 'ours runs MobileViT').to.equal(undefined);
    expect(mobilevitPipeline.error).to.match(/^Unsupported model type "mobilevit" for task "image-segmentation"/);
  });
});
