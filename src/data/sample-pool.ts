// Worker threads that decode and augment training samples in parallel, so a fast GPU is not
// left waiting on one CPU core (decoding, resizing and cropping 8 images takes about half a
// second on one core). A worker keeps the process alive only while it owes a sample, so a pool
// that is never closed does not hang the process; close() ends them.
import { Worker } from 'node:worker_threads';
import type { Sample, SampleSpec } from './sample.js';

/** How long close() waits for a worker to finish its sample and exit before terminating it. */
const STOP_GRACE_MS = 30_000;

interface Pending {
  resolve: (s: Sample) => void;
  reject: (e: Error) => void;
  worker: Worker;
}

export class SamplePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private next = 0;
  private closed = false;
  private readonly exited = new Set<Worker>();
  private terminated = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`sample pool: size must be a positive integer, got ${size}`);
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./sample-worker.js', import.meta.url));
      w.on('message', (m: { id: number; sample?: Sample; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        this.release(p.worker);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.sample!);
      });
      w.on('error', (e) => this.failAll(`sample pool: a worker failed: ${e.message}`));
      w.on('exit', () => this.exited.add(w));
      w.unref();
      this.workers.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Workers whose threads are still running. */
  get running(): number {
    return this.workers.length - this.exited.size;
  }

  /** Workers close() had to terminate (still running after its grace period). */
  get terminatedCount(): number {
    return this.terminated;
  }

  /** Makes one sample on the next worker (round robin: samples are about equally costly). */
  make(spec: SampleSpec): Promise<Sample> {
    if (this.closed) return Promise.reject(new Error('sample pool: closed'));
    const id = this.nextId++;
    const worker = this.workers[this.next++ % this.workers.length];
    worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      worker.postMessage({ id, spec });
    });
  }

  /** Lets the process exit while a worker owes nothing. */
  private release(worker: Worker): void {
    for (const p of this.pending.values()) if (p.worker === worker) return;
    worker.unref();
  }

  private failAll(message: string): void {
    const owed = [...this.pending.values()];
    this.pending.clear();
    for (const p of owed) {
      p.reject(new Error(message));
      this.release(p.worker);
    }
  }

  /**
   * Ends the workers: each finishes the sample it is making (its result is dropped) and exits by
   * itself. Terminating a thread mid-decode can abort the process (see sample-worker.ts), so
   * terminate() is only the last resort for a worker still running after `graceMs`.
   */
  async close(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll('sample pool: closed before the sample was made');
    await Promise.all(
      this.workers.map(async (w) => {
        if (this.exited.has(w)) return;
        const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
        // Referenced, so the process waits for the exit rather than tearing the thread down.
        w.ref();
        w.postMessage({ stop: true });
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
        if ((await Promise.race([exited, late])) === 'late') {
          this.terminated++;
          await w.terminate();
        }
        clearTimeout(timer);
      }),
    );
  }
}
