// segmentation_models_pytorch folders against ../shared/fixtures/smp (its README says how they
// were made): each folder whose encoder this engine builds loads from config.json and the PRNG's
// model.safetensors; its logits match smp's float64 forward at both sizes (a binary model's as
// the foreground of [0, z]), and the whole pipeline (the uint8 image, normalised, the network,
// argmax or sigmoid > 0.5) labels the pixels as smp does.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encodeModel } from '../../src/graph/onnx/proto.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { onnxModel } from '../../src/model/onnx-export.js';
import { writeSmpFolder as exportSmpFolder } from '../../src/model/weights/smp-export.js';
import type { DeepLabModel } from '../../src/model/model.js';
import { loadModel } from '../../src/model/model.js';
import { flipRgb } from '../../src/model/image-input.js';
import { type RgbImage, cropRgb } from '../../src/io/rgb-image.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { expectClose, expectRejects, testContext } from '../helpers.js';
import { rgbToRgba, rgbaTexture } from '../frames.js';
import { runCli } from '../cli/run-cli.js';
import { runOnnx } from '../onnx-runtime.js';
import { nchwToNhwc } from './layout.js';
import { type Saved, savedTensor, torchSaveZip } from '../import/torch-save.js';
import { SMP_FOLDERS, readSmpManifest, smpFixture, smpStateDict, writeSmpFolder } from './smp-fixture.js';

const SIZES = ['96x128', '64x64'] as const;

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
  // A binary model's forwardToHost gives smp's one channel z, as smp's forward does.
  expect(out.length, 'values: the channels of smp\'s output').to.equal(want.length);
  expectClose(out, want, `${folder} ${size}`);
}

async function expectPipelineLabels(model: DeepLabModel, folder: string, size: string): Promise<void> {
  const labels = readNpy(smpFixture(folder, `labels_${size}.npy`));
  const { classes } = await model.segment(rgbInput(folder, size));
  const same = classes.filter((v, i) => v === labels.data[i]).length;
  expect(same / classes.length, `${folder} ${size}: share of pixels labelled as smp does`).to.be.at.least(0.999);
}

/** The folders of the deepest encoders, the extended tier's (docs/testing.md): their blocks are the other ResNets'. */
const DEEPEST: ReadonlySet<string> = new Set(['deeplabv3plus-resnext50_32x4d', 'deeplabv3plus-se_resnext50_32x4d', 'deeplabv3-resnet50']);

