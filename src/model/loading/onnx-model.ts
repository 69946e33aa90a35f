// A model from an ONNX file: the file's graph imported at the probe size (its initializers become
// our parameters, in our layouts), with what the file says of its preprocessing and classes (our
// own exports' metadata: normalisation, mean and std, BGR input, class names and colours) or,
// where it says nothing, the caller's options (`inputSize`, `mean`, `std`, `dataset`) and
// ImageNet's statistics.
import { GraphBuilder } from '../../graph/builder.js';
import { sourceData } from '../../graph/onnx/import/context.js';
import { type OnnxSignature, importOnnx } from '../../graph/onnx/import/import.js';
import { onnxSignature } from '../../graph/onnx/import/signature.js';
import type { OnnxModel } from '../../graph/onnx/model.js';
import type { HostParams } from '../../graph/params.js';
import { INPUT_NORMALIZATIONS, type InputNormalizationName } from '../../io/input-normalization.js';
import { architectureCasts } from '../backbones/backbone.js';
import { defaultConfig } from '../backbones/config.js';
import { datasetClassSet } from '../datasets.js';
import type { OnnxArchitecture, TransformersJsOrigin } from '../networks/onnx-network.js';
import { type ClassSet, defaultClassSet, validateClassSet } from '../voc.js';
import type { LoadContext } from './formats/format.js';
import { type LoadedWeights, checkedWeights, loadedNetwork } from './loaded-weights.js';
import type { InputPolicy, LoadOptions } from './options.js';

const arch = architectureCasts<OnnxArchitecture>();

/** The size a file of free height and width is first built at (the image's own size is used after). */
const PROBE_SIZE = 64;

/** A metadata entry parsed as JSON, or undefined where absent or not JSON. */
function metaJson(meta: ReadonlyMap<string, string>, key: string): unknown {
  const text = meta.get(key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const numbers = (v: unknown, n: number): v is number[] => Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** The model's normalisation: a name of ours where the statistics are one's, else x / 255 and the statistics applied in the graph. */
function normalizationOf(meta: ReadonlyMap<string, string>, opts: LoadOptions, channels: number, source: string): { normalization: InputNormalizationName; inputAffine?: { mean: number[]; std: number[] } } {
  if (opts.mean || opts.std) {
    if (!numbers(opts.mean, channels) || !numbers(opts.std, channels) || opts.std.some((s) => s === 0)) {
      throw new Error(`${source}: mean and std must be ${channels} numbers each (one per input channel, std not 0), got ${JSON.stringify(opts.mean)} and ${JSON.stringify(opts.std)}`);
    }
    return statistics([...opts.mean], [...opts.std]);
  }
  const named = meta.get('normalization');
  if (named !== undefined && Object.hasOwn(INPUT_NORMALIZATIONS, named) && channels === 3) return { normalization: named as InputNormalizationName };
  const [mean, std] = [metaJson(meta, 'mean'), metaJson(meta, 'std')];
  if (numbers(mean, channels) && numbers(std, channels) && std.every((s) => s !== 0)) return statistics(mean, std);
  return { normalization: 'imagenet' };
}

/** The named normalisation with these statistics (RGB), or x / 255 with the statistics in the graph. */
function statistics(mean: number[], std: number[]): { normalization: InputNormalizationName; inputAffine?: { mean: number[]; std: number[] } } {
  const near = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= 1e-6);
  for (const name of ['imagenet', 'minus_one_one', 'unit'] as const) {
    const n = INPUT_NORMALIZATIONS[name];
    if (near(mean, n.mean) && near(std, n.std)) return { normalization: name };
  }
  return { normalization: 'unit', inputAffine: { mean, std } };
}

/** The classes: the file's (our exports' metadata), the caller's data set, a registry entry's, else VOC's for 21 or numbered. */
function classesOf(meta: ReadonlyMap<string, string>, ctx: LoadContext, numClasses: number): ClassSet {
  const names = metaJson(meta, 'classes');
  if (Array.isArray(names) && names.length === numClasses && names.every((n) => typeof n === 'string')) {
    const colors = metaJson(meta, 'class_colors');
    const set = { names, colors: Array.isArray(colors) ? colors : defaultClassSet(numClasses).colors } as ClassSet;
    return validateClassSet(set, numClasses, `${ctx.source}: metadata classes`);
  }
  if (ctx.opts.dataset) return validateClassSet(datasetClassSet(ctx.opts.dataset), numClasses, `${ctx.source}: dataset '${ctx.opts.dataset}'`);
  if (ctx.hints.classes) return validateClassSet(ctx.hints.classes, numClasses, `${ctx.source}: classes`);
  return defaultClassSet(numClasses);
}

/** The input policy: the caller's size, else the file's fixed size, else the image's own size. */
function policyOf(opts: LoadOptions, fixed: [number, number] | null, source: string): InputPolicy {
  const size = opts.inputSize ?? fixed;
  if (!size) return { kind: 'own-size' };
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`${source}: inputSize must be [height, width], positive integers, got ${JSON.stringify(size)}`);
  return { kind: 'fixed', height: size[0], width: size[1] };
}

