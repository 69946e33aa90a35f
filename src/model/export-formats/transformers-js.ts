// 'transformers-js': a model loaded from a transformers.js folder (fine-tuned or not) written back
// as one (src/model/weights/transformers-js-export.ts), which transformers.js and our loader read.
import { TRANSFORMERS_JS_MODEL_FILE, writeTransformersJsFolder } from '../weights/transformers-js-export.js';
import type { ExportFormatRecord } from './format.js';

export const TRANSFORMERS_JS_EXPORT: ExportFormatRecord<'transformers-js'> = {
  name: 'transformers-js',
  extension: null,
  description: `a transformers.js folder (models loaded from one, or fine-tuned from one: ${TRANSFORMERS_JS_MODEL_FILE} with the weights now, config.json with the classes now), --out DIR (new or empty)`,
  note:
    "transformers-js, in transformers.js (Node): env.localModelPath = DIR's parent folder; env.allowRemoteModels = false;\n" +
    "pipeline('image-segmentation', DIR's name, { dtype: 'fp32' }), or AutoProcessor and AutoModel where its pipeline has no class\n" +
    "for the model type. Only onnx/model.onnx (fp32) is written: the folder's fp16 and q8 files would hold the weights it came with.",
  options: [],
  write(out, w, _o, ctx) {
    const bytes = writeTransformersJsFolder(out, w, ctx.source());
    return `config.json (${w.config.numClasses} classes), preprocessor_config.json, ${TRANSFORMERS_JS_MODEL_FILE} (the folder's graph, its weights as they are now; ${(bytes / 2 ** 20).toFixed(1)} MiB)`;
  },
};
