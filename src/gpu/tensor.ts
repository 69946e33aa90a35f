// GPU tensors: a storage buffer plus shape and element type.
//
// Layout: activations are NHWC for the whole engine. Channels-last keeps the reduction axis
// of every convolution (kh, kw, cin) contiguous in memory, so implicit-GEMM loads are
// coalesced and vectorisable along channels, depthwise convolutions read contiguous channel
// runs, and TFLite / TF weights and inputs need no transposition. torchvision's NCHW
// checkpoints are permuted once at load time.
import type { GpuContext } from './context.js';
import { GpuError } from './context.js';
import { bindingBytes, fromHalfBits, toHalfBits } from './half.js';
import type { ReadBackMemory } from './read-back-memory.js';

/** f16 only where the adapter has `shader-f16` (half-precision programs, src/graph/half.ts). */
export type DType = 'f32' | 'f16' | 'u32' | 'i32';

export function bytesPerElement(dtype: DType): number {
  return dtype === 'f16' ? 2 : 4;
}

/** Bytes a tensor of this shape and type binds: its elements, rounded up to whole 4-byte words. */
export function tensorBytes(shape: Shape, dtype: DType): number {
  return bindingBytes(numel(shape), bytesPerElement(dtype));
}
export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** Checks a shape is a list of positive integers; names the tensor in the error. */
export function validateShape(shape: Shape, what: string): void {
  if (shape.length === 0) throw new Error(`${what}: empty shape`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what}: invalid shape ${shapeString(shape)}`);
    if (d === 0) throw new Error(`${what}: zero-size tensor ${shapeString(shape)}`);
  }
}

export class GpuTensor {
  private disposed = false;

  constructor(
    readonly ctx: GpuContext,
    private buf: GPUBuffer,
    readonly shape: Shape,
    readonly dtype: DType = 'f32',
    /** 'pool': returned to the context's pool on dispose; 'borrowed': someone else owns it. */
    private readonly owner: 'pool' | 'borrowed' = 'pool',
    /** Where the tensor starts in its buffer (views of one item of a batch). */
    readonly byteOffset = 0,
  ) {}

  get buffer(): GPUBuffer {
    if (this.disposed) throw new Error(`tensor ${shapeString(this.shape)} used after dispose()`);
    return this.buf;
  }

  get size(): number {
    return numel(this.shape);
  }

  get byteLength(): number {
    return tensorBytes(this.shape, this.dtype);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Gives the buffer back to the context's pool for reuse. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.owner === 'pool') this.ctx.pool.release(this.buf);
  }

  /** Gives the buffer back to the device: for what is not made again soon (a disposed model's weights). */
  destroy(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.owner === 'pool') this.ctx.pool.discard(this.buf);
  }
}

/** Throws a clear error when `bytes` cannot be bound as one storage buffer on this device. */
export function checkBindable(ctx: GpuContext, bytes: number, what: string): void {
  const limit = ctx.maxBindingBytes;
  if (bytes > limit) {
    throw new GpuError(
      `${what}: ${bytes} bytes exceeds the device's storage-binding limit of ${limit} bytes ` +
        `(maxStorageBufferBindingSize); use a smaller input or process it in tiles`,
      'limit',
    );
  }
}

/** An uninitialised tensor from the context's pool. */
export function createTensor(ctx: GpuContext, shape: Shape, dtype: DType = 'f32', label = 'tensor'): GpuTensor {
  validateShape(shape, label);
  if (dtype === 'f16' && !ctx.hasHalf) throw new Error(`${label}: f16 tensors need an adapter with the shader-f16 feature`);
  const bytes = tensorBytes(shape, dtype);
  checkBindable(ctx, bytes, `${label} ${shapeString(shape)}`);
  return new GpuTensor(ctx, ctx.pool.acquire(bytes, label), shape, dtype, 'pool');
}

/**
 * A tensor holding `data` (length must match the shape). Float data becomes an f32 tensor, or
 * with `half` an f16 one (each value rounded to nearest-even).
 */
export function uploadTensor(
  ctx: GpuContext,
  data: Float32Array | Uint32Array | Int32Array,
  shape: Shape,
  label = 'tensor',
  half = false,
): GpuTensor {
  validateShape(shape, label);
  if (data.length !== numel(shape)) {
    throw new Error(`${label}: ${data.length} values do not fill shape ${shapeString(shape)} (${numel(shape)})`);
  }
  if (half && !(data instanceof Float32Array)) throw new Error(`${label}: only float data can be stored as f16`);
  const dtype: DType = data instanceof Float32Array ? (half ? 'f16' : 'f32') : data instanceof Uint32Array ? 'u32' : 'i32';
  const t = createTensor(ctx, shape, dtype, label);
  writeTensor(ctx, t, data);
  return t;
}

