// 'hf': a model as a Hugging Face hub folder that `transformers` and our loader read
// (src/model/weights/transformers-export.ts), for the backbones whose records write one.
import { hubFolderBackbones, writeHubFolder } from '../weights/transformers-export.js';
import type { ExportFormatRecord } from './format.js';

export const HF: ExportFormatRecord<'hf'> = {
  name: 'hf',
  extension: null,
  description: `a Hugging Face hub folder (${hubFolderBackbones().map((r) => r.title).join(', ')}), --out DIR`,
  options: [],
  write(out, w) {
    writeHubFolder(out, w);
    return `config.json, preprocessor_config.json, model.safetensors (${w.config.backbone}, ${w.config.numClasses} classes, transformers' names)`;
  },
};
