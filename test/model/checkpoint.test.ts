// Our own checkpoint format: a model saved and loaded back gives the same numbers; a file of
// another kind or with a damaged tensor is refused with a clear error.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostParams } from '../../src/graph/params.js';
import { readImage } from '../../src/io/image.js';
import { backboneRecord } from '../../src/model/backbones/registry.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import { loadedNetwork } from '../../src/model/loading/loaded-weights.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { defaultClassSet } from '../../src/model/voc.js';
import { readSafetensors, writeSafetensors } from '../../src/model/weights/import/safetensors.js';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';
import { loadModel } from '../../src/model/model.js';
import { testContext, expectRejects } from '../helpers.js';
import { randomParams } from './random-params.js';
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

  it('loads checkpoints written before each backbone kept its own architecture: the metadata as written then', async () => {
    // What every file held then: 'depthMultiplier' whatever the backbone, and MobileViT's sizes as 'mobileVit' beside it.
    const oldFile = (w: Pick<LoadedWeights, 'name' | 'config' | 'inputPolicy' | 'classes'>, params: HostParams, widths: Record<string, string>): string => {
      const path = join(dir, `old-${w.config.backbone}.safetensors`);
      const tensors: TensorMap = new Map([...params].map(([k, t]) => [k, { shape: t.shape, data: t.data, sourceDType: 'f32' as const }]));
      const metadata = { format: 'deeplab-webgpu', version: '1', name: w.name, config: JSON.stringify(w.config), ...widths, inputPolicy: JSON.stringify(w.inputPolicy), classes: JSON.stringify(w.classes) };
      writeSafetensors(path, tensors, metadata);
      return path;
    };
    // TF's MobileNetV2 at width 0.5: a width of 1 would not fit its weights.
    const tfl = await loadWeights('mobilenetv2-pascal-257');
    const mnv2 = await loadWeights(oldFile(tfl, tfl.params, { depthMultiplier: '0.5' }));
    expect(backboneRecord('mobilenet_v2').architecture.toJson(mnv2.architecture), 'the width multiplier').to.equal(0.5);
    expect(mnv2.config).to.deep.equal(tfl.config);
    // MobileViT x-small's sizes, not the record's default (xx-small).
    const { architecture } = backboneRecord('mobilevit');
    const xSmall = { ...(architecture.toJson(architecture.default) as object), neckHiddenSizes: [16, 32, 48, 64, 80, 96, 384], hiddenSizes: [96, 120, 144] };
    const config = defaultConfig('mobilevit');
    const graph = loadedNetwork(config, architecture.fromJson(xSmall, 'x-small')).buildGraph({ height: 32, width: 32 });
    const vit = { name: 'x-small', config, inputPolicy: { kind: 'fixed' as const, height: 32, width: 32 }, classes: defaultClassSet(config.numClasses) };
    const mvit = await loadWeights(oldFile(vit, randomParams(graph), { depthMultiplier: '1', mobileVit: JSON.stringify(xSmall) }));
    expect(architecture.toJson(mvit.architecture)).to.deep.equal(xSmall);
    // A backbone its name fixes, with the 'depthMultiplier' of 1 every file carried.
    const mnv3 = await loadWeights(MNV3_RANDOM, { shortSide: 65 });
    const back = await loadWeights(oldFile(mnv3, mnv3.params, { depthMultiplier: '1' }));
    expect(back.config).to.deep.equal(mnv3.config);
    expect([...back.params.keys()].sort()).to.deep.equal([...mnv3.params.keys()].sort());
  });
});
