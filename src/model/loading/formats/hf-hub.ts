// A Hugging Face hub folder of `transformers` (config.json, preprocessor_config.json,
// model.safetensors or pytorch_model.bin): src/model/loading/hub-model.ts builds the network
// its config.json describes. The page hands it the files dropped, or fetched from a folder URL
// (src/browser/hub-files.ts).
import { hubModel, hubTensors, isHubFolder } from '../hub-model.js';
import type { WeightFormatRecord } from './format.js';

export const HF_HUB: WeightFormatRecord = {
  name: 'hf-hub',
  title: 'Hugging Face hub folder',
  extensions: [],
  read: {
    kind: 'folder',
    recognise: isHubFolder,
    tensors: (files) => hubTensors(files),
    load: (files, { name, opts }) => hubModel(name, files, opts),
  },
  mappings: ['transformers'],
  page: true,
  registry: true,
};
