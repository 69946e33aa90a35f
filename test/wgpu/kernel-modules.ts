// The kernels a wgpu device may be asked to compile, as kernel specs in groups: every candidate
// of the convolution's forward and backward spaces and of the batched matmul's on every adapter
// class (f32 and f16, with and without the epilogue's operands), and every kernel the networks'
// programs lower to (inference in f32 and f16, and a training step with its update). Spaces are
// taken with the wgpu device's limits and without subgroups, as the engine sees that device.
import { readFileSync } from 'node:fs';
import type { GpuContext } from '../../src/gpu/context.js';
import type { KernelLimits } from '../../src/gpu/kernel-limits.js';
import { type KernelSpec, kernelKey } from '../../src/gpu/pipeline-cache.js';
import type { Shape } from '../../src/gpu/tensor.js';
import { compile } from '../../src/graph/compile.js';
import type { Graph } from '../../src/graph/ir.js';
import { programKernelSpecs } from '../../src/graph/lowering.js';
import { conv2dBiasGradSpec } from '../../src/kernels/conv2d-backward/bias-grad/bias-grad.js';
import { CONV2D_INPUT_GRAD } from '../../src/kernels/conv2d-backward/input-grad/input-grad.js';
import { CONV2D_WEIGHT_GRAD } from '../../src/kernels/conv2d-backward/weight-grad/weight-grad.js';
import { conv2dSpace } from '../../src/kernels/conv2d/conv2d.js';
import { convSpace } from '../../src/kernels/conv2d/family.js';
import { type Conv2dParams, convGeometry, convParams } from '../../src/kernels/conv2d/params.js';
import { RESIZE_LAYOUTS, RESIZE_MODES, resizeBilinearSpec } from '../../src/kernels/resize/resize.js';
import { broadcastSpec, reduceSumSpec } from '../../src/kernels/broadcast/broadcast.js';
import { matmulSpace, matmulSpec } from '../../src/kernels/matmul/matmul.js';
import { dynamicQuantizeSpecs } from '../../src/kernels/quantize/dynamic-quantize.js';
import { chunkSumSpec } from '../../src/kernels/reduce/reduce.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { buildMobileVitDeepLab } from '../../src/model/networks/mobilevit.js';
import { mobileVitConfigFromHub } from '../../src/model/networks/mobilevit-config.js';
import { buildMobileVitV2DeepLab, mobileVitV2ConfigFromHub } from '../../src/model/networks/mobilevitv2.js';
import { buildTrainingGraphs, trainingBatchNorms } from '../../src/train/training-graph.js';
import { ADAPTER_CLASSES } from '../kernels/every-candidate.js';
import { withKernelOption } from '../helpers.js';
import { sharedPath } from '../shared.js';

export interface ModuleGroup {
  name: string;
  /** Distinct by kernel key. */
  specs: KernelSpec[];
}

/** What kernel variants must fit on the wgpu device: its limits, no subgroups (naga parses no `enable subgroups`), no subgroup matrices. */
export function wgpuKernelLimits(limits: Record<string, number>): KernelLimits {
  return {
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
    subgroupSize: 0,
  };
}

function distinct(specs: KernelSpec[]): KernelSpec[] {
  const seen = new Set<string>();
  return specs.filter((s) => !seen.has(kernelKey(s)) && seen.add(kernelKey(s)));
}

interface ConvCase {
  input: Shape;
  kernel: [number, number];
  cout: number;
  p: Partial<Conv2dParams>;
}

const same = (r: number) => ({ dilationH: r, dilationW: r, padTop: r, padBottom: r, padLeft: r, padRight: r });

