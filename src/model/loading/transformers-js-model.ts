// A transformers.js folder (the Hugging Face hub's ONNX repositories transformers.js runs:
// config.json, preprocessor_config.json, onnx/model.onnx and its fp16 and q8 variants) as
// LoadedWeights: the ONNX file `dtype` chooses, as transformers.js' own `dtype` does, imported as
// any ONNX file is (onnx-model.ts); the classes from config.json's id2label, checked against the
// graph's output channels; the input from preprocessor_config.json, read as transformers' image
// processor of the family reads it (hub-processor.ts). Its input policy resizes the file's own
// output once, to the image, as post_process_semantic_segmentation does.
import { FILE_LIMITS, checkConfigInt, excerpt } from '../../io/reader-rules.js';
import type { OnnxModel } from '../../graph/onnx/model.js';
import { readOnnx } from '../../graph/onnx/read.js';
import { onnxSignature } from '../../graph/onnx/import/signature.js';
import { networkInputSize, policySquare, policyWithOptions } from '../input-policy.js';
import { configObject, parseConfigJson, readConfigJson } from './config-json.js';
import type { FileSet, LoadContext } from './formats/format.js';
import { HUB_CONFIG, HUB_PROCESSOR, HUB_WEIGHTS, checkArchitectures, hubClasses, hubModelTypes } from './hub-model.js';
import { hubProcessor } from './hub-processor.js';
import type { LoadedWeights } from './loaded-weights.js';
import { importedOnnxWeights } from './onnx-model.js';
import type { LoadOptions } from './options.js';

/** transformers.js' file of each `dtype` (its DEFAULT_DTYPE_SUFFIX_MAPPING), in its `onnx/` subfolder. */
export const TRANSFORMERS_JS_FILES = { fp32: 'model.onnx', fp16: 'model_fp16.onnx', q8: 'model_quantized.onnx' } as const;
export type TransformersJsDtype = keyof typeof TRANSFORMERS_JS_FILES;
export const TRANSFORMERS_JS_DTYPES = Object.keys(TRANSFORMERS_JS_FILES) as TransformersJsDtype[];
/** The subfolder transformers.js reads the files from. */
export const ONNX_SUBFOLDER = 'onnx';

/** The folder's file of each dtype it holds: under onnx/, or, where nothing is (files dropped in the page lose their folders), beside config.json. */
function dtypeFiles(names: readonly string[]): Partial<Record<TransformersJsDtype, string>> {
  const inSub = names.some((n) => n.startsWith(`${ONNX_SUBFOLDER}/`));
  const prefix = inSub ? `${ONNX_SUBFOLDER}/` : '';
  const found: Partial<Record<TransformersJsDtype, string>> = {};
  for (const d of TRANSFORMERS_JS_DTYPES) if (names.includes(prefix + TRANSFORMERS_JS_FILES[d])) found[d] = prefix + TRANSFORMERS_JS_FILES[d];
  return found;
}

/** config.json's model_type, or undefined where it cannot be read (recognising a folder refuses nothing). */
function modelTypeOf(files: FileSet): unknown {
  try {
    return configObject(readConfigJson(files, HUB_CONFIG), HUB_CONFIG).model_type;
  } catch {
    return undefined;
  }
}

/** Whether the names hold transformers.js' ONNX part: an `onnx` entry (a folder, even an empty one, or anything so named) or a file under it. */
function hasOnnxPart(names: readonly string[]): boolean {
  return names.includes(ONNX_SUBFOLDER) || names.some((n) => n.startsWith(`${ONNX_SUBFOLDER}/`));
}

/**
 * Whether a folder's files are a transformers.js folder, whole or with a part missing (which its
 * load then refuses naming the part, not with another format's message): an `onnx` entry, or a
 * config.json (an smp folder's is recognised before), with ONNX files of a dtype beside it where
 * the page's dropped files lost their folders. A folder that also holds a hub folder's PyTorch
 * weights is that hub folder where it has no ONNX file, or where our own networks build its
 * model (MobileViT, MobileViTV2, MobileNetV2).
 */
export function isTransformersJsFolder(files: FileSet): boolean {
  const { names } = files;
  const hasConfig = names.includes(HUB_CONFIG);
  const onnx = hasOnnxPart(names) || (hasConfig && Object.keys(dtypeFiles(names)).length > 0);
  if (HUB_WEIGHTS.some((w) => names.includes(w))) return onnx && !hubModelTypes().includes(modelTypeOf(files) as string);
  return onnx || hasConfig;
}

/**
 * The ONNX file of the options' dtype (fp32 by default), with the other files `needs` there: a
 * dtype whose file is absent, or a file needed, is refused, naming every part missing and the
 * dtypes the folder holds.
 */
