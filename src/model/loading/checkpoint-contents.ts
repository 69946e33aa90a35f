// What our checkpoint format holds for a model: its tensors and metadata, with no file system, so
// that Node's saveCheckpoint and the page's checkpointBytes write the same thing.
import type { HostParams } from '../../graph/params.js';
import type { TensorMap } from '../weights/import/tensor-map.js';
import { type Quantization, quantizedTensors } from '../weights/quantize.js';
import { backboneRecord } from '../backbones/registry.js';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './checkpoint-schema.js';
import type { LoadedWeights } from './loaded-weights.js';

/**
 * Our own checkpoint format's tensors and metadata: our layouts (HWIO convs, BN statistics
 * unfolded) and the config, the backbone's architecture (under its record's key) and the input
 * policy in the metadata. With
 * `extra.quantize`, the convolution weights are stored as int8 or f16 (src/model/weights/quantize.ts).
 */
export function checkpointContents(
  w: LoadedWeights,
  params: HostParams = w.params,
  extra: { tensors?: HostParams; metadata?: Record<string, string>; quantize?: Quantization } = {},
): { tensors: TensorMap; metadata: Record<string, string> } {
  const weights: TensorMap = extra.quantize
    ? quantizedTensors(params, extra.quantize)
    : new Map([...params].map(([k, t]) => [k, { shape: t.shape, data: t.data, sourceDType: 'f32' as const }]));
  const tensors: TensorMap = new Map([...weights, ...[...(extra.tensors ?? [])].map(([k, t]) => [k, { shape: t.shape, data: t.data, sourceDType: 'f32' as const }] as const)]);
  const { architecture } = backboneRecord(w.config.backbone);
  const metadata = {
    ...(extra.quantize ? { quantization: extra.quantize } : {}),
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    name: w.name,
    config: JSON.stringify(w.config),
    ...(architecture.metadataKey ? { [architecture.metadataKey]: JSON.stringify(architecture.toJson(w.architecture)) } : {}),
    inputPolicy: JSON.stringify(w.inputPolicy),
    classes: JSON.stringify(w.classes),
    ...(w.slide ? { slide: JSON.stringify(w.slide) } : {}),
    ...extra.metadata,
  };
  return { tensors, metadata };
}
