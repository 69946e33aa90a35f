// A segmentation_models_pytorch folder (config.json with `_model_class`, model.safetensors), as
// `save_pretrained` writes it: src/model/loading/smp-model.ts builds the DeepLab it describes.
import { isSmpFolder, smpModel, smpTensors } from '../smp-model.js';
import type { FolderReader, WeightFormatRecord } from './format.js';

const read: FolderReader = {
  kind: 'folder',
  recognise: isSmpFolder,
  tensors: (files) => smpTensors(files),
  load: (files, { name, opts }) => smpModel(name, files, opts),
};

export const SMP_FOLDER: WeightFormatRecord & { read: FolderReader } = {
  name: 'smp',
  title: 'segmentation_models_pytorch folder',
  extensions: [],
  read,
  mappings: ['smp'],
  page: true,
  registry: false,
};
