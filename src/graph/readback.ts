// Reading a program's outputs back to the host: mappable copies of the outputs, made on the first
// read and kept, filled by copies recorded in the pass's own command buffer (so the host waits
// once), then mapped and read.
import type { GpuContext } from '../gpu/context.js';
import { type GpuTensor, tensorValues } from '../gpu/tensor.js';
import { bufferBytes } from './program-memory.js';

export class Readback {
  private staging: Map<string, GPUBuffer> | null = null;

  constructor(
    private readonly ctx: GpuContext,
    private readonly outputs: readonly { name: string; t: GpuTensor }[],
  ) {}

  /** Records the copies of the outputs into their mappable buffers. */
  encodeCopies(encoder: GPUCommandEncoder): void {
    if (!this.staging) {
      this.staging = new Map();
      for (const { name, t } of this.outputs) {
        this.staging.set(name, this.ctx.createBuffer(t.byteLength, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `${name}:readback`));
      }
    }
    for (const { name, t } of this.outputs) encoder.copyBufferToBuffer(t.buffer, t.byteOffset, this.staging.get(name)!, 0, t.byteLength);
  }

  /** The copied outputs, once the work that copied them is done; no buffer stays mapped, even on failure. */
  async read(): Promise<Map<string, Float32Array | Uint32Array>> {
    const staging = this.staging!;
    const mapped = await Promise.allSettled(this.outputs.map(({ name }) => staging.get(name)!.mapAsync(GPUMapMode.READ)));
    const failed = mapped.find((m): m is PromiseRejectedResult => m.status === 'rejected');
    if (failed) {
      // Leave no buffer mapped: the next run copies into them.
      for (const b of staging.values()) if (b.mapState === 'mapped') b.unmap();
      throw failed.reason;
    }
    const out = new Map<string, Float32Array | Uint32Array>();
    for (const { name, t } of this.outputs) {
      const buffer = staging.get(name)!;
      const bytes = buffer.getMappedRange().slice(0, t.byteLength);
      buffer.unmap();
      out.set(name, tensorValues(bytes, t));
    }
    return out;
  }

  /** GPU bytes of the mappable copies (none before the first read). */
  get bytes(): number {
    return bufferBytes(this.staging?.values() ?? []);
  }

  destroy(): void {
    for (const b of this.staging?.values() ?? []) this.ctx.destroyBuffer(b);
    this.staging = null;
  }
}
