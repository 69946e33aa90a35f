// 'hf': a MobileViT or a hub MobileNetV2 as a Hugging Face hub folder that `transformers` and our
// loader read (src/model/weights/transformers-export.ts).
import { writeHubFolder } from '../weights/transformers-export.js';
import type { ExportFormatRecord } from './format.js';

export const HF: ExportFormatRecord<'hf'> = {
  name: 'hf',
  extension: null,
  description: 'a Hugging Face hub folder (MobileViT, a hub MobileNetV2), --out DIR',
  options: [],
  write(out, w) {
    writeHubFolder(out, w);
    return `config.json, preprocessor_config.json, model.safetensors (${w.config.backbone}, ${w.config.numClasses} classes, transformers' names)`;
  },
};
