// What a loaded model is made of (LoadedWeights), and the builders every loader shares: the
// network of a config, the ASPP rates at another output stride, and TF DeepLab's model from a
// tensor map of any TF source (TFLite, .npy, a checkpoint folded on load).
import type { Graph } from '../../graph/ir.js';
import type { TensorMap } from '../weights/import/tensor-map.js';
import { type HostParams, checkParams } from '../../graph/params.js';
import type { Architecture } from '../backbones/backbone.js';
import { backboneRecord, backboneRecords } from '../backbones/registry.js';
import type { DeepLabConfig } from '../networks/config.js';
import { defaultConfig } from '../backbones/config.js';
import type { NetworkSize } from '../networks/deeplab.js';
import { buildDeepLab } from '../backbones/network.js';
import type { MmsegSettings } from '../weights/mmseg-config.js';
import { type NameResolver, tfMobilenetV2Params } from '../weights/tf-weights.js';
import { tfKeptParams } from '../weights/tf-checkpoint.js';
import { networkInputSize } from '../input-policy.js';
import { type ClassSet, defaultClassSet, validateClassSet } from '../voc.js';
import type { InputPolicy, LoadOptions, SlideWindows } from './options.js';

/**
 * A model's weights and how to build its network. Whoever makes one has checked `params` against
 * `buildGraph` (checkParams: every parameter there, of its shape, and nothing else), at the probe
 * size (checkedWeights), so a model loading it builds and uploads without a second look.
 */
export interface LoadedWeights {
  name: string;
  config: DeepLabConfig;
  inputPolicy: InputPolicy;
  /**
   * The backbone's architecture: the sizes the weights gave (a width multiplier, a hub config's
   * sizes), else its record's default. Opaque: only the record reads, keeps and builds it.
   */
  architecture: Architecture;
  /** Unfolded params in our layouts (BN statistics kept; folding is a graph pass). */
  params: HostParams;
  /**
   * The canonical network for one batch and input size: input 'image' [N,H,W,3] normalised,
   * output 'logits'; `training` adds what only training has (dropout). The same graph for the
   * same size and options as the call before (a graph is never changed once built).
   */
  buildGraph(size: NetworkSize, opts?: { training?: boolean }): Graph;
  /**
   * An image size (width, height) to build at load time: the input policy makes it the network
   * size the model's first program runs at, where the loader checks the weights.
   */
  probeSize: [number, number];
  /** Class names and colours (VOC's unless the checkpoint names its own). */
  classes: ClassSet;
  /**
   * Tensors the file holds that no graph reads (PyTorch's `num_batches_tracked`, layers a network
   * never runs), as the file stores them, for an export to the same framework to write back.
   */
  unread?: TensorMap;
  /**
   * Sliding-window inference by default (mmseg's test_cfg 'slide'): on the image resized by the
   * input policy, windows of `crop` pixels every `stride`, their logits averaged.
   */
  slide?: SlideWindows;
  /**
   * The precision the file itself computes in, where it says one (a transformers.js folder's
   * fp16 file): the model's precision unless the load options give one, where the adapter has
   * shader-f16 (else f32, the file's f16 weights widened).
   */
  precision?: 'f16';
}

/** What a registry entry knows of a model beyond its file. */
export interface WeightHints {
  /** mmseg models: architecture and test settings (the registry's, over the checkpoint's). */
  mmseg?: Partial<MmsegSettings>;
  /** The classes of the dataset the model was trained on (when the file names none). */
  classes?: ClassSet;
  /** The network's input size [height, width]: TF zoo models' export crop (where their frozen graph says none), TF Lite's and .npy folders' input. */
  inputSize?: [number, number];
  /** The output stride the registry entry evaluates at (TF zoo models; the load options' wins). */
  outputStride?: number;
}

/** ASPP rates follow the output stride (6/12/18 at 16 become 12/24/36 at 8) unless given. */
export function scaledRates(rates: number[], fromStride: number, toStride: number): number[] {
  return rates.map((r) => Math.max(1, Math.round((r * fromStride) / toStride)));
}

/**
 * The network of a config as LoadedWeights hold it: the architecture (the backbone record's
 * default unless the weights gave one) and the graph for any batch and input size. The graph
 * built last is kept and handed out again for the same size and options, so the load's check and
 * the model's session and first program share one build.
 */
