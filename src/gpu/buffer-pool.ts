// Reuses storage buffers of the same byte size between calls (for example 200 `segment`
// calls on images of one size allocate once). Buffers are only handed out again after they
// are released; `clear()` destroys everything idle. `stats` counts what the pool has handed
// out and what it keeps idle (long-run tests assert both stay flat).

export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

function roundSize(bytes: number): number {
  return Math.max(256, Math.ceil(bytes / 256) * 256);
}

/** What the pool needs of its owner (the GpuContext, which counts every buffer). */
export interface BufferAllocator {
  createBuffer(size: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer;
  destroyBuffer(buffer: GPUBuffer): void;
  /** A pooled buffer handed out again, for what `label` names (the owner's leak reports). */
  reuseBuffer(buffer: GPUBuffer, label?: string): void;
  /** Whether `buffer` lives on the owner's current device (not one lost since). */
  holds(buffer: GPUBuffer): boolean;
}

/** The pool's own accounting, in buffers and bytes (sizes as allocated: multiples of 256). */
export interface PoolStats {
  /** Handed out by acquire() and not yet released. */
  inUse: number;
  inUseBytes: number;
  /** Kept idle for reuse. */
  idle: number;
  idleBytes: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private idle = 0;
  private idleBytes = 0;
  private inUse = 0;
  private inUseBytes = 0;

  constructor(private readonly ctx: BufferAllocator) {}

  /** A storage buffer of at least `bytes` bytes. */
  acquire(bytes: number, label?: string): GPUBuffer {
    const size = roundSize(bytes);
    const list = this.free.get(size);
    const reused = list?.pop();
    const buffer = reused ?? this.ctx.createBuffer(size, STORAGE_USAGE, label);
    if (reused) {
      this.ctx.reuseBuffer(reused, label);
      this.idle--;
      this.idleBytes -= size;
    }
    this.inUse++;
    this.inUseBytes += size;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    // A buffer of a device lost since is no use to anyone.
    if (!this.ctx.holds(buffer)) return buffer.destroy();
    const size = buffer.size;
    let list = this.free.get(size);
    if (!list) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buffer);
    this.idle++;
    this.idleBytes += size;
    this.inUse--;
    this.inUseBytes -= size;
  }

  /** Takes back a buffer handed out, destroying it rather than keeping it (long-lived buffers: a disposed model's weights). */
  discard(buffer: GPUBuffer): void {
    if (!this.ctx.holds(buffer)) return buffer.destroy();
    this.inUse--;
    this.inUseBytes -= buffer.size;
    this.ctx.destroyBuffer(buffer);
  }

  /** After the device was lost: its buffers, idle or handed out, count no more. */
  forget(): void {
    this.free.clear();
    [this.idle, this.idleBytes, this.inUse, this.inUseBytes] = [0, 0, 0, 0];
  }

  /** Number of idle buffers kept for reuse. */
  get idleCount(): number {
    return this.idle;
  }

  /** Whether `buffer` is kept idle here (not handed out). */
  isIdle(buffer: GPUBuffer): boolean {
    return this.free.get(buffer.size)?.includes(buffer) ?? false;
  }

  /** A snapshot of the counts (read-only: a new object each call). */
  get stats(): PoolStats {
    return { inUse: this.inUse, inUseBytes: this.inUseBytes, idle: this.idle, idleBytes: this.idleBytes };
  }

  clear(): void {
    for (const list of this.free.values()) for (const b of list) this.ctx.destroyBuffer(b);
    this.free.clear();
    this.idle = 0;
    this.idleBytes = 0;
  }
}
