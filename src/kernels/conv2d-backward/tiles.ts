// The variants of the gradients' groups == 1 kernels (conv2d_input_grad.wgsl and
// conv2d_weight_grad.wgsl `main`, each its family's 'gemm' algorithm): what varies, what makes a
// variant valid on a device, and the default for each adapter class when nothing was measured.
// The spaces, tuning keys and choices are every convolution family's (../conv2d/family.ts).
import type { KernelLimits } from '../../gpu/kernel-limits.js';
import { type AdapterClass, distinctValid, lanesFor, onCpu } from '../candidates.js';
import type { ConvLayer } from '../conv2d/algorithm.js';

/**
 * The lanes a workgroup has (4 channels each: input channels for the input gradient, output
 * channels for the weight gradient), and whether the broadcast operand is shared through
 * subgroups (the shaders' SUBGROUPS variants). The tiles (8 pixels, 8 reduction rows) are fixed.
 */
export interface GradientTile {
  subgroups: boolean;
  lanes: number;
}

/** Which gradient's kernel: they differ in what the subgroup variant needs. */
export type GradientKernel = 'input_grad' | 'weight_grad';

/** Channels each lane of a gradient kernel covers. */
const GRADIENT_CN = 4;

/** 'sl8': shared through subgroups (s) or plain (p), lanes. */
export function gradientTileName(v: GradientTile): string {
  return `${v.subgroups ? 's' : 'p'}l${v.lanes}`;
}

export function parseGradientTile(name: string): GradientTile | null {
  const m = /^([sp])l(\d+)$/.exec(name);
  return m ? { subgroups: m[1] === 's', lanes: Number(m[2]) } : null;
}

/**
 * Why `v` cannot run on `limits`, or null. The subgroup variants shuffle among every lane of a
 * subgroup (each full), and the weight gradient's hands out 8 reduction rows (subgroups of at
 * least 8 lanes).
 */
export function gradientTileProblem(kernel: GradientKernel, v: GradientTile, limits: KernelLimits): string | null {
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
export function defaultGradientTile(kernel: GradientKernel, channels: number, cls: AdapterClass, limits: KernelLimits): GradientTile {
  const lanes = lanesFor(channels, GRADIENT_CN, 32);
  const shared = { subgroups: true, lanes };
  return onCpu(cls) && !gradientTileProblem(kernel, shared, limits) ? shared : { subgroups: false, lanes };
}

/** The valid tiles for a layer whose lanes cover `channels` channels, the default first. */
export function gradientTiles(kernel: GradientKernel, channels: number, cls: AdapterClass, limits: KernelLimits): GradientTile[] {
  const out = [defaultGradientTile(kernel, channels, cls, limits)];
  for (const lanes of [8, 16, 32, 64]) {
    // Lanes past what the channels need would idle.
    if (lanes > 8 && (lanes / 2) * GRADIENT_CN >= channels) continue;
    for (const subgroups of [false, true]) out.push({ subgroups, lanes });
  }
  return distinctValid(out, gradientTileName, (v) => gradientTileProblem(kernel, v, limits));
}

/**
 * Whether a layer's gradients are offered the written-out pointwise kernels (each family's
 * 'pointwise' algorithm, its default where it can run): on SwiftShader, which runs the looped
 * kernels as written, for 1x1 layers of stride 1 without padding or groups, where dX and dW are
 * plain matrix products over the pixels (each kernel adds its vec4 conditions on the channels).
 */
export function pointwiseGradient({ g, p, cls }: Pick<ConvLayer, 'g' | 'p' | 'cls'>): boolean {
  return cls === 'swiftshader' && g.pointwise === true && p.groups === 1 && p.strideH === 1 && p.strideW === 1;
}
