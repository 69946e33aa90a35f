// Our own checkpoint format: a model saved and loaded back gives the same numbers; a file of
// another kind or with a damaged tensor is refused with a clear error.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage } from '../../src/io/image.js';
import { readSafetensors, writeSafetensors } from '../../src/model/weights/import/safetensors.js';
import { loadModel } from '../../src/model/model.js';
import { testContext } from '../helpers.js';

process.env.DEEPLAB_WEIGHTS_DIR ??= '../shared/weights';
const MNV3_RANDOM = '../shared/fixtures/torchvision/deeplabv3_mobilenet_v3_large_random.pth';
const IMAGE = '../shared/data/voc-sample/JPEGImages/voc12val_0294.png';

describe('model: our checkpoint format (.safetensors)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-ckpt-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [label, source, opts] of [
    ['TF MobileNetV2 (TFLite, width 0.5)', 'mobilenetv2-pascal-257', {}],
    ['torchvision MobileNetV3 (.pth)', MNV3_RANDOM, { shortSide: 65 }],
  ] as const) {
    it(`round-trips ${label}: same config, same logits`, async () => {
      const ctx = await testContext();
      const img = readImage(IMAGE);
      const original = await loadModel(source, { ctx, ...opts });
      const path = join(dir, `${original.name}.safetensors`);
      let before: Float32Array;
      try {
        before = (await original.segment(img, { include: ['logits'] })).logits!;
        await original.save(path);
      } finally {
        original.dispose();
      }
      const meta = readSafetensors(path).metadata;
      expect(meta.format).to.equal('deeplab-webgpu');
      const reloaded = await loadModel(path, { ctx, ...opts });
      try {
        expect(reloaded.config).to.deep.equal(JSON.parse(meta.config));
        const after = (await reloaded.segment(img, { include: ['logits'] })).logits!;
        expect([...after]).to.deep.equal([...before]);
      } finally {
        reloaded.dispose();
      }
    });
  }

  it('refuses a safetensors file that is not ours, and one with a missing tensor', async () => {
    const ctx = await testContext();
    const foreign = join(dir, 'foreign.safetensors');
    writeSafetensors(foreign, new Map([['w', { shape: [2], data: new Float32Array([1, 2]), sourceDType: 'f32' as const }]]));
    try {
      await loadModel(foreign, { ctx });
      expect.fail('foreign file accepted');
    } catch (e) {
      expect((e as Error).message).to.match(/not a deeplab-webgpu checkpoint/);
    }
    const model = await loadModel(MNV3_RANDOM, { ctx, shortSide: 65 });
    const good = join(dir, 'good.safetensors');
    await model.save(good);
    model.dispose();
    const { tensors, metadata } = readSafetensors(good);
    tensors.delete('classifier.4.bias');
    const damaged = join(dir, 'damaged.safetensors');
    writeSafetensors(damaged, tensors, metadata);
    try {
      await loadModel(damaged, { ctx });
      expect.fail('damaged checkpoint accepted');
    } catch (e) {
      expect((e as Error).message).to.match(/missing \(1\): classifier\.4\.bias/);
    }
  });
});
