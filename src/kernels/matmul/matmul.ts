// Batched matrix multiply of rank-3 tensors, either operand transposed, scaled:
// out[b] = alpha * op(a[b]) op(b[b]). Attention's Q K^T / sqrt(d) and A V, and the gradients of
// both (themselves such products). Linear layers on tokens run as 1x1 convolutions, whose GEMM
// has the tuned tilings and fused epilogues.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';

/** Output rows and columns a workgroup covers: 8 x 8 invocations of 4 x 4 (matmul.wgsl). */
const WORKGROUP_BLOCK = 32;

export interface MatmulParams {
  /** a is [batch, K, M]: its transpose is multiplied. */
  transA: boolean;
  /** b is [batch, N, K]: its transpose is multiplied. */
  transB: boolean;
  /** Scales the product (attention's 1 / sqrt(head size)). */
  alpha: number;
}

export interface MatmulGeometry {
  batch: number;
  M: number;
  N: number;
  K: number;
}

/** Checks both operands; returns the product's sizes. */
export function matmulGeometry(aShape: Shape, bShape: Shape, p: MatmulParams): MatmulGeometry {
  for (const [name, s] of [['a', aShape], ['b', bShape]] as const) {
    if (s.length !== 3) throw new Error(`matmul: ${name} must be [batch, rows, columns], got ${shapeString(s)}`);
    validateShape(s, `matmul: ${name}`);
  }
  if (!Number.isFinite(p.alpha)) throw new Error(`matmul: alpha must be finite, got ${p.alpha}`);
  const [batch, ar, ac] = aShape;
  const [bBatch, br, bc] = bShape;
  const [M, K] = p.transA ? [ac, ar] : [ar, ac];
  const [kB, N] = p.transB ? [bc, br] : [br, bc];
  const describe = `${shapeString(aShape)}${p.transA ? '^T' : ''} x ${shapeString(bShape)}${p.transB ? '^T' : ''}`;
  if (bBatch !== batch) throw new Error(`matmul: batches differ in ${describe}`);
  if (kB !== K) throw new Error(`matmul: inner sizes differ in ${describe} (${K} vs ${kB})`);
  return { batch, M, N, K };
}

export function matmulOutputShape(aShape: Shape, bShape: Shape, p: MatmulParams): number[] {
  const { batch, M, N } = matmulGeometry(aShape, bShape, p);
  return [batch, M, N];
}

export function matmulSpec(p: Pick<MatmulParams, 'transA' | 'transB'>): KernelSpec {
  return { shader: 'matmul.wgsl', constants: { TRANS_A: p.transA ? 1 : 0, TRANS_B: p.transB ? 1 : 0 } };
}

export function prepareMatmul(ctx: GpuContext, t: { a: GpuTensor; b: GpuTensor; out: GpuTensor }, p: MatmulParams): Dispatch {
  const { batch, M, N, K } = matmulGeometry(t.a.shape, t.b.shape, p);
  expectShape(t.out.shape, [batch, M, N], 'matmul', 'out');
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const grid: [number, number, number] = [Math.ceil(N / WORKGROUP_BLOCK), Math.ceil(M / WORKGROUP_BLOCK), batch];
  if (grid.some((d) => d > maxDim)) throw new Error(`matmul: ${shapeString(t.out.shape)} needs ${grid.join(' x ')} workgroups, more than ${maxDim} in one dimension`);
  return makeDispatch(ctx, {
    label: `matmul${p.transA ? ' a^T' : ''}${p.transB ? ' b^T' : ''} ${shapeString(t.a.shape)} x ${shapeString(t.b.shape)}`,
    spec: matmulSpec(p),
    uniforms: new Uniforms().u32(M).u32(N).u32(K).f32(p.alpha),
    buffers: [t.a, t.b, t.out],
    workgroups: grid,
  });
}

export function matmul(ctx: GpuContext, a: GpuTensor, b: GpuTensor, p: MatmulParams): Promise<GpuTensor> {
  return runToNewTensor(ctx, matmulOutputShape(a.shape, b.shape, p), 'matmul', (out) => prepareMatmul(ctx, { a, b, out }, p));
}

/** CPU reference; float64 in, float64 out (and float32 likewise). */
export function matmulCpu<T extends FloatArray>(a: T, aShape: Shape, b: FloatArray, bShape: Shape, p: MatmulParams): T {
  const { batch, M, N, K } = matmulGeometry(aShape, bShape, p);
  if (a.length !== numel(aShape) || b.length !== numel(bShape)) throw new Error(`matmul: ${a.length} and ${b.length} values for ${shapeString(aShape)} and ${shapeString(bShape)}`);
  const out = zerosLike(a, batch * M * N);
  for (let z = 0; z < batch; z++) {
    const aBase = z * M * K;
    const bBase = z * K * N;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const av = a[aBase + (p.transA ? k * M + m : m * K + k)];
          const bv = b[bBase + (p.transB ? n * K + k : k * N + n)];
          acc += av * bv;
        }
        out[(z * M + m) * N + n] = p.alpha * acc;
      }
  }
  return out;
}
