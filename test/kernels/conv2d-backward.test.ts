import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { createTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { type Conv2dParams, conv2dCpu, conv2dOutputShape, convParams, samePadding } from '../../src/kernels/conv2d.js';
import {
  conv2dGradBiasCpu,
  conv2dGradInputCpu,
  conv2dGradWeightCpu,
  conv2dGradWeightPlan,
  prepareConv2dGradInput,
  prepareConv2dGradWeight,
} from '../../src/kernels/conv2d-backward.js';
import { columnSumScratchShape, prepareColumnSum } from '../../src/kernels/reduce.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { expectClose, numel, poisonedTensor, randomArray, testContext } from '../helpers.js';

interface Case {
  name: string;
  input: number[];
  weight: number[];
  p: Conv2dParams;
}

const pad = (t: number, b = t, l = t, r = t) => ({ padTop: t, padBottom: b, padLeft: l, padRight: r });
const [sameT, sameB] = samePadding(9, 3, 2, 1);

const cases: Case[] = [
  { name: '3x3 stride 1', input: [2, 7, 6, 5], weight: [3, 3, 5, 7], p: convParams(pad(1)) },
  { name: '3x3 stride 2, TF same padding (extra pad after)', input: [1, 9, 8, 3], weight: [3, 3, 3, 6], p: convParams({ strideH: 2, strideW: 2, ...pad(sameT, sameB, 0, 1) }) },
  { name: '3x3 dilation 2', input: [1, 8, 9, 4], weight: [3, 3, 4, 5], p: convParams({ dilationH: 2, dilationW: 2, ...pad(2) }) },
  { name: '3x3 dilation 3, stride 2', input: [2, 11, 9, 3], weight: [3, 3, 3, 4], p: convParams({ dilationH: 3, dilationW: 3, strideH: 2, strideW: 2, ...pad(3) }) },
  { name: 'groups 2', input: [1, 6, 7, 6], weight: [3, 3, 3, 4], p: convParams({ groups: 2, ...pad(1) }) },
  { name: 'depthwise', input: [2, 7, 5, 6], weight: [3, 3, 1, 6], p: convParams({ groups: 6, ...pad(1) }) },
  { name: 'depthwise stride 2 dilation 2', input: [1, 9, 11, 5], weight: [3, 3, 1, 5], p: convParams({ groups: 5, strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, ...pad(2) }) },
  { name: 'depthwise, channel multiplier 2', input: [1, 6, 6, 3], weight: [3, 3, 1, 6], p: convParams({ groups: 3, ...pad(1) }) },
  { name: '1x1', input: [2, 5, 4, 7], weight: [1, 1, 7, 9], p: convParams({}) },
  { name: '7x7 stride 2 (a stem)', input: [1, 13, 11, 3], weight: [7, 7, 3, 4], p: convParams({ strideH: 2, strideW: 2, ...pad(3) }) },
  { name: 'rate larger than the map', input: [1, 5, 4, 3], weight: [3, 3, 3, 4], p: convParams({ dilationH: 12, dilationW: 12, ...pad(12) }) },
  { name: 'asymmetric strides and rates', input: [1, 9, 10, 2], weight: [3, 5, 2, 3], p: convParams({ strideH: 1, strideW: 2, dilationH: 2, dilationW: 1, ...pad(2, 2, 2, 1) }) },
];

describe('kernel: conv2d gradients', () => {
  for (const c of cases) {
    describe(c.name, () => {
      const outShape = conv2dOutputShape(c.input, c.weight, c.p);

      it('CPU input, weight and bias gradients equal central differences (float64)', () => {
        const x = f64(randomArray(numel(c.input)));
        const w = f64(randomArray(numel(c.weight)));
        const b = f64(randomArray(c.weight[3]));
        const r = f64(randomArray(numel(outShape)));
        expectGradient((v) => conv2dCpu(v, c.input, w, c.weight, c.p, { bias: b }), x, r, conv2dGradInputCpu(r, c.input, w, c.weight, c.p), 'dx');
        expectGradient((v) => conv2dCpu(x, c.input, v, c.weight, c.p, { bias: b }), w, r, conv2dGradWeightCpu(x, c.input, r, c.weight, c.p), 'dw');
        expectGradient((v) => conv2dCpu(x, c.input, w, c.weight, c.p, { bias: v }), b, r, conv2dGradBiasCpu(r, outShape), 'db');
      });

      it('GPU input, weight and bias gradients equal the CPU reference', async () => {
        const ctx = await testContext();
        const xs = randomArray(numel(c.input));
        const ws = randomArray(numel(c.weight));
        const dys = randomArray(numel(outShape));
        const x = uploadTensor(ctx, xs, c.input);
        const w = uploadTensor(ctx, ws, c.weight);
        const dy = uploadTensor(ctx, dys, outShape);
        const dx = poisonedTensor(ctx, c.input);
        const dw = poisonedTensor(ctx, c.weight);
        const db = poisonedTensor(ctx, [c.weight[3]]);
        const partial = createTensor(ctx, conv2dGradWeightPlan(c.input, c.weight, c.p).partialShape);
        const biasPartial = createTensor(ctx, columnSumScratchShape(outShape));
        try {
          await runOnce(ctx, 'conv grads test', () => [
            prepareConv2dGradInput(ctx, { dy, weight: w, dx }, c.p),
            ...prepareConv2dGradWeight(ctx, { x, dy, partial, dw }, c.p),
            ...prepareColumnSum(ctx, { x: dy, partial: biasPartial, out: db }),
          ]);
          expectClose(await readTensor(ctx, dx), conv2dGradInputCpu(dys, c.input, ws, c.weight, c.p), 'dx');
          expectClose(await readTensor(ctx, dw), conv2dGradWeightCpu(xs, c.input, dys, c.weight, c.p), 'dw');
          expectClose(await readTensor(ctx, db), conv2dGradBiasCpu(dys, outShape), 'db');
        } finally {
          for (const t of [x, w, dy, dx, dw, db, partial, biasPartial]) t.dispose();
        }
      });
    });
  }

  it('GPU weight gradient over a long reduction (2 x 45 x 43 pixels) keeps float32 accuracy', async () => {
    const ctx = await testContext();
    const input = [2, 45, 43, 6];
    const weight = [3, 3, 6, 5];
    const p = convParams({ dilationH: 2, dilationW: 2, ...pad(2) });
    const outShape = conv2dOutputShape(input, weight, p);
    const xs = randomArray(numel(input));
    const dys = randomArray(numel(outShape));
    const x = uploadTensor(ctx, xs, input);
    const dy = uploadTensor(ctx, dys, outShape);
    const dw = poisonedTensor(ctx, weight);
    const partial = createTensor(ctx, conv2dGradWeightPlan(input, weight, p).partialShape);
    try {
      await runOnce(ctx, 'long reduction', () => prepareConv2dGradWeight(ctx, { x, dy, partial, dw }, p));
      expectClose(await readTensor(ctx, dw), conv2dGradWeightCpu(xs, input, dys, weight, p), 'dw');
    } finally {
      for (const t of [x, dy, dw, partial]) t.dispose();
    }
  });

  it('rejects an output gradient of the wrong shape', async () => {
    const ctx = await testContext();
    const p = convParams(pad(1));
    const dy = uploadTensor(ctx, randomArray(2 * 4 * 4 * 3), [2, 4, 4, 3]);
    const w = uploadTensor(ctx, randomArray(3 * 3 * 2 * 4), [3, 3, 2, 4]);
    const dx = createTensor(ctx, [2, 4, 4, 2]);
    try {
      expect(() => prepareConv2dGradInput(ctx, { dy, weight: w, dx }, p)).to.throw(/conv2dGradInput: dy has shape \[2,4,4,3\], expected \[2,4,4,4\]/);
    } finally {
      for (const t of [dy, w, dx]) t.dispose();
    }
  });
});
