// What a hub folder of a model holds (transformers-export.ts writes it; the page zips it):
// config.json with the backbone's architectural values and the model's classes as id2label,
// preprocessor_config.json from its input policy, and model.safetensors in transformers' names
// and layouts. What differs by backbone is its record's `weights.transformers.export`; the stem
// goes back to the processor's channel order. No file system: the page bundles it.
import type { HostParams } from '../../graph/params.js';
import { pythonJson } from '../../util/python-json.js';
import type { BackboneRecord, TransformersExport } from '../backbones/backbone.js';
import { backboneRecord, backboneRecords } from '../backbones/registry.js';
import { hubProcessor } from '../loading/hub-processor.js';
import { hubProcessorResize, policyNormalization } from '../input-policy.js';
import type { LoadedWeights } from '../loading/loaded-weights.js';
import { safetensorsBytes } from './import/safetensors.js';
import type { TensorMap } from './import/tensor-map.js';
import { reverseInputChannels } from './layouts.js';

/** The backbones whose weights write a hub folder, as their records say. */
export function hubFolderBackbones(): BackboneRecord[] {
  return backboneRecords().filter((r) => r.weights.transformers && !('why' in r.weights.transformers.export));
}

/** The record's side of the hub folder of `w`, or an error saying why it has none. */
function hubExport(w: LoadedWeights): { modelType: string; stem: string; exporter: TransformersExport } {
  const record = backboneRecord(w.config.backbone);
  const source = record.weights.transformers;
  let why = `transformers has no ${record.title} DeepLabV3 we write`;
  const exporter = source?.export;
  if (exporter && 'why' in exporter) why = exporter.why;
  else if (source && exporter) {
    const refusal = exporter.refusal?.(w.architecture, w.config);
    if (refusal === undefined) return { modelType: source.modelType, stem: source.stem, exporter };
    why = refusal;
  }
  throw new Error(`${w.name}: ${record.title} does not export to a hub folder: ${why} (those that do: ${hubFolderBackbones().map((r) => r.title).join(', ')})`);
}

/** config.json, preprocessor_config.json and the tensors of the hub folder of `w`. */
export function hubFolderContents(w: LoadedWeights, params: HostParams = w.params): { config: Record<string, unknown>; processor: Record<string, unknown>; tensors: TensorMap } {
  const { modelType, stem, exporter } = hubExport(w);
  const resize = hubProcessorResize(w.inputPolicy);
  if ('why' in resize) throw new Error(`${w.name}: ${resize.why}`);
  const processor = { ...exporter.processor, do_resize: true, ...resize.fields, do_rescale: true, rescale_factor: 1 / 255 };
  // What our loader will make of it: the model's own normalisation, or the folder would be wrong.
  const reads = hubProcessor(processor, `${w.name}: its preprocessor_config.json`);
  const normalization = policyNormalization(w.inputPolicy, w.config);
  const reloaded = policyNormalization(reads.policy, { ...w.config, normalization: reads.normalization });
  if (reloaded !== normalization) {
    throw new Error(`${w.name}: its hub processor gives '${reloaded}' input, not the model's '${normalization}'`);
  }
  const config = {
    model_type: modelType,
    ...exporter.config(w.architecture, w.config),
    semantic_loss_ignore_index: 255,
    id2label: Object.fromEntries(w.classes.names.map((n, i) => [String(i), n])),
    label2id: Object.fromEntries(w.classes.names.map((n, i) => [n, i])),
  };
  const stemWeight = params.get(stem);
  if (reads.flipChannels && !stemWeight) throw new Error(`${w.name}: no stem weight '${stem}' to take the processor's BGR flip`);
  const ordered = reads.flipChannels ? new Map(params).set(stem, reverseInputChannels(stemWeight as { shape: number[]; data: Float32Array })) : params;
  return { config, processor, tensors: exporter.tensors(ordered) };
}

/** The JSON of a hub file, `floats` written with a decimal point as Python writes them, and a final newline. */
function hubJson(o: unknown, floats: readonly string[]): Uint8Array {
  return pythonJson(o, floats, { newline: true });
}

/** The folder's files by name: config.json, preprocessor_config.json, model.safetensors. */
export function hubFolderFiles(w: LoadedWeights, params: HostParams = w.params): Map<string, Uint8Array> {
  const { config, processor, tensors } = hubFolderContents(w, params);
  return new Map([
    ['config.json', hubJson(config, hubExport(w).exporter.floatFields)],
    ['preprocessor_config.json', hubJson(processor, ['rescale_factor'])],
    ['model.safetensors', safetensorsBytes(tensors, { format: 'pt' })],
  ]);
}
