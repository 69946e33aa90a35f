// A model as the files `deeplab export` writes, for a page's download: our checkpoint, torchvision's
// state dict (safetensors), an ONNX file, a TF Lite file (for a phone: float32, float16 or int8
// calibrated on images the page gives), and for a model that came from one, its Hugging Face hub,
// smp or transformers.js folder, zipped (fflate). The same writers' contents as the command's
// (src/model/weights/*-files.ts, onnx-export.ts, torchvision-export.ts), so a model the writer
// does not take is refused with the command's reason.
import { zipSync } from 'fflate';
import { checkpointContents } from '../model/loading/checkpoint-contents.js';
import type { LoadedWeights } from '../model/loading/loaded-weights.js';
import { weightsFromBytes } from '../model/loading/weights-from-bytes.js';
import { DeepLabModel } from '../model/model.js';
import { defaultOnnxSize, onnxFile } from '../model/onnx-export.js';
import { type TfliteExportOptions, tfliteFile } from '../model/tflite-export.js';
import { hubFolderFiles } from '../model/weights/hub-folder-files.js';
import { safetensorsBytes } from '../model/weights/import/safetensors.js';
import { smpFolderFiles } from '../model/weights/smp-folder-files.js';
import { torchvisionFile } from '../model/weights/torchvision-export.js';
import { transformersJsFolderFiles } from '../model/weights/transformers-js-export.js';

/** The formats a page exports to: 'checkpoint' (ours), then `deeplab export`'s. */
export const PAGE_EXPORT_FORMATS = ['checkpoint', 'safetensors', 'onnx', 'tflite', 'hf', 'smp', 'transformers-js'] as const;
export type PageExportFormat = (typeof PAGE_EXPORT_FORMATS)[number];

/** An exported model: the file to offer (a folder format as a zip of the folder). */
export interface ExportedFile {
  fileName: string;
  bytes: Uint8Array;
  /** Its MIME type. */
  type: string;
}

/** A page's TF Lite export: its precision, output, calibration images and int8 edges, and its input size (the model's own by default). */
export type PageTfliteOptions = Partial<Pick<TfliteExportOptions, 'precision' | 'output' | 'calibrate' | 'int8Io' | 'height' | 'width'>>;

/** A name made safe for a file: what is not a letter, digit, '.', '-' or '_' becomes '_'. */
const fileStem = (name: string): string => name.replace(/\.(safetensors|tflite|pth|pt|onnx)$/i, '').replace(/[^\w.-]+/g, '_') || 'model';

/** The folder's files as a zip whose entries sit under `folder/`. */
function zipFolder(folder: string, files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries([...files].map(([name, bytes]) => [`${folder}/${name}`, bytes])));
}

/**
 * `source` (a model as it is on the GPU, its weights, or one of our checkpoints' bytes) in
 * `format`, its file named after `o.name` (default: the model's name); an ONNX file of a network
 * built here takes the model's own input size (a fixed-size model's, else its short side squared),
 * as `deeplab export` does; so does a TF Lite file, in `o.tflite`'s precision (float32 unless it
 * says; int8 needs its `calibrate` images).
 */
export async function exportModel(source: DeepLabModel | LoadedWeights | Uint8Array, format: PageExportFormat, o: { name?: string; tflite?: PageTfliteOptions } = {}): Promise<ExportedFile> {
  const w = source instanceof DeepLabModel ? { ...source.loadedWeights, params: await source.parameters() } : source instanceof Uint8Array ? weightsFromBytes(source, 'safetensors', 'model') : source;
  const stem = fileStem(o.name ?? w.name);
  const octets = 'application/octet-stream';
  switch (format) {
    case 'checkpoint': {
      const { tensors, metadata } = checkpointContents(w);
      return { fileName: `${stem}.safetensors`, bytes: safetensorsBytes(tensors, metadata), type: octets };
    }
    case 'safetensors':
      return { fileName: `${stem}-torchvision.safetensors`, bytes: torchvisionFile(w), type: octets };
    case 'onnx':
      return { fileName: `${stem}.onnx`, bytes: onnxFile(w, { ...defaultOnnxSize(w), source: w.name }).bytes, type: octets };
    case 'tflite':
      return { fileName: `${stem}${o.tflite?.precision && o.tflite.precision !== 'float32' ? `-${o.tflite.precision}` : ''}.tflite`, bytes: tfliteFile(w, { ...defaultOnnxSize(w), ...o.tflite, source: w.name }).bytes, type: octets };
    case 'hf':
      return { fileName: `${stem}-hf.zip`, bytes: zipFolder(`${stem}-hf`, hubFolderFiles(w)), type: 'application/zip' };
    case 'smp':
      return { fileName: `${stem}-smp.zip`, bytes: zipFolder(`${stem}-smp`, smpFolderFiles(w)), type: 'application/zip' };
    case 'transformers-js':
      return { fileName: `${stem}-transformers-js.zip`, bytes: zipFolder(`${stem}-transformers-js`, transformersJsFolderFiles(w, w.name)), type: 'application/zip' };
    default:
      throw new Error(`exportModel: '${String(format)}' is not one of ${PAGE_EXPORT_FORMATS.join(', ')}`);
  }
}
