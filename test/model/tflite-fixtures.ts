// The models the TF Lite export tests write and check: the real TF MobileNetV2 (257 and 513) and
// the suite's fixtures of each DeepLab family, each as a file or folder loadModel reads, made in
// `dir` where it is not one of ../shared's.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultTfBnEpsilon } from '../../src/model/weights/tf-checkpoint.js';
import { frozenGraph } from '../import/tf-writers.js';
import { type Saved, savedTensor, torchSaveZip } from '../import/torch-save.js';
import { sharedPath } from '../shared.js';
import { NUM_BATCHES_TRACKED, prngValues } from './mmseg-prng.js';
import { writeSmpFolder } from './smp-fixture.js';
import { xceptionFixtureVariables } from './xception-fixture.js';

export const TF_MNV2_257 = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');
export const TF_MNV2_513 = sharedPath('weights', 'tf-deeplabv3-mnv2-pascal-trainval-513');
export const TORCHVISION_RESNET50 = sharedPath('fixtures', 'torchvision', 'deeplabv3_resnet50_random_fp16.pth');

/** test/fixtures/tf-xception's Xception-65 DeepLabv3+ as TF's frozen graph. */
export function writeXception(dir: string): string {
  const path = join(dir, 'xception65-v3plus.pb');
  writeFileSync(path, frozenGraph(xceptionFixtureVariables(), defaultTfBnEpsilon));
  return path;
}

/** test/fixtures/mmseg-v3plus's DeepLabv3+ ResNet-18 (D8, 19 classes) as mmseg's checkpoint file. */
export function writeMmsegV3plus(dir: string): string {
  const keys = JSON.parse(readFileSync(join('test', 'fixtures', 'mmseg-v3plus', 'v3plus_r18-d8_c19_keys.json'), 'utf8')) as [string, number[]][];
  const dict = new Map<string, Saved>();
  for (const [name, shape] of keys) {
    dict.set(name, name.endsWith('num_batches_tracked') ? savedTensor([], BigInt64Array.of(BigInt(NUM_BATCHES_TRACKED))) : savedTensor(shape, prngValues(name, shape, 1)));
  }
  const path = join(dir, 'deeplabv3plus_r18-d8_512x1024_80k_cityscapes.pth');
  writeFileSync(path, torchSaveZip(new Map<string, Saved>([['meta', new Map()], ['state_dict', dict]])));
  return path;
}

/** An smp DeepLabV3+ folder of ../shared/fixtures/smp (its weights from the fixture's PRNG). */
export function writeSmp(name: 'deeplabv3plus-tu-resnet18' | 'deeplabv3plus-efficientnet-b0'): string {
  return writeSmpFolder(name).dir;
}
