// Every input policy record, enumerated: a record added to the registry is tested here by being
// listed (SAMPLES fails to compile without one). Each reads back its stored form and refuses a
// damaged one, sizes and resizes an image to the size it names, and runs an image at its own
// size when asked to. Then the one path an mmseg model's input takes: segment's CPU
// preprocessing, the frame kernels and a training sample give the same network input.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSample } from '../../src/data/sample.js';
import { INPUT_NORMALIZATION_NAMES } from '../../src/io/input-normalization.js';
import { RESIZE_MODES } from '../../src/kernels/resize/resize.js';
import { INPUT_POLICIES, policyRecord, readInputPolicy } from '../../src/model/input-policies/registry.js';
import type { PolicyKind } from '../../src/model/input-policies/policy.js';
import {
  fixedInputSize,
  imageSizeInInput,
  inputPadding,
  networkInput,
  networkInputSize,
  normalizeInput,
  outputResizeMode,
  policyAtOwnSize,
  policyNormalization,
  resizeForNetwork,
} from '../../src/model/input-policy.js';
import type { InputPolicy } from '../../src/model/loading/options.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { DeepLabModel } from '../../src/model/model.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { writeGreyPng, writeRgbPng } from '../data/tiny-datasets.js';
import { rgbToRgba, rgbaTexture } from '../frames.js';
import { type Saved, savedTensor, torchSaveZip } from '../import/torch-save.js';
import { expectThrows, randomRgbImage, testContext } from '../helpers.js';
import { prngStateDict, readManifest } from './mmseg-prng.js';

/** One policy of each kind. */
const SAMPLES: { [K in PolicyKind]: Extract<InputPolicy, { kind: K }> } = {
  fixed: { kind: 'fixed', height: 21, width: 17 },
  'short-side': { kind: 'short-side', size: 19 },
  'stride-multiple': { kind: 'stride-multiple', multiple: 8 },
  'own-size': { kind: 'own-size' },
  'keep-ratio': { kind: 'keep-ratio', long: 40, short: 24 },
  'shortest-edge': { kind: 'shortest-edge', size: 20, crop: { height: 16, width: 18 }, filter: 'bicubic' },
  'height-width': { kind: 'height-width', height: 20, width: 22, filter: 'bilinear', keepAspectRatio: true, multiple: 4, crop: { height: 16, width: 18 } },
  'pad-to-crop': { kind: 'pad-to-crop', height: 33, width: 41 },
};

/** Bits that differ between two float arrays (and their lengths). */
function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) n++;
  return n;
}

describe('model: every input policy record', () => {
  it('one record per kind, each under its own kind', () => {
    expect(Object.keys(INPUT_POLICIES).sort()).to.deep.equal(Object.keys(SAMPLES).sort());
    for (const [kind, record] of Object.entries(INPUT_POLICIES)) expect(record.kind).to.equal(kind);
  });

  it('an unknown or missing kind is refused in one place, listing every stored form', () => {
    const forms = Object.values(INPUT_POLICIES).map((r) => r.form);
    for (const stored of [{ kind: 'crop', size: 3 }, { size: 3 }, { kind: 'toString' }]) {
      const err = expectThrows(() => readInputPolicy(stored, 'm.safetensors: inputPolicy'), /^m\.safetensors: inputPolicy is none of /);
      for (const form of forms) expect(err.message).to.include(form);
    }
  });

  for (const sample of Object.values(SAMPLES) as InputPolicy[]) {
    describe(`'${sample.kind}'`, () => {
      const record = policyRecord(sample);

      it('reads back its stored form, and refuses each field damaged', () => {
        expect(readInputPolicy(JSON.parse(JSON.stringify(sample)) as Record<string, unknown>, 'x')).to.deep.equal(sample);
        for (const field of Object.keys(sample).filter((k) => k !== 'kind')) {
          for (const bad of [-1, 0, 2.5, 'x', null, undefined]) {
            const stored: Record<string, unknown> = { ...sample, [field]: bad };
            // A crop may be null (no crop); any other field may not.
            if (bad === null && field === 'crop') continue;
            expectThrows(() => readInputPolicy(stored, 'x'), /^x is none of/, `${field} = ${String(bad)}`);
          }
        }
      });

      it('resizes an image to the size it names (padding it where the policy pads), normalises it, and names the way back', () => {
        const config = defaultConfig('mobilenet_v3_large');
        for (const [w, h, scale] of [[45, 31, 1], [23, 50, 1], [45, 31, 0.5]] as const) {
          const [nh, nw] = networkInputSize(sample, w, h, scale);
          expect(Number.isInteger(nh) && nh > 0 && Number.isInteger(nw) && nw > 0, `${w}x${h}`).to.equal(true);
          const [ih, iw] = imageSizeInInput(sample, w, h, scale);
          const pad = inputPadding(sample, w, h, scale) ?? { top: 0, bottom: 0, left: 0, right: 0 };
          expect([ih + pad.top + pad.bottom, iw + pad.left + pad.right]).to.deep.equal([nh, nw]);
          const resized = resizeForNetwork(sample, randomRgbImage(w, h, 3), ih, iw);
          expect([resized.width, resized.height], `${w}x${h} at ${scale}`).to.deep.equal([iw, ih]);
          expect(normalizeInput(sample, config, resized).length).to.equal(ih * iw * 3);
          expect(networkInput(sample, config, randomRgbImage(w, h, 3), scale).input.length).to.equal(nh * nw * 3);
        }
        expect(INPUT_NORMALIZATION_NAMES).to.include(policyNormalization(sample, config));
        expect(RESIZE_MODES).to.include(outputResizeMode(sample, config));
        expect(record.describe(sample)).to.match(record.padding ? /^pads .* crops the logits back$/ : /^resizes /);
      });

      it('a fixed size ignores the image; the policy at an image\'s own size leaves it as it is (padded around it, where it pads)', () => {
        const fixed = fixedInputSize(sample);
        if (fixed) for (const [w, h] of [[45, 31], [23, 50]]) expect(networkInputSize(sample, w, h)).to.deep.equal([fixed.height, fixed.width]);
        for (const [w, h] of [[45, 31], [23, 50], [16, 16]]) {
          const own = policyAtOwnSize(sample, w, h);
          expect(imageSizeInInput(own, w, h), `${w}x${h}`).to.deep.equal([h, w]);
          const img = randomRgbImage(w, h, 5);
          expect(resizeForNetwork(own, img, h, w).data).to.deep.equal(img.data);
        }
      });
    });
  }
});

