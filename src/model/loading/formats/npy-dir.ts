// A folder of .npy tensors (TF DeepLab's MobileNetV2 513 checkpoint converted, one file per
// tensor, named as TF's scopes with slashes as underscores).
import { npyNames } from '../../weights/tf-weights.js';
import { tfDeepLab } from '../loaded-weights.js';
import type { WeightFormatRecord } from './format.js';
import { npyFolderTensors } from './npy-folder.js';

/** TF DeepLab's checkpoints take 513x513 crops; a registry entry may say otherwise. */
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
    load: (files, { name, opts, hints }) => tfDeepLab(name, hints.inputSize ?? NPY_INPUT, npyFolderTensors(files), npyNames, opts, hints.classes),
  },
  mappings: ['tf'],
  page: false,
  registry: true,
};
