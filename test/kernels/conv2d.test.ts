import { expect } from 'chai';
import { disposeDispatch, runOnce } from '../../src/gpu/dispatch.js';
import { GpuTensor, type Shape, createTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { ACTIVATIONS, type Activation } from '../../src/kernels/activation/activation.js';
import { type Conv2dParams, conv2dFlops, conv2dOutputShape, type ConvGeometry, convGeometry, convParams, samePadding, symmetricPadding } from '../../src/kernels/conv2d/params.js';
import { CONV2D, conv2d, conv2dChoice, conv2dSpace, prepareConv2d } from '../../src/kernels/conv2d/conv2d.js';
import { type ConvChoice, type ConvLayer, type EpilogueSlots, convChoice, convChoiceName } from '../../src/kernels/conv2d/algorithm.js';
import { gemmAlgorithm } from '../../src/kernels/conv2d/gemm/gemm.js';
import { conv2dCpu } from '../../src/kernels/conv2d/reference.js';
import type { AdapterClass } from '../../src/kernels/candidates.js';
import { EMULATED_MATRIX_CONFIGS, type KernelLimits, matrixConfigName } from '../../src/gpu/kernel-limits.js';
import { gemmCandidates } from '../../src/kernels/conv2d/gemm/candidates.js';
import { defaultGemmVariant } from '../../src/kernels/conv2d/gemm/defaults.js';
import { matrixCandidates } from '../../src/kernels/conv2d/gemm/matrix.js';
import { gemmVariantName, parseGemmVariant } from '../../src/kernels/conv2d/gemm/names.js';
import type { GemmVariant } from '../../src/kernels/conv2d/gemm/types.js';
import { gemmVariantProblem } from '../../src/kernels/conv2d/gemm/validity.js';
import type { DepthwiseVariant } from '../../src/kernels/conv2d/depthwise/depthwise.js';
import { winogradAlgorithm } from '../../src/kernels/conv2d/winograd/winograd.js';
import { type WinogradVariant, parseWinogradVariant, runsWinograd, winogradVariantName } from '../../src/kernels/conv2d/winograd/variants.js';
import { create } from 'webgpu';
import { GpuContext } from '../../src/gpu/context.js';
import { PipelineCache, kernelKey } from '../../src/gpu/pipeline-cache.js';
import { checkMatrixConfigs } from '../../src/kernels/conv2d/gemm/matrix-check.js';
import { FP16_TOLERANCE, FP32_TOLERANCE, expectClose, numel, poisonedTensor, randomArray, testContext, withKernelOption, expectThrows, disposeAfterTest } from '../helpers.js';
import { ADAPTER_CLASSES, everyCandidate, narrowSubgroups } from './every-candidate.js';

/** Limits as a GPU reports them (specs do not depend on them but for the candidates offered). */
const GPU_LIMITS: KernelLimits = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 32768, maxComputeWorkgroupSizeX: 1024, maxComputeWorkgroupSizeY: 1024 };

/** A layer as an adapter of class `cls` sees it. */
function layerOf(input: Shape, weight: Shape, p: Conv2dParams, cls: AdapterClass = 'software'): ConvLayer {
  return { g: convGeometry(input, weight, p), p, cls, limits: GPU_LIMITS, dtype: 'f32' };
}

/** The first kernel a layer compiles with `choice` (default: its adapter class's default candidate). */
function specOf(layer: ConvLayer, has: EpilogueSlots, choice: ConvChoice = conv2dSpace(layer).candidates[0].variant) {
  return choice.algorithm.specs(layer, has, choice.variant, choice.accumulate)[0];
}

interface Case {
  input: Shape; // NHWC
  kernel: [number, number];
  cout: number;
  p: Partial<Conv2dParams>;
  bias?: boolean;
  scale?: boolean;
  residual?: boolean;
}

interface Result {
  gpu: Float32Array;
  cpu: Float32Array;
  input: Float32Array;
  weight: Float32Array;
  outShape: number[];
}

/** Runs one case on the GPU (NaN-poisoned output) and on the CPU reference and compares. */
async function check(c: Case, data?: { input: Float32Array; weight: Float32Array }, variant?: ConvChoice, name?: string): Promise<Result> {
  const ctx = await testContext();
  const p = convParams(c.p);
  const cinPerGroup = c.input[3] / p.groups;
  const weightShape = [c.kernel[0], c.kernel[1], cinPerGroup, c.cout];
  const outShape = conv2dOutputShape(c.input, weightShape, p);
  const input = data?.input ?? randomArray(numel(c.input));
  const weight = data?.weight ?? randomArray(numel(weightShape));
  const bias = c.bias ? randomArray(c.cout, -2, 2) : undefined;
  const scale = c.scale ? randomArray(c.cout, 0.2, 2) : undefined;
  const residual = c.residual ? randomArray(numel(outShape), -3, 3) : undefined;
  const tensors: GpuTensor[] = [];
  const up = (a: Float32Array, s: Shape, label: string) => {
    const t = uploadTensor(ctx, a, s, label);
    tensors.push(t);
    return t;
  };
  try {
    const tIn = up(input, c.input, 'input');
    const tW = up(weight, weightShape, 'weight');
    const out = poisonedTensor(ctx, outShape);
    tensors.push(out);
    const operands = {
      input: tIn,
      weight: tW,
      bias: bias && up(bias, [c.cout], 'bias'),
      scale: scale && up(scale, [c.cout], 'scale'),
      residual: residual && up(residual, outShape, 'residual'),
      out,
    };
    await runOnce(ctx, 'conv2d test', () => prepareConv2d(ctx, operands, p, variant));
    const gpu = await readTensor(ctx, out);
    const cpu = conv2dCpu(input, c.input, weight, weightShape, p, { bias, scale, residual });
    expectClose(gpu, cpu, `conv2d ${name ? name + ' ' : ''}${JSON.stringify(c)}`);
    return { gpu, cpu, input, weight, outShape };
  } finally {
    for (const t of tensors) t.dispose();
  }
}

/** Taps of a 3x3 weight [3,3,Cin,Cout] at the centre only, as a 1x1 weight [1,1,Cin,Cout]. */
function centreTap(weight: Float32Array, cin: number, cout: number): Float32Array {
  const offset = (1 * 3 + 1) * cin * cout;
  return weight.slice(offset, offset + cin * cout);
}

