// A checkpoint as bytes rather than a file: what a page offers as a download (or sends away).
// The same tensors, metadata and serializer as DeepLabModel.save and saveCheckpoint, so the
// bytes are those files' bytes.
import { checkpointContents } from './loading/checkpoint-contents.js';
import type { LoadedWeights } from './loading/weights-from-bytes.js';
import { DeepLabModel } from './model.js';
import { safetensorsBytes } from './weights/import/safetensors.js';

/** Our checkpoint format (.safetensors) of a model's weights as they are on the GPU, or of loaded weights. */
export async function checkpointBytes(source: DeepLabModel | LoadedWeights): Promise<Uint8Array> {
  const { tensors, metadata } = source instanceof DeepLabModel ? checkpointContents(source.loadedWeights, await source.parameters()) : checkpointContents(source);
  return safetensorsBytes(tensors, metadata);
}
