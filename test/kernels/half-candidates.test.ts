// Every candidate a tuner may choose for a half-precision convolution, on every adapter class,
// against the CPU reference (the kernels' own f16 tests are in half.test.ts). A file of its own
// because on lavapipe it is the kernel tier's longest run: the suite runs it beside the others.
import { expect } from 'chai';
import { halfBits, halfValue, roundToHalf } from '../../src/gpu/half.js';
import type { Shape } from '../../src/gpu/tensor.js';
import { type Conv2dParams, conv2dOutputShape, convGeometry, convParams } from '../../src/kernels/conv2d/params.js';
import { conv2dCpu } from '../../src/kernels/conv2d/reference.js';
import { conv2dSpace, prepareConv2d } from '../../src/kernels/conv2d/conv2d.js';
import { convLayer } from '../../src/kernels/conv2d/family.js';
import { runsWinograd } from '../../src/kernels/conv2d/winograd/variants.js';
import { everyCandidate } from './every-candidate.js';
import { winogradCpu } from './winograd-reference.js';
import { expectClose, f16AccumulationTolerance, testContext } from '../helpers.js';
import { expectHalfClose, halfInput, runHalf } from './half-cases.js';

describe('half-precision convolutions (f16 storage)', () => {
  before(async function () {
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
  });

  describe('every candidate of a half-precision layer, on every adapter class @slow', function () {
    // Cold, on a 2-core host loaded about 5x over, one case took 677 s (stress runs, docs/testing.md): twice that and more.
    this.timeout(1_800_000);
    // What a tuner may choose for an f16 program: every kernel summing in f32 on f16 tensors and
    // the f16-accumulating tiles, each against the CPU reference in the kernel's semantics.
    const layers: { name: string; input: Shape; kernel: [number, number]; cout: number; p: Partial<Conv2dParams> }[] = [
      { name: '3x3 pad 1, relu6', input: [1, 9, 7, 20], kernel: [3, 3], cout: 19, p: { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, activation: 'relu6' } },
      { name: '1x1', input: [2, 5, 6, 36], kernel: [1, 1], cout: 44, p: {} },
      { name: 'depthwise 3x3 stride 2', input: [1, 11, 10, 28], kernel: [3, 3], cout: 28, p: { groups: 28, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } },
      { name: 'grouped 3x3 (the direct kernel)', input: [1, 9, 10, 12], kernel: [3, 3], cout: 18, p: { groups: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } },
    ];
    for (const c of layers) {
      it(c.name, async () => {
        const ctx = await testContext();
        const p = convParams(c.p);
        const weightShape = [c.kernel[0], c.kernel[1], c.input[3] / p.groups, c.cout];
        const outShape = conv2dOutputShape(c.input, weightShape, p);
        const K = weightShape[0] * weightShape[1] * weightShape[2];
        const input = halfInput(c.input);
        const weight = halfInput(weightShape, -0.5, 0.5);
        const bias = halfInput([c.cout]);
        const exact = conv2dCpu(input.data, c.input, weight.data, weightShape, p, { bias: bias.data });
        const h = (x: number) => halfValue(halfBits(x));
        const summedInHalf = conv2dCpu(input.data, c.input, weight.data, weightShape, p, { bias: bias.data }, h);
        // Winograd sums Cin products of its f16 transformed operands (F(2x2) only).
        const winograd = runsWinograd({ g: convGeometry(c.input, weightShape, p), p });
        const winogradInHalf = winograd ? Float32Array.from(winogradCpu(input.data, c.input, weight.data, weightShape, p, 2, { bias: bias.data }, { operand: h, sum: h })) : undefined;
        const ran = await everyCandidate(
          (cls) => conv2dSpace({ ...convLayer(ctx, c.input, weightShape, p, 'f16'), cls }),
          async (choice, name) => {
            const got = await runHalf([input, weight, bias], outShape, ([x, w, b], out) => prepareConv2d(ctx, { input: x, weight: w, bias: b, out }, p, choice));
            if (!name.endsWith('h')) return expectHalfClose(got, exact, name);
            expect(got.every(Number.isFinite), `${name}: every output written`).to.equal(true);
            if (choice.algorithm.id === 'winograd') return expectClose(got, roundToHalf(winogradInHalf!), name, f16AccumulationTolerance(c.input[3]));
            expectClose(got, roundToHalf(summedInHalf), name, f16AccumulationTolerance(K));
          },
        );
        expect(ran.some((x) => x.name.endsWith('h')), 'f16-accumulating candidates').to.equal(true);
        expect(ran.some((x) => x.name.startsWith('winograd/') && x.name.endsWith('h')), 'Winograd summing in f16').to.equal(winograd);
      });
    }
  });
});