describe('kernel: conv2d', () => {
  describe('CPU reference and helpers', () => {
    it('matches a hand-computed 3x3 rate-2 convolution', () => {
      // 1 channel, 3x3 input, 3x3 kernel at rate 2, pad 2. At the centre only the centre tap
      // lands inside the image; at a corner four taps do, e.g. out[0][0] =
      // x00*w11 + x02*w12 + x20*w21 + x22*w22 = 1*5 + 3*(-6) + 7*(-8) + 9*9 = 12.
      const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const w = Float32Array.from([1, -2, 3, -4, 5, -6, 7, -8, 9]);
      const p = convParams({ dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 });
      const out = conv2dCpu(x, [1, 3, 3, 1], w, [3, 3, 1, 1], p);
      expect(Array.from(out)).to.deep.equal([12, -54, -12, -16, 25, 14, -12, 36, 12]);
    });

    it('applies the epilogue in the order scale, bias, residual, activation', () => {
      // 1x1 conv of one pixel: acc = 2 * 3 = 6; relu(6 * -1 + 0.5 + 2) = relu(-3.5) = 0;
      // relu(6 * 0.5 + 0.5 + 2) = 5.5.
      const p = convParams({ activation: 'relu' });
      const run = (s: number) =>
        conv2dCpu(Float32Array.of(2), [1, 1, 1, 1], Float32Array.of(3), [1, 1, 1, 1], p, {
          scale: Float32Array.of(s),
          bias: Float32Array.of(0.5),
          residual: Float32Array.of(2),
        })[0];
      expect(run(-1)).to.equal(0);
      expect(run(0.5)).to.equal(5.5);
    });

    it('computes padding, output shapes and FLOPs', () => {
      expect(samePadding(14, 3, 2, 1)).to.deep.equal([0, 1]);
      expect(samePadding(13, 3, 2, 1)).to.deep.equal([1, 1]);
      expect(samePadding(65, 3, 1, 12)).to.deep.equal([12, 12]);
      expect(samePadding(513, 7, 2, 1)).to.deep.equal([3, 3]);
      expect(samePadding(5, 1, 1, 1)).to.deep.equal([0, 0]);
      expect(symmetricPadding(3, 6)).to.equal(6);
      expect(symmetricPadding(7, 1)).to.equal(3);
      expectThrows(() => symmetricPadding(2, 1), /symmetricPadding: kernel 2/);
      const p = convParams({ strideH: 2, strideW: 2, padTop: 3, padBottom: 3, padLeft: 3, padRight: 3 });
      expect(conv2dOutputShape([1, 513, 513, 3], [7, 7, 3, 64], p)).to.deep.equal([1, 257, 257, 64]);
      expect(conv2dFlops([1, 513, 513, 3], [7, 7, 3, 64], p)).to.equal(2 * 257 * 257 * 64 * 7 * 7 * 3);
      const dw = convParams({ groups: 8, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
      expect(conv2dFlops([2, 5, 5, 8], [3, 3, 1, 8], dw)).to.equal(2 * 2 * 25 * 8 * 9);
      expect(convParams({})).to.deep.include({ strideH: 1, padTop: 0, dilationW: 1, groups: 1, activation: 'none' });
    });

    it('keeps sizes out of the pipeline key', () => {
      // GEMM: spatial size, Cin, kernel size, rate and padding never specialise the pipeline
      // (on GPUs Cout picks the lane count, 32 for both of these).
      const has = { bias: true, scale: false, residual: false };
      const gpuTile = { kind: 'register' as const, R: 8, CN: 4, lanes: 32, splits: 1 };
      const gemmSpec = (input: Shape, weight: Shape, p: Conv2dParams) => specOf(layerOf(input, weight, p, 'gpu'), has, convChoice(gemmAlgorithm, gpuTile));
      const a = gemmSpec([1, 13, 11, 5], [3, 3, 5, 512], convParams({ dilationH: 2, dilationW: 2, padTop: 2 }));
      const b = gemmSpec([2, 65, 65, 256], [1, 1, 256, 256], convParams({}));
      expect(a).to.deep.equal(b);
      // Direct kernel: sizes, channels and rates share a pipeline for the same kernel shape class.
      const dw = specOf(layerOf([1, 9, 9, 96], [3, 3, 1, 96], convParams({ groups: 96, padTop: 1 })), has);
      const dw2 = specOf(layerOf([2, 65, 33, 960], [3, 3, 1, 960], convParams({ groups: 960, dilationH: 4, padTop: 4 })), has);
      expect(dw).to.deep.equal(dw2);
      expect(dw.shader).to.not.equal(a.shader);
      // Software adapters: one 8-lane SIMD batch, whatever Cout. GPUs: the tiled kernel's 64 x 64
      // block, staged a vec4 at a time where the channels allow.
      const variant = (cin: number, cout: number, software: boolean) =>
        defaultGemmVariant(convGeometry([1, 9, 9, cin], [1, 1, cin, cout], convParams({})), software ? 'software' : 'gpu', GPU_LIMITS);
      const lanes = (cin: number, cout: number) => {
        const v = variant(cin, cout, true);
        return v.kind === 'register' || v.kind === 'subgroup' ? v.lanes : 0;
      };
      expect([lanes(960, 160), lanes(64, 384), lanes(64, 21)]).to.deep.equal([8, 8, 8]);
      const tile = (cin: number, cout: number) => gemmVariantName(variant(cin, cout, false));
      // Depthwise layers: the depthwise tiles on software adapters, the direct kernel on GPUs.
      const depthwiseDefault = (cls: AdapterClass) => conv2dSpace(layerOf([1, 9, 9, 96], [3, 3, 1, 96], convParams({ groups: 96, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }), cls)).candidates[0].name;
      expect([depthwiseDefault('software'), depthwiseDefault('gpu')]).to.deep.equal(['depthwise/l8t8', 'direct/l64']);
      expect([tile(960, 160), tile(160, 960), tile(64, 21)]).to.deep.equal(['w64x64b16t4x4v4k16', 'w64x64b16t4x4v4k5', 'w64x64b16t4x4k2']);
    });
  });

  describe('atrous rates (3x3, same padding = rate)', () => {
    const rates = [1, 2, 4, 6, 12, 18, 24, 36];
    rates.forEach((r, i) => {
      const cin = 5 + 2 * i; // 5..19
      const cout = [7, 13, 21, 10, 70, 3, 9, 67][i];
      it(`rate ${r}: [1,13,11,${cin}] -> ${cout}`, () =>
        check({
          input: [1, 13, 11, cin],
          kernel: [3, 3],
          cout,
          p: { dilationH: r, dilationW: r, padTop: r, padBottom: r, padLeft: r, padRight: r },
          bias: true,
        }));
    });

    for (const r of [24, 36]) {
      it(`rate ${r} on a 9x7 map degenerates to the 1x1 conv with the centre tap`, async () => {
        const ctx = await testContext();
        const cin = 6;
        const cout = 11;
        const { gpu, cpu, input, weight } = await check({
          input: [1, 9, 7, cin],
          kernel: [3, 3],
          cout,
          p: { dilationH: r, dilationW: r, padTop: r, padBottom: r, padLeft: r, padRight: r },
        });
        const centre = centreTap(weight, cin, cout);
        expectClose(cpu, conv2dCpu(input, [1, 9, 7, cin], centre, [1, 1, cin, cout], convParams({})), 'CPU: dilated vs centre tap');
        const tIn = uploadTensor(ctx, input, [1, 9, 7, cin]);
        const tW = uploadTensor(ctx, centre, [1, 1, cin, cout]);
        let oneByOne: GpuTensor | undefined;
        try {
          oneByOne = await conv2d(ctx, tIn, tW, {}, convParams({}));
          expectClose(gpu, await readTensor(ctx, oneByOne), 'GPU: dilated vs centre-tap 1x1');
        } finally {
          tIn.dispose();
          tW.dispose();
          oneByOne?.dispose();
        }
      });
    }
  });

  describe('depthwise and grouped', () => {
    for (const r of [1, 2, 4]) {
      it(`dilated depthwise 3x3 rate ${r}: [1,13,11,12]`, () =>
        check({
          input: [1, 13, 11, 12],
          kernel: [3, 3],
          cout: 12,
          p: { groups: 12, dilationH: r, dilationW: r, padTop: r, padBottom: r, padLeft: r, padRight: r },
          bias: true,
        }));
    }
    it('depthwise with channel multiplier 2 (groups = Cin, Cout = 2 Cin)', () =>
      check({ input: [1, 9, 10, 7], kernel: [3, 3], cout: 14, p: { groups: 7, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } }));
    it('depthwise stride 2 with dilation 2', () =>
      check({
        input: [1, 13, 11, 9],
        kernel: [3, 3],
        cout: 9,
        p: { groups: 9, strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 },
      }));
    it('depthwise 5x5 across several pixel blocks and lane blocks: [1,6,21,70]', () =>
      check({ input: [1, 6, 21, 70], kernel: [5, 5], cout: 70, p: { groups: 70, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }, bias: true }));
    it('depthwise 1x7 and 7x1 with asymmetric padding', async () => {
      await check({ input: [1, 9, 19, 12], kernel: [1, 7], cout: 12, p: { groups: 12, padLeft: 4, padRight: 2 } });
      await check({ input: [1, 19, 9, 12], kernel: [7, 1], cout: 12, p: { groups: 12, padTop: 2, padBottom: 4 } });
    });
    it('depthwise stride 2 on a wide map: [1,9,37,16]', () =>
      check({ input: [1, 9, 37, 16], kernel: [3, 3], cout: 16, p: { groups: 16, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } }));
    it('depthwise rate 36 on a 9x7 map (all taps but the centre in padding)', () =>
      check({ input: [1, 9, 7, 10], kernel: [3, 3], cout: 10, p: { groups: 10, dilationH: 36, dilationW: 36, padTop: 36, padBottom: 36, padLeft: 36, padRight: 36 } }));
    it('general groups = 2', () =>
      check({ input: [1, 9, 11, 10], kernel: [3, 3], cout: 14, p: { groups: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }, bias: true }));
    it('groups = 3 with rate 2 and asymmetric padding', () =>
      check({ input: [1, 8, 7, 15], kernel: [3, 3], cout: 6, p: { groups: 3, dilationH: 2, dilationW: 2, padTop: 1, padBottom: 2, padLeft: 2, padRight: 0 } }));
  });

  describe('depthwise, vec4 tiles (C % 4 == 0) and the scalar fallback', () => {
    // depthwise4 computes a 4x4 tile of output pixels x 4 channels per lane, 8 lanes per
    // workgroup; sizes below are chosen to leave partial tiles, partial phases and partial
    // channel blocks. Fused operands vary mostly in the epilogue cases at the end: every new
    // combination is another pipeline to compile (about a second each on lavapipe).
    const pad = (n: number) => ({ padTop: n, padBottom: n, padLeft: n, padRight: n });
    /** A depthwise case (Cout = Cin = groups) whose default must be the named algorithm. */
    const dw = (input: Shape, kernel: [number, number], p: Partial<Conv2dParams>, path: 'depthwise' | 'direct', extras: Partial<Case> = {}) => {
      const c: Case = { input, kernel, cout: input[3], p: { ...p, groups: input[3] }, ...extras };
      const choice = conv2dSpace(layerOf(c.input, [kernel[0], kernel[1], 1, c.cout], convParams(c.p))).candidates[0].variant;
      expect(choice.algorithm.id, `default algorithm for ${JSON.stringify(c)}`).to.equal(path);
      return check(c);
    };

    it('picks the vec4 kernel only for C % 4 == 0 and window steps <= 2, without sizes in the key', () => {
      const has = { bias: true, scale: false, residual: true };
      const spec = (input: Shape, k: number, p: Partial<Conv2dParams>) =>
        specOf(layerOf(input, [k, k, 1, input[3]], convParams({ ...p, groups: input[3] })), has);
      expect(spec([1, 9, 9, 8], 3, {}).shader).to.equal('conv2d_depthwise.wgsl');
      expect(spec([1, 9, 9, 6], 3, {}).shader).to.equal('conv2d_direct.wgsl');
      // stride 3: window step 3 has no vec4 variant; stride 3 at rate 3 has step 1.
      expect(spec([1, 9, 9, 8], 3, { strideH: 3, strideW: 3 }).shader).to.equal('conv2d_direct.wgsl');
      expect(spec([1, 9, 9, 8], 3, { strideH: 3, strideW: 3, dilationH: 3, dilationW: 3 }).shader).to.equal('conv2d_depthwise.wgsl');
      // A channel multiplier (Cout = 2 Cin) is not the depthwise tiles' job.
      expect(specOf(layerOf([1, 9, 9, 8], [3, 3, 1, 16], convParams({ groups: 8 })), has).shader).to.equal('conv2d_direct.wgsl');
      // Sizes, channel counts, pads and rates at the same window step share one pipeline.
      const a = spec([1, 9, 9, 96], 3, { dilationH: 2, dilationW: 2, padTop: 2 });
      const b = spec([2, 65, 33, 960], 3, { dilationH: 6, dilationW: 1, padLeft: 1 });
      expect(a).to.deep.equal(b);
      // Stride 2 specialises the window step (1 at even rates, 2 at odd ones).
      expect(spec([1, 9, 9, 8], 3, { strideH: 2, strideW: 2 }).constants).to.include({ SSH: 2, SSW: 2 });
      expect(spec([1, 9, 9, 8], 3, { strideH: 2, strideW: 2, dilationH: 2, dilationW: 4 }).constants).to.include({ SSH: 1, SSW: 1 });
      expect(spec([1, 9, 9, 8], 5, {}).constants).to.include({ KSIZE: 5 });
      expect(spec([1, 9, 9, 8], 7, {}).constants).to.include({ KSIZE: 0 });
    });

    it('3x3 stride 1 with partial tiles and a partial channel block: [1,13,11,36]', () =>
      dw([1, 13, 11, 36], [3, 3], pad(1), 'depthwise', { bias: true }));
    it('3x3 on 4 channels (one lane of eight) and on a 1x1 map', async () => {
      await dw([1, 7, 6, 4], [3, 3], pad(1), 'depthwise');
      await dw([1, 1, 1, 8], [3, 3], pad(1), 'depthwise', { bias: true });
    });
    it('3x3 stride 2, TF SAME padding on even and odd sizes: [1,14,17,8]', () => {
      const [padTop, padBottom] = samePadding(14, 3, 2, 1);
      const [padLeft, padRight] = samePadding(17, 3, 2, 1);
      return dw([1, 14, 17, 8], [3, 3], { strideH: 2, strideW: 2, padTop, padBottom, padLeft, padRight }, 'depthwise');
    });
    for (const r of [2, 3, 4, 6]) {
      it(`3x3 rate ${r} (outputs taken ${r} apart): [1,19,23,16]`, () =>
        dw([1, 19, 23, 16], [3, 3], { dilationH: r, dilationW: r, ...pad(r) }, 'depthwise', { bias: true }));
    }
    it('rate 12 on a 9x7 map (more phases than outputs)', () =>
      dw([1, 9, 7, 8], [3, 3], { dilationH: 12, dilationW: 12, ...pad(12) }, 'depthwise'));
    it('stride 2 with rate 2 (window step 1) and rate 3 (step 2, outputs 3 apart)', async () => {
      await dw([1, 13, 11, 12], [3, 3], { strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, ...pad(2) }, 'depthwise');
      await dw([1, 17, 19, 8], [3, 3], { strideH: 2, strideW: 2, dilationH: 3, dilationW: 3, ...pad(3) }, 'depthwise');
    });
    it('stride 2 with rate 2 and rate 3 on the scalar path (C % 4 != 0)', async () => {
      await dw([1, 13, 11, 10], [3, 3], { strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, ...pad(2) }, 'direct');
      await dw([1, 17, 19, 7], [3, 3], { strideH: 2, strideW: 2, dilationH: 3, dilationW: 3, ...pad(3) }, 'direct', { bias: true });
    });
    it('stride 3 at rate 3 (window step 1) and stride 3 at rate 1 (scalar path)', async () => {
      await dw([1, 16, 14, 8], [3, 3], { strideH: 3, strideW: 3, dilationH: 3, dilationW: 3, ...pad(3) }, 'depthwise');
      await dw([1, 16, 14, 8], [3, 3], { strideH: 3, strideW: 3, ...pad(1) }, 'direct');
    });
    it('different strides and rates per axis', () =>
      dw([1, 15, 18, 12], [3, 3], { strideH: 1, strideW: 2, dilationH: 2, dilationW: 1, padTop: 2, padBottom: 1, padLeft: 0, padRight: 1 }, 'depthwise'));
    it('5x5 stride 1, stride 2 and rate 2: [1,11,13,12]', async () => {
      await dw([1, 11, 13, 12], [5, 5], pad(2), 'depthwise', { bias: true });
      await dw([1, 11, 13, 12], [5, 5], { strideH: 2, strideW: 2, ...pad(2) }, 'depthwise', { bias: true });
      await dw([1, 11, 13, 12], [5, 5], { dilationH: 2, dilationW: 2, ...pad(4) }, 'depthwise', { bias: true });
    });
    it('5x5 on the scalar path: [1,11,13,10]', () => dw([1, 11, 13, 10], [5, 5], pad(2), 'direct', { bias: true }));
    it('kernel sizes read at run time: 7x7, 1x7, 7x1, 3x5, 1x1', async () => {
      await dw([1, 12, 13, 8], [7, 7], pad(3), 'depthwise');
      await dw([1, 9, 19, 8], [1, 7], { padLeft: 4, padRight: 2 }, 'depthwise');
      await dw([1, 19, 9, 8], [7, 1], { padTop: 2, padBottom: 4, strideH: 2 }, 'depthwise');
      await dw([1, 10, 11, 8], [3, 5], { padTop: 1, padBottom: 1, padLeft: 2, padRight: 2, dilationW: 2 }, 'depthwise');
      await dw([1, 6, 7, 8], [1, 1], {}, 'depthwise');
    });
    it('batch N = 3: [3,9,10,8]', () => dw([3, 9, 10, 8], [3, 3], pad(1), 'depthwise', { bias: true }));
    it('workgroups walking 8 and 4 tiles, the last group partial: [1,1030,1029,4], [1,130,67,36]', async () => {
      // 258 x 258 tiles, 8 per group; 33 x 17 tiles x 2 channel blocks, 4 per group (8 would
      // leave fewer than 256 groups).
      await dw([1, 1030, 1029, 4], [3, 3], pad(1), 'depthwise');
      await dw([1, 130, 67, 36], [3, 3], pad(1), 'depthwise', { bias: true });
    });

    // Every combination of the fused operands, every activation, both window steps; each
    // case is its own pipeline, so they are spread over 8 cases rather than multiplied out.
    for (let mask = 0; mask < 8; mask++) {
      const bias = (mask & 1) !== 0;
      const scale = (mask & 2) !== 0;
      const residual = (mask & 4) !== 0;
      const activation = ACTIVATIONS[(mask + 2) % ACTIVATIONS.length] as Activation;
      const stride = 1 + (mask % 2);
      const name = [bias && 'bias', scale && 'scale', residual && 'residual'].filter(Boolean).join('+') || 'none';
      it(`vec4 epilogue: ${name}, ${activation}, stride ${stride}`, () =>
        dw([1, 6, 9, 8], [3, 3], { ...pad(1), strideH: stride, strideW: stride, activation }, 'depthwise', { bias, scale, residual }));
    }
  });

  describe('geometry', () => {
    it('stride 2 with dilation 2 (GEMM)', () =>
      check({
        input: [1, 13, 11, 7],
        kernel: [3, 3],
        cout: 10,
        p: { strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 },
      }));
    it('1x1 on an odd map', () => check({ input: [1, 7, 5, 3], kernel: [1, 1], cout: 5, p: {} }));
    it('7x7 stride 2 pad 3 (the stem): [1,23,21,3] -> 10', () =>
      check({ input: [1, 23, 21, 3], kernel: [7, 7], cout: 10, p: { strideH: 2, strideW: 2, padTop: 3, padBottom: 3, padLeft: 3, padRight: 3 } }));
    it('asymmetric TF SAME padding, stride 2 on an even size', async () => {
      const [padTop, padBottom] = samePadding(14, 3, 2, 1);
      const [padLeft, padRight] = samePadding(12, 3, 2, 1);
      expect([padTop, padBottom, padLeft, padRight]).to.deep.equal([0, 1, 0, 1]);
      const { outShape } = await check({ input: [1, 14, 12, 6], kernel: [3, 3], cout: 9, p: { strideH: 2, strideW: 2, padTop, padBottom, padLeft, padRight } });
      expect(outShape).to.deep.equal([1, 7, 6, 9]);
    });
    it('non-square kernel, different strides and rates per axis', () =>
      check({ input: [1, 12, 15, 4], kernel: [3, 5], cout: 6, p: { strideH: 1, strideW: 2, dilationH: 3, dilationW: 1, padTop: 3, padBottom: 3, padLeft: 2, padRight: 1 } }));
    it('batch N = 2 (GEMM)', () =>
      check({ input: [2, 9, 7, 5], kernel: [3, 3], cout: 11, p: { dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }, bias: true, residual: true }));
    it('batch N = 2 (depthwise)', () =>
      check({ input: [2, 9, 7, 6], kernel: [3, 3], cout: 6, p: { groups: 6, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }, scale: true }));
    it('crosses several tiles in M, K and Cout: 1x1 70 -> 130 on 17x19', () =>
      check({ input: [1, 17, 19, 70], kernel: [1, 1], cout: 130, p: {}, bias: true }));
    it('crosses several K tiles with a 3x3 kernel: 3x3 37 -> 67 on 11x13, rate 3', () =>
      check({ input: [1, 11, 13, 37], kernel: [3, 3], cout: 67, p: { dilationH: 3, dilationW: 3, padTop: 3, padBottom: 3, padLeft: 3, padRight: 3 } }));
  });

  describe('epilogue', () => {
    const input: Shape = [1, 7, 9, 6];
    const pad = { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };
    for (let mask = 0; mask < 8; mask++) {
      const bias = (mask & 1) !== 0;
      const scale = (mask & 2) !== 0;
      const residual = (mask & 4) !== 0;
      const name = [bias && 'bias', scale && 'scale', residual && 'residual'].filter(Boolean).join('+') || 'none';
      it(`GEMM, ${name}, relu`, () => check({ input, kernel: [3, 3], cout: 10, p: { ...pad, activation: 'relu' }, bias, scale, residual }));
    }
    for (const activation of ACTIVATIONS) {
      it(`GEMM, bias+scale+residual, ${activation}`, () =>
        check({ input, kernel: [3, 3], cout: 10, p: { ...pad, activation: activation as Activation }, bias: true, scale: true, residual: true }));
      it(`depthwise, bias+scale+residual, ${activation}`, () =>
        check({ input, kernel: [3, 3], cout: 6, p: { ...pad, groups: 6, activation: activation as Activation }, bias: true, scale: true, residual: true }));
    }
    it('depthwise, bias only', () => check({ input, kernel: [3, 3], cout: 6, p: { ...pad, groups: 6 }, bias: true }));
  });

  describe('errors', () => {
    const p = convParams({ padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });

    it('rejects mismatched channels, naming conv2d and the shapes', () => {
      expectThrows(() => conv2dOutputShape([1, 5, 5, 5], [3, 3, 6, 8], p), /conv2d: weight expects 6 input channels.*\[1,5,5,5\].*\[3,3,6,8\]/);
    });
    it('rejects groups that do not divide the channels', () => {
      expectThrows(() => conv2dOutputShape([1, 5, 5, 6], [3, 3, 1, 6], convParams({ groups: 4 })), /conv2d: input channels 6 are not divisible by groups 4/);
      expectThrows(() => conv2dOutputShape([1, 5, 5, 6], [3, 3, 3, 5], convParams({ groups: 2 })), /conv2d: output channels 5 are not divisible by groups 2/);
    });
    it('rejects bad ranks, zero-size tensors and empty outputs', async () => {
      expectThrows(() => conv2dOutputShape([5, 5, 3], [3, 3, 3, 8], p), /conv2d: input must be NHWC.*\[5,5,3\]/);
      expectThrows(() => conv2dOutputShape([1, 5, 5, 3], [3, 3, 3], p), /conv2d: weight must be HWIO.*\[3,3,3\]/);
      expectThrows(() => conv2dOutputShape([1, 0, 5, 3], [3, 3, 3, 8], p), /conv2d: input has a zero or invalid dimension.*\[1,0,5,3\]/);
      const ctx = await testContext();
      expectThrows(() => createTensor(ctx, [1, 0, 5, 3], 'f32', 'input'), /zero-size tensor \[1,0,5,3\]/);
      const tooDilated = convParams({ dilationH: 4, dilationW: 4 });
      expectThrows(() => conv2dOutputShape([1, 5, 5, 3], [3, 3, 3, 8], tooDilated), /conv2d: output size -3x-3 is empty/);
    });
    it('rejects non-positive strides and dilations and negative pads', () => {
      expectThrows(() => conv2dOutputShape([1, 5, 5, 3], [3, 3, 3, 8], convParams({ strideH: 0 })), /conv2d: strideH must be a positive integer, got 0/);
      expectThrows(() => conv2dOutputShape([1, 5, 5, 3], [3, 3, 3, 8], convParams({ dilationW: -1 })), /conv2d: dilationW must be a positive integer, got -1/);
      expectThrows(() => conv2dOutputShape([1, 5, 5, 3], [3, 3, 3, 8], convParams({ padLeft: -1 })), /conv2d: padLeft must be a non-negative integer, got -1/);
    });
    it('rejects wrong output, bias, scale and residual shapes', async () => {
      const ctx = await testContext();
      const input = disposeAfterTest(uploadTensor(ctx, randomArray(75), [1, 5, 5, 3]));
      const weight = disposeAfterTest(uploadTensor(ctx, randomArray(3 * 3 * 3 * 8), [3, 3, 3, 8]));
      const good = disposeAfterTest(createTensor(ctx, [1, 5, 5, 8]));
      const bad = disposeAfterTest(createTensor(ctx, [1, 5, 5, 7]));
      const bias7 = disposeAfterTest(uploadTensor(ctx, randomArray(7), [7]));
      expectThrows(() => prepareConv2d(ctx, { input, weight, out: bad }, p), /conv2d: out .*has shape \[1,5,5,7\], expected \[1,5,5,8\]/);
      expectThrows(() => prepareConv2d(ctx, { input, weight, bias: bias7, out: good }, p), /conv2d: bias has shape \[7\], expected \[8\]/);
      expectThrows(() => prepareConv2d(ctx, { input, weight, scale: bias7, out: good }, p), /conv2d: scale has shape \[7\], expected \[8\]/);
      expectThrows(() => prepareConv2d(ctx, { input, weight, residual: bad, out: good }, p), /conv2d: residual has shape \[1,5,5,7\]/);
      expectThrows(() => prepareConv2d(ctx, { input, weight, residual: good, out: good }, p), /conv2d: residual and out must be different/);
    });
    it('rejects tensors over the storage-binding limit before allocating them', async () => {
      const ctx = await testContext();
      // A 1x1 conv 64 -> 8 whose input is one element past the binding limit.
      const pixels = Math.ceil((ctx.maxBindingBytes / 4 + 1) / 64);
      const hugeShape = [1, pixels, 1, 64];
      expectThrows(() => createTensor(ctx, hugeShape, 'f32', 'input'), /storage-binding limit/);
      // prepareConv2d checks every operand too (tensors made elsewhere, e.g. borrowed buffers):
      // a small buffer labelled with the huge shape is rejected before any binding is made.
      const small = disposeAfterTest(createTensor(ctx, [4]));
      const smallOut = disposeAfterTest(createTensor(ctx, [4]));
      const weight = disposeAfterTest(uploadTensor(ctx, randomArray(64 * 8), [1, 1, 64, 8]));
      const input = new GpuTensor(ctx, small.buffer, hugeShape, 'f32', 'borrowed');
      const out = new GpuTensor(ctx, smallOut.buffer, [1, pixels, 1, 8], 'f32', 'borrowed');
      expectThrows(() => prepareConv2d(ctx, { input, weight, out }, convParams({})), /conv2d: input .*exceeds the device's storage-binding limit/);
    });
  });

  it('conv2d() allocates, runs and returns the output', async () => {
    const ctx = await testContext();
    const p = convParams({ strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, activation: 'relu6' });
    const x = randomArray(2 * 6 * 5 * 4);
    const w = randomArray(3 * 3 * 4 * 5);
    const b = randomArray(5);
    const tx = uploadTensor(ctx, x, [2, 6, 5, 4]);
    const tw = uploadTensor(ctx, w, [3, 3, 4, 5]);
    const tb = uploadTensor(ctx, b, [5]);
    let out: GpuTensor | undefined;
    try {
      out = await conv2d(ctx, tx, tw, { bias: tb }, p);
      expect(out.shape).to.deep.equal([2, 3, 3, 5]);
      expectClose(await readTensor(ctx, out), conv2dCpu(x, [2, 6, 5, 4], w, [3, 3, 4, 5], p, { bias: b }), 'conv2d()');
    } finally {
      for (const t of [tx, tw, tb, out]) t?.dispose();
    }
  });
});

describe('kernel: conv2d, every candidate of every algorithm a tuner may choose, on every adapter class', function () {
  // Cold, with the host's cores shared, one case compiled for 153 s: twice that and more.
  this.timeout(600_000);
  // Each case runs every variant of every algorithm that can run it (everyCandidate), on every
  // adapter class's space, against the CPU reference with poisoned outputs and sizes off every
  // tile: the GEMM's software tiles, GPU tiles with wide workgroups and split-K and SwiftShader's
  // written-out kernels; Winograd's tile sizes and GEMMs; the depthwise tiles; the direct kernel.
  // The cases share epilogues where they can, so candidates reuse compiled pipelines.
  //
  // `slow`: left to `npm test`, out of `npm run test:quick`. The depthwise cases with window steps
  // of 2 or a 5x5 kernel, whose written-out tiles (SwiftShader's candidates) take lavapipe 3-7 s
  // each to compile on a cold Mesa cache: these three cases took 57 s of the file's 121 s, alone
  // and cold (docs/testing.md). The quick tier keeps the stride-1 depthwise cases.
  const same = (r: number) => ({ dilationH: r, dilationW: r, padTop: r, padBottom: r, padLeft: r, padRight: r });
  const cases: (Case & { slow?: true })[] = [
    // One group, 3x3 stride 1: the GEMM and Winograd (map sizes odd and even, not multiples of 2
    // or 4 tiles; channels off the lanes and subgroups).
    { input: [1, 9, 7, 13], kernel: [3, 3], cout: 11, p: same(1) },
    { input: [2, 7, 10, 20], kernel: [3, 3], cout: 19, p: { activation: 'relu' }, bias: true, scale: true }, // padding 0, batch 2
    { input: [1, 11, 13, 37], kernel: [3, 3], cout: 70, p: { ...same(1), activation: 'relu6' }, bias: true, scale: true, residual: true },
    { input: [1, 6, 5, 16], kernel: [3, 3], cout: 24, p: { padTop: 0, padBottom: 1, padLeft: 1, padRight: 0, activation: 'hardswish' }, scale: true },
    // The dilated grid: outputs rate apart in phases, partial tiles in each.
    { input: [1, 13, 11, 9], kernel: [3, 3], cout: 24, p: same(2), residual: true },
    { input: [2, 10, 9, 8], kernel: [3, 3], cout: 16, p: { ...same(3), dilationW: 1, padLeft: 1, padRight: 1, activation: 'relu' }, bias: true, scale: true },
    { input: [1, 11, 9, 70], kernel: [3, 3], cout: 45, p: { ...same(6), activation: 'relu' }, scale: true, bias: true },
    // One group, not Winograd's: 1x1 (pointwise), M = 1 (image pooling), stride 2; channel
    // counts that are multiples of 4 (vec4 staging), off every tile otherwise.
    { input: [2, 6, 5, 37], kernel: [1, 1], cout: 133, p: {}, bias: true, scale: true, residual: true },
    { input: [1, 1, 1, 300], kernel: [1, 1], cout: 67, p: { activation: 'relu6' }, bias: true, scale: true, residual: true },
    { input: [1, 9, 11, 36], kernel: [3, 3], cout: 44, p: { strideH: 2, strideW: 2, ...same(1) }, residual: true },
    { input: [2, 5, 6, 256], kernel: [1, 1], cout: 68, p: { activation: 'relu' }, bias: true, scale: true },
    // Depthwise: the depthwise tiles (looped and written out) and the direct kernel.
    { input: [1, 9, 7, 20], kernel: [3, 3], cout: 20, p: { groups: 20, ...same(1) }, bias: true },
    // Stride 2 at rate 3: window step 2, outputs 3 apart (partial phases and tiles).
    { input: [1, 17, 19, 8], kernel: [3, 3], cout: 8, p: { groups: 8, strideH: 2, strideW: 2, ...same(3) }, residual: true, slow: true },
    { input: [2, 11, 10, 68], kernel: [3, 3], cout: 68, p: { groups: 68, strideH: 2, strideW: 2, padTop: 0, padBottom: 1, padLeft: 1, padRight: 0, activation: 'relu6' }, scale: true, slow: true },
    { input: [1, 13, 12, 36], kernel: [5, 5], cout: 36, p: { groups: 36, ...same(4), activation: 'relu' }, residual: true, slow: true },
    // The whole epilogue at once (the written-out kernels read it from a uniform).
    { input: [1, 10, 9, 12], kernel: [3, 3], cout: 12, p: { groups: 12, ...same(1), activation: 'hardswish' }, bias: true, scale: true, residual: true },
  ];
  const weightOf = (c: Case): Shape => [c.kernel[0], c.kernel[1], c.input[3] / (c.p.groups ?? 1), c.cout];

  it('gives every algorithm at least one case, and each algorithm names every WGSL file its candidates compile', async () => {
    const ctx = await testContext();
    const ran = new Set<string>();
    for (const c of cases) {
      for (const cls of ADAPTER_CLASSES) {
        const layer = { ...layerOf(c.input, weightOf(c), convParams(c.p), cls), limits: ctx.kernelLimits };
        for (const { variant: choice } of conv2dSpace(layer).candidates) {
          ran.add(choice.algorithm.id);
          const has = { bias: !!c.bias, scale: !!c.scale, residual: !!c.residual };
          for (const spec of choice.algorithm.specs(layer, has, choice.variant, choice.accumulate)) {
            expect(choice.algorithm.shaders, `${convChoiceName(choice)}: the space version hashes what it compiles`).to.include(spec.shader);
          }
        }
      }
    }
    expect([...ran].sort()).to.deep.equal(CONV2D.algorithms.map((a) => a.id).sort());
  });

  for (const c of cases) {
    it(`${c.kernel.join('x')} ${c.input.join('x')} -> ${c.cout} ${JSON.stringify(c.p)}: every candidate matches the CPU reference${c.slow ? ' @slow' : ''}`, async () => {
      const ctx = await testContext();
      const p = convParams(c.p);
      const g = convGeometry(c.input, weightOf(c), p);
      const data = { input: randomArray(numel(c.input)), weight: randomArray(numel(weightOf(c))) };
      const ran = await everyCandidate((cls) => conv2dSpace({ ...layerOf(c.input, weightOf(c), p, cls), limits: ctx.kernelLimits }), (choice, name) => check(c, data, choice, name));
      const of = (id: string) => ran.filter((x) => x.variant.algorithm.id === id).map((x) => x.variant.variant);
      // Lavapipe's subgroups are 8 wide: there every subgroup variant of these small layers is a
      // candidate and runs here (narrowSubgroups says why not with wider ones).
      const narrow = narrowSubgroups(ctx);
      const gemm = of('gemm') as GemmVariant[];
      if (gemm.length) {
        // The unrolled kernel, without subgroup broadcasts and, where subgroups are narrow, with them.
        expect(gemm.filter((v) => v.kind === 'unrolled').map((v) => v.kind === 'unrolled' && v.subgroups), 'unrolled tiles').to.include.members(narrow ? [true, false] : [false]);
        expect(gemm.some((v) => v.splits > 1) || g.cin < 64, 'split-K candidates where the channels allow').to.equal(true);
        if (narrow) expect(gemm.some((v) => v.kind === 'subgroup'), 'subgroup candidates').to.equal(true);
        const vec4 = gemm.filter((v) => v.kind === 'tiled' && v.vec4);
        expect(vec4.length > 0, 'vec4 staging exactly where the channels are multiples of 4').to.equal(g.cin % 4 === 0 && g.cout % 4 === 0);
        if (vec4.length) expect(vec4.some((v) => v.splits > 1) || g.cin < 64, 'vec4 split-K').to.equal(true);
      }
      const winograd = of('winograd') as WinogradVariant[];
      expect(winograd.length > 0, 'Winograd on 3x3 stride-1 layers of one group').to.equal(runsWinograd({ g, p }));
      if (winograd.length) {
        expect(new Set(winograd.map((v) => v.tile)), 'both tile sizes').to.deep.equal(new Set([2, 4]));
        expect(new Set(winograd.map((v) => v.unrolled)), 'the GEMM looped and written out').to.deep.equal(new Set([false, true]));
        if (narrow) expect(new Set(winograd.map((v) => v.subgroups)), 'with and without subgroups').to.deep.equal(new Set([false, true]));
      }
      const depthwise = of('depthwise') as DepthwiseVariant[];
      if (depthwise.length) {
        expect(depthwise.length, 'tiles per workgroup (and lanes, where the channels fill them) vary').to.be.at.least(5);
        expect(depthwise.some((v) => v.unrolled), 'unrolled tiles').to.equal(true);
      }
    });
  }
});

describe('kernel: conv2d GEMM on subgroup matrices (the built-ins emulated on lavapipe)', () => {
  // Lavapipe has no subgroup matrices: the kernel runs with the three built-ins replaced by plain
  // WGSL (conv2d_gemm_matrix_emulated.wgsl), so everything around them (tiling, staging, edges,
  // split-K, epilogue) is checked here, for the shapes adapters report. The built-ins themselves
  // run only where an adapter has them, and GpuContext checks them there before use.
  const emulatedLimits = (limits: KernelLimits): KernelLimits => ({ ...limits, matrix: { configs: EMULATED_MATRIX_CONFIGS, subgroupMaxSize: 8, emulated: true } });
  const cases: Case[] = [
    { input: [1, 9, 7, 13], kernel: [3, 3], cout: 11, p: { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } },
    { input: [2, 6, 5, 37], kernel: [1, 1], cout: 133, p: {}, bias: true, scale: true, residual: true },
    { input: [1, 11, 9, 70], kernel: [3, 3], cout: 45, p: { dilationH: 6, dilationW: 6, padTop: 6, padBottom: 6, padLeft: 6, padRight: 6, activation: 'relu' }, scale: true, bias: true },
    { input: [1, 1, 1, 300], kernel: [1, 1], cout: 67, p: { activation: 'relu6' }, bias: true },
    { input: [1, 11, 10, 21], kernel: [3, 3], cout: 19, p: { strideH: 2, strideW: 2, padTop: 0, padBottom: 1, padLeft: 1, padRight: 0 }, residual: true },
  ];
  for (const c of cases) {
    it(`${c.kernel.join('x')} ${c.input.join('x')} -> ${c.cout}: every f32 matrix candidate, split and not, matches the CPU reference`, async () => {
      const ctx = await testContext();
      const g = convGeometry(c.input, [c.kernel[0], c.kernel[1], c.input[3], c.cout], convParams(c.p));
      const limits = emulatedLimits(ctx.kernelLimits);
      const candidates = gemmCandidates(g, 'gpu', limits).filter((v) => v.kind === 'matrix');
      // Every tiling of the f32 shape, each once unsplit (and split where the channels allow).
      expect(candidates.filter((v) => v.splits === 1).map(gemmVariantName)).to.deep.equal(matrixCandidates(g, limits, 'f32').map(gemmVariantName));
      expect(candidates.length).to.be.at.least(4);
      const data = { input: randomArray(numel(c.input)), weight: randomArray(g.KH * g.KW * g.cin * g.cout) };
      for (const v of candidates) await check(c, data, convChoice(gemmAlgorithm, v), gemmVariantName(v));
      console.log(`      (${candidates.length} candidates)`);
    });
  }

  it('checks each shape an adapter offers before any layer uses it: kept if it matches the CPU reference, else set aside with the reason', async () => {
    const ctx = await testContext();
    const emulated = await checkMatrixConfigs(ctx, EMULATED_MATRIX_CONFIGS, { subgroupMaxSize: 8, emulated: true });
    expect(emulated.failed, JSON.stringify(emulated.failed)).to.deep.equal([]);
    expect(emulated.passed).to.have.length(ctx.hasHalf ? 4 : 1);
    // A shape no tiling fits.
    const odd = await checkMatrixConfigs(ctx, [{ component: 'f32', m: 3, n: 3, k: 8 }], { subgroupMaxSize: 8, emulated: true });
    expect(odd.failed.map((f) => f.reason)).to.deep.equal(['no tiling fits the device']);
    if (ctx.device.features.has('chromium-experimental-subgroup-matrix' as GPUFeatureName)) {
      // An adapter with them (a GPU): the real built-ins on every shape it offers, each kept or
      // set aside with its reason (checked here without recording it on the shared context).
      const offered = ctx.offeredMatrixConfigs;
      expect(offered.length, 'shapes offered').to.be.greaterThan(0);
      const check = await checkMatrixConfigs(ctx, offered, { subgroupMaxSize: ctx.subgroupMaxSize, emulated: false });
      expect(check.passed.length + check.failed.length, 'shapes checked').to.equal(offered.length);
      for (const f of check.failed) expect(f.reason, matrixConfigName(f.config)).to.be.a('string').and.not.equal('');
      console.log(`      (real built-ins: ${check.passed.map(matrixConfigName).join(', ') || 'none'} passed; ${check.failed.map((f) => `${matrixConfigName(f.config)}: ${f.reason}`).join('; ') || 'none failed'})`);
      return;
    }
    // The real built-ins on an adapter without them (lavapipe): Dawn refuses the shader. That is
    // a reason to leave the shape out, not an error for the caller.
    const real = await checkMatrixConfigs(ctx, [{ component: 'f32', m: 8, n: 8, k: 8 }], { subgroupMaxSize: 8, emulated: false });
    expect(real.passed).to.deep.equal([]);
    expect(real.failed).to.have.length(1);
    expect(real.failed[0].reason).to.match(/chromium_experimental_subgroup_matrix/);
    // This adapter offers none, so none is used.
    expect(ctx.kernelLimits.matrix).to.equal(undefined);
    expect(ctx.subgroupMatrices).to.deep.equal({ used: [], rejected: [] });
  });

  it("the real kernel (the built-ins, not emulated) passes Dawn's shader and pipeline validation for every tiling of every shape, on Dawn's null backend", async () => {
    // Dawn's null backend offers the feature (with no shapes of its own) and validates like any
    // other: WGSL parsing and resolution, the uniformity diagnostics, the subgroup-size rule.
    // Nothing runs there; what the built-ins compute is checked on the adapter (src/kernels/conv2d/gemm/matrix-check.ts).
    const gpu = create(['backend=null', 'enable-dawn-features=allow_unsafe_apis']);
    const adapter = await gpu.requestAdapter();
    const feature = 'chromium-experimental-subgroup-matrix' as GPUFeatureName;
    expect(adapter?.features.has(feature), "Dawn's null backend offers subgroup matrices").to.equal(true);
    const l = adapter!.limits;
    const device = await adapter!.requestDevice({
      requiredFeatures: ['subgroups', 'shader-f16', feature],
      requiredLimits: { maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX, maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize },
    });
    try {
      const info = adapter!.info as GPUAdapterInfo & { subgroupMaxSize: number };
      const d = device.limits;
      const limits: KernelLimits = {
        maxComputeInvocationsPerWorkgroup: d.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupStorageSize: d.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupSizeX: d.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupSizeY: d.maxComputeWorkgroupSizeY,
        matrix: { configs: EMULATED_MATRIX_CONFIGS, subgroupMaxSize: info.subgroupMaxSize, emulated: false },
      };
      const p = convParams({ padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, activation: 'relu' });
      const g = convGeometry([1, 9, 7, 64], [3, 3, 64, 40], p);
      const pipelines = new PipelineCache({ device, assertAlive() {} });
      const compiled = new Set<string>();
      for (const dtype of ['f32', 'f16'] as const) {
        const variants = matrixCandidates(g, limits, dtype);
        for (const c of EMULATED_MATRIX_CONFIGS.filter((x) => x.component === dtype)) {
          expect(variants.some((v) => v.m === c.m && v.n === c.n && v.k === c.k), `a tiling of ${matrixConfigName(c)} fits`).to.equal(true);
        }
        for (const v of [...variants, ...variants.map((x) => ({ ...x, splits: 2 }))]) {
          const spec = { ...specOf({ g, p, cls: 'gpu', limits, dtype }, { bias: true, scale: false, residual: false }, convChoice(gemmAlgorithm, v)), half: dtype === 'f16' };
          expect(spec.shader).to.equal('conv2d_gemm_matrix.wgsl');
          await pipelines.compile([spec]);
          compiled.add(kernelKey(spec));
        }
      }
      console.log(`      (${compiled.size} pipelines)`);
    } finally {
      device.destroy();
    }
  });

  it("sets aside a shape whose kernel runs but answers wrong: the real kernel on Dawn's null backend, which computes nothing", async () => {
    const ctx = await GpuContext.create({ dawnOptions: ['backend=null'] });
    try {
      expect(ctx.device.features.has('chromium-experimental-subgroup-matrix' as GPUFeatureName)).to.equal(true);
      const subgroupMaxSize = (ctx.adapter.info as GPUAdapterInfo & { subgroupMaxSize: number }).subgroupMaxSize;
      const check = await checkMatrixConfigs(ctx, [{ component: 'f32', m: 8, n: 8, k: 8 }, { component: 'f16', m: 16, n: 16, k: 16 }], { subgroupMaxSize, emulated: false });
      expect(check.passed).to.deep.equal([]);
      // Nothing computes the output there, nor fills or copies it: a read gives back whatever
      // the host memory under the null backend's buffer held before, which can lie near the
      // answer (0.063 from it once). So the comparison rejects both, not a compile error, each
      // for an error at or over the check's tolerance (f32 1e-4, f16 5e-4), or NaN.
      expect(check.failed.map((f) => f.config.component)).to.deep.equal(['f32', 'f16']);
      for (const { config, reason } of check.failed) {
        const error = /^relative error (\S+) against the CPU reference$/.exec(reason);
        expect(error, reason).to.not.equal(null);
        const tolerance = config.component === 'f16' ? FP16_TOLERANCE : FP32_TOLERANCE;
        expect(Number(error![1]) < tolerance, `${reason}: below the tolerance ${tolerance}`).to.equal(false);
      }
    } finally {
      ctx.destroy();
    }
  });

  it('offers a shape only in the precision the adapter multiplies it in, and names its problems', async () => {
    const ctx = await testContext();
    const g = convGeometry([1, 9, 7, 32], [3, 3, 32, 64], convParams({}));
    const limits = emulatedLimits(ctx.kernelLimits);
    // f16 shapes are for half-precision programs only; the tuner (f32) never sees them.
    expect(matrixCandidates(g, limits, 'f32').every((v) => v.m === 8 && v.n === 8 && v.k === 8)).to.equal(true);
    expect(new Set(matrixCandidates(g, limits, 'f16').map((v) => `${v.m}x${v.n}x${v.k}`))).to.deep.equal(new Set(['8x8x8', '16x16x16', '8x16x16']));
    const v = matrixCandidates(g, limits, 'f16').find((x) => x.m === 16)!;
    expect(gemmVariantProblem(g, v, limits, 'f32')).to.match(/no f32 16 x 16 x 16 subgroup matrices/);
    expect(gemmVariantProblem(g, v, ctx.kernelLimits, 'f16')).to.match(/offers no subgroup matrices/);
    expect(gemmVariantProblem(g, { ...v, emulated: false }, limits, 'f16')).to.match(/only emulates/);
    expect(gemmVariantProblem(g, { ...v, TMS: 8, TNS: 4 }, limits, 'f16')).to.match(/matrices per subgroup exceed/);
    expect(gemmVariantProblem(g, { ...v, SGM: 8, SGN: 8, TMS: 4, TNS: 4 }, limits, 'f16')).to.match(/exceed/);
    const real = { ...limits, matrix: { ...limits.matrix!, emulated: false, subgroupMaxSize: 32 } };
    expect(gemmVariantProblem(g, { ...v, emulated: false, lanes: 16 }, real, 'f16')).to.match(/up to 32 wide/);
    expect(gemmVariantProblem(g, { ...v, emulated: false, lanes: 32 }, real, 'f16')).to.equal(null);
    // The tuning cache stores choices by name: names parse back to the same variant.
    for (const x of [...matrixCandidates(g, limits, 'f16'), { ...v, emulated: false, lanes: 32, splits: 3 }]) {
      expect(parseGemmVariant(gemmVariantName(x))).to.deep.equal(x);
    }
  });
});

describe('kernel: conv2d Winograd F(2x2, 3x3) and F(4x4, 3x3)', () => {
  it('is offered for 3x3 stride-1 layers of one group (rates below the map size) only, after the GEMM (never a default), and names round-trip', async () => {
    const ctx = await testContext();
    const space = (input: Shape, weight: Shape, p: Partial<Conv2dParams>) => conv2dSpace({ ...layerOf(input, weight, convParams(p)), limits: ctx.kernelLimits }).candidates.map((x) => x.name);
    const names = space([1, 9, 9, 16], [3, 3, 16, 16], { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
    expect(names[0]).to.match(/^gemm\//);
    const first = names.findIndex((n) => n.startsWith('winograd/'));
    expect(first, 'Winograd candidates').to.be.greaterThan(0);
    expect(names.slice(first).every((n) => n.startsWith('winograd/')), 'after every GEMM candidate').to.equal(true);
    for (const n of names.slice(first)) expect(winogradVariantName(parseWinogradVariant(n.slice('winograd/'.length))!)).to.equal(n.slice('winograd/'.length));
    for (const [input, weight, p] of [
      [[1, 9, 9, 16], [3, 3, 16, 16], { strideH: 2, strideW: 2 }],
      [[1, 9, 9, 16], [1, 1, 16, 16], {}],
      [[1, 9, 9, 16], [3, 3, 8, 16], { groups: 2 }],
      [[1, 9, 9, 16], [5, 5, 16, 16], {}],
      // Rate 9 on a 9x9 map: the outer taps of every output in the padding.
      [[1, 9, 9, 16], [3, 3, 16, 16], { dilationH: 9, dilationW: 9, padTop: 9, padBottom: 9, padLeft: 9, padRight: 9 }],
    ] as [Shape, Shape, Partial<Conv2dParams>][]) {
      expect(space(input, weight, p).some((n) => n.startsWith('winograd/')), JSON.stringify({ weight, p })).to.equal(false);
    }
    // A layer whose scratch would pass what every device binds (128 MiB) is left to the GEMM.
    expect(space([1, 257, 257, 512], [3, 3, 512, 512], { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }).some((n) => n.startsWith('winograd/'))).to.equal(false);
    expect(parseWinogradVariant('f3r16c8l8s'), 'tile 3').to.equal(null);
  });

  it('launches four kernels and frees its scratch with them', async () => {
    const ctx = await testContext();
    const p = convParams({ padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
    const input = disposeAfterTest(uploadTensor(ctx, randomArray(2 * 5 * 5 * 8), [2, 5, 5, 8], 'input'));
    const weight = disposeAfterTest(uploadTensor(ctx, randomArray(9 * 8 * 8), [3, 3, 8, 8], 'weight'));
    const out = disposeAfterTest(createTensor(ctx, [2, 5, 5, 8], 'f32', 'out'));
    const v: WinogradVariant = { tile: 2, unrolled: false, rows: 16, channels: 8, lanes: 8, subgroups: false };
    const before = ctx.liveBufferCount;
    const dispatches = prepareConv2d(ctx, { input, weight, out }, p, convChoice(winogradAlgorithm, v));
    expect(dispatches.map((d) => d.label.replace(/^.* winograd /, ''))).to.deep.equal(['F2 weights', 'F2 inputs', 'F2 GEMM', 'F2 outputs']);
    expect(dispatches[0].ownedBuffers, 'V, U and M').to.have.length(3);
    for (const d of dispatches) disposeDispatch(ctx, d);
    expect(ctx.liveBufferCount, 'uniforms and scratch released').to.equal(before);
  });
});

describe('kernel: conv2d split-K (the GEMM split over input channels, then an ordered sum)', () => {
  /** Runs `fn` with split-K forced on the shared test context, whatever its adapter. */
  const withSplitK = (mode: 'always' | 'never', fn: () => Promise<void>) => withKernelOption('splitK', mode, fn);

  const cases: Case[] = [
    // Odd sizes off every tile: M, Cout and Cin not multiples of 8 / 128 / 4.
    { input: [1, 9, 7, 13], kernel: [3, 3], cout: 11, p: { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 } },
    { input: [2, 6, 5, 37], kernel: [1, 1], cout: 133, p: {}, bias: true, scale: true, residual: true },
    { input: [1, 11, 10, 21], kernel: [3, 3], cout: 19, p: { strideH: 2, strideW: 2, padTop: 0, padBottom: 1, padLeft: 1, padRight: 0 }, bias: true },
    { input: [1, 13, 13, 9], kernel: [3, 3], cout: 24, p: { dilationH: 6, dilationW: 6, padTop: 6, padBottom: 6, padLeft: 6, padRight: 6, activation: 'relu' }, scale: true },
    { input: [1, 1, 1, 64], kernel: [1, 1], cout: 40, p: { activation: 'relu6' }, bias: true }, // M = 1: image pooling
    { input: [3, 4, 3, 6], kernel: [7, 7], cout: 5, p: { padTop: 3, padBottom: 3, padLeft: 3, padRight: 3 }, residual: true },
  ];
  for (const c of cases) {
    it(`matches the CPU reference: ${c.kernel.join('x')} ${c.input.join('x')} -> ${c.cout}${c.bias ? ' bias' : ''}${c.scale ? ' scale' : ''}${c.residual ? ' residual' : ''}${c.p.activation ? ' ' + c.p.activation : ''}`, async () => {
      await withSplitK('always', async () => {
        await check(c);
      });
    });
  }

  it('launches two kernels and frees its scratch with them', async () => {
    const ctx = await testContext();
    await withSplitK('always', async () => {
      const p = convParams({});
      const input = uploadTensor(ctx, randomArray(2 * 3 * 3 * 16), [2, 3, 3, 16], 'input');
      const weight = uploadTensor(ctx, randomArray(16 * 8), [1, 1, 16, 8], 'weight');
      const out = createTensor(ctx, [2, 3, 3, 8], 'f32', 'out');
      try {
        const before = ctx.liveBufferCount;
        const dispatches = prepareConv2d(ctx, { input, weight, out }, p);
        expect(dispatches.map((d) => d.label)).to.satisfy((labels: string[]) => labels.length === 2 && /split-K x4/.test(labels[0]) && /split-K sum/.test(labels[1]));
        for (const d of dispatches) disposeDispatch(ctx, d);
        expect(ctx.liveBufferCount, 'uniforms and scratch released').to.equal(before);
      } finally {
        for (const t of [input, weight, out]) t.dispose();
      }
    });
    await withSplitK('never', async () => {
      const input = uploadTensor(ctx, randomArray(16), [1, 1, 1, 16], 'input');
      const weight = uploadTensor(ctx, randomArray(16 * 8), [1, 1, 16, 8], 'weight');
      const out = createTensor(ctx, [1, 1, 1, 8], 'f32', 'out');
      try {
        const dispatches = prepareConv2d(ctx, { input, weight, out }, convParams({}));
        expect(dispatches).to.have.length(1);
        for (const d of dispatches) disposeDispatch(ctx, d);
      } finally {
        for (const t of [input, weight, out]) t.dispose();
      }
    });
  });

  it("chooses splits only for few output tiles and long reductions on hardware adapters ('auto')", async () => {
    const ctx = await testContext();
    const geometry = (M: number, cin: number, cout: number) => ({ N: 1, H: M, W: 1, cin, KH: 1, KW: 1, cout, OH: M, OW: 1, cinPerGroup: cin, coutPerGroup: cout });
    const splits = (g: ConvGeometry, cls: AdapterClass) => defaultGemmVariant(g, cls).splits;
    // The default on a hardware adapter (the test adapter is lavapipe).
    expect(splits(geometry(1, 2048, 256), 'gpu'), 'image pooling 1x1 2048->256').to.equal(16);
    expect(splits(geometry(33 * 33, 18432 / 9, 256), 'gpu'), 'ASPP at 33x33').to.be.within(2, 16);
    // The tiled default splits at least two ways (unsplit, it ran 2-10x slower on an H100).
    expect(splits(geometry(129 * 129, 256, 256), 'gpu'), 'a large map').to.equal(2);
    expect(splits(geometry(1, 40, 256), 'gpu'), 'few channels').to.equal(2);
    expect(splits(geometry(1, 1, 256), 'gpu'), 'one channel: nothing to split').to.equal(1);
    expect(splits(geometry(1, 2048, 256), 'software'), 'never on a software adapter').to.equal(1);
    // The context's split-K mode overrides any variant's splits.
    const layerAt = (g: ConvGeometry): ConvLayer => ({ g, p: convParams({}), cls: 'software', limits: ctx.kernelLimits, dtype: 'f32' });
    const before = ctx.kernelOptions.splitK;
    try {
      const chosen = (g: ConvGeometry) => conv2dChoice(ctx, layerAt(g)).variant as GemmVariant;
      ctx.kernelOptions.splitK = 'never';
      expect(chosen(geometry(1, 2048, 256)).splits).to.equal(1);
      ctx.kernelOptions.splitK = 'always';
      expect(chosen(geometry(1, 2048, 256)).splits).to.equal(4);
      // Forced splits of 36 channels (9 each) leave vec4 staging no whole vec4s: it stages by value.
      const tiled: GemmVariant = { kind: 'tiled', BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, vec4: true, splits: 1 };
      const settle = (g: ConvGeometry) => gemmAlgorithm.settle!(tiled, layerAt(g), ctx.kernelOptions);
      expect(settle(geometry(9, 36, 64))).to.deep.include({ vec4: false, splits: 4 });
      expect(settle(geometry(9, 64, 64))).to.deep.include({ vec4: true, splits: 4 });
    } finally {
      ctx.kernelOptions.splitK = before;
    }
  });
});
