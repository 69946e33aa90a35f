// The buffers a GpuContext made and has not destroyed, each with the serial number of its latest
// use (its creation, or the pool handing it out again) and what that use calls it: the counts the
// leak checks read, and the labels of what was left alive.
export class BufferLedger {
  private readonly live = new Map<GPUBuffer, { serial: number; label: string }>();
  /** Buffer uses so far: the serial number of the next one. */
  private uses = 0;

  /** A buffer just made, as `label`. */
  add(buffer: GPUBuffer, label: string): void {
    this.live.set(buffer, { serial: this.uses++, label });
  }

  /** A buffer handed out again, as `label` (its old label where none is given). */
  reuse(buffer: GPUBuffer, label?: string): void {
    const use = this.live.get(buffer);
    if (use) this.live.set(buffer, { serial: this.uses++, label: label ?? use.label });
  }

  delete(buffer: GPUBuffer): void {
    this.live.delete(buffer);
  }

  has(buffer: GPUBuffer): boolean {
    return this.live.has(buffer);
  }

  /** Forgets every buffer (their device is gone). */
  clear(): void {
    this.live.clear();
  }

  get count(): number {
    return this.live.size;
  }

  get bytes(): number {
    let n = 0;
    for (const b of this.live.keys()) n += b.size;
    return n;
  }

  /** How many uses so far: a mark for labelsSince. */
  get serial(): number {
    return this.uses;
  }

  /** The labels of the buffers put to use since `serial` that `held` says are held. */
  labelsSince(serial: number, held: (b: GPUBuffer) => boolean): string[] {
    return [...this.live].filter(([b, use]) => use.serial >= serial && held(b)).map(([, use]) => use.label);
  }
}