function transformersJsFile(files: FileSet, opts: LoadOptions, needs: readonly string[] = []): string {
  const dtype = opts.dtype ?? 'fp32';
  if (!TRANSFORMERS_JS_DTYPES.includes(dtype)) throw new Error(`${files.what}: dtype must be ${TRANSFORMERS_JS_DTYPES.map((d) => `'${d}'`).join(', ')}, got ${excerpt(dtype)}`);
  const present = dtypeFiles(files.names);
  const file = present[dtype];
  const missing = needs.filter((n) => !files.names.includes(n));
  if (file && missing.length === 0) return file;
  if (!file) missing.push(`${ONNX_SUBFOLDER}/${TRANSFORMERS_JS_FILES[dtype]} for dtype '${dtype}'`);
  const held = Object.entries(present).map(([d, f]) => `${d} (${f})`);
  const layout = needs.some((n) => !files.names.includes(n)) ? `a transformers.js folder holds ${HUB_CONFIG}, ${HUB_PROCESSOR} and ${ONNX_SUBFOLDER}/model.onnx; ` : '';
  // A hub folder of a model our networks build holds its PyTorch weights in place of the ONNX files.
  const modelType = file ? undefined : modelTypeOf(files);
  const hub = hubModelTypes().includes(modelType as string) ? `; a hub folder of model_type '${modelType}' holds ${HUB_WEIGHTS[0]} instead` : '';
  throw new Error(`${files.what}: ${missing.map((m) => `no ${m}`).join(', ')} (${layout}the folder holds ${held.length ? held.join(', ') : 'no ONNX file'}${hub})`);
}

/** The folder's ONNX file of the options' dtype, read (its external data beside it). */
export function transformersJsOnnx(files: FileSet, opts: LoadOptions): { model: OnnxModel; source: string } {
  const file = transformersJsFile(files, opts);
  const source = `${files.what}/${file}`;
  const dir = file.slice(0, file.lastIndexOf('/') + 1);
  return { model: readOnnx(files.read(file), source, { externalData: (location) => files.read(dir + location) }), source };
}

/** The options an ONNX file reads that a folder's own files decide here. */
const NOT_FOR_FOLDERS = ['inputSize', 'mean', 'std', 'outputStride', 'asppRates'] as const;

export function transformersJsModel(files: FileSet, ctx: LoadContext): LoadedWeights {
  const { name, opts } = ctx;
  const given = NOT_FOR_FOLDERS.filter((k) => opts[k] !== undefined);
  if (given.length) throw new Error(`${files.what}: ${given.join(', ')} do not apply to a transformers.js folder (its input is its ${HUB_PROCESSOR}'s, its strides the ONNX file's)`);
  // Each file's text is kept as well: the model is written back as a folder with them (src/model/weights/transformers-js-export.ts).
  const texts = new Map<string, string>();
  // Every part there before any is read: a folder missing one is refused naming each.
  transformersJsFile(files, opts, [HUB_CONFIG, HUB_PROCESSOR]);
  const json = (file: string): unknown => {
    const bytes = files.read(file, FILE_LIMITS.config);
    texts.set(file, new TextDecoder().decode(bytes));
    return parseConfigJson(bytes, `${files.what}/${file}`);
  };
  const configWhat = `${files.what}/${HUB_CONFIG}`;
  const config = configObject(json(HUB_CONFIG), configWhat);
  checkArchitectures(config, configWhat, 'its ONNX file gives no class map');
  const names = hubClasses(config, configWhat);
  const channels = checkConfigInt(config.num_channels ?? 3, 'num_channels', configWhat, { min: 1, max: 4 });
  const processor = hubProcessor(json(HUB_PROCESSOR), `${files.what}/${HUB_PROCESSOR}`, { json: config, what: configWhat });
  const inputPolicy = policyWithOptions(processor.policy, opts);
  const { model, source } = transformersJsOnnx(files, opts);

  const signature = onnxSignature(model, source, opts.output, channels);
  if (signature.channels !== channels) throw new Error(`${configWhat}: num_channels ${excerpt(config.num_channels)} is not the ${signature.channels} channels ${source} takes`);
  if (channels !== 3) throw new Error(`${configWhat}: num_channels must be 3 (the processor gives RGB images), got ${channels}`);
  if (signature.size) {
    // A file fixed at one size takes only the images the processor makes that size.
    const [h, w] = signature.size;
    for (const [iw, ih] of [[640, 480], [480, 640]]) {
      const [nh, nw] = networkInputSize(inputPolicy, iw, ih);
      if (nh !== h || nw !== w) throw new Error(`${source} takes ${w}x${h} images only, but ${HUB_PROCESSOR} makes a ${iw}x${ih} photo ${nw}x${nh}`);
    }
  }
  const square = policySquare(inputPolicy);
  const weights = importedOnnxWeights(model, name, source, {
    signature,
    inputPolicy,
    normalization: processor.normalization,
    ...(processor.flipChannels ? { reverseChannels: true as const } : {}),
    folder: { config: texts.get(HUB_CONFIG)!, processor: texts.get(HUB_PROCESSOR)!, dtype: opts.dtype ?? 'fp32' },
    probe: signature.size ?? [square.height, square.width],
    classes: (numClasses) => {
      if (numClasses !== names.names.length) throw new Error(`${configWhat}: id2label names ${names.names.length} classes, but ${source} gives ${numClasses} channels of class scores`);
      return names;
    },
  });
  // transformers.js runs its fp16 file in half precision: so do we, where the adapter can.
  return (opts.dtype ?? 'fp32') === 'fp16' ? { ...weights, precision: 'f16' } : weights;
}
