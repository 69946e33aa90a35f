// Checkpoints as bytes (what a page downloads): the bytes of checkpointBytes are the bytes
// DeepLabModel.save and saveCheckpoint write, and safetensorsBytes is what writeSafetensors
// writes, for every dtype it stores and metadata beyond ASCII (the header's padding counts bytes).
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointBytes } from '../../src/model/checkpoint-bytes.js';
import { loadWeights, saveCheckpoint } from '../../src/model/loading/load-weights.js';
import { loadModel } from '../../src/model/model.js';
import { readSafetensors, safetensorsBytes, writeSafetensors } from '../../src/model/weights/import/safetensors.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { randomArray, testContext, expectThrows } from '../helpers.js';
import { sharedPath } from '../shared.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');

describe('model: checkpoints as bytes (checkpointBytes, safetensorsBytes)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-ckpt-bytes-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a model's checkpoint bytes are the file model.save writes", async () => {
    const model = await loadModel(MNV3_RANDOM, { ctx: await testContext(), shortSide: 65 });
    try {
      const path = join(dir, 'saved.safetensors');
      await model.save(path);
      const bytes = await checkpointBytes(model);
      expect(bytes).to.be.instanceOf(Uint8Array);
      expect(Buffer.from(bytes).equals(readFileSync(path)), 'byte-identical to model.save').to.equal(true);
    } finally {
      model.dispose();
    }
  });

  it("loaded weights' checkpoint bytes are the file saveCheckpoint writes", async () => {
    const weights = await loadWeights('mobilenetv2-pascal-257');
    const path = join(dir, 'weights.safetensors');
    saveCheckpoint(path, weights);
    const bytes = await checkpointBytes(weights);
    expect(Buffer.from(bytes).equals(readFileSync(path)), 'byte-identical to saveCheckpoint').to.equal(true);
    expect(readSafetensors(bytes).metadata.name).to.equal('mobilenetv2-pascal-257');
  });

  it('safetensorsBytes is what writeSafetensors writes (F32, I64, I8 and F16 bytes; UTF-8 metadata)', () => {
    const tensors: TensorMap = new Map([
      ['conv/weight', { shape: [2, 3], data: randomArray(6), sourceDType: 'f32' as const }],
      ['bn/num_batches_tracked', { shape: [], data: Float32Array.of(7), sourceDType: 'i64' as const }],
      ['q/int8', { shape: [3], data: new Float32Array(3), sourceDType: 'i8' as const, raw: Uint8Array.of(1, 255, 3) }],
      ['q/f16', { shape: [2], data: new Float32Array(2), sourceDType: 'f16' as const, raw: Uint8Array.of(0, 60, 0, 188) }],
    ]);
    // Multi-byte characters: the header's length and padding are in bytes, not characters.
    const metadata = { note: 'größe · 尺寸 ✓' };
    const path = join(dir, 'plain.safetensors');
    writeSafetensors(path, tensors, metadata);
    const bytes = safetensorsBytes(tensors, metadata);
    expect(Buffer.from(bytes).equals(readFileSync(path)), 'byte-identical to writeSafetensors').to.equal(true);
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 'header padded to 8 bytes').to.equal(0);
    const back = readSafetensors(bytes);
    expect(back.metadata).to.deep.equal(metadata);
    expect([...back.tensors.get('conv/weight')!.data]).to.deep.equal([...tensors.get('conv/weight')!.data]);
    expect([...back.tensors.get('bn/num_batches_tracked')!.data]).to.deep.equal([7]);
    expectThrows(() => safetensorsBytes(new Map([['w', { shape: [3, 3], data: randomArray(8), sourceDType: 'f32' as const }]])), /^safetensorsBytes: tensor w has 8 values for shape \[3,3\]$/);
  });
});
