// The CPU's DeviceTensors: tensors are host arrays, and tiled inference's accumulator runs the
// blend kernels' CPU references (src/kernels/tiles/tile-blend.ts), the same arithmetic the GPU does.
import { numel } from '../../../gpu/tensor.js';
import { tileBlendCpu, tileFinalizeCpu } from '../../../kernels/tiles/tile-blend.js';
import type { DeviceTensor, DeviceTensors, HostValues, TileAccumulator } from '../device.js';

/** A tensor on the CPU: its values in host memory. */
export class HostTensor implements DeviceTensor {
  constructor(
    readonly data: HostValues,
    readonly shape: readonly number[],
  ) {
    if (data.length !== numel(shape)) throw new Error(`a host tensor of ${data.length} values cannot be [${shape.join(',')}]`);
  }

  /** Host memory is the collector's. */
  dispose(): void {}
}

/** `t` as the host tensor it must be on this device. */
export function hostTensor(t: DeviceTensor): HostTensor {
  if (!(t instanceof HostTensor)) throw new Error('a tensor of another device was given to the CPU device');
  return t;
}

function floats(t: DeviceTensor, what: string): Float32Array {
  const { data } = hostTensor(t);
  if (!(data instanceof Float32Array)) throw new Error(`${what}: the tensor holds integers, not floats`);
  return data;
}

class CpuTileAccumulator implements TileAccumulator {
  private readonly acc: Float32Array;
  private readonly weightSum: Float32Array;
  private readonly shape: [number, number, number];

  constructor(private readonly o: Parameters<DeviceTensors['tileAccumulator']>[0]) {
    this.shape = [o.rows, o.width, o.classes];
    this.acc = new Float32Array(o.rows * o.width * o.classes);
    this.weightSum = new Float32Array(o.rows * o.width);
  }

  async blend(probs: DeviceTensor, windows: readonly { item: number; x0: number; y0: number }[]): Promise<void> {
    const values = floats(probs, 'tile blend');
    for (const win of windows) tileBlendCpu(this.acc, this.weightSum, this.shape, values, probs.shape, this.o.rowWeights, this.o.colWeights, win);
  }

  async finish(row0: number, rows: number): Promise<{ labels: Uint32Array; probabilities?: Float32Array }> {
    const { labels, probabilities } = tileFinalizeCpu(this.acc, this.weightSum, this.shape, { row0, rows });
    return this.o.keepProbabilities ? { labels, probabilities } : { labels };
  }

  dispose(): void {}
}

/** The DeviceTensors of the CPU. */
export const CPU_TENSORS: DeviceTensors = {
  zeros: (shape) => new HostTensor(new Float32Array(numel(shape)), shape),
  async copy(from, to) {
    const [a, b] = [hostTensor(from), hostTensor(to)];
    if (a.data.length !== b.data.length) throw new Error(`copy: [${a.shape.join(',')}] into [${b.shape.join(',')}]`);
    b.data.set(a.data);
  },
  read: async (t) => floats(t, 'read').slice(),
  item(t, index) {
    const { data, shape } = hostTensor(t);
    const n = shape[0];
    if (!Number.isInteger(index) || index < 0 || index >= n) throw new Error(`item: index ${index} outside a batch of ${n}`);
    const per = data.length / n;
    return new HostTensor(data.subarray(index * per, (index + 1) * per), [1, ...shape.slice(1)]);
  },
  tileAccumulator: (o) => new CpuTileAccumulator(o),
};
