// The API's door: every bad input to segment(), segmentBatch(), forwardToHost() and loadModel()
// is refused with an error naming the argument, before any work; nothing comes back as a silent
// wrong answer (floats read as bytes), no message prints a file's bytes; a signal stops a call;
// loadModel takes a weights file's bytes in Node as in the page.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { GpuContext } from '../../src/gpu/context.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { expectRejects, randomRgbImage, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const MODEL = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');

describe('model: input checked at the API door', () => {
  let ctx: GpuContext;
  let model: DeepLabModel;
  before(async () => {
    ctx = await testContext();
    model = await loadModel(MODEL, { ctx, tune: 'off' });
  });
  after(() => model?.dispose());

  it('refuses pixel data that is not RGB bytes, naming image.data and its type', async () => {
    const [w, h] = [5, 4];
    const n = w * h * 3;
    const bad: [string, unknown][] = [
      ['Float32Array of 0.5', new Float32Array(n).fill(0.5)],
      ['Float32Array of NaN', new Float32Array(n).fill(NaN)],
      ['Float32Array of Infinity', new Float32Array(n).fill(Infinity)],
      ['Float64Array', new Float64Array(n)],
      ['Uint16Array', new Uint16Array(n)],
      ['Int8Array', new Int8Array(n)],
      ['string', 'x'.repeat(n)],
      ['plain array', new Array(n).fill(0)],
    ];
    for (const [what, data] of bad) {
      const e = await expectRejects(model.segment({ width: w, height: h, data } as never), /segment: image\.data is .*pixel data must be a Uint8Array or Uint8ClampedArray/, what);
      if (data instanceof Float32Array) expect(e.message, what).to.match(/floats in \[0, 1\]: multiply by 255/);
    }
    await expectRejects(model.segment({ width: w, height: h } as never), /segment: image\.data is missing/);
  });

  it('takes a Uint8ClampedArray (a canvas\'s pixels) as the bytes it holds', async () => {
    const img = randomRgbImage(9, 7, 1);
    const a = await model.segment(img);
    const b = await model.segment({ width: 9, height: 7, data: new Uint8ClampedArray(img.data) } as never);
    expect(Buffer.from(b.classes).equals(Buffer.from(a.classes))).to.equal(true);
  });

  it('refuses what is not an image, naming what it got', async () => {
    await expectRejects(model.segment(null as never), /segment: the image must be a path, encoded bytes .* got null/);
    await expectRejects(model.segment(42 as never), /segment: the image must be .* got the number 42/);
    await expectRejects(model.segment(undefined as never), /segment: the image must be .* got undefined/);
    await expectRejects(model.segment(new ArrayBuffer(8) as never), /segment: the image is an ArrayBuffer: .*new Uint8Array\(buffer\)/);
    await expectRejects(model.segment({ width: '5', height: 4, data: new Uint8Array(60) } as never), /segment: image\.width and image\.height must be whole numbers, got width the string "5" and height the number 4/);
    await expectRejects(model.segmentBatch('a.jpg' as never), /segmentBatch: images must be an array of images, got the string "a\.jpg"/);
    await expectRejects(model.segmentBatch([randomRgbImage(5, 4, 2), { width: 5, height: 4, data: new Float32Array(60) }] as never), /segmentBatch: images\[1\]: image\.data is a Float32Array/);
  });

  it('refuses bad options before any work: scales bounded, include an array, unknown names listed', async () => {
    const img = randomRgbImage(5, 4, 3);
    // Refused before the image is read, let alone resized: a 60x resize took a minute on the CPU
    // before it was refused.
    let pixelReads = 0;
    const watched = { width: img.width, height: img.height, get data() { pixelReads++; return img.data; } };
    for (const scales of [[1e6], [60], [0], [-1], [NaN], [Infinity]]) {
      await expectRejects(model.segment(watched, { scales }), /segment: scales must be positive numbers up to 8/, `scales [${scales}]`);
      expect(pixelReads, `scales [${scales}]: the image's pixels read before the refusal`).to.equal(0);
    }
    await expectRejects(model.segment(img, { scales: '1' as never }), /segment: scales must be an array of numbers/);
    await expectRejects(model.segment(img, { include: 'probabilities' as never }), /segment: include must be an array .* got the string "probabilities"/);
    await expectRejects(model.segment(img, { flip: 'yes' as never }), /segment: flip must be true or false/);
    await expectRejects(model.segment(img, { scale: [1] } as never), /segment: unknown option 'scale' \(did you mean 'scales'\?\); known options: include, scales, flip,/);
    await expectRejects(model.segmentBatch([img], { includes: ['logits'], tiles: 64 } as never), /segmentBatch: unknown option 'includes' \(did you mean 'include'\?\)/);
    await expectRejects(model.segment(img, { signal: 'stop' } as never), /segment: signal must be an AbortSignal/);
  });

  it('forwardToHost refuses non-finite, mis-sized or mistyped input', async () => {
    const [h, w] = [9, 9];
    await expectRejects(model.forwardToHost(new Float32Array(h * w * 3).fill(NaN), h, w), /forwardToHost: the input holds NaN at index 0; every value must be finite/);
    const inf = new Float32Array(h * w * 3);
    inf[17] = -Infinity;
    await expectRejects(model.forwardToHost(inf, h, w), /holds -Infinity at index 17/);
    await expectRejects(model.forwardToHost(new Float32Array(10), h, w), /forwardToHost: the input has 10 values, expected 1x9x9x3 = 243/);
    await expectRejects(model.forwardToHost(new Float64Array(h * w * 3) as never, h, w), /forwardToHost: the input must be a Float32Array .* got a Float64Array/);
    const logits = await model.forwardToHost(new Float32Array(h * w * 3), h, w);
    expect(logits.every(Number.isFinite)).to.equal(true);
  });

  it('an aborted signal rejects with an AbortError, before the call or during it, and the model goes on working', async () => {
    const img = randomRgbImage(12, 10, 4);
    const expected = await model.segment(img);
    const aborted = AbortSignal.abort();
    const before = await expectRejects(model.segment(img, { signal: aborted }), /aborted/i);
    expect(before.name).to.equal('AbortError');
    // Aborted once the call has started: the next check (after the images are prepared) stops it.
    const controller = new AbortController();
    const running = model.segmentBatch([img, randomRgbImage(20, 10, 5), randomRgbImage(10, 20, 6)], { signal: controller.signal });
    controller.abort();
    const during = await expectRejects(running, /aborted/i);
    expect(during.name).to.equal('AbortError');
    const again = await model.segment(img, { signal: new AbortController().signal });
    expect(Buffer.from(again.classes).equals(Buffer.from(expected.classes)), 'the same classes after the aborted calls').to.equal(true);
  });
});

