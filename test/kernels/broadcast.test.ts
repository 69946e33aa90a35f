// The broadcasting kernels (src/kernels/broadcast/): a OP b with numpy's broadcasting in either
// operand, expand, and the sum over broadcast axes, against their CPU references on random inputs,
// outputs poisoned, sizes off the 256-lane workgroup; and their gradient rules (binary's four ops,
// expand's and reduce_sum's, each the other's transpose) against central differences.
import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { roundToHalf } from '../../src/gpu/half.js';
import { readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { type BroadcastOp, broadcastCpu, broadcastOutputShape, expandCpu, prepareBroadcast, prepareReduceSum, reduceSumCpu } from '../../src/kernels/broadcast/broadcast.js';
import { disposeAfterTest, expectClose, expectThrows, numel, poisonedTensor, randomArray, testContext } from '../helpers.js';
import { expectOpGradients } from '../graph/op-gradcheck.js';

const OPS: BroadcastOp[] = ['add', 'sub', 'mul', 'div'];

/** Divisors away from zero, so a / b stays well conditioned. */
const divisor = (n: number) => randomArray(n, 0.5, 2).map((v, i) => (i % 2 ? -v : v));

describe('kernel: broadcast (a OP b, expand, reduce_sum)', () => {
  it('CPU references by hand: a [2,1] against b [1,3], a row summed back', () => {
    expect([...broadcastCpu(Float32Array.of(1, 2), [2, 1], Float32Array.of(10, 20, 30), [1, 3], 'sub')]).to.deep.equal([-9, -19, -29, -8, -18, -28]);
    expect([...expandCpu(Float32Array.of(1, 2), [2, 1], [2, 3])]).to.deep.equal([1, 1, 1, 2, 2, 2]);
    expect([...reduceSumCpu(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], [1, 3])]).to.deep.equal([5, 7, 9]);
    expect([...reduceSumCpu(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3], [2, 1])]).to.deep.equal([6, 15]);
  });

  it('refuses shapes that do not broadcast, naming both', () => {
    expectThrows(() => broadcastOutputShape([2, 3], [3, 2]), 'broadcast: a [2,3] and b [3,2] do not broadcast');
    expectThrows(() => broadcastOutputShape([2, 3], [3]), 'differ in rank');
    expectThrows(() => reduceSumCpu(new Float32Array(6), [2, 3], [2, 2]), 'reduce_sum: cannot sum [2,3] to [2,2]');
  });

  // A per-channel constant of a map, a map against its channel mean, both operands broadcast, rank 6, sizes off the workgroup.
  const cases: [number[], number[]][] = [
    [[2, 13, 17, 5], [1, 1, 1, 5]],
    [[1, 9, 11, 37], [1, 9, 11, 1]],
    [[3, 1, 97], [1, 5, 97]],
    [[2, 3, 1, 5, 1, 3], [1, 3, 4, 1, 2, 3]],
  ];
  for (const [aShape, bShape] of cases) {
    for (const op of OPS) {
      it(`${op}: GPU equals the CPU reference on ${JSON.stringify(aShape)} and ${JSON.stringify(bShape)}, either way round`, async () => {
        const ctx = await testContext();
        for (const [sa, sb] of [[aShape, bShape], [bShape, aShape]]) {
          const a = randomArray(numel(sa));
          const b = op === 'div' ? divisor(numel(sb)) : randomArray(numel(sb));
          const out = disposeAfterTest(poisonedTensor(ctx, broadcastOutputShape(sa, sb)));
          const ta = disposeAfterTest(uploadTensor(ctx, a, sa));
          const tb = disposeAfterTest(uploadTensor(ctx, b, sb));
          await runOnce(ctx, 'broadcast test', () => prepareBroadcast(ctx, { a: ta, b: tb, out }, op));
          expectClose(await readTensor(ctx, out), broadcastCpu(a, sa, b, sb, op), `${op} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`);
        }
      });
    }
    it(`expand and reduce_sum: GPU equals the CPU reference, ${JSON.stringify(bShape)} <-> ${JSON.stringify(broadcastOutputShape(aShape, bShape))}`, async () => {
      const ctx = await testContext();
      const big = broadcastOutputShape(aShape, bShape);
      const x = randomArray(numel(bShape));
      const small = disposeAfterTest(uploadTensor(ctx, x, bShape));
      const expanded = disposeAfterTest(poisonedTensor(ctx, big));
      await runOnce(ctx, 'expand test', () => prepareBroadcast(ctx, { a: small, out: expanded }, 'expand'));
      expect([...(await readTensor(ctx, expanded))]).to.deep.equal([...expandCpu(x, bShape, big)]);
      const y = randomArray(numel(big));
      const whole = disposeAfterTest(uploadTensor(ctx, y, big));
      const summed = disposeAfterTest(poisonedTensor(ctx, bShape));
      await runOnce(ctx, 'reduce_sum test', () => prepareReduceSum(ctx, { input: whole, out: summed }));
      expectClose(await readTensor(ctx, summed), reduceSumCpu(y, big, bShape), 'reduce_sum');
    });
  }

  it('half precision: f16 in, f16 out', async function () {
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    const [sa, sb] = [[1, 7, 9, 6], [1, 1, 1, 6]];
    const a = roundToHalf(randomArray(numel(sa)));
    const b = roundToHalf(randomArray(numel(sb)));
    const ta = disposeAfterTest(uploadTensor(ctx, a, sa, 'a', true));
    const tb = disposeAfterTest(uploadTensor(ctx, b, sb, 'b', true));
    const out = disposeAfterTest(poisonedTensor(ctx, sa, 'out', 'f16'));
    await runOnce(ctx, 'broadcast f16', () => prepareBroadcast(ctx, { a: ta, b: tb, out }, 'mul'));
    expectClose(await readTensor(ctx, out), roundToHalf(broadcastCpu(a, sa, b, sb, 'mul')), 'mul f16', 1e-3);
  });

  describe('gradients against central differences', function () {
    this.timeout(120_000);
    for (const op of OPS) {
      it(`binary ${op}: both operands broadcast`, () =>
        expectOpGradients(`binary ${op}`, (b) => b.binary('op', op, b.param('a', [2, 3, 1, 4]), b.param('b', [1, 3, 5, 1])), (name, n) => (op === 'div' && name === 'b' ? divisor(n) : randomArray(n))));
    }
    it('expand and reduce_sum', () =>
      expectOpGradients('expand, reduce_sum', (b) => {
        const e = b.expand('expand', b.param('x', [2, 1, 3]), [2, 4, 3]);
        return b.reduceSum('sum', b.binary('sq', 'mul', e, b.param('y', [2, 4, 3])), [1, 4, 1]);
      }));
  });
});
