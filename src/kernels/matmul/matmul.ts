// Batched matrix multiply of rank-3 tensors, either operand transposed, scaled:
// out[b] = alpha * op(a[b]) op(b[b]). Attention's Q K^T / sqrt(d) and A V, and the gradients of
// both (themselves such products). Linear layers on tokens run as 1x1 convolutions, whose GEMM
// has the tuned tilings and fused epilogues. A family with choices: its tiles (tiles.ts) are
// candidates of a space per product shape and precision, a program runs the one measured
// fastest on the adapter (src/graph/tune.ts), else the adapter class's default.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, makeDispatch, runToNewTensor } from '../../gpu/dispatch.js';
import type { KernelLimits } from '../../gpu/kernel-limits.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString, validateShape } from '../../gpu/tensor.js';
import type { FloatType } from '../../gpu/tuning.js';
import { type AdapterClass, adapterClass, pixelBucket } from '../candidates.js';
import { expectShape } from '../checks.js';
import { type FloatArray, zerosLike } from '../cpu-arrays.js';
import { precisionCandidates, precisionOf } from '../precision.js';
import { type LayerSpace, type TunableLayer, chosenCandidate, layerSpace, sourcesVersion, tunableLayer } from '../tuning.js';
import { type MatmulTile, matmulTileName, matmulTileProblem, matmulTiles } from './tiles.js';

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

/** The WGSL the family compiles: its space's version is its hash. */
const MATMUL_SHADERS = ['matmul.wgsl'];

export function matmulSpec(p: Pick<MatmulParams, 'transA' | 'transB'>, v: MatmulTile): KernelSpec {
  // The block sizes the written-out accumulators: module consts; the workgroup, overrides.
  return { shader: 'matmul.wgsl', consts: { TM: v.TM, TN: v.TN }, constants: { WGX: v.WGX, WGY: v.WGY, TRANS_A: p.transA ? 1 : 0, TRANS_B: p.transB ? 1 : 0 } };
}

/** A product as its tiles see it: its sizes, on an adapter class within its limits, in a program whose tensors are `dtype`. */
export interface MatmulLayer {
  g: MatmulGeometry;
  p: MatmulParams;
  cls: AdapterClass;
  limits: KernelLimits;
  dtype: FloatType;
}

export function matmulLayer(ctx: GpuContext, aShape: Shape, bShape: Shape, p: MatmulParams, dtype: FloatType = 'f32'): MatmulLayer {
  return { g: matmulGeometry(aShape, bShape, p), p, cls: adapterClass(ctx), limits: ctx.kernelLimits, dtype };
}

/** A product's tuning key's shape: its sizes bucketed to powers of 2, and which operands are transposed. */
function matmulShapeKey({ g, p }: MatmulLayer): string {
  return `b${pixelBucket(g.batch)}.m${pixelBucket(g.M)}.n${pixelBucket(g.N)}.k${pixelBucket(g.K)}.t${p.transA ? 1 : 0}${p.transB ? 1 : 0}`;
}

/** A product's tiles in its precision (f32 sums only), the adapter class's default first. */
export function matmulSpace(layer: MatmulLayer): LayerSpace<MatmulTile> {
  const precision = precisionOf(layer.dtype);
  const candidates = precisionCandidates(precision, matmulTiles(layer.cls, layer.limits)).map((c) => ({ ...c, name: matmulTileName(c.variant) }));
  return layerSpace({ kernel: 'matmul', shape: matmulShapeKey(layer), precision }, sourcesVersion(MATMUL_SHADERS), candidates);
}

/** What a product runs on `ctx`, chosen once where it is lowered: the tile, to pass to prepareMatmul, and its kernel. */
export function matmulLowering(ctx: GpuContext, aShape: Shape, bShape: Shape, p: MatmulParams, dtype: FloatType = 'f32'): { tile: MatmulTile; specs: KernelSpec[] } {
  const tile = chosenCandidate(ctx, matmulSpace(matmulLayer(ctx, aShape, bShape, p, dtype))).variant;
  return { tile, specs: [matmulSpec(p, tile)] };
}

/** `tile`: the one to run instead of the context's choice (the tuner's, tests'). */
export function prepareMatmul(ctx: GpuContext, t: { a: GpuTensor; b: GpuTensor; out: GpuTensor }, p: MatmulParams, tile?: MatmulTile): Dispatch {
  const { batch, M, N, K } = matmulGeometry(t.a.shape, t.b.shape, p);
  expectShape(t.out.shape, [batch, M, N], 'matmul', 'out');
  const v = tile ?? matmulLowering(ctx, t.a.shape, t.b.shape, p, t.out.dtype === 'f16' ? 'f16' : 'f32').tile;
  const problem = matmulTileProblem(v, ctx.kernelLimits);
  if (problem) throw new Error(`matmul: tile ${matmulTileName(v)} cannot run: ${problem}`);
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const grid: [number, number, number] = [Math.ceil(N / (v.WGX * v.TN)), Math.ceil(M / (v.WGY * v.TM)), batch];
  if (grid.some((d) => d > maxDim)) throw new Error(`matmul: ${shapeString(t.out.shape)} needs ${grid.join(' x ')} workgroups, more than ${maxDim} in one dimension`);
  return makeDispatch(ctx, {
    label: `matmul${p.transA ? ' a^T' : ''}${p.transB ? ' b^T' : ''} ${shapeString(t.a.shape)} x ${shapeString(t.b.shape)}`,
    spec: matmulSpec(p, v),
    uniforms: new Uniforms().u32(M).u32(N).u32(K).f32(p.alpha),
    buffers: [t.a, t.b, t.out],
    workgroups: grid,
  });
}

/** A product's tiles as the tuner times them (a, b -> out, on tensors stored as `dtype`), or null where it has but one. */
export function matmulTunable(ctx: GpuContext, aShape: Shape, bShape: Shape, p: MatmulParams, dtype: FloatType = 'f32'): TunableLayer | null {
  const space = matmulSpace(matmulLayer(ctx, aShape, bShape, p, dtype));
  if (space.candidates.length < 2) return null;
  const operands = [{ shape: [...aShape], fill: true, dtype }, { shape: [...bShape], fill: true, dtype }, { shape: matmulOutputShape(aShape, bShape, p), fill: false, dtype }];
  return tunableLayer(space, operands, (ctx, [a, b, out], c) => [prepareMatmul(ctx, { a, b, out }, p, c.variant)]);
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