describe('model: loadModel in Node takes bytes as the page does', () => {
  it("a weights file's bytes load as its path does, named by opts.name; unknown options are refused", async () => {
    const ctx = await testContext();
    const bytes = new Uint8Array(readFileSync(MODEL));
    const fromPath = await loadModel(MODEL, { ctx, tune: 'off' });
    const fromBytes = await loadModel(bytes, { ctx, tune: 'off', name: 'mine' });
    const fromBuffer = await loadModel(bytes.slice().buffer, { ctx, tune: 'off' });
    try {
      expect(fromBytes.name).to.equal('mine');
      expect(fromBuffer.name).to.equal('weights');
      const img = randomRgbImage(17, 13, 7);
      const a = await fromPath.segment(img, { include: ['logits'] });
      for (const m of [fromBytes, fromBuffer]) {
        const b = await m.segment(img, { include: ['logits'] });
        expect(Buffer.from(b.logits!.buffer).equals(Buffer.from(a.logits!.buffer)), `${m.name}: logits as from the path`).to.equal(true);
      }
    } finally {
      fromPath.dispose();
      fromBytes.dispose();
      fromBuffer.dispose();
    }
    await expectRejects(loadModel(MODEL, { ctx, shortside: 33 } as never), /loadModel: unknown option 'shortside' \(did you mean 'shortSide'\?\); known options: .*shortSide/);
  });

  it("never prints a file's bytes: bytes given as a path, and bytes of no weights format", async () => {
    const binary = readFileSync(MODEL).subarray(0, 4096).toString('latin1');
    const e = await expectRejects(loadModel(`./${binary}`), /weights file not found: /);
    expect(e.message.length, 'message length').to.be.below(300);
    expect(e.message).to.not.match(/[\u0000-\u0008]/);
    const junk = await expectRejects(loadModel(new Uint8Array(4096).fill(7)), /weights/);
    expect(junk.message.length, 'message length').to.be.below(400);
    await expectRejects(loadModel(42 as never), /loadModel: weights must be a registry name, a path, or a weights file's bytes .* got the number 42/);
  });
});
