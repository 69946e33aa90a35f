// A Dispatch is one recorded kernel launch: pipeline, bind group with its buffers, its own
// uniform buffer (sizes, pads, rates) and a workgroup grid. Dispatches are built once and can
// be encoded into many command buffers (the executor records a whole forward pass this way).
//
// Binding convention for every shader: @binding(0) is the `params` uniform struct, storage
// buffers (and textures, for kernels that read one) follow from @binding(1) in the order the
// kernel lists them.
import type { GpuContext } from './context.js';
import type { KernelSpec } from './pipeline-cache.js';
import { kernelKey } from './pipeline-cache.js';
import { type DType, type Shape, GpuTensor, createTensor } from './tensor.js';

export type Grid = [number, number, number];

export interface Dispatch {
  readonly label: string;
  readonly key: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: Grid;
  /** Owned by the dispatch; destroyed by disposeDispatch(). */
  readonly uniformBuffer: GPUBuffer;
  /** Other buffers the dispatch owns (a kernel's scratch); destroyed by disposeDispatch(). */
  readonly ownedBuffers?: GPUBuffer[];
}

/** Packs a params struct of 4-byte scalars in declaration order (WGSL alignment holds). */
export class Uniforms {
  private readonly values: { type: 'u32' | 'i32' | 'f32'; value: number }[] = [];
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0) throw new Error(`uniform u32 must be a non-negative integer, got ${v}`);
    this.values.push({ type: 'u32', value: v });
    return this;
  }
  i32(v: number): this {
    if (!Number.isInteger(v)) throw new Error(`uniform i32 must be an integer, got ${v}`);
    this.values.push({ type: 'i32', value: v });
    return this;
  }
  f32(v: number): this {
    this.values.push({ type: 'f32', value: v });
    return this;
  }
  bytes(): ArrayBuffer {
    const padded = Math.max(16, Math.ceil((this.values.length * 4) / 16) * 16);
    const buf = new ArrayBuffer(padded);
    const view = new DataView(buf);
    this.values.forEach(({ type, value }, i) => {
      if (type === 'u32') view.setUint32(i * 4, value, true);
      else if (type === 'i32') view.setInt32(i * 4, value, true);
      else view.setFloat32(i * 4, value, true);
    });
    return buf;
  }
}

/**
 * A grid covering `count` invocations of a 1-D kernel with `workgroupSize` threads per
 * group. Large counts spill into y because each dimension is capped (65535 groups); shaders
 * rebuild the linear index as `gid.x + gid.y * num_workgroups.x * WG`.
 */
export function linearGrid(ctx: GpuContext, count: number, workgroupSize: number): Grid {
  const groups = Math.ceil(count / workgroupSize);
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= maxDim) return [Math.max(1, groups), 1, 1];
  const y = Math.ceil(groups / maxDim);
  const x = Math.ceil(groups / y);
  if (y > maxDim) throw new Error(`dispatch of ${count} invocations is too large for one grid`);
  return [x, y, 1];
}

/** What a kernel binds after its params: a tensor, a whole buffer, or a texture's view. */
export type KernelBinding = GpuTensor | GPUBuffer | GPUTextureView;

export interface DispatchRequest {
  label: string;
  spec: KernelSpec;
  uniforms: Uniforms;
  /** Storage bindings 1..n, in the shader's order. */
  buffers: KernelBinding[];
  workgroups: Grid;
  /** Binds f32 and f16 tensors together on purpose (casts). */
  mixesPrecision?: boolean;
}

/**
 * The spec's variant for the tensors it binds: a kernel that binds f16 tensors runs its
 * half-precision variant. Float tensors of both widths in one kernel are refused (the shader
 * would read one of them with the wrong width) unless the spec mixes them on purpose (a cast).
 */
export function specFor(spec: KernelSpec, buffers: readonly KernelBinding[], label: string, mixes = false): KernelSpec {
  const types = new Set(buffers.flatMap((b) => (b instanceof GpuTensor && (b.dtype === 'f32' || b.dtype === 'f16') ? [b.dtype] : [])));
  if (types.has('f16') && types.has('f32') && !mixes) throw new Error(`${label}: binds both f16 and f32 tensors`);
  return types.has('f16') ? { ...spec, half: true } : spec;
}

export function makeDispatch(ctx: GpuContext, req: DispatchRequest): Dispatch {
  const spec = specFor(req.spec, req.buffers, req.label, req.mixesPrecision);
  const pipeline = ctx.pipelines.get(spec);
  const data = req.uniforms.bytes();
  const uniformBuffer = ctx.createBuffer(data.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, `${req.label}:params`);
  ctx.device.queue.writeBuffer(uniformBuffer, 0, data);
  const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniformBuffer } }];
  req.buffers.forEach((b, i) => {
    // A tensor binds exactly its own bytes: planned tensors live in shared, larger buffers.
    // (A texture view has no `usage`; a buffer has.)
    const resource: GPUBindingResource =
      b instanceof GpuTensor ? { buffer: b.buffer, offset: b.byteOffset, size: b.byteLength }
      : 'usage' in b ? { buffer: b }
      : b;
    entries.push({ binding: i + 1, resource });
  });
  const bindGroup = ctx.device.createBindGroup({ label: req.label, layout: pipeline.getBindGroupLayout(0), entries });
  return { label: req.label, key: kernelKey(spec), pipeline, bindGroup, workgroups: req.workgroups, uniformBuffer };
}

export function disposeDispatch(ctx: GpuContext, d: Dispatch): void {
  ctx.destroyBuffer(d.uniformBuffer);
  for (const b of d.ownedBuffers ?? []) ctx.destroyBuffer(b);
}

/** Records dispatches into an open compute pass, in order. */
export function encodeDispatches(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[]): void {
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
}

/**
 * Runs dispatches in one command buffer and waits; validation and out-of-memory errors are
 * thrown naming `what`. The dispatches stay valid (re-runnable) afterwards.
 */
export async function runDispatches(ctx: GpuContext, dispatches: readonly Dispatch[], what?: string): Promise<void> {
  const label = what ?? dispatches.map((d) => d.label).join(', ');
  await ctx.checked(label, async () => {
    const encoder = ctx.device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    encodeDispatches(pass, dispatches);
    pass.end();
    await ctx.submitAndWait([encoder.finish()]);
  });
}

/** Builds, runs and frees dispatches: the simple path for one-off kernel calls and tests. */
export async function runOnce(ctx: GpuContext, label: string, prepare: () => Dispatch | Dispatch[]): Promise<void> {
  // A pipeline Dawn refuses is reported by the error scope after prepare returned: what it made
  // is freed then too.
  let list: Dispatch[] = [];
  try {
    await ctx.checked(label, () => {
      const made = prepare();
      list = Array.isArray(made) ? made : [made];
    });
    await runDispatches(ctx, list, label);
  } finally {
    for (const d of list) disposeDispatch(ctx, d);
  }
}

/**
 * Allocates an output tensor, prepares the kernel on it, runs it once and returns the output
 * (freed again if anything fails).
 */
export async function runToNewTensor(
  ctx: GpuContext,
  shape: Shape,
  label: string,
  prepare: (out: GpuTensor) => Dispatch | Dispatch[],
  dtype: DType = 'f32',
): Promise<GpuTensor> {
  const out = createTensor(ctx, shape, dtype, label);
  try {
    await runOnce(ctx, label, () => prepare(out));
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}
