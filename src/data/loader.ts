// Training batches, reproducible from a seed: the sample order of each epoch and the
// augmentation of each sample depend only on (seed, epoch, position), so batch k is the same
// whether or not the run was stopped and resumed before it. Decoding and augmenting the next
// batch starts (prefetch) while the GPU works on this one, on worker threads where there are
// cores to spare.
import { availableParallelism } from 'node:os';
import { Rng } from '../util/random.js';
import type { InputNormalizationName } from '../io/input-normalization.js';
import type { AugmentOptions } from './augment.js';
import type { Dataset } from './dataset.js';
import { type Sample, type SampleSpec, makeSample } from './sample.js';
import { SamplePool } from './sample-pool.js';

export interface LoaderOptions extends Omit<AugmentOptions, 'ignoreIndex'> {
  /** Images per batch. */
  batch: number;
  seed: number;
  normalization: InputNormalizationName;
  /**
   * Bootstrapping (paper Sec. 4.5): images holding any of these classes appear `repeatFactor`
   * times per epoch.
   */
  repeatClasses?: number[];
  repeatFactor?: number;
  /**
   * Worker threads that make samples (default: one per core but one, at most 8); 0 makes them
   * on the main thread between GPU submissions.
   */
  workers?: number;
  /** The module the worker threads run (default SAMPLE_WORKER; a test gives one that dies). */
  sampleWorker?: URL;
}

export function defaultLoaderWorkers(): number {
  return Math.max(0, Math.min(8, availableParallelism() - 1));
}

export interface Batch {
  /** [B, crop, crop, 3] normalised, NHWC. */
  images: Float32Array;
  /** [B, crop, crop] class ids or the ignore index. */
  labels: Uint32Array;
  ids: string[];
}

export class TrainLoader {
  /** Dataset indices in one epoch (with repeats), before shuffling. */
  private readonly order: number[];
  private readonly pending = new Map<number, Promise<Batch>>();
  private readonly pool: SamplePool | null;

  constructor(
    readonly data: Dataset,
    readonly o: LoaderOptions,
  ) {
    if (!Number.isInteger(o.batch) || o.batch < 1) throw new Error(`loader: batch must be a positive integer, got ${o.batch}`);
    this.order = data.items.map((_, i) => i);
    const repeat = o.repeatClasses ?? [];
    if (repeat.length && (o.repeatFactor ?? 1) > 1) {
      for (const [i, item] of data.items.entries()) {
        const label = data.readLabel(item.labelPath);
        if (label.indices.some((v) => repeat.includes(v))) for (let k = 1; k < o.repeatFactor!; k++) this.order.push(i);
      }
    }
    const workers = o.workers ?? defaultLoaderWorkers();
    if (!Number.isInteger(workers) || workers < 0) throw new Error(`loader: workers must be a non-negative integer, got ${workers}`);
    this.pool = workers > 0 ? new SamplePool(workers, o.sampleWorker) : null;
  }

  /** Samples per epoch (repeats included). */
  get epochLength(): number {
    return this.order.length;
  }

  /** Worker threads making samples (0: the main thread). */
  get workers(): number {
    return this.pool?.size ?? 0;
  }

  /** What the n-th sample of the run is made from. */
  private spec(n: number): { id: string; spec: SampleSpec } {
    const epoch = Math.floor(n / this.order.length);
    const perm = Rng.derive(this.o.seed, 0xe90c, epoch).permutation(this.order.length);
    const item = this.data.items[this.order[perm[n % this.order.length]]];
    const { batch: _b, repeatClasses: _r, repeatFactor: _f, workers: _w, sampleWorker: _m, ...augmentation } = this.o;
    return {
      id: item.id,
      spec: { ...augmentation, imagePath: item.imagePath, labelPath: item.labelPath, labels: this.data.labels, ignoreIndex: this.data.ignoreIndex, n },
    };
  }

  private async make(k: number): Promise<Batch> {
    const { batch, crop } = this.o;
    const specs = Array.from({ length: batch }, (_, b) => this.spec(k * batch + b));
    const samples: Sample[] = this.pool
      ? await Promise.all(specs.map((s) => this.pool!.make(s.spec)))
      : await Promise.all(specs.map((s) => makeSample(s.spec)));
    const images = new Float32Array(batch * crop * crop * 3);
    const labels = new Uint32Array(batch * crop * crop);
    samples.forEach((s, b) => {
      images.set(s.image, b * crop * crop * 3);
      labels.set(s.label, b * crop * crop);
    });
    return { images, labels, ids: specs.map((s) => s.id) };
  }

  /**
   * Starts preparing batch k: on the workers at once, or on the main thread after the current
   * synchronous work.
   */
  prefetch(k: number): void {
    if (this.pending.has(k)) return;
    const batch = this.pool ? this.make(k) : new Promise<Batch>((resolve, reject) => setImmediate(() => this.make(k).then(resolve, reject)));
    batch.catch(() => {}); // surfaced by batch(k); an unawaited prefetch must not crash the process
    this.pending.set(k, batch);
  }

  /** Batch k of the run. */
  async batch(k: number): Promise<Batch> {
    this.prefetch(k);
    const b = this.pending.get(k)!;
    this.pending.delete(k);
    return b;
  }

  /** Ends the worker threads. */
  async close(): Promise<void> {
    this.pending.clear();
    await this.pool?.close();
  }
}