// The label written beside the image: class ids in turn (a sample reads and checks it; the image is what is compared).
const LABEL = [0, 1, 2, 3];

describe('model: an mmseg model takes one network input on every path', function () {
  this.timeout(600_000);
  const W = 29;
  const H = 23;
  let dir: string;
  let model: DeepLabModel;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mmseg-input-'));
    const state = prngStateDict(readManifest('manifest_r18-d8_c19.json'));
    const dict = new Map<string, Saved>();
    for (const [name, t] of state) dict.set(name, name.endsWith('num_batches_tracked') ? savedTensor([], BigInt64Array.of(40000n)) : savedTensor(t.shape, t.data));
    const path = join(dir, 'deeplabv3_r18-d8_512x1024_40k_cityscapes.pth');
    writeFileSync(path, torchSaveZip(new Map<string, Saved>([['meta', new Map()], ['state_dict', dict]])));
    // A test scale that leaves a W x H image as it is, so no path resizes it.
    const weights = await loadWeights(path, { testScale: [W, H] });
    expect(weights.inputPolicy).to.deep.equal({ kind: 'keep-ratio', long: W, short: H });
    expect(weights.slide, 'slides').to.equal(undefined);
    model = await DeepLabModel.fromWeights(weights, { ctx: await testContext() });
  });
  after(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("segment's CPU preprocessing is mmseg's: mean/std on 0..255, the ImageNet name's results differing", () => {
    const img = randomRgbImage(W, H, 7);
    const cpu = model.preprocess(img);
    expect([cpu.height, cpu.width]).to.deep.equal([H, W]);
    expect(policyNormalization(model.inputPolicy, model.config)).to.equal('imagenet_255');
    // The config's own name gives other float32 values: a path reading it instead would differ.
    expect(model.config.normalization).to.equal('imagenet');
    expect(differing(normalizeInput({ kind: 'fixed', height: H, width: W }, model.config, img), cpu.input)).to.be.greaterThan(0);
  });

  it('a frame on the GPU: the CPU path\'s logits bit for bit, so the frame kernels made the same input', async () => {
    const img = randomRgbImage(W, H, 9);
    const texture = rgbaTexture(model.ctx, W, H, rgbToRgba(img));
    try {
      const frame = await model.segment(texture, { include: ['logits'] });
      const still = await model.segment(img, { include: ['logits'] });
      expect(differing(frame.logits!, still.logits!), 'logits whose bits differ').to.equal(0);
      expect(differing(frame.classes, still.classes)).to.equal(0);
    } finally {
      texture.destroy();
    }
  });

  it("a training sample (the run's evaluation policy, the loader's normalisation): segment's input bit for bit", async () => {
    const side = H;
    const img = randomRgbImage(side, side, 11);
    const imagePath = join(dir, 'image.png');
    const labelPath = join(dir, 'label.png');
    writeRgbPng(imagePath, side, Array.from({ length: side * side }, (_, p) => [img.data[3 * p], img.data[3 * p + 1], img.data[3 * p + 2]] as [number, number, number]));
    writeGreyPng(labelPath, side, Array.from({ length: side * side }, (_, p) => LABEL[p % LABEL.length]));
    // As runTraining sets them up: the model's pipeline at the data's own size, and its normalisation.
    const runPolicy = policyAtOwnSize(model.inputPolicy, side, side);
    expect(runPolicy).to.deep.equal({ kind: 'keep-ratio', long: side, short: side });
    const sample = await makeSample({
      imagePath,
      labelPath,
      labels: { kind: 'index', classes: 19, ignoreIndex: 255 },
      normalization: policyNormalization(runPolicy, model.config),
      // No scaling, no flip, a crop of the whole image: the sample is the image.
      crop: side,
      scale: [1, 1],
      flip: false,
      ignoreIndex: 255,
      seed: 0,
      n: 0,
    });
    const segmented = normalizeInput(runPolicy, model.config, resizeForNetwork(runPolicy, img, side, side));
    expect(differing(sample.image, segmented), 'values whose bits differ').to.equal(0);
    // And the model itself, whose test scale differs: the same normalisation of the same pixels.
    const fit = model.preprocess(img);
    expect([fit.height, fit.width]).to.deep.equal([side, side]);
    expect(differing(sample.image, fit.input), 'values whose bits differ from the model\'s').to.equal(0);
  });
});
