// The GPU's DeviceTensors: tensors from the context's pool, and tiled inference's accumulator
// on the GPU (the blend kernels, src/kernels/tiles/tile-blend.ts): windows are added there and
// only finished rows' labels (and probabilities, when asked for) are read back.
import type { GpuContext } from '../../../gpu/context.js';
import { GpuError } from '../../../gpu/context.js';
import { runOnce } from '../../../gpu/dispatch.js';
import { type GpuTensor, batchItem, copyTensor, createTensor, fillTensor, readBuffer, readTensor, tensorBytes, uploadTensor } from '../../../gpu/tensor.js';
import { prepareTileBlend, prepareTileFinalize } from '../../../kernels/tiles/tile-blend.js';
import type { DeviceTensor, DeviceTensors, TileAccumulator } from '../device.js';
import { gpuTensor } from './gpu-program.js';

/** The accumulator must be bindable: one window's height of image rows, every class. */
function checkAccumulatorFits(ctx: GpuContext, rows: number, width: number, C: number): void {
  const bytes = tensorBytes([rows, width, C], 'f32');
  if (bytes > ctx.maxBindingBytes) {
    throw new GpuError(
      `segment: the tiled accumulator, ${rows} rows (one window) of ${width} pixels x ${C} classes = ${bytes} bytes, exceeds ` +
        `the device's storage-binding limit of ${ctx.maxBindingBytes} bytes; use a smaller tile`,
      'limit',
    );
  }
}

class GpuTileAccumulator implements TileAccumulator {
  private readonly owned: GpuTensor[] = [];
  private readonly rowWeights: GpuTensor;
  private readonly colWeights: GpuTensor;
  private readonly acc: GpuTensor;
  private readonly weightSum: GpuTensor;
  private readonly labels: GpuTensor;
  private readonly probabilities?: GpuTensor;
  private readonly width: number;
  private readonly classes: number;

  constructor(
    private readonly ctx: GpuContext,
    o: Parameters<DeviceTensors['tileAccumulator']>[0],
  ) {
    const { rows, width: W, classes: C } = o;
    [this.width, this.classes] = [W, C];
    checkAccumulatorFits(ctx, rows, W, C);
    const own = (t: GpuTensor): GpuTensor => (this.owned.push(t), t);
    try {
      this.rowWeights = own(uploadTensor(ctx, o.rowWeights, [o.rowWeights.length], 'tile row weights'));
      this.colWeights = own(uploadTensor(ctx, o.colWeights, [o.colWeights.length], 'tile column weights'));
      this.acc = own(createTensor(ctx, [rows, W, C], 'f32', 'tile accumulator'));
      this.weightSum = own(createTensor(ctx, [rows, W], 'f32', 'tile weight sum'));
      this.labels = own(createTensor(ctx, [rows, W], 'u32', 'tile labels'));
      if (o.keepProbabilities) this.probabilities = own(createTensor(ctx, [rows, W, C], 'f32', 'tile probabilities'));
      fillTensor(ctx, this.acc, 0);
      fillTensor(ctx, this.weightSum, 0);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  async blend(probs: DeviceTensor, windows: readonly { item: number; x0: number; y0: number }[]): Promise<void> {
    if (windows.length === 0) return;
    const { ctx, rowWeights, colWeights, acc, weightSum } = this;
    const p = gpuTensor(probs);
    // One dispatch each, in order: windows overlap.
    await runOnce(ctx, 'tile blend', () => windows.map((win) => prepareTileBlend(ctx, { probs: p, rowWeights, colWeights, acc, weightSum }, win)));
  }

  async finish(row0: number, rows: number): Promise<{ labels: Uint32Array; probabilities?: Float32Array }> {
    const { ctx, acc, weightSum, labels, probabilities, width: W, classes: C } = this;
    await runOnce(ctx, 'tile finalize', () => prepareTileFinalize(ctx, { acc, weightSum, labels, probabilities }, { row0, rows }));
    const out: { labels: Uint32Array; probabilities?: Float32Array } = { labels: new Uint32Array(await readBuffer(ctx, labels.buffer, rows * W * 4, labels.byteOffset)) };
    if (probabilities) out.probabilities = new Float32Array(await readBuffer(ctx, probabilities.buffer, rows * W * C * 4, probabilities.byteOffset));
    return out;
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.length = 0;
  }
}

/** The DeviceTensors of a GPU context. */
export function gpuTensors(ctx: GpuContext): DeviceTensors {
  return {
    zeros(shape, label) {
      const t = createTensor(ctx, shape, 'f32', label);
      fillTensor(ctx, t, 0);
      return t;
    },
    copy: (from, to) => copyTensor(ctx, gpuTensor(from), gpuTensor(to)),
    read: (t) => readTensor(ctx, gpuTensor(t)),
    item: (t, index) => batchItem(gpuTensor(t), index),
    tileAccumulator: (o) => new GpuTileAccumulator(ctx, o),
  };
}
