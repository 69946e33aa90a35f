// A backbone is one record, as an op is one OpDef (src/graph/ops/op-def.ts): how its network is
// built and which features the heads read, the sizes its weights give it (its architecture), the
// output strides and config options it takes, the input normalisation its reference weights
// expect, how each weights source's files are read as it, whether it exports, and how
// `describe` groups its layers. The records are
// kept by name in registry.ts, where a missing one is a compile error; everything that differs
// by backbone asks the record, never the name.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Graph, Value } from '../../graph/ir.js';
import type { HostParams } from '../../graph/params.js';
import type { InputNormalizationName } from '../../io/input-normalization.js';
import type { BackboneName, DeepLabConfig, HeadName, StemName } from '../networks/config-types.js';
import type { BackboneFeatures } from '../networks/deeplab-types.js';
import type { TensorMap } from '../weights/import/tensor-map.js';

declare const ARCHITECTURE: unique symbol;

/**
 * A backbone's architecture: the sizes its weights say rather than its name (MobileNetV2's width
 * multiplier, a Hugging Face config's sizes for MobileViT). Opaque: only the record that made it
 * reads it (its `architecture`, its network and its weights sources), so nothing else learns a
 * backbone's sizes.
 */
export type Architecture = { readonly [ARCHITECTURE]: true };

/** The casts between a record's own architecture type and the opaque one; each record uses its own only. */
export function architectureCasts<A>(): { wrap(a: A): Architecture; unwrap(x: Architecture): A } {
  return { wrap: (a) => a as unknown as Architecture, unwrap: (x) => x as unknown as A };
}

/** How a record keeps its architecture: its default, and its form in our checkpoints' metadata. */
export interface BackboneArchitecture {
  /** What it builds from a config alone, where no weights file gives it (MobileViT: xx-small's sizes). */
  default: Architecture;
  /**
   * Its key in our checkpoint metadata, holding `toJson`'s value as JSON; none where the name
   * alone fixes the network. A checkpoint without the key builds the default.
   */
  metadataKey?: string;
  toJson(a: Architecture): unknown;
  /** `toJson`'s value read back, every field checked; `what` names it in errors. */
  fromJson(v: unknown, what: string): Architecture;
}

/** The architecture of a backbone its name fixes (ResNets, MobileNetV3): nothing to read or keep. */
export const FIXED_ARCHITECTURE: BackboneArchitecture = (() => {
  const none = architectureCasts<null>().wrap(null);
  return { default: none, toJson: () => null, fromJson: () => none };
})();

/** What a build takes besides the config: the architecture (from the weights, else the record's default); training's dropout. */
export interface BackboneBuildOptions {
  architecture: Architecture;
  dropout?: boolean;
}

/**
 * The network: a backbone whose features the shared heads read ('features'), or a whole
 * network that brings its own head (TF's MobileNetV2 DeepLab, MobileViT), returning the logits
 * resized to the input.
 */
export type BackboneNetwork =
  | { kind: 'features'; build(b: GraphBuilder, image: Value, cfg: DeepLabConfig, opts: BackboneBuildOptions): BackboneFeatures }
  | {
      kind: 'whole';
      build(b: GraphBuilder, image: Value, cfg: DeepLabConfig, opts: BackboneBuildOptions): Value;
      /**
       * The network's own output in a graph of it, where its logits are that output resized to the
       * input (an ONNX file's output below the input's resolution): what forwardToHost gives, and
       * what a hub processor's post-processing resizes. Undefined where the logits are the network's
       * own output. Absent: forwardToHost gives the logits at the input.
       */
      ownOutput?(graph: Graph): Value | undefined;
    };

/** The keys and shapes of a state dict, which is all a source's recogniser reads. */
export type StateKeys = ReadonlyMap<string, { readonly shape: readonly number[] }>;

/**
 * How each weights source's tensors are recognised as this backbone. The generic mappings
 * (src/model/weights/: torchvision.ts, torchvision-classification.ts, mmseg.ts) ask every
 * record that has their source; a backbone without a source is never matched to its files.
 * Our own checkpoints name their backbone in their config and take every one.
 */
