// Training batches, reproducible from a seed: the sample order of each epoch and the
// augmentation of each sample depend only on (seed, epoch, position), so batch k is the same
// whether or not the run was stopped and resumed before it. Decoding and augmenting the next
// batch starts (prefetch) while the GPU works on this one.
import { readImage } from '../io/image.js';
import { normalizeImagenet, normalizeToMinusOneOne } from '../io/resize-cpu.js';
import { Rng } from '../util/random.js';
import { type AugmentOptions, augment } from './augment.js';
import { type Dataset, readLabel } from './dataset.js';

export interface LoaderOptions extends Omit<AugmentOptions, 'ignoreIndex'> {
  /** Images per batch. */
  batch: number;
  seed: number;
  normalization: 'imagenet' | 'minus_one_one';
  /**
   * Bootstrapping (paper Sec. 4.5): images holding any of these classes appear `repeatFactor`
   * times per epoch.
   */
  repeatClasses?: number[];
  repeatFactor?: number;
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
  private readonly pool: number[];
  private readonly pending = new Map<number, Promise<Batch>>();

  constructor(
    readonly data: Dataset,
    readonly o: LoaderOptions,
  ) {
    if (!Number.isInteger(o.batch) || o.batch < 1) throw new Error(`loader: batch must be a positive integer, got ${o.batch}`);
    this.pool = data.items.map((_, i) => i);
    const repeat = o.repeatClasses ?? [];
    if (repeat.length && (o.repeatFactor ?? 1) > 1) {
      for (const [i, item] of data.items.entries()) {
        const label = readLabel(item.labelPath, data.classes.names.length, data.ignoreIndex);
        if (label.indices.some((v) => repeat.includes(v))) for (let k = 1; k < o.repeatFactor!; k++) this.pool.push(i);
      }
    }
  }

  /** Samples per epoch (repeats included). */
  get epochLength(): number {
    return this.pool.length;
  }

  /** The dataset index and augmentation generator of the n-th sample of the run. */
  private sample(n: number): { index: number; rng: Rng } {
    const epoch = Math.floor(n / this.pool.length);
    const order = Rng.derive(this.o.seed, 0xe90c, epoch).permutation(this.pool.length);
    return { index: this.pool[order[n % this.pool.length]], rng: Rng.derive(this.o.seed, 0xa06, n) };
  }

  private make(k: number): Batch {
    const { batch, crop } = this.o;
    const images = new Float32Array(batch * crop * crop * 3);
    const labels = new Uint32Array(batch * crop * crop);
    const ids: string[] = [];
    for (let b = 0; b < batch; b++) {
      const { index, rng } = this.sample(k * batch + b);
      const item = this.data.items[index];
      const label = readLabel(item.labelPath, this.data.classes.names.length, this.data.ignoreIndex);
      const a = augment(readImage(item.imagePath), label, rng, { ...this.o, ignoreIndex: this.data.ignoreIndex });
      images.set(this.o.normalization === 'imagenet' ? normalizeImagenet(a.image) : normalizeToMinusOneOne(a.image), b * crop * crop * 3);
      labels.set(a.label.indices, b * crop * crop);
      ids.push(item.id);
    }
    return { images, labels, ids };
  }

  /** Starts preparing batch k on the event loop (after the current synchronous work). */
  prefetch(k: number): void {
    if (this.pending.has(k)) return;
    this.pending.set(k, new Promise((resolve, reject) => setImmediate(() => {
      try {
        resolve(this.make(k));
      } catch (e) {
        reject(e);
      }
    })));
  }

  /** Batch k of the run. */
  async batch(k: number): Promise<Batch> {
    this.prefetch(k);
    const b = this.pending.get(k)!;
    this.pending.delete(k);
    return b;
  }
}
