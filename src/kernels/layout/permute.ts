// Permute with reshapes: out = reshape(transpose(reshape(input, view), perm), shape). One kernel
// for every layout change a network makes between maps and token sequences (MobileViT's
// unfolding into patches and folding back, attention's heads), for transposes, and for plain
// reshapes (the identity permutation: a copy).
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';

const WG = 256;

/** The most axes a view may have. */
export const PERMUTE_MAX_RANK = 6;

export interface PermuteParams {
  /** The input read as this shape (as many elements; row-major, so no memory moves). */
  view: readonly number[];
  /** Output axis i is view axis perm[i]. */
  perm: readonly number[];
  /** The permuted view read as this shape (as many elements). */
  shape: readonly number[];
}

export function permuteSpec(): KernelSpec {
  return { shader: 'permute.wgsl', constants: { WG } };
}

/** Checks the parameters against the input's shape; returns the output shape. */
export function permuteOutputShape(inputShape: Shape, p: PermuteParams): number[] {
  validateShape(inputShape, 'permute: input');
  validateShape(p.view, 'permute: view');
  if (numel(p.view) !== numel(inputShape)) throw new Error(`permute: view ${shapeString(p.view)} does not hold the ${numel(inputShape)} elements of ${shapeString(inputShape)}`);
  if (p.view.length > PERMUTE_MAX_RANK) throw new Error(`permute: view ${shapeString(p.view)} has more than ${PERMUTE_MAX_RANK} axes`);
  const sorted = [...p.perm].sort((a, b) => a - b);
  if (p.perm.length !== p.view.length || sorted.some((a, i) => a !== i)) {
    throw new Error(`permute: [${p.perm.join(',')}] is not a permutation of the ${p.view.length} axes of view ${shapeString(p.view)}`);
  }
  validateShape(p.shape, 'permute: shape');
  if (numel(p.shape) !== numel(p.view)) throw new Error(`permute: shape ${shapeString(p.shape)} does not hold the ${numel(p.view)} elements of view ${shapeString(p.view)}`);
  return [...p.shape];
}

/** The permuted view's extents and their strides in the input, padded to rank 6 in front. */
function permutedStrides(p: PermuteParams): { dims: number[]; strides: number[] } {
  const viewStrides = p.view.map((_, i) => numel(p.view.slice(i + 1)));
  const pad = PERMUTE_MAX_RANK - p.view.length;
  return {
    dims: [...new Array<number>(pad).fill(1), ...p.perm.map((a) => p.view[a])],
    strides: [...new Array<number>(pad).fill(0), ...p.perm.map((a) => viewStrides[a])],
  };
}

/** The parameters that undo `p` on an input of `inputShape` (the gradient of a permute). */
export function inversePermute(inputShape: Shape, p: PermuteParams): PermuteParams {
  const inverse = new Array<number>(p.perm.length);
  p.perm.forEach((a, i) => (inverse[a] = i));
  return { view: p.perm.map((a) => p.view[a]), perm: inverse, shape: [...inputShape] };
}

export function preparePermute(ctx: GpuContext, t: { input: GpuTensor; out: GpuTensor }, p: PermuteParams): Dispatch {
  expectShape(t.out.shape, permuteOutputShape(t.input.shape, p), 'permute', 'out');
  const { dims, strides } = permutedStrides(p);
  const u = new Uniforms().u32(t.input.size);
  for (const d of dims) u.u32(d);
  for (const s of strides) u.u32(s);
  return makeDispatch(ctx, {
    label: `permute ${shapeString(t.input.shape)} as ${shapeString(p.view)} [${p.perm.join(',')}] -> ${shapeString(p.shape)}`,
    spec: permuteSpec(),
    uniforms: u,
    buffers: [t.input, t.out],
    workgroups: linearGrid(ctx, t.input.size, WG),
  });
}

export function permute(ctx: GpuContext, input: GpuTensor, p: PermuteParams): Promise<GpuTensor> {
  return runToNewTensor(ctx, permuteOutputShape(input.shape, p), 'permute', (out) => preparePermute(ctx, { input, out }, p));
}

/** CPU reference: walks the output in order, reading the input by the view's strides. */
export function permuteCpu<T extends FloatArray>(x: T, inputShape: Shape, p: PermuteParams): T {
  permuteOutputShape(inputShape, p);
  if (x.length !== numel(inputShape)) throw new Error(`permute: ${x.length} values for ${shapeString(inputShape)}`);
  const dims = p.perm.map((a) => p.view[a]);
  const viewStrides = p.view.map((_, i) => numel(p.view.slice(i + 1)));
  const strides = p.perm.map((a) => viewStrides[a]);
  const out = zerosLike(x, x.length);
  const index = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += index[k] * strides[k];
    out[o] = x[src];
    for (let k = dims.length - 1; k >= 0; k--) {
      if (++index[k] < dims[k]) break;
      index[k] = 0;
    }
  }
  return out;
}
