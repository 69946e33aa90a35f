import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { type GpuTensor, createTensor, readTensor, readTensorU32, uploadTensor } from '../../src/gpu/tensor.js';
import { crossEntropyCpu, crossEntropyScratchShapes, prepareCrossEntropy } from '../../src/kernels/loss/cross-entropy.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { expectClose, numel, poisonedTensor, poisonedU32Tensor, randomArray, rng, testContext, expectThrows } from '../helpers.js';

const IGNORE = 255;

function randomLabels(n: number, classes: number, ignoreShare = 0.1, invalid: number[] = []): Uint32Array {
  const r = rng();
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() < ignoreShare ? IGNORE : Math.floor(r() * classes);
  invalid.forEach((v, i) => (out[(i * 7919) % n] = v));
  return out;
}

describe('kernel: softmax cross-entropy (ignore index, class weights)', () => {
  for (const weighted of [false, true]) {
    it(`CPU gradient equals central differences of the CPU loss${weighted ? ' (class weights)' : ''}`, () => {
      const shape = [2, 3, 5, 6];
      const x = f64(randomArray(numel(shape), -3, 3));
      const labels = randomLabels(30, 6, 0.2);
      const w = weighted ? randomArray(6, 0.2, 2) : undefined;
      const p = { ignoreIndex: IGNORE, scale: 0.7 };
      const { dlogits } = crossEntropyCpu(x, shape, labels, p, w);
      // The probe: the loss itself (a scalar), r = [1].
      expectGradient((v) => [crossEntropyCpu(v, shape, labels, p, w).loss], x, [1], dlogits, 'dlogits');
    });
  }

  async function check(shape: number[], labels: Uint32Array, weights?: Float32Array, scale = 1, hardFraction?: number): Promise<{ loss: number; invalid: number; kept: number }> {
    const ctx = await testContext();
    const logits = randomArray(numel(shape), -4, 4);
    const p = { ignoreIndex: IGNORE, scale, hardFraction };
    const scratch = crossEntropyScratchShapes(shape, p);
    const t: Record<string, GpuTensor | undefined> = {
      logits: uploadTensor(ctx, logits, shape),
      labels: uploadTensor(ctx, labels, shape.slice(0, -1)),
      weights: weights && uploadTensor(ctx, weights, [shape[3]]),
      loss: poisonedTensor(ctx, [1]),
      dlogits: poisonedTensor(ctx, shape),
      invalid: poisonedU32Tensor(ctx, [1]),
      partial: createTensor(ctx, scratch.partial),
      factor: createTensor(ctx, scratch.factor),
    };
    try {
      await runOnce(ctx, 'cross-entropy test', () => prepareCrossEntropy(ctx, t as never, p));
      const ref = crossEntropyCpu(logits, shape, labels, p, weights);
      const loss = (await readTensor(ctx, t.loss!))[0];
      expect(Math.abs(loss - ref.loss) / Math.max(1e-30, Math.abs(ref.loss)), `loss ${loss} vs ${ref.loss}`).to.be.lessThan(1e-5);
      expectClose(await readTensor(ctx, t.dlogits!), ref.dlogits, 'dlogits');
      const invalid = (await readTensorU32(ctx, t.invalid!))[0];
      expect(invalid).to.equal(ref.invalid);
      const C = shape[shape.length - 1];
      const kept = Array.from({ length: labels.length }, (_, px) => ref.dlogits.subarray(px * C, (px + 1) * C).some((v) => v !== 0)).filter(Boolean).length;
      return { loss, invalid, kept };
    } finally {
      for (const x of Object.values(t)) x?.dispose();
    }
  }

  it('GPU equals the CPU reference on 2 x 37 x 29 pixels, 21 classes', () => check([2, 37, 29, 21], randomLabels(2 * 37 * 29, 21)));
  it('GPU: class weights and a loss scale', () => check([1, 13, 11, 11], randomLabels(143, 11), randomArray(11, 0.1, 3), 0.5));
  it('GPU: a large reduction (3 x 161 x 161 pixels) keeps float32 accuracy', () => check([3, 161, 161, 3], randomLabels(3 * 161 * 161, 3)));
  it('GPU: counts labels that are neither a class nor the ignore index', async () => {
    const { invalid } = await check([2, 9, 7, 5], randomLabels(126, 5, 0.1, [5, 17, 254]));
    expect(invalid).to.equal(3);
  });
  it('GPU: every pixel ignored gives loss 0 and gradient 0, not NaN', async () => {
    const { loss } = await check([1, 4, 5, 3], new Uint32Array(20).fill(IGNORE));
    expect(loss).to.equal(0);
  });

  describe('hard-pixel mining (the loss over the top k % of valid pixels)', () => {
    it('CPU: keeps exactly the k pixels of largest loss (ties with the k-th too); k = 1 and k = all', () => {
      // Four valid pixels, 2 classes, label 0: losses rise with the logit of class 1.
      const shape = [1, 1, 5, 2];
      const x = Float64Array.from([0, -1, 0, 2, 0, 0.5, 0, 2, 0, 1]);
      const labels = Uint32Array.of(0, 0, 0, 0, IGNORE);
      const nll = (z: number): number => Math.log(1 + Math.exp(z));
      const lossOf = (f: number): number => crossEntropyCpu(x, shape, labels, { ignoreIndex: IGNORE, hardFraction: f }).loss;
      expect(lossOf(0.25)).to.be.closeTo(nll(2), 1e-12); // k = 1: the tie at 2 keeps both
      expect(lossOf(0.75)).to.be.closeTo((2 * nll(2) + nll(0.5)) / 3, 1e-12); // k = 3: pixels 1, 3, 2
      expect(lossOf(0.1)).to.be.closeTo(nll(2), 1e-12); // floor(0.4) = 0 -> at least 1
      expect(lossOf(1)).to.be.closeTo((nll(-1) + 2 * nll(2) + nll(0.5)) / 4, 1e-12);
      const { dlogits } = crossEntropyCpu(x, shape, labels, { ignoreIndex: IGNORE, hardFraction: 0.75 });
      expect([...dlogits.subarray(0, 2)]).to.deep.equal([0, 0]); // the easiest pixel has no gradient
      expectThrows(() => crossEntropyCpu(x, shape, labels, { ignoreIndex: IGNORE, hardFraction: 0 }), /hardFraction must be in \(0, 1\], got 0/);
      expectThrows(() => crossEntropyCpu(x, shape, labels, { ignoreIndex: IGNORE, hardFraction: 1.5 }), /hardFraction must be in \(0, 1\]/);
    });

    it('CPU gradient equals central differences of the CPU loss (class weights, away from ties)', () => {
      const shape = [2, 3, 5, 6];
      const x = f64(randomArray(numel(shape), -3, 3));
      const labels = randomLabels(30, 6, 0.2);
      const w = randomArray(6, 0.2, 2);
      const p = { ignoreIndex: IGNORE, scale: 0.7, hardFraction: 0.4 };
      const { dlogits } = crossEntropyCpu(x, shape, labels, p, w);
      expectGradient((v) => [crossEntropyCpu(v, shape, labels, p, w).loss], x, [1], dlogits, 'dlogits');
    });

    for (const [shape, f, weighted] of [[[2, 37, 29, 21], 0.25, false], [[1, 13, 11, 11], 0.5, true], [[3, 61, 67, 3], 0.07, false]] as const) {
      it(`GPU equals the CPU reference: ${JSON.stringify(shape)}, fraction ${f}${weighted ? ', class weights' : ''}`, async () => {
        const P = numel(shape as unknown as number[]) / shape[3];
        const { kept } = await check([...shape], randomLabels(P, shape[3]), weighted ? randomArray(shape[3], 0.1, 3) : undefined, 0.5, f);
        expect(kept).to.be.within(1, Math.ceil(f * P));
      });
    }
    it('GPU: a fraction that keeps one pixel, one that keeps all, and every pixel ignored', async () => {
      expect((await check([1, 9, 7, 4], randomLabels(63, 4, 0), undefined, 1, 1 / 64)).kept).to.equal(1);
      expect((await check([1, 9, 7, 4], randomLabels(63, 4, 0), undefined, 1, 0.9999)).kept).to.equal(62);
      expect((await check([1, 4, 5, 3], new Uint32Array(20).fill(IGNORE), undefined, 1, 0.5)).loss).to.equal(0);
    });
  });

  it('rejects float labels and labels of the wrong shape', async () => {
    const ctx = await testContext();
    const shape = [1, 2, 3, 4];
    const scratch = crossEntropyScratchShapes(shape);
    const t = {
      logits: uploadTensor(ctx, randomArray(24), shape),
      labels: uploadTensor(ctx, new Float32Array(6), [1, 2, 3]),
      loss: createTensor(ctx, [1]),
      dlogits: createTensor(ctx, shape),
      invalid: createTensor(ctx, [1], 'u32'),
      partial: createTensor(ctx, scratch.partial),
      factor: createTensor(ctx, scratch.factor),
    };
    const wrong = uploadTensor(ctx, new Uint32Array(5), [1, 5]);
    try {
      expectThrows(() => prepareCrossEntropy(ctx, t, { ignoreIndex: IGNORE }), /crossEntropy: labels must be u32, got f32/);
      expectThrows(() => prepareCrossEntropy(ctx, { ...t, labels: wrong }, { ignoreIndex: IGNORE }), /crossEntropy: labels has shape \[1,5\], expected \[1,2,3\]/);
    } finally {
      for (const x of [...Object.values(t), wrong]) x.dispose();
    }
  });
});
