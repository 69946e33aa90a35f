// The runner's cases (bench/run.ts): the model cases of parts model, profile, precision,
// quantize, tune and ort-node, the training cases, the smp cases and the browser part's cases.
import { rmSync } from 'node:fs';
import type { BrowserCase } from './browser.js';
import { MODELS } from './model.js';
import { ONNX_BENCH_CASES } from './onnx-cases.js';
import { TJS_FOLDER_CASES } from './tjs-folders.js';
import { type LoadedWeights, loadWeights } from '../src/model/loading/load-weights.js';
import { loadedNetwork } from '../src/model/loading/loaded-weights.js';
import { paperAsppRates } from '../src/model/networks/config.js';
import { defaultConfig } from '../src/model/backbones/config.js';
import { defaultClassSet } from '../src/model/voc.js';
import { adaptWeights, freshParams } from '../src/train/adapt.js';
import { writeSmpFolder } from '../test/model/smp-fixture.js';
import { sharedPath } from '../test/shared.js';

/** torchvision's DeepLabv3-ResNet-50 with fresh (PyTorch-style) random weights, at `outputStride`, for `size` x `size` inputs. */
export function randomResnet50(outputStride: number, size: number): LoadedWeights {
  const config = defaultConfig('resnet50', { outputStride, asppRates: paperAsppRates(outputStride) });
  const network = loadedNetwork(config);
  return {
    name: `deeplabv3-resnet50-os${outputStride}-random`,
    config,
    ...network,
    inputPolicy: { kind: 'fixed', height: size, width: size },
    params: freshParams(network.buildGraph({ height: 65, width: 65 }), 1),
    probeSize: [size, size],
    classes: defaultClassSet(config.numClasses),
  };
}

/**
 * Model part: the MobileNetV2 models and ResNet-50 at OS 16 against tfjs; ResNet-50 at OS 8 in
 * our engine alone (3.3x the multiply-adds: tfjs would take minutes a pass on lavapipe).
 */
export const MODEL_CASES = [
  ...MODELS.map((mc) => ({ name: `mobilenetv2-${mc.key}`, mobilenet: mc, outputStride: 0, tfjs: true })),
  ...[16, 8].map((os) => ({ name: `resnet50-os${os}`, mobilenet: null, outputStride: os, tfjs: os === 16 })),
];

/** Train part, at output stride 16. */
export const TRAIN_CASES: { name: string; weights: () => Promise<LoadedWeights> }[] = [
  {
    name: 'mobilenetv2-257',
    weights: async () => adaptWeights(await loadWeights('mobilenetv2-pascal-257', { download: false }), { outputStride: 16, seed: 1 }).weights,
  },
  { name: 'resnet50', weights: async () => randomResnet50(16, 513) },
];


/**
 * segmentation_models_pytorch's DeepLabV3+ (ResNet-34 and EfficientNet-B0 encoders) from the
 * PRNG folders of ../shared/fixtures/smp, at 512x512: what such a user runs today is ONNX Runtime
 * (Web in the page, onnxruntime-node in Node) on the ONNX export of the same weights.
 */
export const SMP_CASES = [
  { name: 'smp-v3plus-resnet34', folder: 'deeplabv3plus-resnet34' },
  { name: 'smp-v3plus-efficientnet-b0', folder: 'deeplabv3plus-efficientnet-b0' },
].map((c) => ({ ...c, size: 512, weightsNote: `random (smp fixture ${c.folder})`, weights: () => smpFolderWeights(c.folder) }));

/** An smp fixture's weights, loaded from the folder its PRNG writes (removed once read). */
async function smpFolderWeights(folder: string): Promise<LoadedWeights> {
  const { dir } = writeSmpFolder(folder);
  try {
    return await loadWeights(dir, { download: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Browser part: the sizes are what SwiftShader (Chromium's CPU adapter) gets through in a few
 * minutes per model on 2 cores; on a GPU, --browser-size 513 runs them all at 513x513.
 */
export const BROWSER_CASES: BrowserCase[] = [
  {
    name: 'mobilenetv2-257',
    size: 257,
    weightsNote: 'mobilenetv2-pascal-257',
    weights: () => loadWeights('mobilenetv2-pascal-257', { download: false }),
    // The file mobilenetv2-pascal-257 is read from, for LiteRT.js and MediaPipe (its input is fixed
    // at 257x257), and TF Lite's class maps of the VOC photos from it (../shared/fixtures/tflite).
    tflite: { path: sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'), size: 257, classes: sharedPath('fixtures', 'tflite') },
  },
  { name: 'mobilenetv3-large', size: 97, weightsNote: 'random (torchvision fixture)', weights: () => loadWeights(sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth'), { download: false }) },
  { name: 'resnet50-os16', size: 65, weightsNote: 'random', weights: async () => randomResnet50(16, 65) },
  // Hugging Face hub folders (random weights in the hub's layout, ../shared/fixtures/hf) at the
  // size their image processor crops to: transformers.js runs these beside ours.
  ...[
    { name: 'mobilevit-xx-small-hf', size: 512, folder: 'deeplabv3-mobilevit-xx-small' },
    { name: 'mobilenetv2-hf', size: 513, folder: 'deeplabv3_mobilenet_v2_1.0_513' },
  ].map(({ name, size, folder }): BrowserCase => {
    const hubFolder = sharedPath('fixtures', 'hf', folder);
    return { name, size, weightsNote: `random (hub fixture ${folder})`, hubFolder, weights: () => loadWeights(hubFolder, { download: false }) };
  }),
  ...SMP_CASES.map(({ name, size, weightsNote, weights }): BrowserCase => ({ name, size, weightsNote, weights })),
  // ONNX files the reference libraries' exporters wrote: ours and ORT on the same file.
  ...ONNX_BENCH_CASES.map((c): BrowserCase => ({ name: c.name, size: c.size, weightsNote: `test/fixtures/onnx/${c.fixture}`, onnx: c })),
  // transformers.js folders (test/fixtures/hub-onnx): ours and transformers.js' pipeline, photo to classes.
  ...TJS_FOLDER_CASES.map((c): BrowserCase => ({ name: c.name, size: c.size, weightsNote: `random (test/fixtures/hub-onnx/${c.fixture})`, tjsFolder: c })),
];

/** A model case's weights: the registry's MobileNetV2, or ResNet-50 with random weights. */
export async function caseWeights(c: (typeof MODEL_CASES)[number]): Promise<LoadedWeights> {
  return c.mobilenet ? loadWeights(c.mobilenet.registryName, { download: false }) : randomResnet50(c.outputStride, 513);
}
