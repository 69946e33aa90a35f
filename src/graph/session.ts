// A Session owns the GPU copies of a network's state: parameters, batch-norm statistics and
// derived tensors (BN-folded weights), by name. Programs compiled for any input size or batch
// bind these buffers, so one upload serves them all, and whatever changes them on the GPU
// (training, an upload) is what every program and `download` sees.
//
// Derived tensors are recomputed lazily: every upload bumps `version`, and a program runs its
// derive dispatches before its next run when the tensors it reads were derived at an older one.
import type { GpuContext } from '../gpu/context.js';
import { type Dispatch, disposeDispatch, encodeDispatches } from '../gpu/dispatch.js';
import { type QuantizedValues, packedWords, prepareDequantize, quantizedCount } from '../kernels/quantize/dequantize.js';
import type { ReadBackMemory } from '../gpu/read-back-memory.js';
import { type GpuTensor, createTensor, fillTensor, readTensor, readTensors, shapeString } from '../gpu/tensor.js';
import type { Graph, StateRole, Value } from './ir.js';
import { ZERO_INITIALISED } from './value.js';
import { shapeEq } from './ir.js';
import { type HostParams, checkParams, storedState } from './params.js';

export class Session {
  private disposed = false;
  private readonly tensors = new Map<string, GpuTensor>();
  private readonly derivedAt = new Map<string, number>();
  private versionValue = 0;

  private constructor(private readonly ctx: GpuContext, readonly label: string) {}

  /**
   * Checks `host` against the graph's stored state (every tensor named in one error), then
   * uploads it; `checked` skips a check the caller has made on this graph already.
   */
  static create(ctx: GpuContext, graph: Graph, host: HostParams, label = 'model', opts: { checked?: boolean } = {}): Session {
    if (!opts.checked) checkParams(graph, host, label);
    const s = new Session(ctx, label);
    const widen: Dispatch[] = [];
    try {
      for (const v of storedState(graph)) {
        const t = host.get(v.name)!;
        if (t.quantized) widen.push(s.uploadQuantized(v.name, t.quantized, v.shape));
        else s.upload(v.name, t.data, v.shape);
      }
      s.submitWidening(widen);
    } catch (e) {
      s.dispose();
      throw e;
    } finally {
      // Buffers destroyed after a submission live until it has run.
      for (const d of widen) disposeDispatch(ctx, d);
    }
    return s;
  }

  /** Bumped by every upload; derived tensors older than it are recomputed before use. */
  get version(): number {
    return this.versionValue;
  }

