// Reuses storage buffers of the same byte size between calls (for example 200 `segment`
// calls on images of one size allocate once). Buffers are only handed out again after they
// are released; `clear()` destroys everything idle.

export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

function roundSize(bytes: number): number {
  return Math.max(256, Math.ceil(bytes / 256) * 256);
}

/** What the pool needs of its owner (the GpuContext, which counts every buffer). */
export interface BufferAllocator {
  createBuffer(size: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer;
  destroyBuffer(buffer: GPUBuffer): void;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private idle = 0;

  constructor(private readonly ctx: BufferAllocator) {}

  /** A storage buffer of at least `bytes` bytes. */
  acquire(bytes: number, label?: string): GPUBuffer {
    const size = roundSize(bytes);
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.idle--;
      return reused;
    }
    return this.ctx.createBuffer(size, STORAGE_USAGE, label);
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buffer);
    this.idle++;
  }

  /** Number of idle buffers kept for reuse. */
  get idleCount(): number {
    return this.idle;
  }

  clear(): void {
    for (const list of this.free.values()) for (const b of list) this.ctx.destroyBuffer(b);
    this.free.clear();
    this.idle = 0;
  }
}
