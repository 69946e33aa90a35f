// The candidate space of the groups == 1 backward kernels (the input and weight gradients of a
// convolution, in training graphs): what varies, what makes a variant valid on a device, the
// default for each adapter class when nothing was measured, and a layer's space (its tuning
// key, its candidates) and choice, as the forward's conv2d.ts has them.
import type { GpuContext } from '../../gpu/context.js';
import type { KernelLimits } from '../../gpu/kernel-limits.js';
import { type AdapterClass, adapterClass, distinctValid, lanesFor, onCpu, pixelBucket } from '../candidates.js';
import type { ConvLayer } from '../conv2d/algorithm.js';
import type { Conv2dParams, ConvGeometry } from '../conv2d/params.js';
import { type LayerSpace, chosenCandidate, layerSpace, sourcesVersion } from '../tuning.js';

/**
 * The groups == 1 backward kernels, conv2d_input_grad.wgsl and conv2d_weight_grad.wgsl `main`:
 * the lanes a workgroup has (4 channels each: input channels for the input gradient, output
 * channels for the weight gradient), and whether the broadcast operand is shared through
 * subgroups (their SUBGROUPS variants). The tiles (8 pixels, 8 reduction rows) are fixed.
 */
export interface BackwardVariant {
  subgroups: boolean;
  lanes: number;
}

export type BackwardKernel = 'input_grad' | 'weight_grad';

/** Channels each lane of a backward kernel covers. */
const BACKWARD_CN = 4;

export function backwardVariantName(v: BackwardVariant): string {
  return `${v.subgroups ? 's' : 'p'}l${v.lanes}`;
}

export function parseBackwardVariant(name: string): BackwardVariant | null {
  const m = /^([sp])l(\d+)$/.exec(name);
  return m ? { subgroups: m[1] === 's', lanes: Number(m[2]) } : null;
}

/**
 * Why `v` cannot run on `limits`, or null. The subgroup variants shuffle among every lane of a
 * subgroup (each full), and the weight gradient's hands out 8 reduction rows (subgroups of at
 * least 8 lanes).
 */
export function backwardVariantProblem(kernel: BackwardKernel, v: BackwardVariant, limits: KernelLimits): string | null {
  if (!Number.isInteger(v.lanes) || v.lanes < 1) return 'lanes must be a positive integer';
  if (v.lanes > limits.maxComputeInvocationsPerWorkgroup) return `${v.lanes} lanes exceed the device's ${limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup`;
  if (!v.subgroups) return null;
  const size = limits.subgroupSize ?? 0;
  if (!size) return 'the device has no subgroups of one fixed size';
  if (kernel === 'weight_grad' && size < 8) return `the weight gradient's subgroup variant needs subgroups of at least 8 lanes, not ${size}`;
  if (v.lanes % size) return `${v.lanes} lanes are not a whole number of ${size}-wide subgroups`;
  return null;
}

/**
 * What runs untuned: lanes enough to cover the channels (8 to 32); subgroups on software
 * adapters where they fit (measured there: a training step 1.50x faster with them), not on GPUs
 * until measured there.
 */
export function defaultBackwardVariant(kernel: BackwardKernel, channels: number, cls: AdapterClass, limits: KernelLimits): BackwardVariant {
  const lanes = lanesFor(channels, BACKWARD_CN, 32);
  const shared = { subgroups: true, lanes };
  return onCpu(cls) && !backwardVariantProblem(kernel, shared, limits) ? shared : { subgroups: false, lanes };
}

/** The candidates for a backward layer over `channels` channels, the default first. */
export function backwardCandidates(kernel: BackwardKernel, channels: number, cls: AdapterClass, limits: KernelLimits): BackwardVariant[] {
  const out = [defaultBackwardVariant(kernel, channels, cls, limits)];
  for (const lanes of [8, 16, 32, 64]) {
    // Lanes past what the channels need would idle.
    if (lanes > 8 && (lanes / 2) * BACKWARD_CN >= channels) continue;
    for (const subgroups of [false, true]) out.push({ subgroups, lanes });
  }
  return distinctValid(out, backwardVariantName, (v) => backwardVariantProblem(kernel, v, limits));
}

/** The tuning store's name of each backward kernel family. */
export const BACKWARD_TUNE_KERNEL: Record<BackwardKernel, string> = { input_grad: 'conv2d_input_grad', weight_grad: 'conv2d_weight_grad' };

/** The WGSL each backward space compiles: its version is their hash. */
export const BACKWARD_SHADERS: Record<BackwardKernel, readonly string[]> = {
  input_grad: ['conv2d_input_grad.wgsl', 'conv2d_input_grad_subgroup.wgsl'],
  weight_grad: ['conv2d_weight_grad.wgsl', 'conv2d_weight_grad_subgroup.wgsl'],
};

/** The channels a backward kernel's lanes cover: input channels (dX) or output channels (dW). */
export function backwardChannels(kernel: BackwardKernel, g: { cin: number; cout: number }): number {
  return kernel === 'input_grad' ? g.cin : g.cout;
}

/** A backward layer as its spaces see it: the forward's geometry and params, on an adapter class within its limits. */
export type BackwardLayer = Pick<ConvLayer, 'g' | 'p' | 'cls' | 'limits'>;

export function backwardLayer(ctx: GpuContext, g: ConvGeometry, p: Conv2dParams): BackwardLayer {
  return { g, p, cls: adapterClass(ctx), limits: ctx.kernelLimits };
}

/** A groups == 1 backward layer's candidates, the adapter class's default first; its key is the forward's shape. */
export function backwardSpace(kernel: BackwardKernel, { g, p, cls, limits }: BackwardLayer): LayerSpace<BackwardVariant> {
  const shape = `m${pixelBucket(g.N * g.OH * g.OW)}.ci${g.cin}.co${g.cout}.k${g.KH}x${g.KW}.s${p.strideH}.d${p.dilationH}`;
  const variants = backwardCandidates(kernel, backwardChannels(kernel, g), cls, limits);
  return layerSpace(BACKWARD_TUNE_KERNEL[kernel], sourcesVersion(BACKWARD_SHADERS[kernel]), shape, variants.map((v) => ({ name: backwardVariantName(v), variant: v })));
}

/**
 * The variant a groups == 1 backward layer runs on `ctx` (the shaders' plain or SUBGROUPS
 * `main`, on a lane count): the one measured fastest on this adapter for this shape, else the
 * adapter class's default.
 */
export function backwardVariant(ctx: GpuContext, kernel: BackwardKernel, g: ConvGeometry, p: Conv2dParams): BackwardVariant {
  return chosenCandidate(ctx, backwardSpace(kernel, backwardLayer(ctx, g, p))).variant;
}
