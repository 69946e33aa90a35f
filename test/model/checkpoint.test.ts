// Our own checkpoint format: a model saved and loaded back gives the same numbers; a file of
// another kind or with a damaged tensor is refused with a clear error.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage } from '../../src/io/image.js';
import { readSafetensors, writeSafetensors } from '../../src/model/weights/import/safetensors.js';
import { loadModel } from '../../src/model/model.js';
import { testContext, expectRejects } from '../helpers.js';
import { sharedPath } from '../shared.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', 'voc12val_0294.png');

describe('model: our checkpoint format (.safetensors)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-ckpt-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('whole networks round-trip @slow', () => {
    for (const [label, source, opts] of [
      ['TF MobileNetV2 (TFLite, width 0.5)', 'mobilenetv2-pascal-257', {}],
      ['torchvision MobileNetV3 (.pth)', MNV3_RANDOM, { shortSide: 65 }],
    ] as const) {
      it(`round-trips ${label}: same config, same logits`, async () => {
        const ctx = await testContext();
        const img = await readImage(IMAGE);
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
  });

  it('refuses a safetensors file that is not ours, and one with a missing tensor', async () => {
    const ctx = await testContext();
    const foreign = join(dir, 'foreign.safetensors');
    writeSafetensors(foreign, new Map([['w', { shape: [2], data: new Float32Array([1, 2]), sourceDType: 'f32' as const }]]));
    await expectRejects(() => loadModel(foreign, { ctx }), /neither a deeplab-webgpu checkpoint .* nor a torchvision DeepLabv3 state dict/, 'foreign file accepted');
    const model = await loadModel(MNV3_RANDOM, { ctx, shortSide: 65 });
    const good = join(dir, 'good.safetensors');
    await model.save(good);
    model.dispose();
    const { tensors, metadata } = readSafetensors(good);
    tensors.delete('classifier.4.bias');
    const damaged = join(dir, 'damaged.safetensors');
    writeSafetensors(damaged, tensors, metadata);
    await expectRejects(() => loadModel(damaged, { ctx }), /missing \(1\): classifier\.4\.bias/, 'damaged checkpoint accepted');
  });

  it('carries class names and colours, which the model uses; a class list of the wrong length is refused', async () => {
    const ctx = await testContext();
    const model = await loadModel(MNV3_RANDOM, { ctx, shortSide: 65 });
    const path = join(dir, 'voc.safetensors');
    await model.save(path);
    model.dispose();
    const { tensors, metadata } = readSafetensors(path);
    expect(JSON.parse(metadata.classes).names[1]).to.equal('aeroplane');
    const names = Array.from({ length: 21 }, (_, i) => `thing ${i}`);
    const colors = Array.from({ length: 21 }, (_, i) => [i, 2 * i, 3 * i]);
    const renamed = join(dir, 'renamed.safetensors');
    writeSafetensors(renamed, tensors, { ...metadata, classes: JSON.stringify({ names, colors }) });
    const reloaded = await loadModel(renamed, { ctx });
    try {
      expect(reloaded.classNames).to.deep.equal(names);
      expect([...reloaded.palette.subarray(0, 9)]).to.deep.equal([0, 0, 0, 1, 2, 3, 2, 4, 6]);
    } finally {
      reloaded.dispose();
    }
    const short = join(dir, 'short.safetensors');
    writeSafetensors(short, tensors, { ...metadata, classes: JSON.stringify({ names: names.slice(1), colors }) });
    await expectRejects(loadModel(short, { ctx }), /20 class names for a model with 21 classes/, 'a checkpoint with 20 class names for 21 classes');
  });
});
