// segmentation_models_pytorch folders against ../shared/fixtures/smp (its README says how they
// were made): each folder whose encoder this engine builds loads from config.json and the PRNG's
// model.safetensors; its logits match smp's float64 forward at both sizes (a binary model's as
// the foreground of [0, z]), and the whole pipeline (the uint8 image, normalised, the network,
// argmax or sigmoid > 0.5) labels the pixels as smp does.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { writeSmpFolder as exportSmpFolder } from '../../src/model/weights/smp-export.js';
import type { DeepLabModel } from '../../src/model/model.js';
import { loadModel } from '../../src/model/model.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { expectClose, testContext } from '../helpers.js';
import { nchwToNhwc } from './layout.js';
import { SMP_FOLDERS, readSmpManifest, smpFixture, writeSmpFolder } from './smp-fixture.js';

const SIZES = ['96x128', '64x64'] as const;

/** Channel `c` of NHWC values with `channels` channels. */
function channel(nhwc: Float32Array, channels: number, c: number): Float32Array {
  return nhwc.filter((_, i) => i % channels === c);
}

/** The fixture's uint8 input as an RGB image: a grayscale one (in_channels 1) as three equal channels, which Pillow's 'L' gives back. */
function rgbInput(folder: string, size: string): { width: number; height: number; data: Uint8Array } {
  const u8 = readNpy(smpFixture(folder, `input_${size}_uint8.npy`));
  const [height, width] = u8.shape;
  const data = u8.shape.length === 3 ? Uint8Array.from(u8.data) : Uint8Array.from({ length: height * width * 3 }, (_, i) => u8.data[Math.floor(i / 3)]);
  return { width, height, data };
}

async function expectLogits(model: DeepLabModel, folder: string, size: string): Promise<void> {
  const x = readNpy(smpFixture(folder, `input_${size}.npy`));
  const ref = readNpy(smpFixture(folder, `logits_${size}.npy`));
  const [, c, h, w] = x.shape;
  expect(model.config.inChannels ?? 3, 'in_channels').to.equal(c);
  const out = await model.forwardToHost(nchwToNhwc(x.data, x.shape), h, w);
  const want = nchwToNhwc(ref.data, ref.shape);
  if (!model.config.binary) return expectClose(out, want, `${folder} ${size}`);
  expect(channel(out, 2, 0).every((v) => v === 0), 'a binary model\'s background logit is 0').to.equal(true);
  expectClose(channel(out, 2, 1), want, `${folder} ${size} (foreground)`);
}

async function expectPipelineLabels(model: DeepLabModel, folder: string, size: string): Promise<void> {
  const labels = readNpy(smpFixture(folder, `labels_${size}.npy`));
  const { classes } = await model.segment(rgbInput(folder, size));
  const same = classes.filter((v, i) => v === labels.data[i]).length;
  expect(same / classes.length, `${folder} ${size}: share of pixels labelled as smp does`).to.be.at.least(0.999);
}

describe('smp folders: logits and labels against smp float64', function () {
  this.timeout(300_000);
  for (const folder of SMP_FOLDERS) {
    const encoder = readSmpManifest(folder).encoderName;
    if (!Object.hasOwn(SMP_ENCODERS, encoder)) continue;
    it(`${folder}: loadModel(folder) gives smp's logits (relative error < 1e-4) and labels (>= 99.9 %) at ${SIZES.join(' and ')}`, async () => {
      const { dir } = writeSmpFolder(folder);
      const model = await loadModel(dir, { ctx: await testContext() });
      try {
        for (const size of SIZES) {
          await expectLogits(model, folder, size);
          await expectPipelineLabels(model, folder, size);
        }
      } finally {
        model.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('smp folders: written back', function () {
  this.timeout(120_000);
  for (const folder of ['deeplabv3-mobilenet_v2', 'deeplabv3plus-mobilenet_v2', 'deeplabv3plus-tu-resnet18'] as const) {
    it(`${folder}: the smp export writes the files smp's save_pretrained wrote, byte for byte`, async () => {
      const { dir } = writeSmpFolder(folder);
      const out = mkdtempSync(join(tmpdir(), 'smp-export-'));
      try {
        exportSmpFolder(out, await loadWeights(dir));
        expect(readFileSync(join(out, 'config.json'), 'utf8')).to.equal(readFileSync(smpFixture(folder, 'config.json'), 'utf8'));
        const manifest = JSON.parse(readFileSync(smpFixture(folder, 'manifest.json'), 'utf8'));
        const sha = createHash('sha256').update(readFileSync(join(out, 'model.safetensors'))).digest('hex');
        expect(sha, 'model.safetensors').to.equal(manifest.model_safetensors.sha256);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        rmSync(out, { recursive: true, force: true });
      }
    });
  }
});
