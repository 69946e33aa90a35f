// Chunked reductions without atomics: a long sum is split into `chunks` ranges, each summed by
// its own invocation into a partial buffer, then the partials are added (chunk_sum.wgsl). The
// chunk count trades parallelism against scratch memory; chunkPlan picks it.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { GpuTensor } from '../../gpu/tensor.js';

const SUM_WG = 256;
/** Partial sums kept at once at most (floats): bounds the scratch of big weight gradients. */
const MAX_PARTIALS = 1 << 23;
/** Aim for at least this many invocations, and at most this many chunks. */
const TARGET_INVOCATIONS = 1 << 16;
const MAX_CHUNKS = 256;

export interface ChunkPlan {
  chunks: number;
  /** Rows (pixels) per chunk. */
  chunkLen: number;
}

/** How to split `rows` terms for `outputs` independent sums. */
export function chunkPlan(rows: number, outputs: number): ChunkPlan {
  const wanted = Math.ceil(TARGET_INVOCATIONS / outputs);
  const affordable = Math.max(1, Math.floor(MAX_PARTIALS / outputs));
  const chunks = Math.max(1, Math.min(wanted, affordable, MAX_CHUNKS, rows));
  const chunkLen = Math.ceil(rows / chunks);
  return { chunks: Math.ceil(rows / chunkLen), chunkLen };
}

export function chunkSumSpec(): KernelSpec {
  return { shader: 'chunk_sum.wgsl', constants: { WG: SUM_WG } };
}

/** out[i] = sum over k of partial[k * count + i], count = out's size; `partial` a tensor or a kernel's own f32 scratch buffer. */
export function prepareChunkSum(ctx: GpuContext, t: { partial: GpuTensor | GPUBuffer; out: GpuTensor }, chunks: number): Dispatch {
  const count = t.out.size;
  const held = t.partial instanceof GpuTensor ? t.partial.size : Math.floor(t.partial.size / 4);
  if (held < chunks * count) throw new Error(`chunkSum: partial holds ${held} values, needs ${chunks} x ${count}`);
  return makeDispatch(ctx, {
    label: `chunkSum ${chunks} x ${count}`,
    spec: chunkSumSpec(),
    uniforms: new Uniforms().u32(count).u32(chunks),
    buffers: [t.partial, t.out],
    workgroups: linearGrid(ctx, count, SUM_WG),
  });
}