/** Layers that between them reach every algorithm and variant kind (as test/kernels/conv2d.test.ts's cases do). */
const CONV_CASES: ConvCase[] = [
  { input: [1, 11, 13, 37], kernel: [3, 3], cout: 70, p: same(1) }, // GEMM and Winograd, channels off every tile
  { input: [1, 11, 9, 256], kernel: [3, 3], cout: 64, p: same(6) }, // long reductions: split-K
  { input: [2, 6, 5, 36], kernel: [1, 1], cout: 132, p: {} }, // pointwise, channels in fours (vec4)
  { input: [1, 1, 1, 300], kernel: [1, 1], cout: 67, p: {} }, // M = 1 (image pooling)
  { input: [1, 9, 11, 36], kernel: [3, 3], cout: 44, p: { strideH: 2, strideW: 2, ...same(1) } },
  { input: [1, 9, 7, 20], kernel: [3, 3], cout: 20, p: { groups: 20, ...same(1) } }, // depthwise
  { input: [1, 13, 12, 36], kernel: [5, 5], cout: 36, p: { groups: 36, ...same(4) } },
  { input: [1, 9, 10, 12], kernel: [3, 3], cout: 18, p: { groups: 3, ...same(1) } }, // grouped: the direct kernel
];

function weightShape(c: ConvCase): Shape {
  return [c.kernel[0], c.kernel[1], c.input[3] / (c.p.groups ?? 1), c.cout];
}

/** Every candidate of the forward convolution's space on every adapter class, its specs with and without bias, scale and residual. */
export function convForwardSpecs(limits: KernelLimits, dtype: 'f32' | 'f16'): ModuleGroup {
  const specs: KernelSpec[] = [];
  for (const c of CONV_CASES) {
    const p = convParams({ ...c.p, activation: 'relu' });
    const g = convGeometry(c.input, weightShape(c), p);
    for (const cls of ADAPTER_CLASSES) {
      const layer = { g, p, cls, limits, dtype };
      for (const { variant: choice } of conv2dSpace(layer).candidates) {
        for (const on of [false, true]) {
          const half = (s: KernelSpec) => (dtype === 'f16' ? { ...s, half: true } : s);
          specs.push(...choice.algorithm.specs(layer, { bias: on, scale: on, residual: on }, choice.variant, choice.accumulate).map(half));
        }
      }
    }
  }
  return { name: `conv2d forward, every candidate (${dtype})`, specs: distinct(specs) };
}

/** Every candidate of the input and weight gradients' spaces on every adapter class (grouped layers' kernels included) and the bias gradient. */
export function convBackwardSpecs(limits: KernelLimits): ModuleGroup {
  const specs: KernelSpec[] = [conv2dBiasGradSpec('tree'), conv2dBiasGradSpec('vec4'), chunkSumSpec()];
  for (const c of CONV_CASES) {
    const p = convParams(c.p);
    const g = convGeometry(c.input, weightShape(c), p);
    for (const cls of ADAPTER_CLASSES) {
      const layer = { g, p, cls, limits, dtype: 'f32' as const };
      for (const family of [CONV2D_INPUT_GRAD, CONV2D_WEIGHT_GRAD] as const) {
        for (const { variant: choice } of convSpace<unknown, null>(family, layer).candidates) specs.push(...choice.algorithm.specs(layer, null, choice.variant, choice.accumulate));
      }
    }
  }
  return { name: 'conv2d backward, every candidate', specs: distinct(specs) };
}

/** Every tile of the batched matmul's space on every adapter class, either operand transposed, f32 and f16. */
export function matmulSpecs(limits: KernelLimits): ModuleGroup {
  const specs: KernelSpec[] = [];
  for (const cls of ADAPTER_CLASSES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const p = { transA, transB, alpha: 1 };
        const layer = { g: { batch: 2, M: 37, N: 21, K: 19 }, p, cls, limits, dtype: 'f32' as const };
        for (const { variant } of matmulSpace(layer).candidates) for (const half of [false, true]) specs.push({ ...matmulSpec(p, variant), half });
      }
    }
  }
  return { name: 'matmul, every candidate (f32, f16)', specs: distinct(specs) };
}

