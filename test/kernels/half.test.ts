// The half-precision (f16 storage) variants of the inference kernels, against each kernel's own
// CPU reference: inputs are rounded to f16 first (what an f16 tensor holds), the reference's
// output is rounded to f16 as the kernel's store does, and outputs start poisoned with NaN.
import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { halfBits, halfValue, roundToHalf } from '../../src/gpu/half.js';
import { type Shape, createTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { cast, castCpu, prepareCast } from '../../src/kernels/elementwise/cast.js';
import { concatCpu, prepareConcat } from '../../src/kernels/layout/concat.js';
import { type Conv2dParams, conv2dOutputShape, convGeometry, convParams } from '../../src/kernels/conv2d/params.js';
import { conv2dCpu } from '../../src/kernels/conv2d/reference.js';
import { conv2dSpace, prepareConv2d } from '../../src/kernels/conv2d/conv2d.js';
import type { AdapterClass } from '../../src/kernels/candidates.js';
import { tunableLayer } from '../../src/kernels/tuning.js';
import { convLayer } from '../../src/kernels/conv2d/family.js';
import { EMULATED_MATRIX_CONFIGS, type KernelLimits } from '../../src/gpu/kernel-limits.js';
import { matrixCandidates } from '../../src/kernels/conv2d/gemm/matrix.js';
import { gemmVariantName, parseGemmVariant } from '../../src/kernels/conv2d/gemm/names.js';
import { narrowSubgroups } from './every-candidate.js';
import type { GemmVariant } from '../../src/kernels/conv2d/gemm/types.js';
import { type DepthwiseVariant, depthwiseAlgorithm, depthwiseVariantName } from '../../src/kernels/conv2d/depthwise/depthwise.js';
import { convChoice } from '../../src/kernels/conv2d/algorithm.js';
import { F16_ACCUMULATION_ERROR } from '../../src/kernels/precision.js';
import { type DirectVariant, directAlgorithm } from '../../src/kernels/conv2d/direct/direct.js';
import { gemmAlgorithm } from '../../src/kernels/conv2d/gemm/gemm.js';
import { winogradAlgorithm } from '../../src/kernels/conv2d/winograd/winograd.js';
import { type WinogradVariant, parseWinogradVariant, winogradVariantName } from '../../src/kernels/conv2d/winograd/variants.js';
import { winogradCpu } from './winograd-reference.js';
import { elementwiseCpu, prepareElementwise } from '../../src/kernels/elementwise/elementwise.js';
import { prepareFlipWidth } from '../../src/kernels/layout/flip.js';
import { globalAvgPoolCpu, pool2dCpu, prepareGlobalAvgPool, preparePool2d } from '../../src/kernels/pool/pool.js';
import { prepareResizeBilinear, resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { prepareArgmax, prepareSoftmax, softmaxCpu } from '../../src/kernels/softmax/softmax.js';
import { expectBothSums, expectHalfClose, halfConvCase, halfInput, runHalf } from './half-cases.js';
import { expectRejects, numel, randomArray, relativeError, testContext, expectThrows, disposeAfterTest } from '../helpers.js';

describe('kernels in half precision (f16 storage)', () => {
  before(async function () {
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
  });

  describe('cast', () => {
    it('f32 -> f16 rounds to nearest-even as the CPU reference does; f16 -> f32 is exact (odd size: padded binding)', async () => {
      const ctx = await testContext();
      const n = 1001;
      // Values across f16's range, its subnormals and exact ties between two f16 values.
      const x = randomArray(n, -3000, 3000);
      x[0] = 1 + 2 ** -11; // a tie: rounds down to 1 (even)
      x[1] = 1 + 3 * 2 ** -11; // a tie: rounds up to 1 + 2^-9
      x[2] = 3e-6; // subnormal in f16
      x[3] = -0.1;
      const input = disposeAfterTest(uploadTensor(ctx, x, [n]));
      const half = disposeAfterTest(createTensor(ctx, [n], 'f16'));
      await runOnce(ctx, 'cast', () => prepareCast(ctx, { input, out: half }));
      const got = await readTensor(ctx, half);
      const ref = castCpu(x, 'f16');
      expect(Array.from(got.subarray(0, 4))).to.deep.equal(Array.from(ref.subarray(0, 4)));
      expect(ref[0]).to.equal(1);
      expect(ref[1]).to.equal(1 + 2 ** -9);
      let mismatches = 0;
      for (let i = 0; i < n; i++) if (got[i] !== ref[i]) mismatches++;
      expect(mismatches, 'elements rounded differently from the reference').to.equal(0);
      const back = disposeAfterTest(await cast(ctx, half, 'f32'));
      expect(back.dtype).to.equal('f32');
      expect(Array.from(await readTensor(ctx, back))).to.deep.equal(Array.from(ref));
    });

    it('refuses a cast that is not between f32 and f16', async () => {
      const ctx = await testContext();
      const a = disposeAfterTest(createTensor(ctx, [8], 'f32'));
      const b = disposeAfterTest(createTensor(ctx, [8], 'f32'));
      expectThrows(() => prepareCast(ctx, { input: a, out: b }), /cast: converts between f32 and f16, got f32 -> f32/);
    });
  });

  describe('conv2d', () => {
    const cases: { name: string; input: Shape; kernel: [number, number]; cout: number; p: Partial<Conv2dParams>; epilogue?: boolean; splitK?: boolean }[] = [
      { name: 'GEMM 3x3 rate 2, bias + scale + residual, relu6', input: [1, 9, 11, 13], kernel: [3, 3], cout: 19, p: { padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, dilationH: 2, dilationW: 2, activation: 'relu6' }, epilogue: true },
      { name: 'GEMM 1x1 stride 2', input: [2, 7, 9, 37], kernel: [1, 1], cout: 33, p: { strideH: 2, strideW: 2 } },
      { name: 'GEMM split over input channels', input: [1, 5, 6, 70], kernel: [3, 3], cout: 21, p: { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }, epilogue: true, splitK: true },
      { name: 'depthwise (vec4 tiles) 3x3 stride 2, hardswish', input: [1, 11, 10, 24], kernel: [3, 3], cout: 24, p: { groups: 24, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, activation: 'hardswish' }, epilogue: true },
      { name: 'grouped (scalar direct) 3x3', input: [1, 8, 7, 6], kernel: [3, 3], cout: 9, p: { groups: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }, epilogue: true },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const ctx = await testContext();
        const p = convParams(c.p);
        const weightShape = [c.kernel[0], c.kernel[1], c.input[3] / p.groups, c.cout];
        const outShape = conv2dOutputShape(c.input, weightShape, p);
        const input = halfInput(c.input);
        const weight = halfInput(weightShape, -0.5, 0.5);
        const bias = halfInput([c.cout]);
        const scale = halfInput([c.cout], 0.5, 1.5);
        const residual = halfInput(outShape);
        const before = ctx.kernelOptions.splitK;
        ctx.kernelOptions.splitK = c.splitK ? 'always' : 'never';
        try {
          const got = await runHalf(c.epilogue ? [input, weight, bias, scale, residual] : [input, weight], outShape, ([x, w, b, s, r], out) => {
            const made = prepareConv2d(ctx, { input: x, weight: w, bias: b, scale: s, residual: r, out }, p);
            expect(made.length, 'dispatches (two when split)').to.equal(c.splitK ? 2 : 1);
            return made;
          });
          const extras = c.epilogue ? { bias: bias.data, scale: scale.data, residual: residual.data } : {};
          expectHalfClose(got, conv2dCpu(input.data, c.input, weight.data, weightShape, p, extras), c.name);
        } finally {
          ctx.kernelOptions.splitK = before;
        }
      });
    }

    it('GEMM on f16 subgroup matrices (emulated here), every shape adapters report and every tiling, split and not', async () => {
      const ctx = await testContext();
      const limits: KernelLimits = { ...ctx.kernelLimits, matrix: { configs: EMULATED_MATRIX_CONFIGS, subgroupMaxSize: 8, emulated: true } };
      const layers: { input: Shape; kernel: [number, number]; cout: number; p: Partial<Conv2dParams> }[] = [
        { input: [1, 9, 11, 13], kernel: [3, 3], cout: 19, p: { padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, dilationH: 2, dilationW: 2, activation: 'relu6' } },
        { input: [2, 7, 9, 70], kernel: [1, 1], cout: 33, p: { strideH: 2, strideW: 2 } },
      ];
      let ran = 0;
      for (const c of layers) {
        const p = convParams(c.p);
        const weightShape = [c.kernel[0], c.kernel[1], c.input[3], c.cout];
        const outShape = conv2dOutputShape(c.input, weightShape, p);
        const g = convGeometry(c.input, weightShape, p);
        const input = halfInput(c.input);
        const weight = halfInput(weightShape, -0.5, 0.5);
        const bias = halfInput([c.cout]);
        const ref = conv2dCpu(input.data, c.input, weight.data, weightShape, p, { bias: bias.data });
        const candidates = matrixCandidates(g, limits, 'f16');
        expect(new Set(candidates.map((v) => `${v.m}x${v.n}x${v.k}`)).size, 'every f16 shape').to.equal(3);
        for (const v of [...candidates, { ...candidates[0], splits: 2 }]) {
          const got = await runHalf([input, weight, bias], outShape, ([x, w, b], out) => prepareConv2d(ctx, { input: x, weight: w, bias: b, out }, p, convChoice(gemmAlgorithm, v)));
          expectHalfClose(got, ref, `${gemmVariantName(v)} on ${c.input.join('x')}`);
          ran++;
        }
      }
      console.log(`      (${ran} variants)`);
    });

    describe('GEMMs on f16 tensors, f32 and f16 accumulators (register, subgroup, tiled and written-out tiles)', () => {
      const layers: { name: string; input: Shape; kernel: [number, number]; cout: number; p: Partial<Conv2dParams> }[] = [
        // 99 pixels (no whole 16- or 8-pixel tile), 21 input channels (no whole 8-lane subgroup
        // step), 37 output channels (no whole channel block).
        { name: '3x3 pad 1, relu6', input: [1, 9, 11, 21], kernel: [3, 3], cout: 37, p: { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, activation: 'relu6' } },
        { name: '1x1 stride 2', input: [2, 7, 9, 45], kernel: [1, 1], cout: 19, p: { strideH: 2, strideW: 2 } },
      ];
      for (const c of layers) {
        it(c.name, async () => {
          const ctx = await testContext();
          const p = convParams(c.p);
          const weightShape = [c.kernel[0], c.kernel[1], c.input[3], c.cout];
          const K = c.kernel[0] * c.kernel[1] * c.input[3];
          const ref = halfConvCase(c.input, weightShape, p);
          const sg8 = ctx.kernelLimits.subgroupSize === 8;
          const tiles: GemmVariant[] = [
            { kind: 'register', R: 16, CN: 8, lanes: 8, splits: 1 },
            { kind: 'register', R: 8, CN: 4, lanes: 8, splits: 2 },
            ...(sg8 ? [{ kind: 'subgroup', R: 16, CN: 4, lanes: 8, splits: 1 } as const] : []),
            // 64 x 64 blocks over 99 and 126 pixels, BK 16 over 189 and 45 taps: partial blocks and steps.
            { kind: 'tiled', BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, vec4: false, splits: 1 },
            { kind: 'unrolled', PX: 4, CG: 4, lanes: 8, subgroups: false, splits: 1 },
            ...(sg8 ? [{ kind: 'unrolled', PX: 4, CG: 2, lanes: 8, subgroups: true, splits: 1 } as const] : []),
          ];
          const run = (v: GemmVariant, accumulate: 'f32' | 'f16') =>
            runHalf(ref.operands, ref.outShape, ([x, w, b, s, r], out) =>
              prepareConv2d(ctx, { input: x, weight: w, bias: b, scale: s, residual: r, out }, p, convChoice(gemmAlgorithm, v, accumulate)),
            );
          for (const tile of tiles) {
            expectBothSums(await run(tile, 'f32'), await run(tile, 'f16'), ref, `${gemmVariantName(tile)}h on ${c.name}`, K);
          }
        });
      }
    });

    it('depthwise tiles on f16 tensors, f32 and f16 accumulators (stride 1; stride 2 rate 2; 5x5)', async () => {
      const ctx = await testContext();
      const layers: { input: Shape; k: number; p: Partial<Conv2dParams> }[] = [
        // 11 x 10 and 9 x 13 outputs: no whole 4 x 4 tile; 28 and 20 channels: no whole 8-lane block.
        { input: [1, 11, 10, 28], k: 3, p: { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, activation: 'relu6' } },
        { input: [2, 17, 25, 20], k: 3, p: { strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 } },
        { input: [1, 9, 7, 12], k: 5, p: { padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, activation: 'hardswish' } },
      ];
      for (const c of layers) {
        const C = c.input[3];
        const p = convParams({ ...c.p, groups: C });
        const weightShape = [c.k, c.k, 1, C];
        const ref = halfConvCase(c.input, weightShape, p);
        const run = (v: DepthwiseVariant, accumulate: 'f32' | 'f16') =>
          runHalf(ref.operands, ref.outShape, ([x, w, b, s, r], out) =>
            prepareConv2d(ctx, { input: x, weight: w, bias: b, scale: s, residual: r, out }, p, convChoice(depthwiseAlgorithm, v, accumulate)),
          );
        for (const tile of [{ lanes: 8, tilesPerGroup: 8 }, { lanes: 16, tilesPerGroup: 1 }]) {
          expectBothSums(await run(tile, 'f32'), await run(tile, 'f16'), ref, `depthwise ${depthwiseVariantName(tile)}h on ${c.input.join('x')} ${c.k}x${c.k}`, c.k * c.k);
        }
      }
    });

    it('direct kernel on f16 tensors, f32 and f16 accumulators (grouped; depthwise off the vec4 tiles, stride 2; 5x5 at rate 2; 1x3)', async () => {
      const ctx = await testContext();
      const layers: { input: Shape; kernel: [number, number]; cout: number; p: Partial<Conv2dParams> }[] = [
        // Output rows of 7, 5, 9 and 11 pixels: no whole 8-pixel block; 9, 10, 6 and 15 channels: no whole 8- or 16-lane group.
        { input: [1, 8, 7, 6], kernel: [3, 3], cout: 9, p: { groups: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, activation: 'relu6' } },
        { input: [2, 11, 10, 10], kernel: [3, 3], cout: 10, p: { groups: 10, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } },
        { input: [1, 13, 9, 6], kernel: [5, 5], cout: 6, p: { groups: 6, dilationH: 2, dilationW: 2, padTop: 4, padBottom: 4, padLeft: 4, padRight: 4, activation: 'hardswish' } },
        { input: [1, 6, 11, 15], kernel: [1, 3], cout: 15, p: { groups: 5, padLeft: 1, padRight: 1 } },
      ];
      for (const c of layers) {
        const p = convParams(c.p);
        const weightShape = [c.kernel[0], c.kernel[1], c.input[3] / p.groups, c.cout];
        const K = c.kernel[0] * c.kernel[1] * weightShape[2];
        const ref = halfConvCase(c.input, weightShape, p);
        const [single, half] = conv2dSpace(convLayer(ctx, c.input, weightShape, p, 'f16')).candidates;
        expect([single.accumulate, half.accumulate, half.name], 'the f32-summing default first, then its f16-summing twin').to.deep.equal(['f32', 'f16', `${single.name}h`]);
        const run = (choice: typeof single.variant) =>
          runHalf(ref.operands, ref.outShape, ([x, w, b, s, r], out) => prepareConv2d(ctx, { input: x, weight: w, bias: b, scale: s, residual: r, out }, p, choice));
        expectBothSums(await run(single.variant), await run(half.variant), ref, `${half.name} on ${c.input.join('x')} ${c.kernel.join('x')} g${p.groups}`, K);
      }
      // f16 sums are offered only to half-precision programs, and refused on f32 tensors.
      const f32Layer = convLayer(ctx, [1, 8, 7, 6], [3, 3, 2, 9], convParams({ groups: 3 }), 'f32');
      expect(conv2dSpace(f32Layer).candidates.map((x) => x.name)).to.deep.equal(['direct/l16']);
      const x = disposeAfterTest(uploadTensor(ctx, randomArray(8 * 7 * 6), [1, 8, 7, 6], 'x'));
      const w = disposeAfterTest(uploadTensor(ctx, randomArray(9 * 2 * 9), [3, 3, 2, 9], 'w'));
      const out = disposeAfterTest(createTensor(ctx, [1, 6, 5, 9], 'f32'));
      const v: DirectVariant = { lanes: 16 };
      expectThrows(() => prepareConv2d(ctx, { input: x, weight: w, out }, convParams({ groups: 3 }), convChoice(directAlgorithm, v, 'f16')), /conv2d: direct\/l16h: f16 sums are for half-precision programs/);
    });

    it('Winograd F(2x2) and F(4x4), looped and written out (f16 tensors, f32 scratch), with the epilogue', async () => {
      // The f32-summing candidates of a half-precision layer: f16 tensors, f32 scratch.
      const ctx = await testContext();
      const input = halfInput([1, 9, 11, 13]);
      const weight = halfInput([3, 3, 13, 19], -0.5, 0.5);
      const bias = halfInput([19]);
      const scale = halfInput([19], 0.5, 1.5);
      const residual = halfInput([1, 9, 11, 19]);
      const p = convParams({ padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, activation: 'relu6' });
      const ref = conv2dCpu(input.data, input.shape, weight.data, weight.shape, p, { bias: bias.data, scale: scale.data, residual: residual.data });
      for (const tile of [2, 4] as const) {
        for (const unrolled of [false, true]) {
          const v: WinogradVariant = { tile, unrolled, rows: 8, channels: 4, lanes: 8, subgroups: false };
          const got = await runHalf([input, weight, bias, scale, residual], residual.shape, ([x, w, b, s, r], out) =>
            prepareConv2d(ctx, { input: x, weight: w, bias: b, scale: s, residual: r, out }, p, convChoice(winogradAlgorithm, v)),
          );
          expectHalfClose(got, ref, winogradVariantName(v));
        }
      }
    });

    it('Winograd F(2x2) summing in f16 on f16 scratch, looped and written out, with and without subgroups (rate 1 and 2, the epilogue)', async () => {
      const ctx = await testContext();
      const h = (x: number) => halfValue(halfBits(x));
      const layers: { input: Shape; cout: number; p: Partial<Conv2dParams> }[] = [
        // 9 x 11 outputs: no whole 2 x 2 tile; 99 tiles' worth of rows off every row block; 21 and 37 channels off the lanes.
        { input: [1, 9, 11, 21], cout: 37, p: { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, activation: 'relu6' } },
        // Rate 2: tiles in phases, partial in each; batch 2.
        { input: [2, 13, 10, 40], cout: 19, p: { dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 } },
      ];
      const sg = ctx.kernelLimits.subgroupSize;
      for (const c of layers) {
        const p = convParams(c.p);
        const weightShape = [3, 3, c.input[3], c.cout];
        const { operands, outShape, exact } = halfConvCase(c.input, weightShape, p);
        const [input, weight, bias, scale, residual] = operands;
        const extras = { bias: bias.data, scale: scale.data, residual: residual.data };
        // The kernel's semantics: V and U rounded to f16 as stored, every step of the sum rounded.
        const summedInHalf = roundToHalf(Float32Array.from(winogradCpu(input.data, c.input, weight.data, weightShape, p, 2, extras, { operand: h, sum: h })));
        // f16 scratch summed in f32: what the kernel would give were only its storage f16.
        const storedInHalf = roundToHalf(Float32Array.from(winogradCpu(input.data, c.input, weight.data, weightShape, p, 2, extras, { operand: h })));
        const tiles: WinogradVariant[] = [
          { tile: 2, unrolled: false, rows: 16, channels: 4, lanes: 8, subgroups: false },
          { tile: 2, unrolled: false, rows: 8, channels: 8, lanes: 16, subgroups: false },
          { tile: 2, unrolled: true, rows: 8, channels: 4, lanes: 8, subgroups: false },
          ...(sg === 8 ? [{ tile: 2, unrolled: false, rows: 16, channels: 4, lanes: 8, subgroups: true } as const, { tile: 2, unrolled: true, rows: 8, channels: 4, lanes: 8, subgroups: true } as const] : []),
        ];
        const run = (v: WinogradVariant, accumulate: 'f32' | 'f16') =>
          runHalf(operands, outShape, ([x, w, b, s, r], out) =>
            prepareConv2d(ctx, { input: x, weight: w, bias: b, scale: s, residual: r, out }, p, convChoice(winogradAlgorithm, v, accumulate)),
          );
        for (const tile of tiles) {
          const what = `${winogradVariantName(tile)}h on ${c.input.join('x')}`;
          const half = await run(tile, 'f16');
          expectBothSums(await run(tile, 'f32'), half, { exact, summedInHalf }, what, c.input[3]);
          // Its sums really round to f16. Not "nearer the f16-sum reference than the f32-sum one":
          // two f16 summations that round differently at any step (another order, a fused
          // multiply-add on a GPU) err independently, so they lie about sqrt(2) times as far from
          // each other as each lies from the f32 sum (on the H100 the kernel landed 0.1-13 %
          // further from the reference's f16 sums than from the f32 sums). What f16 sums do
          // show: the output departs from the f32 sum of the same f16 operands about as far as
          // the reference's f16 sums do (lavapipe: 0.87-1.0 times; a fused multiply-add rounds
          // once for two operations, about 0.7 times), while a kernel summing in f32 departs from
          // it only where the two f32 sums round to neighbouring halves (lavapipe: 0 here).
          // Over this many outputs the ratio is steady to a few percent; half is the bound.
          const f16Departure = relativeError(summedInHalf, storedInHalf);
          expect(relativeError(half, storedInHalf), `${what}: departure from f32 sums, against the reference's f16 sums' ${f16Departure.toExponential(2)}`).to.be.at.least(0.5 * f16Departure);
        }
      }
    });

    it('offers Winograd f16 sums to half-precision layers only, and for F(2x2) only', async () => {
      const ctx = await testContext();
      const p = convParams({ padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
      const layer = (dtype: 'f32' | 'f16', cls: AdapterClass) => ({ g: convGeometry([1, 9, 11, 21], [3, 3, 21, 37], p), p, cls, limits: ctx.kernelLimits, dtype });
      const winograd = (dtype: 'f32' | 'f16', cls: AdapterClass) => conv2dSpace(layer(dtype, cls)).candidates.filter((x) => x.variant.algorithm === winogradAlgorithm);
      for (const cls of ['software', 'swiftshader', 'gpu'] as const) {
        const half = winograd('f16', cls);
        const summed = half.filter((x) => x.accumulate === 'f16');
        expect(summed.length, `${cls}: f16-summing candidates`).to.be.at.least(1);
        expect(summed.every((x) => (x.variant.variant as WinogradVariant).tile === 2), `${cls}: F(2x2) only`).to.equal(true);
        // Each one the twin of an f32-summing candidate.
        const names = new Set(half.map((x) => x.name));
        expect(summed.every((x) => names.has(x.name.replace(/h$/, ''))), `${cls}: twins`).to.equal(true);
        expect(winograd('f32', cls).some((x) => x.accumulate === 'f16'), `${cls}: none for f32 layers`).to.equal(false);
      }
      // Asked for anyway, on f32 tensors or with F(4x4), the launch says why not.
      const x = disposeAfterTest(uploadTensor(ctx, randomArray(9 * 11 * 21), [1, 9, 11, 21], 'x'));
      const w = disposeAfterTest(uploadTensor(ctx, randomArray(9 * 21 * 37), [3, 3, 21, 37], 'w'));
      const out = disposeAfterTest(createTensor(ctx, [1, 9, 11, 37], 'f32'));
      const v: WinogradVariant = { tile: 2, unrolled: false, rows: 16, channels: 4, lanes: 8, subgroups: false };
      expectThrows(() => prepareConv2d(ctx, { input: x, weight: w, out }, p, convChoice(winogradAlgorithm, v, 'f16')), /f16 sums are for half-precision programs/);
      const xh = disposeAfterTest(uploadTensor(ctx, roundToHalf(randomArray(9 * 11 * 21)), [1, 9, 11, 21], 'x', true));
      const wh = disposeAfterTest(uploadTensor(ctx, roundToHalf(randomArray(9 * 21 * 37)), [3, 3, 21, 37], 'w', true));
      const outh = disposeAfterTest(createTensor(ctx, [1, 9, 11, 37], 'f16'));
      expectThrows(() => prepareConv2d(ctx, { input: xh, weight: wh, out: outh }, p, convChoice(winogradAlgorithm, { ...v, tile: 4 }, 'f16')), /F\(4x4\)'s transforms amplify f16 rounding/);
    });

    it('untuned, a half-precision layer runs f32 sums on every adapter class; every f16-summing candidate carries the accuracy check', async () => {
      const ctx = await testContext();
      const same = { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };
      const layers: { input: Shape; weight: Shape; p: Partial<Conv2dParams> }[] = [
        { input: [1, 9, 7, 20], weight: [3, 3, 20, 24], p: same },
        { input: [2, 5, 6, 36], weight: [1, 1, 36, 44], p: {} },
        { input: [1, 11, 10, 28], weight: [3, 3, 1, 28], p: { ...same, groups: 28 } },
        { input: [1, 9, 10, 12], weight: [3, 3, 4, 18], p: { ...same, groups: 3 } },
      ];
      const algorithms = new Set<string>();
      for (const c of layers) {
        const p = convParams(c.p);
        for (const cls of ['software', 'swiftshader', 'gpu'] as const) {
          const layer = { ...convLayer(ctx, c.input, c.weight, p, 'f16'), cls };
          const space = conv2dSpace(layer);
          const [first, ...rest] = space.candidates;
          expect(first.accumulate, `${cls} ${first.name}: the default`).to.equal('f32');
          // What the tuner is handed: each candidate summing in f16 carries the accuracy check.
          const tunable = tunableLayer(space, [], () => [], 0);
          expect(tunable.candidates.map((x) => x.name), `${cls}: the tuner's candidates`).to.deep.equal(space.candidates.map((x) => x.name));
          for (const [i, x] of space.candidates.entries()) {
            expect(x.name.endsWith('h'), x.name).to.equal(x.accumulate === 'f16');
            expect(tunable.candidates[i].accuracy, x.name).to.equal(x.accumulate === 'f16' ? F16_ACCUMULATION_ERROR : undefined);
          }
          for (const x of rest) {
            if (x.accumulate === 'f16') algorithms.add(x.name.startsWith('gemm/') ? `gemm/${(x.variant.variant as GemmVariant).kind}` : x.name.split('/')[0]);
            // The tuning store keeps choices by name: GEMM and Winograd names parse back to the same variant.
            const name = x.name.replace(/h$/, '');
            if (name.startsWith('gemm/')) expect(parseGemmVariant(name.slice('gemm/'.length)), x.name).to.deep.equal(x.variant.variant);
            if (name.startsWith('winograd/')) expect(parseWinogradVariant(name.slice('winograd/'.length)), x.name).to.deep.equal(x.variant.variant);
          }
          // f32 layers are offered no f16 sums.
          expect(conv2dSpace({ ...layer, dtype: 'f32' }).candidates.some((x) => x.accumulate === 'f16' || x.name.endsWith('h')), `${cls}: f32`).to.equal(false);
        }
      }
      // The subgroup GEMM: on these small layers, where subgroups are as narrow as lavapipe's.
      expect([...algorithms].sort()).to.deep.equal(['depthwise', 'direct', 'gemm/register', 'gemm/subgroup', 'gemm/tiled', 'gemm/unrolled', 'winograd'].filter((a) => a !== 'gemm/subgroup' || narrowSubgroups(ctx)));
    });

    it('refuses f16 and f32 tensors mixed in one convolution', async () => {
      const ctx = await testContext();
      const x = disposeAfterTest(uploadTensor(ctx, roundToHalf(randomArray(4 * 4 * 8)), [1, 4, 4, 8], 'x', true));
      const w = disposeAfterTest(uploadTensor(ctx, randomArray(8 * 8), [1, 1, 8, 8], 'w'));
      const out = disposeAfterTest(createTensor(ctx, [1, 4, 4, 8], 'f16'));
      expectThrows(() => prepareConv2d(ctx, { input: x, weight: w, out }, convParams({})), /binds both f16 and f32 tensors/);
    });
  });

  it('max pool 3x3 stride 2 and average pool with padding', async () => {
    const shape = [2, 9, 8, 5];
    const input = halfInput(shape);
    for (const p of [
      { kind: 'max' as const, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 },
      { kind: 'avg' as const, kernelH: 3, kernelW: 2, strideH: 1, strideW: 2, padTop: 1, padBottom: 1, padLeft: 0, padRight: 1, countIncludePad: false },
    ]) {
      const ref = pool2dCpu(input.data, shape, p);
      const outShape = [2, Math.floor((9 + 2 - 3) / p.strideH) + 1, Math.floor((8 + p.padLeft + p.padRight - p.kernelW) / p.strideW) + 1, 5];
      expect(numel(outShape)).to.equal(ref.length);
      const ctx = await testContext();
      const got = await runHalf([input], outShape, ([x], out) => preparePool2d(ctx, { input: x, out }, p));
      expectHalfClose(got, ref, `${p.kind} pool`);
    }
  });

  it('global average pool', async () => {
    const ctx = await testContext();
    const shape = [2, 13, 11, 21];
    const input = halfInput(shape);
    const got = await runHalf([input], [2, 1, 1, 21], ([x], out) => prepareGlobalAvgPool(ctx, { input: x, out }));
    expectHalfClose(got, globalAvgPoolCpu(input.data, shape), 'global average pool');
  });

  it('bilinear resize (half-pixel and align-corners)', async () => {
    const ctx = await testContext();
    const shape = [1, 7, 9, 6];
    const input = halfInput(shape);
    for (const mode of ['half_pixel', 'align_corners'] as const) {
      const p = { outH: 17, outW: 13, mode };
      const got = await runHalf([input], [1, 17, 13, 6], ([x], out) => prepareResizeBilinear(ctx, { input: x, out }, p));
      expectHalfClose(got, resizeBilinearCpu(input.data, shape, p), `resize ${mode}`);
    }
  });

  it('add with relu, and the squeeze-and-excite broadcast multiply', async () => {
    const ctx = await testContext();
    const shape = [2, 5, 7, 11];
    const a = halfInput(shape, -4, 4);
    const b = halfInput(shape);
    const se = halfInput([2, 1, 1, 11], 0, 1);
    const add = await runHalf([a, b], shape, ([x, y], out) => prepareElementwise(ctx, { a: x, b: y, out }, { op: 'add', activation: 'relu' }));
    expectHalfClose(add, elementwiseCpu(a.data, shape, b.data, shape, { op: 'add', activation: 'relu' }), 'add relu');
    const mul = await runHalf([a, se], shape, ([x, y], out) => prepareElementwise(ctx, { a: x, b: y, out }, { op: 'mul' }));
    expectHalfClose(mul, elementwiseCpu(a.data, shape, se.data, [2, 1, 1, 11], { op: 'mul' }), 'broadcast mul');
  });

  it('concat of three inputs into channel ranges', async () => {
    const ctx = await testContext();
    const shapes = [[1, 5, 3, 7], [1, 5, 3, 2], [1, 5, 3, 9]];
    const inputs = shapes.map((s) => halfInput(s));
    const got = await runHalf(inputs, [1, 5, 3, 18], (ins, out) => prepareConcat(ctx, { inputs: ins, out }));
    // A copy: exactly the inputs.
    expect(Array.from(got)).to.deep.equal(Array.from(concatCpu(inputs.map((x) => x.data), shapes)));
  });

  it('softmax over the last axis (classes, or attention keys)', async () => {
    const ctx = await testContext();
    for (const shape of [[2, 7, 5, 21], [6, 37, 37]]) {
      const x = halfInput(shape, -6, 6);
      const got = await runHalf([x], shape, ([input], out) => prepareSoftmax(ctx, { input, out }));
      expectHalfClose(got, softmaxCpu(x.data, shape), `softmax ${JSON.stringify(shape)}`);
    }
  });

  it('kernels without an f16 variant refuse f16 tensors instead of misreading them', async () => {
    const ctx = await testContext();
    const x = disposeAfterTest(uploadTensor(ctx, roundToHalf(randomArray(2 * 3 * 4 * 5)), [2, 3, 4, 5], 'x', true));
    const out = disposeAfterTest(createTensor(ctx, [2, 3, 4, 5], 'f16'));
    const u32 = disposeAfterTest(createTensor(ctx, [2, 3, 4], 'u32'));
    await expectRejects(() => runOnce(ctx, 'flip', () => prepareFlipWidth(ctx, { input: x, out })), /flip\.wgsl has no half-precision \(f16\) variant/);
    expectThrows(() => prepareArgmax(ctx, { input: x, out: u32 }), /argmax: input \[2,3,4,5\] must be f32, got f16/);
  });
});
