// A transformers.js folder (config.json, preprocessor_config.json, onnx/model.onnx,
// onnx/model_fp16.onnx, onnx/model_quantized.onnx): the ONNX file the `dtype` option chooses,
// imported into our graph (src/model/loading/transformers-js-model.ts). The page hands it the
// files dropped, or fetched from a folder URL (src/browser/hub-files.ts).
import { ONNX_SUBFOLDER, isTransformersJsFolder, transformersJsModel, transformersJsOnnx } from '../transformers-js-model.js';
import type { TensorMap } from '../../weights/import/tensor-map.js';
import type { FolderReader, WeightFormatRecord } from './format.js';

const read: FolderReader = {
  kind: 'folder',
  subfolders: [ONNX_SUBFOLDER],
  recognise: isTransformersJsFolder,
  tensors(files): TensorMap {
    const { model } = transformersJsOnnx(files, {});
    return new Map([...model.graph.initializers].map(([k, t]) => [k, { shape: [...t.dims], data: Float32Array.from(t.data), sourceDType: 'f32' as const }]));
  },
  load: (files, ctx) => transformersJsModel(files, ctx),
};

export const TRANSFORMERS_JS: WeightFormatRecord & { read: FolderReader } = {
  name: 'transformers-js',
  title: 'transformers.js folder',
  extensions: [],
  read,
  mappings: ['onnx'],
  page: true,
  registry: false,
  dtype: true,
  input: 'processor',
};