export function loadedNetwork(config: DeepLabConfig, architecture = backboneRecord(config.backbone).architecture.default): Pick<LoadedWeights, 'architecture' | 'buildGraph'> {
  let last: { key: string; graph: Graph } | undefined;
  const buildGraph: LoadedWeights['buildGraph'] = (size, opts) => {
    const key = `${size.batch ?? 1}x${size.height}x${size.width}${opts?.training ? ' training' : ''}`;
    if (last?.key !== key) last = { key, graph: buildDeepLab(config, size, { architecture, dropout: opts?.training }) };
    return last.graph;
  };
  return { architecture, buildGraph };
}

/** The network size the model's first program runs at: the input policy's for the probe size. */
export function probeNetworkSize(w: Pick<LoadedWeights, 'inputPolicy' | 'probeSize'>): NetworkSize {
  const [height, width] = networkInputSize(w.inputPolicy, ...w.probeSize);
  return { height, width };
}

/** `w` once its params are checked against its network at the probe network size; `what` names the weights in errors. */
export function checkedWeights(w: LoadedWeights, what: string): LoadedWeights {
  checkParams(w.buildGraph(probeNetworkSize(w)), w.params, what);
  return w;
}

/** A zoo checkpoint's DeepLabv3+ decoder variables, unfolded (TF's names and layouts), with each batch norm's eps. */
export interface TfDecoderVariables {
  variables: TensorMap;
  epsilon: (scope: string) => number;
  from: string;
}

/** The decoder's parameters: TF DeepLab names its scope `decoder/`. */
const isTfDecoderParam = (name: string) => name.startsWith('decoder/');

/**
 * TF DeepLab's model in a TF tensor map: the backbone whose record's `weights.tf` stem the map
 * holds; with `decoder` (the ADE20K MobileNetV2's checkpoint), DeepLabv3+'s decoder on it, its
 * batch norms kept as the checkpoint holds them.
 */
export function tfDeepLab(
  name: string,
  input: Pick<LoadedWeights, 'inputPolicy' | 'probeSize'>,
  source: Parameters<typeof tfMobilenetV2Params>[1],
  resolver: NameResolver,
  opts: LoadOptions,
  classes?: ClassSet,
  decoder?: TfDecoderVariables,
): LoadedWeights {
  const takers = backboneRecords().filter((r) => r.weights.tf && r.weights.tf.batchNorms !== 'kept');
  const stemOf = (r: (typeof takers)[number]) => source.get(resolver(r.weights.tf!.stem, 'weights', false)[0]);
  const record = takers.find((r) => stemOf(r) !== undefined);
  if (!record) throw new Error(`${name}: no ${takers.map((r) => `${r.weights.tf!.stem} weights`).join(' or ')}: not a TF DeepLab file of ${takers.map((r) => r.title).join(' or ')}`);
  const tf = record.weights.tf!;
  const architecture = tf.architecture(stemOf(record)!.shape, `${name}: ${tf.stem}`);
  // The logits' output channels are the classes (21 for VOC, 19 for Cityscapes).
  const logits = source.get(resolver('logits/semantic', 'weights', false)[0]);
  const config = defaultConfig(record.name, {
    numClasses: logits && logits.shape.length === 4 ? logits.shape[0] : 21,
    outputStride: opts.outputStride,
    asppRates: opts.asppRates,
    ...(decoder ? { decoder: 'deeplabv3plus' as const } : {}),
  });
  const network = loadedNetwork(config, architecture);
  const { inputPolicy, probeSize } = input;
  // Every parameter is taken from the tensors by the graph at the probe size, shapes checked.
  const graph = network.buildGraph(probeNetworkSize(input));
  const params = tfMobilenetV2Params(graph, source, resolver, name, (p) => !decoder || !isTfDecoderParam(p));
  if (decoder) for (const [k, v] of tfKeptParams(graph, decoder.variables, decoder.epsilon, decoder.from, isTfDecoderParam)) params.set(k, v);
  return {
    name,
    config,
    ...network,
    inputPolicy,
    params,
    probeSize,
    classes: classes ? validateClassSet(classes, config.numClasses, `${name}: classes`) : defaultClassSet(config.numClasses),
  };
}
