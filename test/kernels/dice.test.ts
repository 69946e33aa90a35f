import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { type GpuTensor, readTensor, readTensorU32, uploadTensor } from '../../src/gpu/tensor.js';
import { type DiceParams, diceCpu, diceStatsShape, prepareDice } from '../../src/kernels/loss/dice.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { expectClose, expectThrows, numel, poisonedTensor, poisonedU32Tensor, randomArray, rng, testContext } from '../helpers.js';

const IGNORE = 255;

function randomLabels(n: number, classes: number, ignoreShare = 0.1, invalid: number[] = []): Uint32Array {
  const r = rng();
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() < ignoreShare ? IGNORE : Math.floor(r() * classes);
  invalid.forEach((v, i) => (out[(i * 7919) % n] = v));
  return out;
}

/** A binary model's logits [0, z] (the background channel a constant 0). */
function binaryLogits(z: ArrayLike<number>): Float64Array {
  const out = new Float64Array(2 * z.length);
  for (let i = 0; i < z.length; i++) out[2 * i + 1] = z[i];
  return out;
}

describe('kernel: soft Dice loss (smp DiceLoss, multi-class and binary)', () => {
  it('CPU: smp\'s formulas written out: binary dice = 2 sum(p t) / (sum p + sum t) on sigmoid(z), masked at ignored pixels', () => {
    const z = [0.3, -1.2, 2, 0.7, -0.4];
    const labels = Uint32Array.of(1, 0, 1, IGNORE, 0);
    const sig = z.map((v) => 1 / (1 + Math.exp(-v)));
    const p = sig.map((v, i) => (labels[i] === IGNORE ? 0 : v));
    const dice = (2 * (p[0] + p[2])) / (p.reduce((a, b) => a + b) + 2);
    const { loss } = diceCpu(binaryLogits(z), [1, 1, 5, 2], labels, { ignoreIndex: IGNORE, binary: true });
    expect(loss).to.be.closeTo(1 - dice, 1e-14);
    // No positive pixel: smp masks the class, the loss is 0.
    expect(diceCpu(binaryLogits(z), [1, 1, 5, 2], Uint32Array.of(0, 0, IGNORE, 0, 0), { ignoreIndex: IGNORE, binary: true }).loss).to.equal(0);
  });

  it('CPU: multi-class is the mean over every class of 1 - dice_c, classes without target pixels counted as 0', () => {
    const shape = [1, 2, 3, 4];
    const x = f64(randomArray(24, -2, 2));
    const labels = Uint32Array.of(0, 2, 2, IGNORE, 0, 2); // classes 1 and 3 have no pixel
    const probs = (px: number): number[] => {
      const e = [0, 1, 2, 3].map((c) => Math.exp(x[px * 4 + c]));
      const s = e.reduce((a, b) => a + b);
      return e.map((v) => v / s);
    };
    let total = 0;
    for (const c of [0, 2]) {
      let pt = 0;
      let sp = 0;
      let st = 0;
      for (let px = 0; px < 6; px++) {
        if (labels[px] === IGNORE) continue;
        const pc = probs(px)[c];
        sp += pc;
        if (labels[px] === c) (pt += pc), st++;
      }
      total += 1 - (2 * pt) / (sp + st);
    }
    expect(diceCpu(x, shape, labels, { ignoreIndex: IGNORE }).loss).to.be.closeTo(total / 4, 1e-14);
  });

  for (const binary of [false, true]) {
    it(`CPU gradient equals central differences of the CPU loss (${binary ? 'binary' : '5 classes'}, a scale)`, () => {
      const shape = binary ? [2, 3, 5, 2] : [2, 3, 5, 5];
      const p: DiceParams = { ignoreIndex: IGNORE, scale: 0.7, binary };
      const labels = randomLabels(30, binary ? 2 : 4, 0.2, [7]); // one invalid label; class 4 never a target
      const x = binary ? binaryLogits(randomArray(30, -3, 3)) : f64(randomArray(numel(shape), -3, 3));
      const { dlogits } = diceCpu(x, shape, labels, p);
      expectGradient((v) => [diceCpu(v, shape, labels, p).loss], x, [1], dlogits, 'dlogits');
    });
  }

  async function check(shape: number[], labels: Uint32Array, p: DiceParams): Promise<{ loss: number; invalid: number }> {
    const ctx = await testContext();
    const logits = randomArray(numel(shape), -4, 4);
    if (p.binary) for (let i = 0; i < logits.length; i += 2) logits[i] = 0;
    const t: Record<string, GpuTensor> = {
      logits: uploadTensor(ctx, logits, shape),
      labels: uploadTensor(ctx, labels, shape.slice(0, -1)),
      loss: poisonedTensor(ctx, [1]),
      dlogits: poisonedTensor(ctx, shape),
      invalid: poisonedU32Tensor(ctx, [1]),
      stats: poisonedTensor(ctx, diceStatsShape(shape)),
    };
    try {
      await runOnce(ctx, 'dice test', () => prepareDice(ctx, t as never, p));
      const ref = diceCpu(logits, shape, labels, p);
      const loss = (await readTensor(ctx, t.loss))[0];
      const lossErr = Math.abs(loss - ref.loss) / Math.max(1e-30, Math.abs(ref.loss));
      expect(ref.loss === 0 ? loss : lossErr, `loss ${loss} vs ${ref.loss}`).to.be.lessThan(1e-5);
      const dlogits = await readTensor(ctx, t.dlogits);
      if (ref.dlogits.every((v) => v === 0)) expect(dlogits.every((v) => v === 0), 'dlogits all 0').to.equal(true);
      else expectClose(dlogits, ref.dlogits, 'dlogits');
      const invalid = (await readTensorU32(ctx, t.invalid))[0];
      expect(invalid).to.equal(ref.invalid);
      return { loss, invalid };
    } finally {
      for (const x of Object.values(t)) x.dispose();
    }
  }

  it('GPU equals the CPU reference on 2 x 37 x 29 pixels, 21 classes (some without target pixels)', () => check([2, 37, 29, 21], randomLabels(2 * 37 * 29, 17), { ignoreIndex: IGNORE }));
  it('GPU: binary mode on [0, z], a loss scale', () => check([3, 13, 11, 2], randomLabels(3 * 143, 2), { ignoreIndex: IGNORE, scale: 0.5, binary: true }));
  it('GPU: a large reduction (3 x 161 x 161 pixels) keeps float32 accuracy', () => check([3, 161, 161, 3], randomLabels(3 * 161 * 161, 3), { ignoreIndex: IGNORE }));
  it('GPU: counts labels that are neither a class nor the ignore index', async () => {
    const { invalid } = await check([2, 9, 7, 5], randomLabels(126, 5, 0.1, [5, 17, 254]), { ignoreIndex: IGNORE });
    expect(invalid).to.equal(3);
  });
  it('GPU: every pixel ignored gives loss 0 and gradient 0, not NaN', async () => {
    expect((await check([1, 4, 5, 3], new Uint32Array(20).fill(IGNORE), { ignoreIndex: IGNORE })).loss).to.equal(0);
    expect((await check([1, 4, 5, 2], new Uint32Array(20).fill(IGNORE), { ignoreIndex: IGNORE, binary: true })).loss).to.equal(0);
  });

  it('refuses binary mode on other than two classes, and a bad ignore index', () => {
    expectThrows(() => diceCpu(new Float32Array(6), [1, 1, 2, 3], [0, 1], { ignoreIndex: IGNORE, binary: true }), /dice: binary mode takes the two logits \[0, z\] of a binary model, got 3 classes/);
    expectThrows(() => diceCpu(new Float32Array(6), [1, 1, 2, 3], [0, 1], { ignoreIndex: -1 }), /dice: ignoreIndex must be a non-negative integer, got -1/);
  });
});
