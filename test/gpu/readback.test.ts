// Reading many tensors back at once (readTensors): the values each one's own read-back gives,
// with one map for the lot.
import { expect } from 'chai';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { batchItem, readTensor, readTensors, uploadTensor } from '../../src/gpu/tensor.js';
import { randomArray, testContext } from '../helpers.js';

describe('gpu: reading many tensors back at once', () => {
  it('gives each tensor its own values (odd sizes, f16, views into a batch), in one map', async () => {
    const ctx = await testContext();
    const batch = uploadTensor(ctx, randomArray(2 * 3 * 5), [2, 3, 5]);
    const tensors: GpuTensor[] = [
      uploadTensor(ctx, randomArray(7), [7]),
      uploadTensor(ctx, randomArray(3 * 5), [3, 5], 'f16'),
      batchItem(batch, 1),
      uploadTensor(ctx, randomArray(1), [1]),
      uploadTensor(ctx, randomArray(5), [5], 'f16'),
    ];
    try {
      const one = [];
      for (const t of tensors) one.push(await readTensor(ctx, t));
      const mapAsync = GPUBuffer.prototype.mapAsync;
      let maps = 0;
      GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
        maps++;
        return mapAsync.apply(this, args);
      };
      let all: Float32Array[];
      try {
        all = await readTensors(ctx, tensors);
      } finally {
        GPUBuffer.prototype.mapAsync = mapAsync;
      }
      expect(maps, 'maps').to.equal(1);
      expect(all.map((a) => [...a])).to.deep.equal(one.map((a) => [...a]));
      expect(all.map((a) => a.length)).to.deep.equal([7, 15, 15, 1, 5]);
    } finally {
      for (const t of [batch, ...tensors]) t.dispose();
    }
  });

  it('refuses a u32 tensor, naming it', async () => {
    const ctx = await testContext();
    const t = uploadTensor(ctx, new Uint32Array([1, 2, 3]), [3], 'u32');
    try {
      let error: Error | undefined;
      await readTensors(ctx, [t]).catch((e: Error) => (error = e));
      expect(error?.message).to.match(/readTensors: a tensor is u32/);
    } finally {
      t.dispose();
    }
  });
});