export interface BackboneWeights {
  /** torchvision's DeepLabv3 state dicts (deeplabv3_*: `backbone.*`, `classifier.*`). */
  torchvision?: { holds(state: StateKeys): boolean };
  /**
   * torchvision's ImageNet classification state dicts, as the backbone of a new DeepLabv3:
   * `filePrefix` stands for our `backbone.` in the file; `headPrefix` is the classification
   * head, dropped.
   */
  torchvisionClassification?: { holds(state: StateKeys): boolean; filePrefix: string; headPrefix: string };
  /** mmsegmentation's DeepLabv3 checkpoints (ResNetV1c / V1b backbones, `decode_head.*`). */
  mmseg?: { holds(state: StateKeys): boolean; /** The decode head's channels. */ headChannels: number };
  /** TF DeepLab's tensors (TFLite, .npy, zoo checkpoints and graphs). */
  tf?: TfSource;
  /** A Hugging Face hub folder of `transformers` (config.json, preprocessor_config.json, model.safetensors). */
  transformers?: TransformersSource;
  /**
   * VainF/DeepLabV3Plus-Pytorch's checkpoints (`model_state`: `backbone.*`, and `classifier.*` of
   * its DeepLabHead or DeepLabHeadV3Plus).
   */
  vainf?: { holds(state: StateKeys): boolean };
  /** An ONNX file (src/model/loading/onnx-model.ts): its graph is the network, imported, and its initializers the parameters. */
  onnx?: { imported: true };
  /** A segmentation_models_pytorch folder (config.json with `_model_class`, model.safetensors): the architecture of its encoder_name, encoder_depth and activation. */
  smp?: { architecture(encoder: unknown, depth: unknown, activation: unknown, what: string): Architecture };
}

/** How TF DeepLab's files hold a backbone. */
export interface TfSource {
  /** The scope its names start with. */
  scope: string;
  /** Its first conv's scope, whose weight (OHWI in every TF source) says the architecture, and that a file holds it. */
  stem: string;
  /** The architecture a stem weight's shape means; `what` names the weight in errors. */
  architecture(stemShape: readonly number[], what: string): Architecture;
  /**
   * 'kept': its network keeps TF's batch norms as ops, so a zoo checkpoint's (or frozen graph's)
   * variables are its parameters as they are (Xception-65); otherwise its files are folded on
   * load into convs with biases (MobileNetV2).
   */
  batchNorms?: 'kept';
  /**
   * The float constants its TF graph computes with besides its weights and the preprocessing
   * (MobileNetV3's hard-swish and hard sigmoid, relu6(x + 3) / 6): a frozen graph holding any
   * other is refused (src/model/loading/tf-zoo-graph.ts). Absent: none.
   */
  arithmetic?: { values: readonly number[]; words: string };
  /**
   * The architecture a frozen graph's image pooling (its AvgPool's window and strides, at the
   * graph's output stride) gives, for a network whose pooling windows are part of it
   * (MobileNetV3's image-pooling crop); `what` names the file in errors.
   */
  poolingArchitecture?(pooling: { window: [number, number]; strides: [number, number] }, outputStride: number, what: string): Architecture;
}

/**
 * How a backbone's `transformers` hub folders are read and written. The loader and the writer
 * (src/model/loading/hub-model.ts, src/model/weights/transformers-export.ts) do what every hub
 * folder shares: the classes (id2label), the processor, the processor's BGR flip on the stem.
 */
export interface TransformersSource {
  /** The config's `model_type` that names this backbone. */
  modelType: string;
  /** Its first conv's weight in our names, whose input channels a processor's BGR flip reverses. */
  stem: string;
  /**
   * config.json's values (parsed, an object) read as this backbone's architecture and the config
   * values they give (the head's output stride, rates and channels; its resize), each checked,
   * and the weights file's tensors as our parameters. `numLabels` is id2label's count; `what`
   * names config.json in errors, `weightsWhat` the weights file.
   */
  read(
    json: Record<string, unknown>,
    tensors: TensorMap,
    ctx: { numLabels: number; what: string; weightsWhat: string },
  ): { architecture: Architecture; config: Partial<DeepLabConfig> & { outputStride: number; asppRates: number[] }; params: HostParams };
  /** Writing a hub folder back, or why its weights cannot be. */
  export: TransformersExport | { why: string };
}

