// safetensors: our own checkpoints (checkpoint-schema.ts), torchvision DeepLabv3 state dicts as
// our export writes them, and torchvision's classification networks as a backbone.
import { readSafetensors } from '../../weights/import/safetensors.js';
import { TORCHVISION_DEEPLAB_MARKER } from '../../weights/torchvision.js';
import { CHECKPOINT_FORMAT, checkpointModel, classesFromMetadata } from '../checkpoint-schema.js';
import { torchvisionModel } from '../torchvision-model.js';
import type { WeightFormatRecord } from './format.js';

export const SAFETENSORS: WeightFormatRecord = {
  name: 'safetensors',
  title: 'safetensors',
  extensions: ['.safetensors'],
  read: {
    kind: 'file',
    // A little-endian u64 header length that fits the file, then the header's JSON object.
    sniff(bytes) {
      if (bytes.length < 9 || bytes[8] !== 0x7b /* '{' */) return false;
      const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(0, true);
      return headerLength > 0 && headerLength <= bytes.length - 8;
    },
    tensors: (bytes, source) => readSafetensors(bytes, source).tensors,
    load(bytes, { name, source, opts }) {
      const { tensors, metadata } = readSafetensors(bytes, source);
      if (metadata.format !== CHECKPOINT_FORMAT && tensors.has(TORCHVISION_DEEPLAB_MARKER)) {
        const w = torchvisionModel(name, tensors, opts);
        return { ...w, classes: classesFromMetadata(metadata, w.config.numClasses, source) };
      }
      return checkpointModel(name, source, { tensors, metadata }, opts);
    },
  },
  mappings: ['ours', 'torchvision', 'torchvisionClassification'],
  page: true,
  registry: true,
};
