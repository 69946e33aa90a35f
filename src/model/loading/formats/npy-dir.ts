// A folder of .npy tensors (TF DeepLab's MobileNetV2 513 checkpoint converted, one file per
// tensor, named as TF's scopes with slashes as underscores), run as the zoo runs its checkpoint
// (padded to the export crop: src/model/input-policies/pad-to-crop.ts).
import { policyWithOptions } from '../../input-policy.js';
import { npyNames } from '../../weights/tf-weights.js';
import { tfDeepLab } from '../loaded-weights.js';
import type { WeightFormatRecord } from './format.js';
import { npyFolderTensors } from './npy-folder.js';

/** TF DeepLab's VOC checkpoints' export crop, 513x513; a registry entry may say otherwise. */
const NPY_INPUT: [number, number] = [513, 513];

export const NPY_DIR: WeightFormatRecord = {
  name: 'npy-dir',
  title: 'folder of .npy files',
  extensions: [],
  read: {
    kind: 'folder',
    // The folder format of last resort: any folder no other format recognised.
    recognise: () => true,
    tensors: (files) => npyFolderTensors(files),
    load(files, { name, opts, hints }) {
      const [height, width] = hints.inputSize ?? NPY_INPUT;
      const input = { inputPolicy: policyWithOptions({ kind: 'pad-to-crop', height, width }, opts), probeSize: [width, height] as [number, number] };
      return tfDeepLab(name, input, npyFolderTensors(files), npyNames, opts, hints.classes);
    },
  },
  mappings: ['tf'],
  page: false,
  registry: true,
};
