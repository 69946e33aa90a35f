// Elementwise add / multiply / activation over NHWC tensors (residual adds outside a conv,
// squeeze-and-excite scaling, standalone activations).
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString } from '../../gpu/tensor.js';
import { type Activation, activateCpu, activationCode } from '../activation/activation.js';
import { expectRank, expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';

export type ElementwiseOp = 'unary' | 'add' | 'mul';

export interface ElementwiseParams {
  op: ElementwiseOp;
  activation?: Activation;
}

const WG = 256;
const OP_CODE: Record<ElementwiseOp, number> = { unary: 0, add: 1, mul: 2 };

/** How b is indexed against a: same shape, or [N,1,1,C] broadcast over H, W. */
export function elementwiseBroadcast(aShape: Shape, bShape: Shape | undefined, op: ElementwiseOp): 0 | 1 {
  const kernel = `elementwise(${op})`;
  if (op === 'unary') return 0;
  if (!bShape) throw new Error(`${kernel}: needs a second operand`);
  if (bShape.length === aShape.length && bShape.every((d, i) => d === aShape[i])) return 0;
  expectRank(aShape, 4, kernel, 'a');
  expectShape(bShape, [aShape[0], 1, 1, aShape[3]], kernel, 'b (same shape as a, or [N,1,1,C])');
  return 1;
}

export function elementwiseSpec(params: ElementwiseParams, broadcast: 0 | 1): KernelSpec {
  return {
    shader: 'elementwise.wgsl',
    constants: {
      OP: OP_CODE[params.op],
      B_BROADCAST: broadcast,
      ACTIVATION: activationCode(params.activation ?? 'none'),
      WG,
    },
  };
}

export function prepareElementwise(
  ctx: GpuContext,
  t: { a: GpuTensor; b?: GpuTensor; out: GpuTensor },
  params: ElementwiseParams,
): Dispatch {
  const broadcast = elementwiseBroadcast(t.a.shape, t.b?.shape, params.op);
  expectShape(t.out.shape, t.a.shape, `elementwise(${params.op})`, 'out');
  const channels = t.a.shape.length === 4 ? t.a.shape[3] : 1;
  const hw = t.a.shape.length === 4 ? t.a.shape[1] * t.a.shape[2] : 1;
  return makeDispatch(ctx, {
    label: `elementwise(${params.op},${params.activation ?? 'none'}) ${shapeString(t.a.shape)}`,
    spec: elementwiseSpec(params, broadcast),
    uniforms: new Uniforms().u32(t.a.size).u32(channels).u32(hw),
    // Unary ops still bind something at b: the pipeline layout has the slot.
    buffers: [t.a, t.b ?? t.a, t.out],
    workgroups: linearGrid(ctx, t.a.size, WG),
  });
}

/** CPU reference. */
export function elementwiseCpu<T extends FloatArray>(
  a: T,
  aShape: Shape,
  b: FloatArray | undefined,
  bShape: Shape | undefined,
  params: ElementwiseParams,
): T {
  const broadcast = elementwiseBroadcast(aShape, bShape, params.op);
  const act = params.activation ?? 'none';
  const out = zerosLike(a, numel(aShape));
  const C = aShape.length === 4 ? aShape[3] : 1;
  const HW = aShape.length === 4 ? aShape[1] * aShape[2] : 1;
  for (let i = 0; i < out.length; i++) {
    let x = a[i];
    if (params.op !== 'unary') {
      const j = broadcast === 1 ? Math.floor(i / (C * HW)) * C + (i % C) : i;
      x = params.op === 'add' ? x + b![j] : x * b![j];
    }
    out[i] = activateCpu(x, act);
  }
  return out;
}

// ---------------------------------------------------------------- multiplication by a constant

export function scaleSpec(): KernelSpec {
  return { shader: 'scale.wgsl', constants: { WG } };
}

/** out = x * factor. */
export function prepareScale(ctx: GpuContext, t: { x: GpuTensor; out: GpuTensor }, factor: number): Dispatch {
  expectShape(t.out.shape, t.x.shape, 'scale', 'out');
  if (!Number.isFinite(factor)) throw new Error(`scale: factor must be finite, got ${factor}`);
  return makeDispatch(ctx, {
    label: `scale(${factor}) ${shapeString(t.x.shape)}`,
    spec: scaleSpec(),
    uniforms: new Uniforms().u32(t.x.size).f32(factor),
    buffers: [t.x, t.out],
    workgroups: linearGrid(ctx, t.x.size, WG),
  });
}

/** CPU reference. */
export function scaleCpu<T extends Float32Array | Float64Array>(x: T, factor: number): T {
  return x.map((v) => v * factor) as T;
}
