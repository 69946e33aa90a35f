// The engine under Deno, on wgpu's WebGPU: the page bundle segments a VOC image with the default
// model in f32 and f16 and fine-tunes two steps, each as Node (Dawn) does on the same adapter.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImageSource } from '../../src/io/image-source.js';
import { loadModel } from '../../src/model/model.js';
import { fineTune } from '../../src/train/fine-tune.js';
import { testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { runDeno } from './deno.js';
import type { EngineCase, EngineResult } from './deno-engine.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'deno-engine.js');
const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const WEIGHTS = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');
const FINE_TUNE = { recipe: 'plain' as const, steps: 2, crop: 65, lr: 0.01, scale: [1, 1] as [number, number], flip: false, seed: 3 };

function agreement(a: Uint8Array, b: Uint8Array): number {
  expect(a.length, 'class map sizes').to.equal(b.length);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

describe('wgpu (Deno): the engine segments and fine-tunes as in Node @slow', function () {
  this.timeout(600_000);
  let dir: string;
  let deno: EngineResult;
  let node: { f32: Uint8Array; f16: Uint8Array; losses: number[]; tuned: Uint8Array };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-deno-'));
    const image = await decodeImageSource(IMAGE);
    const ctx = await testContext();
    const model = await loadModel(WEIGHTS, { ctx });
    const half = await loadModel(WEIGHTS, { ctx, precision: 'f16' });
    try {
      const f32 = (await model.segment(image)).classes;
      const f16 = (await half.segment(image)).classes;
      // The labels to fine-tune on: the model's own map (every pixel a class it knows).
      const labels = f32;
      const losses: number[] = [];
      const tunedModel = await fineTune(model, [{ image, labels }], { ...FINE_TUNE, onStep: (r) => void losses.push(r.loss) });
      const tuned = (await tunedModel.segment(image)).classes;
      tunedModel.dispose();
      node = { f32, f16, losses, tuned };
      writeFileSync(join(dir, 'image.rgb'), image.data);
      writeFileSync(join(dir, 'labels.u8'), labels);
    } finally {
      model.dispose();
      half.dispose();
    }
    const c: EngineCase = { weights: WEIGHTS, image: { width: image.width, height: image.height, rgb: join(dir, 'image.rgb') }, labels: join(dir, 'labels.u8'), fineTune: FINE_TUNE };
    writeFileSync(join(dir, 'case.json'), JSON.stringify(c));
    const run = await runDeno(SCRIPT, [join(dir, 'case.json')], { timeoutMs: 500_000 });
    const line = run.stdout.split('\n').find((l) => l.startsWith('{"result"'));
    if (!line) throw new Error(`the engine under Deno gave no result (exit ${run.code ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
    deno = (JSON.parse(line) as { result: EngineResult }).result;
    console.log(`      (Deno: ${deno.adapter}; ${deno.submits} submit(s), ${deno.readbacks} read-back(s) per segment; losses ${deno.losses.join(', ')} vs Node's ${node.losses.join(', ')})`);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const decode = (s: string) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));

  it("finds wgpu's adapter (lavapipe here) recognised as software, with shader-f16, knows it runs on wgpu, and times on the GPU by default", () => {
    expect(deno.isSoftware, 'a CPU adapter is recognised as software').to.equal(true);
    expect(deno.implementation).to.equal('wgpu');
    expect(deno.hasHalf).to.equal(true);
    // wgpu's host waits carry about 11 ms: timing (tuning) on the host there would measure them.
    expect(deno.hasTimestamps, 'timestamp queries asked for by default under wgpu').to.equal(true);
  });

  it('segments 2007_000033 in f32 as Node does (>= 99.9 % of pixels), in one submit and one read-back', () => {
    const a = agreement(decode(deno.f32), node.f32);
    console.log(`      (${(100 * a).toFixed(3)} % of pixels agree)`);
    expect(a).to.be.at.least(0.999);
    expect([deno.submits, deno.readbacks], 'submits and read-backs of one segment').to.deep.equal([1, 1]);
  });

  it('segments it in f16 as Node does (>= 99.9 % of pixels)', () => {
    const a = agreement(decode(deno.f16), node.f16);
    console.log(`      (${(100 * a).toFixed(3)} % of pixels agree)`);
    expect(a).to.be.at.least(0.999);
  });

  it("fine-tunes two steps with Node's losses (relative 1e-4), and the tuned model segments as Node's", () => {
    expect(deno.losses.length).to.equal(FINE_TUNE.steps);
    for (let i = 0; i < FINE_TUNE.steps; i++) expect(Math.abs(deno.losses[i] - node.losses[i]) / Math.abs(node.losses[i]), `loss of step ${i + 1}`).to.be.below(1e-4);
    expect(agreement(decode(deno.tuned), node.tuned)).to.be.at.least(0.999);
  });
});
