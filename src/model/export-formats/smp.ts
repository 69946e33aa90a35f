// 'smp': an smp model as the folder segmentation_models_pytorch's save_pretrained writes
// (src/model/weights/smp-export.ts), which smp.from_pretrained loads.
import { writeSmpFolder } from '../weights/smp-export.js';
import type { ExportFormatRecord } from './format.js';

export const SMP_EXPORT: ExportFormatRecord<'smp'> = {
  name: 'smp',
  extension: null,
  description: 'a segmentation_models_pytorch folder (models loaded from one, or fine-tuned from one), --out DIR',
  note: 'smp, in PyTorch: model = segmentation_models_pytorch.from_pretrained(DIR)',
  options: [],
  write(out, w) {
    writeSmpFolder(out, w);
    return `config.json, model.safetensors (smp's ${w.config.decoder === 'deeplabv3plus' ? 'DeepLabV3Plus' : 'DeepLabV3'}, ${w.config.binary ? 'binary' : `${w.config.numClasses} classes`})`;
  },
};