/** A backbone's side of a hub folder written back (`deeplab export --format hf`). */
export interface TransformersExport {
  /**
   * Why a model of this backbone cannot be written, where only some can (TF's MobileNetV2 files
   * fold the batch norms transformers keeps); undefined: it can.
   */
  refusal?(a: Architecture, cfg: DeepLabConfig): string | undefined;
  /**
   * config.json's model values for an architecture under a DeepLab config: `architectures`, the
   * sizes, the head's values. The writer adds model_type, the classes and the ignore index.
   */
  config(a: Architecture, cfg: DeepLabConfig): Record<string, unknown>;
  /** The keys of that config transformers types as float: written 2.0, not 2 (transformers 5 refuses an int there). */
  floatFields: readonly string[];
  /**
   * preprocessor_config.json's processor class and what it does besides the resize and the
   * rescale (its channel flip, its normalisation); the writer checks that it reads back as the
   * model's normalisation, and flips the stem where it flips the input.
   */
  processor: Record<string, unknown>;
  /** Our parameters (the stem in the processor's channel order) as the weights file's tensors, in transformers' names and layouts. */
  tensors(params: HostParams): TensorMap;
}

/** Whether weights on this backbone export to torchvision's state dict, and why not. */
export type BackboneExport = { torchvision: true } | { torchvision: false; why: string };

export interface BackboneRecord {
  name: BackboneName;
  /** Its name in prose ('ResNet-101'). */
  title: string;
  network: BackboneNetwork;
  /** The sizes its weights give its network (FIXED_ARCHITECTURE where its name says them all). */
  architecture: BackboneArchitecture;
  /**
   * The output stride with no atrous convolution for `blocks` blocks; the strides it runs at
   * are 8, 16, ..., this.
   */
  naturalOutputStride(blocks: number): number;
  /** Whether it takes cascaded blocks (`blocks` 5..7, replicas of block4: paper Sec. 3.2). */
  cascadedBlocks: boolean;
  /** Whether a multi-grid other than all ones is accepted (ResNet-18's block4 has two units: no; MobileNets ignore it). */
  multiGrid: boolean;
  /** The stems it takes ('v1b' alone on networks that have no choice: the config's default). */
  stems: readonly StemName[];
  /** Whether mmseg's heads can sit on it (config `head: 'mmseg'`). */
  mmsegHead: boolean;
  /** The head families it takes, where not torchvision's (and mmseg's with `mmsegHead`). */
  heads?: readonly HeadName[];
  /** The input channels it takes: 3 (RGB, the default), or any count (a stem built for the config's `inChannels`). */
  inputChannels?: 'rgb' | 'any';
  /** Whether DeepLabv3+'s decoder can sit on it (config `decoder: 'deeplabv3plus'`). */
  decoder: boolean;
  /** DeepLabv3+'s decoder with depthwise-separable convolutions (as on MobileNets). */
  separableDecoder: boolean;
  /** The input normalisation its reference weights expect (src/io/input-normalization.ts). */
  normalization: InputNormalizationName;
  /**
   * Its reference configuration, over torchvision's (OS 8, ASPP rates 12, 24, 36, image
   * pooling, 256 channels, torchvision's dilation bookkeeping, half-pixel resizes).
   */
  defaults: Partial<Omit<DeepLabConfig, 'backbone' | 'normalization'>>;
  /** Whether a parameter is the backbone's (the trainer's backbone learning rate reads it). */
  ownsParam(name: string): boolean;
  weights: BackboneWeights;
  export: BackboneExport;
  /**
   * A network that came from an ONNX file: that file written back with these parameters and
   * metadata (its graph, opset and node names as they were), what `deeplab export --format onnx`
   * writes for it instead of our own graph.
   */
  onnxFile?(a: Architecture, params: HostParams, cfg: DeepLabConfig, metadata: Readonly<Record<string, string>>): { bytes: Uint8Array; nodes: number; initializers: number };
  /** How `describe` groups the backbone's layers: the first rule matching a layer's name names its group. */
  describeGroups: readonly [RegExp, (m: RegExpExecArray) => string][];
}
