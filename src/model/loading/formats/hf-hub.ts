// A Hugging Face hub folder of `transformers` (config.json, preprocessor_config.json,
// model.safetensors or pytorch_model.bin): src/model/loading/hub-model.ts builds the network
// its config.json describes. The page hands it the files dropped, or fetched from a folder URL
// (src/browser/hub-files.ts).
import { hubModel, hubTensors, isHubFolder } from '../hub-model.js';
import type { FolderReader, WeightFormatRecord } from './format.js';

const read: FolderReader = {
  kind: 'folder',
  recognise: (files) => isHubFolder(files.names),
  tensors: (files) => hubTensors(files),
  load: (files, { name, opts }) => hubModel(name, files, opts),
};

/** Typed with its folder reader: the page hands it a hub folder's files directly (src/browser/load.ts). */
export const HF_HUB: WeightFormatRecord & { read: FolderReader } = {
  name: 'hf-hub',
  title: 'Hugging Face hub folder',
  extensions: [],
  read,
  mappings: ['transformers'],
  page: true,
  registry: true,
  input: 'processor',
};