/** Both layouts of the bilinear resize, in every mode. */
export function resizeSpecs(): ModuleGroup {
  const specs = RESIZE_MODES.flatMap((mode) => RESIZE_LAYOUTS.flatMap((layout) => [false, true].map((half) => ({ ...resizeBilinearSpec({ mode, outH: 1, outW: 1 }, layout), half }))));
  return { name: 'resize_bilinear, every candidate (f32, f16)', specs: distinct(specs) };
}

/** The broadcasting kernels (what imported ONNX graphs run where an operand broadcasts): each op, expand and the sum back, f32 and f16. */
export function broadcastSpecs(): ModuleGroup {
  const ops = (['add', 'sub', 'mul', 'div', 'expand'] as const).map((op) => broadcastSpec(op));
  const specs = [...ops, reduceSumSpec()].flatMap((spec) => [false, true].map((half) => ({ ...spec, half })));
  return { name: 'broadcast and reduce_sum, every op (f32, f16)', specs: distinct(specs) };
}

/** Dynamic quantisation's three kernels (an imported q8 file's quantize_dynamic; f32 only: a q8 graph is refused in half precision). */
export function quantizeSpecs(): ModuleGroup {
  return { name: 'dynamic quantisation (f32)', specs: distinct(dynamicQuantizeSpecs()) };
}

/** Small networks that between them hold every op: ResNet with the DeepLabv3+ decoder and the aux head, MobileNetV2 and V3, MobileViT and MobileViTV2, TF DeepLab's Xception-65 DeepLabv3+ and MobileNetV3-Small. */
export const NETWORKS: Record<string, () => Graph> = {
  mobilenet_v2: () => buildDeepLab(defaultConfig('mobilenet_v2'), SIZE),
  mobilenet_v3_large: () => buildDeepLab(defaultConfig('mobilenet_v3_large'), SIZE),
  'resnet18, DeepLabv3+ and aux': () => buildDeepLab(defaultConfig('resnet18', { decoder: 'deeplabv3plus', aux: true }), SIZE),
  mobilevit: () => buildMobileVitDeepLab(mobileVitConfigFromHub(JSON.parse(readFileSync(sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small', 'config.json'), 'utf8'))), { batch: 1, height: 32, width: 32 }),
  // 33x33 leaves odd maps: the crops to whole patches and the pads back.
  mobilevitv2: () => buildMobileVitV2DeepLab(mobileVitV2ConfigFromHub(JSON.parse(readFileSync(sharedPath('fixtures', 'hf', 'mobilevitv2-0.5-deeplabv3', 'config.json'), 'utf8'))), SIZE),
  // Its separable convs at rates 1, 2 and the ASPP's 6, 12, 18, its decoder at stride 4.
  xception_65: () => buildDeepLab(defaultConfig('xception_65', { numClasses: 5 }), SIZE),
  // TF DeepLab's MobileNetV3: the strided average pool, the scale of TF's hard sigmoid, the broadcast gate.
  mobilenet_v3_small_seg: () => buildDeepLab(defaultConfig('mobilenet_v3_small_seg', { numClasses: 5 }), SIZE),
};
const SIZE = { batch: 1, height: 33, width: 33 };

/**
 * Every kernel the network's programs compile on `ctx` with its subgroup kernels off: inference
 * in f32 and in f16, and a training step (loss, backward, accumulators) with its SGD update.
 */
export async function networkSpecs(ctx: GpuContext, name: string): Promise<ModuleGroup> {
  const graph = NETWORKS[name]();
  const specs: KernelSpec[] = [];
  await withKernelOption('subgroups', false, async () => {
    for (const precision of ['f32', 'f16'] as const) specs.push(...programKernelSpecs(ctx, compile(graph, { mode: 'inference', precision })));
    const training = buildTrainingGraphs(trainingBatchNorms(graph), { ignoreIndex: 255, auxWeight: 0.4 }, () => ({}));
    for (const g of [training.step, training.update]) specs.push(...programKernelSpecs(ctx, compile(g, { mode: 'training' })));
  });
  return { name: `${name}: inference (f32, f16), a training step and its update`, specs: distinct(specs) };
}
