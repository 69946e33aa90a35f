// Worker threads that decode and augment training samples in parallel, so a fast GPU is not
// left waiting on one CPU core (decoding, resizing and cropping 8 images takes about half a
// second on one core). The threads are piscina's: it queues samples for the next free worker, and
// when a worker dies (an uncaught error, memory exhausted, process.exit, a native crash) it
// rejects the sample that worker was making and starts a new worker in its place. Such a sample is
// made once more on the new worker; a second death is an error naming the image and the cause.
// Idle workers do not keep the process alive, so a pool that is never closed does not hang it.
import { Piscina } from 'piscina';
import type { Sample, SampleSpec } from './sample.js';
import type { WorkerAnswer } from './sample-worker.js';

/** How long close() waits for the samples being made before it terminates the workers. */
const STOP_GRACE_MS = 30_000;

/** The worker module that makes the samples (a test gives one that dies on purpose). */
export const SAMPLE_WORKER = new URL('./sample-worker.js', import.meta.url);

/** A sample whose worker thread died under it, twice: the image and what killed the worker. */
export class SampleWorkerError extends Error {
  constructor(
    readonly imagePath: string,
    readonly causes: string[],
  ) {
    super(`sample pool: a worker died twice making the sample of ${imagePath} (${causes.join('; then ')})`);
  }
}

export class SamplePool {
  private readonly pool: Piscina;
  private closed = false;
  private deaths = 0;

  constructor(size: number, workerModule: URL = SAMPLE_WORKER) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`sample pool: size must be a positive integer, got ${size}`);
    this.pool = new Piscina({ filename: workerModule.href, minThreads: size, maxThreads: size, idleTimeout: Infinity, closeTimeout: STOP_GRACE_MS });
    // A worker that dies between samples: piscina has already replaced it, nothing was lost.
    this.pool.on('error', () => this.deaths++);
  }

  get size(): number {
    return this.pool.options.maxThreads;
  }

  /** Worker threads now running (none once closed). */
  get running(): number {
    return this.pool.threads.length;
  }

  /** Workers that died, replaced by the pool (a sample they were making retried once). */
  get workerDeaths(): number {
    return this.deaths;
  }

  /** Makes one sample on the next free worker. */
  async make(spec: SampleSpec): Promise<Sample> {
    const causes: string[] = [];
    for (;;) {
      if (this.closed) throw new Error('sample pool: closed');
      let answer: WorkerAnswer;
      try {
        answer = await this.pool.run(spec);
      } catch (e) {
        // The worker died (a failed sample is an answer, not a rejection), or close() dropped
        // the sample before a worker took it.
        if (this.closed) throw new Error('sample pool: closed before the sample was made');
        this.deaths++;
        causes.push((e as Error).message);
        if (causes.length === 2) throw new SampleWorkerError(spec.imagePath, causes);
        continue;
      }
      if ('error' in answer) throw new Error(answer.error);
      return answer.sample;
    }
  }

  /**
   * Ends the workers: samples not yet started are dropped (rejected), those being made are
   * finished (their results dropped), then the idle threads end. A thread is never terminated in
   * the middle of a sample before STOP_GRACE_MS: that can abort the process (see sample-worker.ts).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close({ force: true });
  }
}
