// Memory kept for reading the same tensors back again and again (a trainer keeps its state on the
// host after every step, to replay a step on a new device): one staging buffer, reused for every
// chunk of every read, and two sets of host arrays used in turn, so that a read never writes
// into the set the last complete read returned (a lost device mid-read leaves that set whole).
//
// Fresh memory is dear on software adapters: every new page faults in (about 4 ms a MiB on
// lavapipe, for a new staging buffer and a new array alike; docs/testing.md), and each read of
// a network's state used to take its whole size of both, every step.
import type { GpuContext } from './context.js';

const MAP_READ = 0x0001;
const COPY_DST = 0x0008;

export class ReadBackMemory {
  private staging: GPUBuffer | null = null;
  private readonly sets: (Float32Array[] | undefined)[] = [undefined, undefined];
  private turn = 0;

  constructor(private readonly ctx: GpuContext) {}

  /** A mappable staging buffer of at least `size` bytes on the context's current device. */
  stagingBuffer(size: number): GPUBuffer {
    if (this.staging && (this.staging.size < size || !this.ctx.holds(this.staging))) this.releaseStaging();
    this.staging ??= this.ctx.createBuffer(size, MAP_READ | COPY_DST, 'readback (kept for the next read)');
    return this.staging;
  }

  /** Host arrays of these lengths for the next read: not the set the last read returned. */
  nextArrays(lengths: readonly number[]): Float32Array[] {
    const turn = this.turn;
    this.turn ^= 1;
    const set = this.sets[turn];
    if (set && set.length === lengths.length && set.every((a, i) => a.length === lengths[i])) return set;
    return (this.sets[turn] = lengths.map((n) => new Float32Array(n)));
  }

  /** Frees the staging buffer and forgets the host arrays (those handed out stay their holders'). */
  destroy(): void {
    this.releaseStaging();
    this.sets.fill(undefined);
  }

  private releaseStaging(): void {
    if (!this.staging) return;
    // A buffer of a device lost since is gone with it: the context no longer counts it.
    if (this.ctx.holds(this.staging)) this.ctx.destroyBuffer(this.staging);
    else this.staging.destroy();
    this.staging = null;
  }
}
