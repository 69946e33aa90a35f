import { expect } from 'chai';
import { runOnce } from '../../src/gpu/dispatch.js';
import { type GpuTensor, type Shape, createTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { type Conv2dParams, conv2dOutputShape, convGeometry, convParams, samePadding } from '../../src/kernels/conv2d/params.js';
import { conv2dCpu } from '../../src/kernels/conv2d/reference.js';
import { defaultGradientTile, gradientTileName, gradientTileProblem, gradientTiles, parseGradientTile } from '../../src/kernels/conv2d-backward/tiles.js';
import { biasGradKernels, conv2dBiasGrad, prepareConv2dBiasGrad } from '../../src/kernels/conv2d-backward/bias-grad/bias-grad.js';
import { CONV2D_INPUT_GRAD, type Conv2dInputGradOperands, conv2dInputGrad, prepareConv2dInputGrad } from '../../src/kernels/conv2d-backward/input-grad/input-grad.js';
import { CONV2D_WEIGHT_GRAD, type Conv2dWeightGradOptions, type WeightGradLaunch, conv2dWeightGrad, conv2dWeightGradScratchShape, prepareConv2dWeightGrad } from '../../src/kernels/conv2d-backward/weight-grad/weight-grad.js';
import { type ConvChoice, convChoiceName } from '../../src/kernels/conv2d/algorithm.js';
import { convSpace } from '../../src/kernels/conv2d/family.js';
import { conv2dBiasGradCpu, conv2dInputGradCpu, conv2dWeightGradCpu } from '../../src/kernels/conv2d-backward/reference.js';
import { expectGradient, f64 } from '../gradcheck.js';
import { expectClose, expectRejects, expectThrows, numel, poisonedTensor, randomArray, testContext, withKernelOption } from '../helpers.js';
import { ADAPTER_CLASSES, everyCandidate, narrowSubgroups } from './every-candidate.js';
import type { AdapterClass } from '../../src/kernels/candidates.js';

/** A convolution case: NHWC input shape, kernel size, output channels and (partial) params. */
interface Case {
  name: string;
  input: Shape;
  kernel: [number, number];
  cout: number;
  p: Partial<Conv2dParams>;
}

function shapesOf(c: Case): { p: Conv2dParams; weightShape: number[]; outShape: number[] } {
  const p = convParams(c.p);
  const weightShape = [c.kernel[0], c.kernel[1], c.input[3] / p.groups, c.cout];
  return { p, weightShape, outShape: conv2dOutputShape(c.input, weightShape, p) };
}

/** TF 'SAME' params for an input of H x W (stride 2 puts the odd extra pad after). */
function same(H: number, W: number, k: [number, number], s: number, d = 1): Partial<Conv2dParams> {
  const [padTop, padBottom] = samePadding(H, k[0], s, d);
  const [padLeft, padRight] = samePadding(W, k[1], s, d);
  return { strideH: s, strideW: s, dilationH: d, dilationW: d, padTop, padBottom, padLeft, padRight };
}

// Small shapes: central differences run the float64 forward twice per element.
const GRADCHECK_CASES: Case[] = [
  { name: '3x3 stride 2 pad 1', input: [2, 5, 6, 3], kernel: [3, 3], cout: 4, p: { strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } },
  { name: '3x3 dilation 2 pad 2', input: [1, 7, 6, 2], kernel: [3, 3], cout: 3, p: { dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 } },
  { name: '3x3 dilation 3, stride 2 x 1, uneven pads', input: [1, 9, 8, 2], kernel: [3, 3], cout: 3, p: { dilationH: 3, dilationW: 3, strideH: 2, padTop: 3, padBottom: 1, padLeft: 2, padRight: 3 } },
  { name: "TF 'same' 3x3 stride 2 (extra pad after)", input: [1, 6, 7, 3], kernel: [3, 3], cout: 2, p: same(6, 7, [3, 3], 2) },
  { name: "TF 'same' 2x4 stride 1 (asymmetric pads)", input: [1, 5, 7, 2], kernel: [2, 4], cout: 3, p: same(5, 7, [2, 4], 1) },
  { name: 'groups 2', input: [1, 5, 5, 4], kernel: [3, 3], cout: 6, p: { groups: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } },
  { name: 'depthwise 3x3', input: [1, 5, 6, 3], kernel: [3, 3], cout: 3, p: { groups: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } },
  { name: 'depthwise 3x3 stride 2 dilation 2', input: [1, 7, 7, 3], kernel: [3, 3], cout: 3, p: { groups: 3, ...same(7, 7, [3, 3], 2, 2) } },
  { name: 'depthwise with channel multiplier 2', input: [1, 5, 5, 2], kernel: [3, 3], cout: 4, p: { groups: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } },
  { name: '1x1', input: [2, 3, 4, 3], kernel: [1, 1], cout: 5, p: {} },
  { name: '1x1 stride 2 (odd pixels get no gradient)', input: [1, 5, 5, 3], kernel: [1, 1], cout: 2, p: { strideH: 2, strideW: 2 } },
  { name: '3x3 at rate 4 on a 3x3 map (kernel larger than the input)', input: [1, 3, 3, 2], kernel: [3, 3], cout: 2, p: { dilationH: 4, dilationW: 4, padTop: 4, padBottom: 4, padLeft: 4, padRight: 4 } },
];

describe('kernel: conv2d backward (CPU references)', () => {
  it('conv2dCpu keeps Float32Array results for Float32Array inputs and gives Float64Array for Float64Array', () => {
    const p = convParams({});
    const x = randomArray(2 * 3 * 3 * 2);
    const w = randomArray(2 * 2 * 2 * 3);
    const out32 = conv2dCpu(x, [2, 3, 3, 2], w, [2, 2, 2, 3], p);
    const out64 = conv2dCpu(f64(x), [2, 3, 3, 2], w, [2, 2, 2, 3], p, { bias: new Float64Array(3).fill(0.5) });
    expect(out32).to.be.instanceOf(Float32Array);
    expect(out64).to.be.instanceOf(Float64Array);
    out32.forEach((v, i) => expect(Math.abs(v + 0.5 - out64[i])).to.be.lessThan(1e-5));
  });

  for (const c of GRADCHECK_CASES) {
    describe(c.name, () => {
      const { p, weightShape, outShape } = shapesOf(c);
      const x = f64(randomArray(numel(c.input)));
      const w = f64(randomArray(numel(weightShape)));
      const b = f64(randomArray(c.cout));
      const r = f64(randomArray(numel(outShape)));

      it('dX matches central differences', () => {
        const dx = conv2dInputGradCpu(r, outShape, w, weightShape, c.input, p);
        expect(dx).to.be.instanceOf(Float64Array);
        expectGradient((v) => conv2dCpu(v, c.input, w, weightShape, p), x, r, dx, `${c.name}: dX`);
      });
      it('dW matches central differences', () => {
        const dw = conv2dWeightGradCpu(x, c.input, r, outShape, weightShape, p);
        expect(dw).to.be.instanceOf(Float64Array);
        expectGradient((v) => conv2dCpu(x, c.input, v, weightShape, p), w, r, dw, `${c.name}: dW`);
      });
      it('db matches central differences', () => {
        const db = conv2dBiasGradCpu(r, outShape);
        expect(db).to.be.instanceOf(Float64Array);
        expectGradient((v) => conv2dCpu(x, c.input, w, weightShape, p, { bias: v }), b, r, db, `${c.name}: db`);
      });
    });
  }
});

/** Tracks GPU tensors of one test so they are all released in `finally`. */
class Tensors {
  private readonly list: GpuTensor[] = [];
  add<T extends GpuTensor>(t: T): T {
    this.list.push(t);
    return t;
  }
  disposeAll(): void {
    for (const t of this.list) t.dispose();
  }
}

interface Grads {
  dx?: boolean;
  dw?: boolean;
  db?: boolean;
  /** Forces the split-K chunk count of dW. */
  chunks?: number;
  /** Value range of dY (an offset range stresses the sums' accuracy). */
  dyRange?: [number, number];
  /** A candidate for dX instead of the context's choice. */
  dxChoice?: ConvChoice<Conv2dInputGradOperands, null>;
  /** A candidate for dW instead of the context's choice. */
  dwChoice?: ConvChoice<WeightGradLaunch, null>;
}

const choiceName = (choice?: ConvChoice<never, null>) => (choice ? ` (${convChoiceName(choice)})` : '');

/** Runs the requested gradients of one case on the GPU (NaN-poisoned outputs) and checks each against its CPU reference. */
async function checkGpu(c: Case, which: Grads = { dx: true, dw: true, db: true }): Promise<void> {
  const ctx = await testContext();
  const { p, weightShape, outShape } = shapesOf(c);
  const x = randomArray(numel(c.input));
  const w = randomArray(numel(weightShape));
  const [lo, hi] = which.dyRange ?? [-1, 1];
  const dy = randomArray(numel(outShape), lo, hi);
  const tensors = new Tensors();
  try {
    const tX = tensors.add(uploadTensor(ctx, x, c.input, 'input'));
    const tW = tensors.add(uploadTensor(ctx, w, weightShape, 'weight'));
    const tDy = tensors.add(uploadTensor(ctx, dy, outShape, 'dOut'));
    if (which.dx) {
      const dInput = tensors.add(poisonedTensor(ctx, c.input, 'dInput'));
      await runOnce(ctx, 'dX test', () => prepareConv2dInputGrad(ctx, { dOut: tDy, weight: tW, dInput }, p, which.dxChoice));
      expectClose(await readTensor(ctx, dInput), conv2dInputGradCpu(dy, outShape, w, weightShape, c.input, p), `${c.name}: dX${choiceName(which.dxChoice)}`);
    }
    if (which.dw) {
      const opts: Conv2dWeightGradOptions = { ...(which.chunks ? { chunks: which.chunks } : {}), choice: which.dwChoice };
      const dWeight = tensors.add(poisonedTensor(ctx, weightShape, 'dWeight'));
      const scratchShape = conv2dWeightGradScratchShape(c.input, weightShape, p, opts);
      const scratch = scratchShape ? tensors.add(poisonedTensor(ctx, scratchShape, 'scratch')) : undefined;
      if (which.chunks !== undefined) expect(scratchShape?.[0] ?? 1, 'chunks used').to.equal(which.chunks);
      await runOnce(ctx, 'dW test', () => prepareConv2dWeightGrad(ctx, { input: tX, dOut: tDy, dWeight, scratch }, p, opts));
      expectClose(await readTensor(ctx, dWeight), conv2dWeightGradCpu(x, c.input, dy, outShape, weightShape, p), `${c.name}: dW${choiceName(which.dwChoice)}`);
    }
    if (which.db) {
      // Every kernel any adapter class may run for these channels (the vec4 one where Cout is a multiple of 4).
      for (const kernel of new Set(ADAPTER_CLASSES.flatMap((cls) => biasGradKernels(c.cout, cls)))) {
        const dBias = tensors.add(poisonedTensor(ctx, [c.cout], 'dBias'));
        await runOnce(ctx, 'db test', () => prepareConv2dBiasGrad(ctx, { dOut: tDy, dBias }, kernel));
        expectClose(await readTensor(ctx, dBias), conv2dBiasGradCpu(dy, outShape), `${c.name}: db (${kernel})`);
      }
    }
  } finally {
    tensors.disposeAll();
  }
}

const pad1 = { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };

// Sizes off every tile: 8-pixel blocks, 4-channel lanes, 8..32-lane workgroups, 16-channel bias blocks
// (and the pointwise kernels' 2-8 pixel and 1-4 channel-quad tiles).
const GPU_CASES: Case[] = [
  { name: '3x3 pad 1, Cin 5 -> Cout 7', input: [2, 11, 9, 5], kernel: [3, 3], cout: 7, p: pad1 },
  { name: "3x3 stride 2 TF 'same', Cin 19 -> Cout 33", input: [2, 11, 9, 19], kernel: [3, 3], cout: 33, p: same(11, 9, [3, 3], 2) },
  { name: "5x5 stride 2 TF 'same' (asymmetric pads), Cin 7 -> Cout 5", input: [1, 10, 9, 7], kernel: [5, 5], cout: 5, p: same(10, 9, [5, 5], 2) },
  { name: '3x3 dilation 2, Cin 33 -> Cout 5', input: [1, 11, 9, 33], kernel: [3, 3], cout: 5, p: { dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 } },
  { name: '3x3 stride 3 dilation 2, uneven pads', input: [2, 9, 11, 7], kernel: [3, 3], cout: 5, p: { strideH: 3, strideW: 3, dilationH: 2, dilationW: 2, padTop: 2, padBottom: 0, padLeft: 1, padRight: 3 } },
  { name: '2x3 stride 2 x 1, dilation 3 x 1', input: [2, 11, 9, 5], kernel: [2, 3], cout: 7, p: { strideH: 2, dilationH: 3, padTop: 1, padBottom: 2, padLeft: 1, padRight: 1 } },
  { name: '1x1 stride 2', input: [2, 11, 9, 5], kernel: [1, 1], cout: 7, p: { strideH: 2, strideW: 2 } },
  { name: '1x1, Cin 130 -> Cout 131 (two channel blocks each way)', input: [1, 3, 5, 130], kernel: [1, 1], cout: 131, p: {} },
  { name: '3x3 at rate 4 on a 3x3 map (kernel larger than the input)', input: [1, 3, 3, 5], kernel: [3, 3], cout: 7, p: { dilationH: 4, dilationW: 4, padTop: 4, padBottom: 4, padLeft: 4, padRight: 4 } },
  { name: 'groups 2, Cin 6 -> Cout 10', input: [2, 11, 9, 6], kernel: [3, 3], cout: 10, p: { groups: 2, ...pad1 } },
  { name: 'depthwise 3x3, C 19', input: [2, 11, 9, 19], kernel: [3, 3], cout: 19, p: { groups: 19, ...pad1 } },
  { name: 'depthwise 3x3 stride 2 dilation 2, C 7', input: [1, 11, 9, 7], kernel: [3, 3], cout: 7, p: { groups: 7, ...same(11, 9, [3, 3], 2, 2) } },
  { name: 'depthwise with channel multiplier 2, C 5 -> 10', input: [1, 11, 9, 5], kernel: [3, 3], cout: 10, p: { groups: 5, ...pad1 } },
  // Channels in fours, as SwiftShader's written-out pointwise kernels and the vec4 bias sum need: 126 pixels (two dW chunks of 63).
  { name: '1x1, Cin 36 -> Cout 20 (channels in fours)', input: [2, 9, 7, 36], kernel: [1, 1], cout: 20, p: {} },
];
const POINTWISE_FOURS = GPU_CASES[GPU_CASES.length - 1];

describe('kernel: conv2d backward (GPU vs CPU reference)', () => {
  for (const c of GPU_CASES) {
    it(`dX, dW, db: ${c.name}`, () => checkGpu(c));
  }

  // Lavapipe has fixed 8-wide subgroups: the cases above ran the subgroup variants of dX and dW
  // (groups == 1); these run the path for adapters without subgroups.
  it('the test adapter offers subgroups of one fixed size (so both paths are exercised here)', async () => {
    const ctx = await testContext();
    if (ctx.isSoftware) expect(ctx.kernelLimits.subgroupSize, 'lavapipe subgroup size').to.be.greaterThan(0);
    await withKernelOption('subgroups', false, async () => {
      expect(ctx.kernelLimits.subgroupSize).to.equal(0);
    });
  });
  for (const c of GPU_CASES.filter((c) => (c.p.groups ?? 1) === 1)) {
    it(`dX, dW without subgroups: ${c.name}`, () => withKernelOption('subgroups', false, () => checkGpu(c, { dx: true, dw: true })));
  }

  // Tuning may change only speed: every candidate of every adapter class's space (lanes, plain or
  // sharing through subgroups; grouped layers have one) against the CPU reference.
  for (const c of [GPU_CASES[1], GPU_CASES[3], GPU_CASES[7], GPU_CASES[10], POINTWISE_FOURS]) {
    it(`dX and dW, every candidate a tuner may choose: ${c.name}`, async () => {
      const ctx = await testContext();
      const { p, weightShape } = shapesOf(c);
      const g = convGeometry(c.input, weightShape, p);
      const layerOn = (cls: AdapterClass) => ({ g, p, cls, limits: ctx.kernelLimits, dtype: 'f32' as const });
      const names = [
        ...(await everyCandidate((cls) => convSpace(CONV2D_INPUT_GRAD, layerOn(cls)), (dxChoice) => checkGpu(c, { dx: true, dxChoice }))),
        ...(await everyCandidate((cls) => convSpace(CONV2D_WEIGHT_GRAD, layerOn(cls)), (dwChoice) => checkGpu(c, { dw: true, dwChoice }))),
      ].map((x) => x.name);
      if (p.groups > 1) expect(names, 'grouped layers: one kernel each').to.deep.equal(['grouped/l64', 'grouped/l64']);
      // Where subgroups are as narrow as lavapipe's, the subgroup path is among these small layers' candidates.
      else if (narrowSubgroups(ctx)) expect(names.some((n) => n.startsWith('gemm/s')) && names.some((n) => n.startsWith('gemm/p')), 'both paths').to.equal(true);
      // SwiftShader's written-out kernels: three tiles in each family, its default there only.
      expect(names.filter((n) => n.startsWith('pointwise/')).length, 'pointwise kernels').to.equal(c === POINTWISE_FOURS ? 6 : 0);
      if (c === POINTWISE_FOURS) {
        for (const family of [CONV2D_INPUT_GRAD, CONV2D_WEIGHT_GRAD] as const) {
          const first = (cls: AdapterClass) => convSpace<unknown, null>(family, layerOn(cls)).candidates[0].name;
          expect([first('swiftshader'), first('software'), first('gpu')].map((n) => n.split('/')[0]), family.kernel).to.deep.equal(['pointwise', 'gemm', 'gemm']);
        }
      }
    });
  }

  it('names each gradient tile stably and says why one cannot run', async () => {
    const ctx = await testContext();
    const limits = { ...ctx.kernelLimits, subgroupSize: 4 };
    for (const v of gradientTiles('input_grad', 130, 'gpu', ctx.kernelLimits)) expect(parseGradientTile(gradientTileName(v))).to.deep.equal(v);
    expect(gradientTileProblem('weight_grad', { subgroups: true, lanes: 8 }, limits)).to.match(/at least 8 lanes, not 4/);
    expect(gradientTileProblem('input_grad', { subgroups: true, lanes: 8 }, limits)).to.equal(null);
    expect(gradientTileProblem('input_grad', { subgroups: true, lanes: 8 }, { ...limits, subgroupSize: 0 })).to.match(/no subgroups of one fixed size/);
    expect(gradientTileProblem('input_grad', { subgroups: false, lanes: 4096 }, limits)).to.match(/exceed the device's/);
    // Untuned: subgroups on software adapters only, lanes enough for the channels.
    expect(defaultGradientTile('weight_grad', 131, 'gpu', ctx.kernelLimits)).to.deep.equal({ subgroups: false, lanes: 32 });
    expect(defaultGradientTile('input_grad', 5, 'software', { ...ctx.kernelLimits, subgroupSize: 8 })).to.deep.equal({ subgroups: true, lanes: 8 });
  });

  // N=2 with a 33x31 output: each dW element and each db element sums 2046 pixel terms.
  const big: Case = { name: '3x3 pad 1 on 2x33x31, Cin 5 -> Cout 7', input: [2, 33, 31, 5], kernel: [3, 3], cout: 7, p: pad1 };
  it('dW over 2046 pixels, split-K chunks chosen from the shapes', () => checkGpu(big, { dw: true, db: true }));
  it('dW over 2046 pixels in one chunk (no scratch, blocked serial sums)', () => checkGpu(big, { dw: true, chunks: 1 }));
  it('dW over 2046 pixels in 7 chunks', () => checkGpu(big, { dw: true, chunks: 7 }));
  const bigDepthwise: Case = { name: 'depthwise 3x3 stride 1 on 2x33x31, C 9', input: [2, 33, 31, 9], kernel: [3, 3], cout: 9, p: { groups: 9, ...pad1 } };
  it('depthwise dW over 2046 pixels (default chunks and one chunk)', async () => {
    await checkGpu(bigDepthwise, { dw: true });
    await checkGpu(bigDepthwise, { dw: true, chunks: 1 });
  });
  // A large common offset is where a naive f32 running sum loses digits.
  it('db over 2046 pixels with a large common offset in dY', () => checkGpu({ ...big, cout: 19 }, { db: true, dyRange: [99, 101] }));
  it('db of 15 pixels, Cout 20 (the vec4 kernel in one chunk)', () => checkGpu({ name: '1x1 on 1x3x5, Cout 20', input: [1, 3, 5, 36], kernel: [1, 1], cout: 20, p: {} }, { db: true }));
  it('db over 2046 pixels with a large common offset in dY, Cout 20 (the vec4 kernel too, in chunks)', () => checkGpu({ ...big, cout: 20 }, { db: true, dyRange: [99, 101] }));
  it('dW over 2046 pixels with a large common offset in dY, one chunk', () => checkGpu(big, { dw: true, chunks: 1, dyRange: [99, 101] }));

  it('one-shot conv2dInputGrad / conv2dWeightGrad / conv2dBiasGrad', async () => {
    const ctx = await testContext();
    const c = GPU_CASES[1];
    const { p, weightShape, outShape } = shapesOf(c);
    const x = randomArray(numel(c.input));
    const w = randomArray(numel(weightShape));
    const dy = randomArray(numel(outShape));
    const tensors = new Tensors();
    try {
      const tX = tensors.add(uploadTensor(ctx, x, c.input));
      const tW = tensors.add(uploadTensor(ctx, w, weightShape));
      const tDy = tensors.add(uploadTensor(ctx, dy, outShape));
      const dx = tensors.add(await conv2dInputGrad(ctx, tDy, tW, c.input, p));
      expect(dx.shape).to.deep.equal(c.input);
      expectClose(await readTensor(ctx, dx), conv2dInputGradCpu(dy, outShape, w, weightShape, c.input, p), 'conv2dInputGrad()');
      const dw = tensors.add(await conv2dWeightGrad(ctx, tX, tDy, weightShape, p));
      expect(dw.shape).to.deep.equal(weightShape);
      expectClose(await readTensor(ctx, dw), conv2dWeightGradCpu(x, c.input, dy, outShape, weightShape, p), 'conv2dWeightGrad()');
      const db = tensors.add(await conv2dBiasGrad(ctx, tDy));
      expectClose(await readTensor(ctx, db), conv2dBiasGradCpu(dy, outShape), 'conv2dBiasGrad()');
    } finally {
      tensors.disposeAll();
    }
  });
});

describe('kernel: conv2d backward (errors)', () => {
  /** Expects `body`, given fresh tensors of `shapes`, to throw an error matching `pattern`. */
  async function rejectsOn(shapes: Record<string, Shape>, body: (t: Record<string, GpuTensor>) => unknown, pattern: RegExp): Promise<void> {
    const ctx = await testContext();
    const tensors = new Tensors();
    try {
      const t: Record<string, GpuTensor> = {};
      for (const [name, shape] of Object.entries(shapes)) t[name] = tensors.add(createTensor(ctx, shape, 'f32', name));
      await expectRejects(() => body(t), pattern);
    } finally {
      tensors.disposeAll();
    }
  }

  const p = convParams(pad1);

  it('dX rejects a dOut that is not the forward output shape', async () => {
    const ctx = await testContext();
    await rejectsOn(
      { dOut: [1, 5, 6, 4], weight: [3, 3, 3, 4], dInput: [1, 5, 5, 3] },
      (t) => prepareConv2dInputGrad(ctx, { dOut: t.dOut, weight: t.weight, dInput: t.dInput }, p),
      /conv2dInputGrad: dOut .*\[1,5,6,4\], expected \[1,5,5,4\]/,
    );
  });

  it('dX rejects a weight whose input channels do not match input channels / groups', async () => {
    const ctx = await testContext();
    await rejectsOn(
      { dOut: [1, 5, 5, 4], weight: [3, 3, 3, 4], dInput: [1, 5, 5, 6] },
      (t) => prepareConv2dInputGrad(ctx, { dOut: t.dOut, weight: t.weight, dInput: t.dInput }, convParams({ ...pad1, groups: 1 })),
      /conv2dInputGrad: .*weight expects 3 input channels per group/,
    );
  });

  it('dW rejects groups that do not divide the channels', async () => {
    const ctx = await testContext();
    await rejectsOn(
      { input: [1, 5, 5, 6], dOut: [1, 5, 5, 4], dWeight: [3, 3, 3, 4] },
      (t) => prepareConv2dWeightGrad(ctx, { input: t.input, dOut: t.dOut, dWeight: t.dWeight }, convParams({ ...pad1, groups: 4 })),
      /conv2dWeightGrad: .*not divisible by groups 4/,
    );
  });

  it('dW rejects a mismatched dOut and a missing scratch', async () => {
    const ctx = await testContext();
    await rejectsOn(
      { input: [1, 5, 5, 3], dOut: [1, 4, 5, 4], dWeight: [3, 3, 3, 4] },
      (t) => prepareConv2dWeightGrad(ctx, { input: t.input, dOut: t.dOut, dWeight: t.dWeight }, p),
      /conv2dWeightGrad: dOut .*expected \[1,5,5,4\]/,
    );
    await rejectsOn(
      { input: [1, 5, 5, 3], dOut: [1, 5, 5, 4], dWeight: [3, 3, 3, 4] },
      (t) => prepareConv2dWeightGrad(ctx, { input: t.input, dOut: t.dOut, dWeight: t.dWeight }, p, { chunks: 2 }),
      /needs a scratch tensor of shape \[2,3,3,3,4\]/,
    );
  });

  it('db rejects a dBias that is not [Cout]', async () => {
    const ctx = await testContext();
    await rejectsOn({ dOut: [1, 5, 5, 4], dBias: [5] }, (t) => prepareConv2dBiasGrad(ctx, { dOut: t.dOut, dBias: t.dBias }), /conv2dBiasGrad: dBias has shape \[5\], expected \[4\]/);
  });

  it('rejects a fused activation in the params', () => {
    expectThrows(
      () => conv2dInputGradCpu(new Float64Array(4), [1, 2, 2, 1], new Float64Array(1), [1, 1, 1, 1], [1, 2, 2, 1], convParams({ activation: 'relu' })),
      /conv2dInputGrad: params.activation is 'relu'/,
    );
  });
});