  /** Writes a tensor (created on first upload; a later one must keep the shape). */
  upload(name: string, data: Float32Array, shape: readonly number[]): void {
    this.assertUsable();
    let t = this.tensors.get(name);
    if (t && !shapeEq(t.shape, shape)) throw new Error(`${this.label}: ${name} is ${shapeString(t.shape)}, cannot upload ${shapeString(shape)}`);
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`${this.label}: ${name}: ${data.length} values for ${shapeString(shape)}`);
    if (!t) {
      t = createTensor(this.ctx, shape, 'f32', name);
      this.tensors.set(name, t);
    }
    this.ctx.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    this.versionValue++;
  }

  /**
   * Creates a tensor from compact values (a quantized checkpoint's): uploads the packed bytes
   * and returns the dispatch that widens them into the tensor, which owns the packed buffer.
   */
  private uploadQuantized(name: string, q: QuantizedValues, shape: readonly number[]): Dispatch {
    if (this.tensors.has(name)) throw new Error(`${this.label}: ${name} uploaded twice`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (quantizedCount(q) !== count) throw new Error(`${this.label}: ${name}: ${quantizedCount(q)} values for ${shapeString(shape)}`);
    const t = createTensor(this.ctx, shape, 'f32', name);
    this.tensors.set(name, t);
    const words = packedWords(q);
    const packed = this.ctx.createBuffer(words.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, `${name}:packed`);
    this.ctx.device.queue.writeBuffer(packed, 0, words.buffer, words.byteOffset, words.byteLength);
    const owned = [packed];
    let scales: GPUBuffer | undefined;
    if (q.kind === 'int8') {
      scales = this.ctx.createBuffer(q.scales.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, `${name}:scales`);
      this.ctx.device.queue.writeBuffer(scales, 0, q.scales.buffer, q.scales.byteOffset, q.scales.byteLength);
      owned.push(scales);
    }
    try {
      const d = prepareDequantize(this.ctx, { kind: q.kind, packed, scales, channels: q.kind === 'int8' ? q.scales.length : undefined, out: t });
      return { ...d, ownedBuffers: owned };
    } catch (e) {
      for (const b of owned) this.ctx.destroyBuffer(b);
      throw e;
    }
  }

  /** Submits the widening dispatches in one command buffer: queue order puts them before any pass that reads the tensors. */
  private submitWidening(dispatches: readonly Dispatch[]): void {
    if (dispatches.length === 0) return;
    const encoder = this.ctx.device.createCommandEncoder({ label: `${this.label}: widen quantized weights` });
    const pass = encoder.beginComputePass({ label: 'dequantize' });
    encodeDispatches(pass, dispatches);
    pass.end();
    this.ctx.device.queue.submit([encoder.finish()]);
    this.versionValue++;
  }

  /** The buffer of a state value; derived tensors are allocated on first request. */
  tensor(v: Value): GpuTensor {
    this.assertUsable();
    const t = this.tensors.get(v.name);
    if (t) {
      if (!shapeEq(t.shape, v.shape)) throw new Error(`${this.label}: ${v.name} is ${shapeString(t.shape)}, the graph wants ${shapeString(v.shape)}`);
      return t;
    }
    if (!ZERO_INITIALISED.includes(v.role!)) throw new Error(`${this.label}: no parameter named ${v.name}`);
    const made = createTensor(this.ctx, v.shape, v.dtype, v.name);
    fillTensor(this.ctx, made, 0);
    this.tensors.set(v.name, made);
    return made;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Records that state changed on the GPU (an optimizer step): derived tensors go stale. */
  markChanged(): void {
    this.versionValue++;
  }

  /** True when every named derived tensor was computed at the current version. */
  derivedFresh(names: readonly string[]): boolean {
    return names.every((n) => this.derivedAt.get(n) === this.versionValue);
  }

  markDerived(names: readonly string[]): void {
    for (const n of names) this.derivedAt.set(n, this.versionValue);
  }

  /** Reads one tensor back. */
  async download(name: string): Promise<Float32Array> {
    this.assertUsable();
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.label}: no parameter named ${name}`);
    return readTensor(this.ctx, t);
  }

  /**
   * Reads back the graph's state of the given roles (default: parameters and statistics, what a
   * checkpoint's weights are); tensors never created (optimizer state before a step) are skipped.
   */
  async downloadAll(graph: Graph, roles: readonly StateRole[] = ['param', 'statistic']): Promise<HostParams> {
    return this.downloadState([{ graph, roles }]);
  }

  /**
   * downloadAll over several graphs' state in one read (each value once): with `memory`, the
   * read of the same state again and again reuses its staging buffer and host arrays.
   */
  async downloadState(parts: readonly { graph: Graph; roles: readonly StateRole[] }[], memory?: ReadBackMemory): Promise<HostParams> {
    this.assertUsable();
    const byName = new Map<string, Value>();
    for (const { graph, roles } of parts) for (const v of graph.state) if (roles.includes(v.role!) && this.tensors.has(v.name)) byName.set(v.name, v);
    const values = [...byName.values()];
    const data = await readTensors(this.ctx, values.map((v) => this.tensors.get(v.name)!), memory);
    return new Map(values.map((v, i) => [v.name, { shape: [...v.shape], data: data[i] }]));
  }

  /** Bytes of GPU memory the session holds: its buffers' sizes (the pool rounds some up), each buffer once. */
  get byteLength(): number {
    let n = 0;
    for (const b of new Set([...this.tensors.values()].map((t) => t.buffer))) n += b.size;
    return n;
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error(`${this.label}: session used after dispose()`);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Destroyed, not pooled: on a shared context a disposed model's weights would otherwise stay
    // on the device as idle buffers of sizes little else asks for.
    for (const t of this.tensors.values()) t.destroy();
    this.tensors.clear();
  }
}
