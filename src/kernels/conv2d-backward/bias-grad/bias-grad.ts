// The bias gradient db of a convolution: dY summed over N, OH, OW. Two kernels: 'tree', one
// workgroup a block of channels with a tree reduction in workgroup memory
// (conv2d_bias_grad.wgsl); and 'vec4', 4 channels an invocation over its own chunk of pixels,
// without barriers, the chunks' sums added by chunk_sum.wgsl (conv2d_bias_grad_vec4.wgsl; Cout a
// multiple of 4), SwiftShader's default (a barrier there is costly, and the tree kernel's 256
// lanes a workgroup idle on small maps).
import type { GpuContext } from '../../../gpu/context.js';
import { STORAGE_USAGE } from '../../../gpu/buffer-pool.js';
import { type Dispatch, Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../../gpu/dispatch.js';
import type { KernelSpec } from '../../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, shapeString, validateShape } from '../../../gpu/tensor.js';
import { type AdapterClass, adapterClass } from '../../candidates.js';
import { expectRank, expectShape } from '../../checks.js';
import { reductionSplits } from '../../conv2d/split.js';
import { chunkSumSpec, prepareChunkSum } from '../../reduce/reduce.js';
import { BIAS_GRAD, checkOperands } from '../geometry.js';

/** Channels per workgroup; must match TC in conv2d_bias_grad.wgsl. */
const BIAS_CHANNEL_BLOCK = 16;
/** conv2d_bias_grad_vec4.wgsl: lanes a workgroup, and its split: enough chunks for ~1024 invocations, of at least 64 pixels, at most 256. */
const VEC4_WG = 64;
const VEC4_TARGET_INVOCATIONS = 1024;
const VEC4_MIN_CHUNK = 64;
const VEC4_MAX_CHUNKS = 256;

/** The bias gradient's kernels (see the header). */
export type BiasGradKernel = 'tree' | 'vec4';

/** The kernels that can sum `channels` channels, the default for `cls` first: 'vec4' on SwiftShader, 'tree' elsewhere. */
export function biasGradKernels(channels: number, cls: AdapterClass): BiasGradKernel[] {
  if (channels % 4) return ['tree'];
  return cls === 'swiftshader' ? ['vec4', 'tree'] : ['tree', 'vec4'];
}

export function conv2dBiasGradSpec(kernel: BiasGradKernel = 'tree'): KernelSpec {
  return kernel === 'vec4' ? { shader: 'conv2d_bias_grad_vec4.wgsl', constants: { WG: VEC4_WG } } : { shader: 'conv2d_bias_grad.wgsl' };
}

/** The vec4 kernel's chunks of pixels for M pixels of `channels` channels. */
function vec4Chunks(M: number, channels: number): { chunks: number; chunkLen: number } {
  const chunks = reductionSplits(M, channels / 4, VEC4_TARGET_INVOCATIONS, Math.ceil(M / VEC4_MIN_CHUNK), VEC4_MAX_CHUNKS);
  return { chunks, chunkLen: Math.ceil(M / chunks) };
}

/** What a layer's db runs on `ctx` (its class's default), and the kernels that compiles. */
export function conv2dBiasGradLowering(ctx: GpuContext, dOutShape: Shape): { kernel: BiasGradKernel; specs: KernelSpec[] } {
  const [N, OH, OW, cout] = dOutShape;
  const kernel = biasGradKernels(cout, adapterClass(ctx))[0];
  const chunked = kernel === 'vec4' && vec4Chunks(N * OH * OW, cout).chunks > 1;
  return { kernel, specs: chunked ? [conv2dBiasGradSpec(kernel), chunkSumSpec()] : [conv2dBiasGradSpec(kernel)] };
}

/** db = dY summed over N, OH, OW: dOut [N, OH, OW, Cout] -> dBias [Cout]. `kernel`: one of biasGradKernels (default: the class's). */
export function prepareConv2dBiasGrad(ctx: GpuContext, t: { dOut: GpuTensor; dBias: GpuTensor }, kernel?: BiasGradKernel): Dispatch[] {
  expectRank(t.dOut.shape, 4, BIAS_GRAD, 'dOut');
  validateShape(t.dOut.shape, `${BIAS_GRAD}: dOut`);
  const [N, OH, OW, cout] = t.dOut.shape;
  expectShape(t.dBias.shape, [cout], BIAS_GRAD, 'dBias');
  checkOperands(ctx, BIAS_GRAD, { dOut: t.dOut, dBias: t.dBias }, ['dBias']);
  const kernels = biasGradKernels(cout, adapterClass(ctx));
  const chosen = kernel ?? kernels[0];
  if (!kernels.includes(chosen)) throw new Error(`${BIAS_GRAD}: the ${chosen} kernel needs a channel count that is a multiple of 4, got ${cout}`);
  const label = `${BIAS_GRAD} ${shapeString(t.dOut.shape)}`;
  const M = N * OH * OW;
  if (chosen === 'vec4') return vec4Dispatches(ctx, t, M, cout, label);
  const blocks = Math.ceil(cout / BIAS_CHANNEL_BLOCK);
  return [
    makeDispatch(ctx, {
      label,
      spec: conv2dBiasGradSpec('tree'),
      uniforms: new Uniforms().u32(M).u32(cout).u32(blocks),
      buffers: [t.dOut, t.dBias],
      // One workgroup per channel block; linearGrid with 1 "thread" per group spills into y.
      workgroups: linearGrid(ctx, blocks, 1),
    }),
  ];
}

/** The vec4 kernel: straight into dBias in one chunk, else into its own scratch [chunks, Cout], then chunk_sum. */
function vec4Dispatches(ctx: GpuContext, t: { dOut: GpuTensor; dBias: GpuTensor }, M: number, cout: number, label: string): Dispatch[] {
  const { chunks, chunkLen } = vec4Chunks(M, cout);
  const count = (cout / 4) * chunks;
  const sums = (out: GpuTensor | GPUBuffer) =>
    makeDispatch(ctx, {
      label: chunks > 1 ? `${label} ${chunks} chunks` : label,
      spec: conv2dBiasGradSpec('vec4'),
      uniforms: new Uniforms().u32(M).u32(cout / 4).u32(chunkLen).u32(count),
      buffers: [t.dOut, out],
      workgroups: linearGrid(ctx, count, VEC4_WG),
    });
  if (chunks === 1) return [sums(t.dBias)];
  const scratch = ctx.createBuffer(chunks * cout * 4, STORAGE_USAGE, `${label}:chunks`);
  try {
    return [{ ...sums(scratch), ownedBuffers: [scratch] }, prepareChunkSum(ctx, { partial: scratch, out: t.dBias }, chunks)];
  } catch (e) {
    ctx.destroyBuffer(scratch);
    throw e;
  }
}

/** Allocates db and runs once. */
export function conv2dBiasGrad(ctx: GpuContext, dOut: GpuTensor, kernel?: BiasGradKernel): Promise<GpuTensor> {
  expectRank(dOut.shape, 4, BIAS_GRAD, 'dOut');
  return runToNewTensor(ctx, [dOut.shape[3]], BIAS_GRAD, (dBias) => prepareConv2dBiasGrad(ctx, { dOut, dBias }, kernel));
}
