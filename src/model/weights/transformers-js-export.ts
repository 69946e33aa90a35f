// A model loaded from a transformers.js folder (fine-tuned or not, to a new class list or not)
// written back as one, in transformers.js' layout: onnx/model.onnx, the folder's fp32 file with the
// model's weights as they are now (as `--format onnx` writes it back); config.json, the folder's own
// text with id2label and label2id (and num_labels, where it has one) for the model's classes now;
// preprocessor_config.json as the folder held it. The folder's fp16 and q8 files are not written:
// they would hold the weights it came with. The folder is written whole or not at all.
import { withJsonMembers } from '../../util/json-members.js';
import { ownValue } from '../../util/own-key.js';
import { writeFolderAtomic } from '../../util/write-folder-atomic.js';
import { architectureCasts } from '../backbones/backbone.js';
import { backboneRecord } from '../backbones/registry.js';
import { HUB_CONFIG, HUB_PROCESSOR } from '../loading/hub-model.js';
import type { LoadedWeights } from '../loading/loaded-weights.js';
import { ONNX_SUBFOLDER, TRANSFORMERS_JS_FILES } from '../loading/transformers-js-model.js';
import type { OnnxArchitecture, TransformersJsOrigin } from '../networks/onnx-network.js';
import { ownOnnxFile } from '../onnx-export.js';

/** The folder's ONNX file, as transformers.js' default dtype ('fp32') reads it. */
export const TRANSFORMERS_JS_MODEL_FILE = `${ONNX_SUBFOLDER}/${TRANSFORMERS_JS_FILES.fp32}`;

/** The transformers.js folder `w` was loaded from, or an error saying why it has none to write back. */
function origin(w: LoadedWeights): TransformersJsOrigin {
  const only = 'only a model loaded from a transformers.js folder (or a checkpoint of one, fine-tuned) is written back as one';
  if (w.config.backbone !== 'onnx') {
    throw new Error(`${w.name}: ${backboneRecord(w.config.backbone).title} is not a network from a transformers.js folder: ${only} (deeplab export --format onnx writes any model's ONNX graph)`);
  }
  const a = architectureCasts<OnnxArchitecture>().unwrap(w.architecture);
  if (!a.folder) {
    throw new Error(
      `${w.name}: imported from the ONNX file ${a.what} alone, not from a transformers.js folder: ${only}, with the config.json (whose model_type picks the transformers.js class that runs it) and preprocessor_config.json a file does not hold`,
    );
  }
  if (a.folder.dtype !== 'fp32') {
    const file = ownValue(TRANSFORMERS_JS_FILES, a.folder.dtype) ?? a.folder.dtype;
    throw new Error(`${w.name}: loaded from the folder's ${ONNX_SUBFOLDER}/${file} (dtype '${a.folder.dtype}'); the folder written back holds its fp32 file, ${TRANSFORMERS_JS_MODEL_FILE}: load the folder with dtype 'fp32'`);
  }
  return a.folder;
}

/** The files of `w`'s transformers.js folder by path inside it; `source` says where the weights came from in the ONNX file's metadata. */
export function transformersJsFolderFiles(w: LoadedWeights, source: string): Map<string, Uint8Array> {
  const folder = origin(w);
  const names = w.classes.names;
  const config = JSON.parse(folder.config) as Record<string, unknown>;
  // label2id's keys sorted, as transformers writes config.json (sort_keys).
  const label2id = Object.fromEntries(names.map((n, i) => [n, i] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const classes = {
    id2label: Object.fromEntries(names.map((n, i) => [String(i), n])),
    label2id,
    ...(Object.hasOwn(config, 'num_labels') ? { num_labels: names.length } : {}),
  };
  const file = ownOnnxFile(w, source);
  if (!file) throw new Error(`${w.name}: no ONNX file to write back`);
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  return new Map([
    [HUB_CONFIG, text(withJsonMembers(folder.config, classes, `${w.name}: its ${HUB_CONFIG}`))],
    [HUB_PROCESSOR, text(folder.processor)],
    [TRANSFORMERS_JS_MODEL_FILE, file.bytes],
  ]);
}

/** Writes `w` as the transformers.js folder `dir` (a new or empty folder), all its files or none; returns the ONNX file's size in bytes. */
export function writeTransformersJsFolder(dir: string, w: LoadedWeights, source: string): number {
  const files = transformersJsFolderFiles(w, source);
  writeFolderAtomic(dir, files);
  return files.get(TRANSFORMERS_JS_MODEL_FILE)!.byteLength;
}
