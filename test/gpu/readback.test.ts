// Reading many tensors back at once (readTensors): the values each one's own read-back gives,
// with one map for the lot; and again and again into memory kept for it (ReadBackMemory).
import { expect } from 'chai';
import { ReadBackMemory } from '../../src/gpu/read-back-memory.js';
import type { GpuTensor } from '../../src/gpu/tensor.js';
import { batchItem, fillTensor, readTensor, readTensors, uploadTensor } from '../../src/gpu/tensor.js';
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

  it('reads the same tensors again into kept memory: one staging buffer, two sets of arrays in turn, the last read never written over', async () => {
    const ctx = await testContext();
    const tensors = [uploadTensor(ctx, randomArray(6), [6]), uploadTensor(ctx, randomArray(3 * 5), [3, 5], 'f16'), uploadTensor(ctx, randomArray(4), [4])];
    const memory = new ReadBackMemory(ctx);
    const held = ctx.heldBufferCount;
    try {
      const values = async (): Promise<number[][]> => (await Promise.all(tensors.map((t) => readTensor(ctx, t)))).map((a) => [...a]);
      const first = await readTensors(ctx, tensors, memory);
      const firstValues = first.map((a) => [...a]);
      expect(firstValues).to.deep.equal(await values());
      expect(ctx.heldBufferCount, 'the staging buffer kept').to.equal(held + 1);
      for (const t of tensors) fillTensor(ctx, t, 2);
      const second = await readTensors(ctx, tensors, memory);
      expect(second.every((a, i) => a !== first[i]), 'the second read into the other set').to.equal(true);
      expect(second.map((a) => [...a])).to.deep.equal(await values());
      expect(first.map((a) => [...a]), 'the first read as it was').to.deep.equal(firstValues);
      for (const t of tensors) fillTensor(ctx, t, -3);
      const third = await readTensors(ctx, tensors, memory);
      expect(third.every((a, i) => a === first[i]), 'the third read into the first set').to.equal(true);
      expect(third.map((a) => [...a])).to.deep.equal(tensors.map((t) => Array(t.size).fill(-3)));
      expect(second.map((a) => [...a]), 'the last read before it untouched').to.deep.equal(tensors.map((t) => Array(t.size).fill(2)));
      expect(ctx.heldBufferCount, 'no new staging buffer').to.equal(held + 1);
    } finally {
      memory.destroy();
      for (const t of tensors) t.dispose();
    }
    expect(ctx.heldBufferCount, 'destroy() frees the staging buffer').to.equal(held - tensors.length);
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