/** Writes host values into a tensor of the same size (f16 tensors take f32 values, rounded). */
export function writeTensor(ctx: GpuContext, t: GpuTensor, data: Float32Array | Uint32Array | Int32Array): void {
  if (data.length !== t.size) throw new Error(`writeTensor: ${data.length} values for ${shapeString(t.shape)}`);
  if (t.byteOffset % 4 !== 0) throw new Error(`writeTensor: tensor ${shapeString(t.shape)} starts mid-word (byte ${t.byteOffset})`);
  const bytes = t.dtype === 'f16' ? toHalfBits(data) : data;
  ctx.device.queue.writeBuffer(t.buffer, t.byteOffset, bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Fills a tensor with one value (tests poison outputs with NaN this way). */
export function fillTensor(ctx: GpuContext, t: GpuTensor, value: number): void {
  // Zero is all-zero bits in every dtype: the GPU clears it without a host array (a training
  // program's gradients and optimiser state are as large as its weights, and filling them from
  // the host cost a new array, Dawn's staging copy and the write, each through fresh memory).
  // Queue order is the same as writeBuffer's: before later submits and writes.
  if (Object.is(value, 0) && t.byteOffset % 4 === 0 && t.byteLength % 4 === 0) {
    const encoder = ctx.device.createCommandEncoder({ label: 'fillTensor: zeros' });
    encoder.clearBuffer(t.buffer, t.byteOffset, t.byteLength);
    ctx.device.queue.submit([encoder.finish()]);
    return;
  }
  const data =
    t.dtype === 'f32' || t.dtype === 'f16' ? new Float32Array(t.size).fill(value)
    : t.dtype === 'u32' ? new Uint32Array(t.size).fill(value)
    : new Int32Array(t.size).fill(value);
  writeTensor(ctx, t, data);
}

/**
 * Item `index` of a batched tensor [N, ...] as a borrowed view [1, ...] of the same buffer
 * (valid as long as the batch is). Binding a view to a kernel needs its offset aligned to the
 * device's minStorageBufferOffsetAlignment (256 bytes); copies and reads take any offset.
 */
export function batchItem(t: GpuTensor, index: number): GpuTensor {
  const n = t.shape[0];
  if (!Number.isInteger(index) || index < 0 || index >= n) throw new Error(`batchItem: index ${index} outside a batch of ${n}`);
  const shape = [1, ...t.shape.slice(1)];
  // Buffers are written and bound in whole 4-byte words: an odd count of halves per item would
  // put every other item mid-word and make writing one item touch its neighbour.
  if (t.dtype === 'f16' && numel(shape) % 2 !== 0) {
    throw new Error(`batchItem: items of an f16 tensor ${shapeString(t.shape)} must hold an even number of values`);
  }
  return new GpuTensor(t.ctx, t.buffer, shape, t.dtype, 'borrowed', t.byteOffset + index * numel(shape) * bytesPerElement(t.dtype));
}

/** Copies one tensor into another of the same size, on the GPU. */
export async function copyTensor(ctx: GpuContext, from: GpuTensor, to: GpuTensor): Promise<void> {
  if (from.byteLength !== to.byteLength) throw new Error(`copyTensor: ${shapeString(from.shape)} into ${shapeString(to.shape)}`);
  await ctx.checked('copyTensor', async () => {
    const encoder = ctx.device.createCommandEncoder({ label: 'copyTensor' });
    encoder.copyBufferToBuffer(from.buffer, from.byteOffset, to.buffer, to.byteOffset, from.byteLength);
    ctx.device.queue.submit([encoder.finish()]);
  });
}

/** Copies a buffer range back to the CPU. */
export async function readBuffer(ctx: GpuContext, buffer: GPUBuffer, byteLength: number, byteOffset = 0): Promise<ArrayBuffer> {
  ctx.assertAlive();
  const size = Math.ceil(byteLength / 4) * 4;
  const staging = ctx.createBuffer(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
  try {
    const encoder = ctx.device.createCommandEncoder({ label: 'readback' });
    encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
    ctx.device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      throw (await ctx.lostError(`reading back ${byteLength} bytes`)) ?? e;
    }
    const copy = staging.getMappedRange().slice(0, byteLength);
    staging.unmap();
    // Bytes mapped from a device that is gone are not to be trusted.
    ctx.assertAlive(`reading back ${byteLength} bytes`);
    return copy;
  } finally {
    ctx.destroyBuffer(staging);
  }
}

/** Staging buffers of read-backs of many tensors stay under this (and the device's maxBufferSize). */
const READBACK_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * Float tensors' values (f16 widened to f32), read back together: their copies into as few
 * staging buffers as fit, one submit and one map for each, rather than a map per tensor (a map
 * is a round trip to the GPU process: about 100 ms in Firefox). With `memory` (the same tensors
 * read again and again), its staging buffer and host arrays serve instead of new ones.
 */
export async function readTensors(ctx: GpuContext, tensors: readonly GpuTensor[], memory?: ReadBackMemory): Promise<Float32Array[]> {
  for (const t of tensors) if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new Error(`readTensors: a tensor is ${t.dtype}; use readTensorU32`);
  if (tensors.length === 0) return [];
  const padded = (t: GpuTensor): number => Math.ceil(t.byteLength / 4) * 4;
  const limit = Math.min(READBACK_CHUNK_BYTES, ctx.device.limits.maxBufferSize);
  // Runs of tensors whose padded sizes fit one staging buffer (at least one, however large).
  const chunks: { from: number; to: number; offsets: number[]; size: number }[] = [];
  for (let i = 0; i < tensors.length; ) {
    const offsets: number[] = [];
    let size = 0;
    let j = i;
    do {
      offsets.push(size);
      size += padded(tensors[j]);
      j++;
    } while (j < tensors.length && size + padded(tensors[j]) <= limit);
    chunks.push({ from: i, to: j, offsets, size });
    i = j;
  }
  // A device found lost as the read begins (creating its staging buffer) is named as one lost during it.
  ctx.assertAlive(`reading back ${chunks.reduce((n, c) => n + c.size, 0)} bytes`);
  if (!memory) {
    const out: Float32Array[] = new Array(tensors.length);
    for (const c of chunks) {
      if (c.to === c.from + 1) out[c.from] = await readTensor(ctx, tensors[c.from]);
      else await readChunk(ctx, tensors, c, ctx.createBuffer(c.size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback'), out, true);
    }
    return out;
  }
  const out = memory.nextArrays(tensors.map((t) => t.size));
  const staging = memory.stagingBuffer(Math.max(0, ...chunks.map((c) => c.size)));
  for (const c of chunks) await readChunk(ctx, tensors, c, staging, out, false);
  return out;
}

/**
 * One chunk of readTensors: the tensors' copies into `staging` at their offsets, one map, and
 * their values into `out` (into the arrays there when `fresh` is false; `fresh` also destroys
 * the staging buffer after).
 */
async function readChunk(
  ctx: GpuContext,
  tensors: readonly GpuTensor[],
  c: { from: number; to: number; offsets: number[]; size: number },
  staging: GPUBuffer,
  out: Float32Array[],
  fresh: boolean,
): Promise<void> {
  try {
    ctx.assertAlive(`reading back ${c.size} bytes`);
    const encoder = ctx.device.createCommandEncoder({ label: 'readback' });
    for (let k = c.from; k < c.to; k++) encoder.copyBufferToBuffer(tensors[k].buffer, tensors[k].byteOffset, staging, c.offsets[k - c.from], Math.ceil(tensors[k].byteLength / 4) * 4);
    ctx.device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, c.size);
    } catch (e) {
      throw (await ctx.lostError(`reading back ${c.size} bytes`)) ?? e;
    }
    const mapped = staging.getMappedRange(0, c.size);
    for (let k = c.from; k < c.to; k++) {
      const t = tensors[k];
      const at = c.offsets[k - c.from];
      if (fresh) out[k] = tensorValues(mapped.slice(at, at + t.byteLength), t) as Float32Array;
      else if (t.dtype === 'f16') fromHalfBits(new Uint16Array(mapped, at, t.size), t.size, out[k]);
      else out[k].set(new Float32Array(mapped, at, t.size));
    }
    staging.unmap();
    ctx.assertAlive(`reading back ${c.size} bytes`);
  } finally {
    if (fresh) ctx.destroyBuffer(staging);
  }
}

/** Host values of a float tensor from its bytes (f16 widened to f32), or of a u32 one. */
export function tensorValues(bytes: ArrayBuffer, t: GpuTensor): Float32Array | Uint32Array {
  if (t.dtype === 'f16') return fromHalfBits(new Uint16Array(bytes), t.size);
  if (t.dtype === 'u32') return new Uint32Array(bytes, 0, t.size);
  if (t.dtype === 'f32') return new Float32Array(bytes, 0, t.size);
  throw new Error(`tensor ${shapeString(t.shape)} is ${t.dtype}: no host form for it`);
}

/** A float tensor's values (f16 widened to f32). */
export async function readTensor(ctx: GpuContext, t: GpuTensor): Promise<Float32Array> {
  if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new Error(`readTensor: tensor is ${t.dtype}; use readTensorU32`);
  return tensorValues(await readBuffer(ctx, t.buffer, t.byteLength, t.byteOffset), t) as Float32Array;
}

export async function readTensorU32(ctx: GpuContext, t: GpuTensor): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(ctx, t.buffer, t.byteLength, t.byteOffset));
}
