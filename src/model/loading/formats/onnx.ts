// ONNX files (any framework's export of a segmentation network): the graph imported into ours
// (src/graph/onnx/import/), its initializers our parameters (src/model/loading/onnx-model.ts).
// External data files are read beside the file on disk; the page takes one self-contained file.
import type { TensorMap } from '../../weights/import/tensor-map.js';
import { type ExternalData, looksLikeOnnx, readOnnx } from '../../../graph/onnx/read.js';
import { onnxModelWeights } from '../onnx-model.js';
import type { LoadContext, WeightFormatRecord } from './format.js';

/** The external data reader of a file on disk: the files beside it, a failure named. */
function externalData(ctx: Pick<LoadContext, 'siblings' | 'source'>): ExternalData | undefined {
  const { siblings, source } = ctx;
  if (!siblings) return undefined;
  return (location) => {
    try {
      return siblings(location);
    } catch (e) {
      // The file rules' reason (missing, a FIFO, a folder, over the size cap), which names its path.
      throw new Error(`${source}: its external data file '${location}' cannot be read (${(e as Error).message}): keep it beside the model`, { cause: e });
    }
  };
}

export const ONNX: WeightFormatRecord = {
  name: 'onnx',
  title: 'ONNX',
  extensions: ['.onnx'],
  read: {
    kind: 'file',
    sniff: looksLikeOnnx,
    tensors(bytes, source): TensorMap {
      const model = readOnnx(bytes, source);
      return new Map([...model.graph.initializers].map(([k, t]) => [k, { shape: [...t.dims], data: Float32Array.from(t.data), sourceDType: 'f32' as const }]));
    },
    load: (bytes, ctx) => onnxModelWeights(readOnnx(bytes, ctx.source, { externalData: externalData(ctx) }), ctx),
  },
  mappings: ['onnx'],
  page: true,
  registry: true,
};