/** How an imported file's input is prepared, and its classes: the file's metadata and the options' (below), or a model folder's (transformers-js-model.ts). */
export interface OnnxPipeline {
  signature: OnnxSignature;
  inputPolicy: InputPolicy;
  normalization: InputNormalizationName;
  inputAffine?: { mean: number[]; std: number[] };
  reverseChannels?: true;
  /** The transformers.js folder's other files, where the file is one's. */
  folder?: TransformersJsOrigin;
  /** The size [height, width] the graph is first imported at (its class count, its parameters). */
  probe: [number, number];
  /** The class names for the file's class count, or an error saying why they do not fit it. */
  classes(numClasses: number): ClassSet;
}

/** The LoadedWeights of an ONNX model: its graph imported at the probe size (the class count, every initializer it reads as state, in our layout). */
export function importedOnnxWeights(model: OnnxModel, name: string, source: string, p: OnnxPipeline): LoadedWeights {
  const { signature, inputAffine, reverseChannels, folder } = p;
  const [height, width] = p.probe;
  const b = new GraphBuilder();
  const image = b.input('image', [1, height, width, signature.channels]);
  const { logits, sources } = importOnnx(b, image, model, signature, source, { ...(inputAffine ? { inputAffine } : {}), ...(reverseChannels ? { reverseChannels } : {}) });
  const numClasses = logits.shape[3];
  const params: HostParams = new Map([...sources].map(([k, s]) => [k, { shape: s.order.map((a) => s.dims[a]), data: sourceData(s) }]));
  const config = defaultConfig('onnx', { numClasses, inChannels: signature.channels, normalization: p.normalization });
  const architecture = arch.wrap({ model, signature, classes: numClasses, what: source, ...(inputAffine ? { inputAffine } : {}), ...(reverseChannels ? { reverseChannels } : {}), ...(folder ? { folder } : {}) });
  const w: LoadedWeights = { name, config, ...loadedNetwork(config, architecture), inputPolicy: p.inputPolicy, params, probeSize: [width, height], classes: p.classes(numClasses) };
  return checkedWeights(w, source);
}

/** The LoadedWeights of an ONNX file's model. */
export function onnxModelWeights(model: OnnxModel, ctx: LoadContext): LoadedWeights {
  const { name, source, opts } = ctx;
  if (opts.outputStride !== undefined || opts.asppRates !== undefined) {
    throw new Error(`${source}: an ONNX file's network fixes its strides and rates: outputStride and asppRates do not apply to it`);
  }
  const signature = onnxSignature(model, source, opts.output);
  const { normalization, inputAffine } = normalizationOf(model.metadata, opts, signature.channels, source);
  const inputPolicy = policyOf(opts, signature.size, source);
  const probe: [number, number] = inputPolicy.kind === 'fixed' ? [inputPolicy.height, inputPolicy.width] : [PROBE_SIZE, PROBE_SIZE];
  return importedOnnxWeights(model, name, source, {
    signature,
    inputPolicy,
    normalization,
    ...(inputAffine ? { inputAffine } : {}),
    // Our export of a file fed BGR (a transformers.js MobileViT's) says so: the model takes RGB.
    ...(model.metadata.get('color_order') === 'BGR' && signature.channels === 3 ? { reverseChannels: true as const } : {}),
    probe,
    classes: (numClasses) => classesOf(model.metadata, ctx, numClasses),
  });
}
