// TF Lite flatbuffers (TF DeepLab's MobileNetV2 257 model): the tensors by TF's names, and the
// file's own strides, pads, rates and resizes checked against the network we build.
import { readTflite, tfliteTensorMap } from '../../weights/import/tflite.js';
import { tfliteNames } from '../../weights/tf-weights.js';
import { checkTfliteStructure } from '../../weights/tflite-structure.js';
import { tfDeepLab } from '../loaded-weights.js';
import type { WeightFormatRecord } from './format.js';

export const TFLITE: WeightFormatRecord = {
  name: 'tflite',
  title: 'TF Lite',
  extensions: ['.tflite'],
  read: {
    kind: 'file',
    // The flatbuffer's file identifier, after the root table's offset.
    sniff: (bytes) => bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'TFL3',
    tensors: (bytes, source) => tfliteTensorMap(readTflite(bytes, source)),
    load(bytes, { name, source, opts }) {
      const tfl = readTflite(bytes, source);
      const input = tfl.tensors[tfl.inputs[0]];
      if (!input || input.shape.length !== 4 || input.shape[3] !== 3) {
        throw new Error(`${source}: expected one NHWC RGB input, got ${input ? `[${input.shape.join(',')}]` : 'none'}`);
      }
      // The file's input is fixed: the image is resized to it (TF Lite's demo).
      const [height, width] = [input.shape[1], input.shape[2]];
      const loaded = tfDeepLab(name, { inputPolicy: { kind: 'fixed', height, width }, probeSize: [width, height] }, tfliteTensorMap(tfl), tfliteNames, opts);
      // The file's own strides, pads, rates and resize options must be what we built.
      if (loaded.config.outputStride === 8) checkTfliteStructure(tfl, loaded.buildGraph({ height: input.shape[1], width: input.shape[2] }), source);
      return loaded;
    },
  },
  mappings: ['tf'],
  page: true,
  registry: true,
};
