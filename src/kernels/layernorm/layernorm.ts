// Layer normalisation over the last axis (a token's channels, MobileViT's transformer layers):
// y = (x - mean) / sqrt(var + eps) * gamma + beta per row, the biased variance as PyTorch's
// nn.LayerNorm; its gradients with respect to x, gamma and beta.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, disposeDispatch, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import type { FloatArray } from '../cpu-arrays.js';
import { checkEps, checkLengths, normalizeGroupsCpu, normalizeGroupsGradCpu } from '../normalization-cpu.js';

/** Lanes a workgroup; layernorm_grad_params.wgsl's const WG is the same (it sizes its workgroup arrays). */
const WG = 64;

export interface LayerNormParams {
  /** Added to the variance (nn.LayerNorm's eps; MobileViT's config calls it layer_norm_eps). */
  eps: number;
}

/** Rows (every leading axis) and channels (the last axis), checking gamma and beta's length. */
function rowsAndChannels(shape: Shape, kernel: string): [number, number] {
  validateShape(shape, `${kernel}: input`);
  const C = shape[shape.length - 1];
  return [numel(shape) / C, C];
}

export function layerNormSpec(): KernelSpec {
  return { shader: 'layernorm.wgsl', constants: { WG } };
}

export function prepareLayerNorm(ctx: GpuContext, t: { input: GpuTensor; gamma: GpuTensor; beta: GpuTensor; out: GpuTensor }, p: LayerNormParams): Dispatch {
  const [rows, C] = rowsAndChannels(t.input.shape, 'layerNorm');
  checkEps(p.eps, 'layerNorm');
  expectShape(t.gamma.shape, [C], 'layerNorm', 'gamma');
  expectShape(t.beta.shape, [C], 'layerNorm', 'beta');
  expectShape(t.out.shape, t.input.shape, 'layerNorm', 'out');
  return makeDispatch(ctx, {
    label: `layerNorm ${shapeString(t.input.shape)}`,
    spec: layerNormSpec(),
    uniforms: new Uniforms().u32(rows).u32(C).f32(p.eps),
    buffers: [t.input, t.gamma, t.beta, t.out],
    workgroups: linearGrid(ctx, rows, WG),
  });
}

export function layerNorm(ctx: GpuContext, input: GpuTensor, gamma: GpuTensor, beta: GpuTensor, p: LayerNormParams): Promise<GpuTensor> {
  return runToNewTensor(ctx, input.shape, 'layerNorm', (out) => prepareLayerNorm(ctx, { input, gamma, beta, out }, p));
}

/** CPU reference; float64 in, float64 out (and float32 likewise). */
export function layerNormCpu<T extends FloatArray>(x: T, shape: Shape, gamma: FloatArray, beta: FloatArray, p: LayerNormParams): T {
  const [, C] = rowsAndChannels(shape, 'layerNorm');
  checkEps(p.eps, 'layerNorm');
  checkLengths('layerNorm', shape, C, { x, gamma, beta }, ['gamma', 'beta']);
  return normalizeGroupsCpu(x, C, C, gamma, beta, p.eps);
}

// ---------------------------------------------------------------- gradients

/** The row statistics the input gradient leaves for the parameter gradients: [rows * 2]. */
export function layerNormScratchShape(shape: Shape): number[] {
  const [rows] = rowsAndChannels(shape, 'layerNormGrad');
  return [rows * 2];
}

export function layerNormGradSpecs(): KernelSpec[] {
  return [{ shader: 'layernorm_grad_input.wgsl', constants: { WG } }, { shader: 'layernorm_grad_params.wgsl' }];
}

export interface LayerNormGradTensors {
  x: GpuTensor;
  gamma: GpuTensor;
  dy: GpuTensor;
  dx: GpuTensor;
  dgamma: GpuTensor;
  dbeta: GpuTensor;
  /** layerNormScratchShape. */
  stats: GpuTensor;
}

/** Two dispatches: dx with each row's statistics, then dgamma and dbeta summed over the rows. */
export function prepareLayerNormGrad(ctx: GpuContext, t: LayerNormGradTensors, p: LayerNormParams): Dispatch[] {
  const [rows, C] = rowsAndChannels(t.x.shape, 'layerNormGrad');
  checkEps(p.eps, 'layerNormGrad');
  for (const name of ['dy', 'dx'] as const) expectShape(t[name].shape, t.x.shape, 'layerNormGrad', name);
  for (const name of ['gamma', 'dgamma', 'dbeta'] as const) expectShape(t[name].shape, [C], 'layerNormGrad', name);
  expectShape(t.stats.shape, layerNormScratchShape(t.x.shape), 'layerNormGrad', 'stats');
  const label = `layerNormGrad ${shapeString(t.x.shape)}`;
  const [inputSpec, paramsSpec] = layerNormGradSpecs();
  const input = makeDispatch(ctx, {
    label: `${label} input`,
    spec: inputSpec,
    uniforms: new Uniforms().u32(rows).u32(C).f32(p.eps),
    buffers: [t.x, t.gamma, t.dy, t.dx, t.stats],
    workgroups: linearGrid(ctx, rows, WG),
  });
  try {
    const params = makeDispatch(ctx, {
      label: `${label} params`,
      spec: paramsSpec,
      // Each row its own group, its statistics two values.
      uniforms: new Uniforms().u32(rows).u32(1).u32(C).u32(2),
      buffers: [t.x, t.dy, t.stats, t.dgamma, t.dbeta],
      workgroups: linearGrid(ctx, C * WG, WG),
    });
    return [input, params];
  } catch (e) {
    disposeDispatch(ctx, input);
    throw e;
  }
}

/** CPU reference: dx, dgamma, dbeta in the input's precision. */
export function layerNormGradCpu<T extends FloatArray>(x: T, shape: Shape, gamma: FloatArray, dy: FloatArray, p: LayerNormParams): { dx: T; dgamma: T; dbeta: T } {
  const [, C] = rowsAndChannels(shape, 'layerNormGrad');
  checkLengths('layerNormGrad', shape, C, { x, gamma, dy }, ['gamma']);
  return normalizeGroupsGradCpu(x, C, C, gamma, dy, p.eps);
}