describe('smp folders: logits and labels against smp float64', function () {
  this.timeout(300_000);
  for (const folder of SMP_FOLDERS) {
    const encoder = readSmpManifest(folder).encoderName;
    if (!Object.hasOwn(SMP_ENCODERS, encoder)) continue;
    it(`${folder}: loadModel(folder) gives smp's logits (relative error < 1e-4) and labels (>= 99.9 %) at ${SIZES.join(' and ')}${DEEPEST.has(folder) ? ' @extended' : ''}`, async () => {
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

/** The fixture's 64x64 uint8 image cropped to width x height at (x, y). */
function croppedInput(folder: string, x: number, y: number, width: number, height: number): RgbImage {
  return cropRgb(rgbInput(folder, '64x64'), x, y, width, height);
}

/**
 * What smp's users are told to do for a size that is no multiple of the output stride, written
 * here apart from the engine: (x / 255 - mean) / std with ImageNet's statistics, zeros padded
 * around it to the next multiples of 16 (centred, the odd one at the bottom or right, as
 * albumentations' PadIfNeeded places it); and the crop that takes the image's logits back.
 */
function paddedByHand(img: RgbImage): { input: Float32Array; height: number; width: number; top: number; left: number } {
  const MEAN = [0.485, 0.456, 0.406];
  const STD = [0.229, 0.224, 0.225];
  const [height, width] = [Math.ceil(img.height / 16) * 16, Math.ceil(img.width / 16) * 16];
  const [top, left] = [Math.floor((height - img.height) / 2), Math.floor((width - img.width) / 2)];
  const input = new Float32Array(height * width * 3);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      for (let c = 0; c < 3; c++) input[((y + top) * width + x + left) * 3 + c] = (img.data[(y * img.width + x) * 3 + c] / 255 - MEAN[c]) / STD[c];
  return { input, height, width, top, left };
}

/** The image's logits, from the network's at the padded size. */
async function logitsByHand(model: DeepLabModel, img: RgbImage): Promise<Float32Array> {
  const p = paddedByHand(img);
  const all = await model.forwardToHost(p.input, p.height, p.width);
  const C = model.numClasses;
  const out = new Float32Array(img.height * img.width * C);
  for (let y = 0; y < img.height; y++) out.set(all.subarray(((y + p.top) * p.width + p.left) * C, ((y + p.top) * p.width + p.left + img.width) * C), y * img.width * C);
  return out;
}

/** Share of pixels whose largest logit is the class given. */
function argmaxAgreement(logits: Float32Array, C: number, classes: Uint8Array): number {
  let same = 0;
  for (let i = 0; i < classes.length; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[i * C + c] > logits[i * C + best]) best = c;
    if (best === classes[i]) same++;
  }
  return same / classes.length;
}

describe('smp folders: a size that is no multiple of the output stride is padded and cropped back', function () {
  this.timeout(300_000);
  const folder = 'deeplabv3plus-resnet34';
  let model: DeepLabModel;
  let dir: string;
  before(async () => {
    ({ dir } = writeSmpFolder(folder));
    model = await loadModel(dir, { ctx: await testContext() });
  });
  after(() => {
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('segment: logits and labels of the image padded by hand, cropped back (61x53 and 50x49, one batch of network size 64x64)', async () => {
    const imgs = [croppedInput(folder, 1, 4, 61, 53), croppedInput(folder, 7, 2, 50, 49)];
    expect(imgs.map((i) => model.networkSize(i.width, i.height).join('x'))).to.deep.equal(['64x64', '64x64']);
    const results = await model.segmentBatch(imgs, { include: ['logits'], batchSize: 2 });
    for (const [k, img] of imgs.entries()) {
      const want = await logitsByHand(model, img);
      expect([results[k].width, results[k].height]).to.deep.equal([img.width, img.height]);
      expectClose(results[k].logits!, want, `${img.width}x${img.height} logits`);
      expect(argmaxAgreement(want, model.numClasses, results[k].classes), `${img.width}x${img.height} labels`).to.be.at.least(0.999);
    }
  });

  it('a frame on the GPU is padded as the image is, and labelled the same', async () => {
    const ctx = await testContext();
    const img = croppedInput(folder, 3, 0, 45, 58);
    const texture = rgbaTexture(ctx, img.width, img.height, rgbToRgba(img));
    try {
      const frame = await model.segment(texture);
      const still = await model.segment(img);
      const same = frame.classes.filter((v, i) => v === still.classes[i]).length;
      expect([frame.width, frame.height]).to.deep.equal([45, 58]);
      expect(same / still.classes.length, 'frame against still labels').to.be.at.least(0.999);
    } finally {
      texture.destroy();
    }
  });

  it('a flipped pass crops the mirrored view before mirroring it back: the average of the two padded passes', async () => {
    const img = croppedInput(folder, 0, 5, 47, 50);
    const r = await model.segment(img, { flip: true, include: ['probabilities'] });
    const C = model.numClasses;
    const softmax = (l: Float32Array): Float32Array => {
      const out = new Float32Array(l.length);
      for (let i = 0; i < l.length; i += C) {
        const m = Math.max(...l.subarray(i, i + C));
        let sum = 0;
        for (let c = 0; c < C; c++) sum += (out[i + c] = Math.exp(l[i + c] - m));
        for (let c = 0; c < C; c++) out[i + c] /= sum;
      }
      return out;
    };
    const plain = softmax(await logitsByHand(model, img));
    const mirrored = softmax(await logitsByHand(model, flipRgb(img)));
    const want = new Float32Array(plain.length);
    for (let y = 0; y < img.height; y++)
      for (let x = 0; x < img.width; x++)
        for (let c = 0; c < C; c++) {
          const i = (y * img.width + x) * C + c;
          want[i] = (plain[i] + mirrored[(y * img.width + img.width - 1 - x) * C + c]) / 2;
        }
    expectClose(r.probabilities!, want, 'flip-averaged probabilities');
  });
});

describe('smp folders: written back', function () {
  this.timeout(120_000);
  // Binary and gray; tensors no graph reads (EfficientNet's _conv_head); Linear layers run as 1x1 convs (MiT).
  for (const folder of ['deeplabv3-mobilenet_v2', 'deeplabv3plus-mobilenet_v2', 'deeplabv3plus-tu-resnet18', 'deeplabv3plus-efficientnet-b0', 'deeplabv3plus-mit_b0'] as const) {
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

describe('smp folders: config.json read field by field', function () {
  this.timeout(60_000);
  let dir: string;
  let config: Record<string, unknown>;
  before(() => {
    dir = writeSmpFolder('deeplabv3plus-mobilenet_v2').dir;
    config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const withConfig = (change: Record<string, unknown>) => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...change }));
    return loadWeights(dir);
  };

  const refusals: [Record<string, unknown>, RegExp][] = [
    [{ _model_class: 'Unet' }, /_model_class "Unet" is not supported \(expected 'DeepLabV3' or 'DeepLabV3Plus'/],
    [{ encoder_name: 'vgg16' }, /encoder_name "vgg16": smp builds no DeepLab on it/],
    [{ encoder_name: 'no_such_encoder' }, /encoder_name "no_such_encoder": not built here \(supported: resnet18, /],
    [{ encoder_depth: 2 }, /encoder_depth 2 is not supported \(expected 3, 4 or 5/],
    [{ encoder_output_stride: 32 }, /encoder_output_stride 32 is not supported \(expected 8 or 16\)/],
    [{ upsampling: 8 }, /upsampling 8 is not supported \(expected null or 4/],
    [{ aux_params: { classes: 4 } }, /aux_params \{"classes":4\} is not supported \(expected null/],
    [{ activation: 'tanh' }, /activation "tanh" is not supported/],
    [{ decoder_atrous_rates: [12, 0, 36] }, /decoder_atrous_rates \[12,0,36\] is not supported/],
    [{ in_channels: 0 }, /in_channels 0 is not supported/],
    [{ some_new_argument: 1 }, /unknown field some_new_argument/],
    [{ classes: 5 }, /segmentation_head\.0\.weight/],
  ];
  for (const [change, message] of refusals) {
    it(`refuses ${JSON.stringify(change)}, naming the field and what is supported`, async () => {
      await expectRejects(withConfig(change), message);
    });
  }

  it('takes what changes no number: the activation smp applies after the head, encoder_weights, training-only timm arguments', async () => {
    const w = await withConfig({ activation: 'sigmoid', encoder_weights: 'imagenet', drop_path_rate: 0.1 });
    expect(w.config.decoder).to.equal('deeplabv3plus');
    expect(w.config.numClasses).to.equal(3);
  });
});

describe('smp: a bare state dict (.pth) with its config given as smpConfig', function () {
  this.timeout(300_000);
  const folder = 'deeplabv3plus-resnet34';
  let pth: string;
  let config: Record<string, unknown>;
  before(() => {
    const state = smpStateDict(readSmpManifest(folder));
    // torch.save(model.state_dict()): an ordered dict of tensors, BN counters as int64.
    const root = new Map<string, Saved>([...state].map(([name, t]) => [name, savedTensor([...t.shape], name.endsWith('num_batches_tracked') ? BigInt64Array.from(t.data, (v) => BigInt(v)) : Float32Array.from(t.data))]));
    pth = join(mkdtempSync(join(tmpdir(), 'smp-pth-')), 'model.pth');
    writeFileSync(pth, torchSaveZip(root));
    config = JSON.parse(readFileSync(smpFixture(folder, 'config.json'), 'utf8'));
  });
  after(() => rmSync(dirname(pth), { recursive: true, force: true }));

  it("loads with smpConfig and gives smp's float64 logits at 64x64 (relative error < 1e-4)", async () => {
    const model = await loadModel(pth, { ctx: await testContext(), smpConfig: config });
    try {
      await expectLogits(model, folder, '64x64');
    } finally {
      model.dispose();
    }
  });

  it("deeplab export --smp-config writes the folder smp's save_pretrained wrote, byte for byte", async () => {
    const dir = dirname(pth);
    const cfgPath = join(dir, 'config.json');
    writeFileSync(cfgPath, JSON.stringify(config));
    const out = join(dir, 'folder');
    const r = await runCli(['export', '--model', pth, '--smp-config', cfgPath, '--format', 'smp', '--out', out]);
    expect(r.code, r.stderr).to.equal(0);
    const manifest = JSON.parse(readFileSync(smpFixture(folder, 'manifest.json'), 'utf8'));
    expect(createHash('sha256').update(readFileSync(join(out, 'model.safetensors'))).digest('hex')).to.equal(manifest.model_safetensors.sha256);
    const bad = await runCli(['export', '--model', pth, '--smp-config', join(dir, 'missing.json'), '--format', 'smp', '--out', join(dir, 'other')]);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/--smp-config .*missing\.json: ENOENT/);
  });

  it('without smpConfig, is refused naming the option; with a damaged one, naming the field', async () => {
    await expectRejects(loadWeights(pth), /model\.pth: an smp state dict \(encoder\.\*, decoder\.\*, segmentation_head\.\*\) holds no config: pass the model's config\.json as the smpConfig load option/);
    await expectRejects(loadWeights(pth, { smpConfig: { ...config, encoder_output_stride: 32 } }), /smpConfig.*encoder_output_stride/);
  });
});

describe('smp folders: ONNX export', function () {
  this.timeout(120_000);
  for (const folder of ['deeplabv3plus-resnet34', 'deeplabv3-mobilenet_v2'] as const) {
    it(`${folder}: the ONNX export, run by onnxruntime, gives smp's float64 logits at 64x64 (relative error < 1e-4)`, async () => {
      const { dir } = writeSmpFolder(folder);
      try {
        const w = await loadWeights(dir);
        const x = readNpy(smpFixture(folder, 'input_64x64.npy'));
        const ref = readNpy(smpFixture(folder, 'logits_64x64.npy'));
        const out = (await runOnnx(encodeModel(onnxModel(w, { height: 64, width: 64 })), { image: { dims: x.shape, data: x.data } })).get('logits')!;
        // A binary model's logits are [0, z]: its foreground channel is smp's.
        const ours = w.config.binary ? out.data.subarray(64 * 64) : out.data;
        expectClose(ours, ref.data, `${folder} through onnxruntime`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
