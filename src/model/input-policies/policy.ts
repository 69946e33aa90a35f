// An input policy is one record: how an image of any size becomes the network's input under it
// (the size at the network, the resize, the normalisation), how the logits go back to the
// image's size, and the policy's forms elsewhere (a checkpoint's metadata, words, a hub
// processor). The records are kept by kind in registry.ts; the model, the frame path, training
// and the exports reach them through src/model/input-policy.ts and never switch on a kind.
import type { InputNormalizationName } from '../../io/input-normalization.js';
import type { Resample } from '../../io/resize-cpu.js';
import type { RgbImage } from '../../io/rgb-image.js';
import type { PadParams } from '../../kernels/layout/pad.js';
import type { ResizeMode } from '../../kernels/resize/resize.js';
import type { InputPolicy, LoadOptions } from '../loading/options.js';
import type { DeepLabConfig } from '../networks/config.js';

export type PolicyKind = InputPolicy['kind'];

export interface InputPolicyRecord<P extends InputPolicy = InputPolicy> {
  kind: P['kind'];
  /** Its stored form in words, for the error refusing a damaged one: "{kind: 'fixed', height, width}". */
  form: string;
  /** The policy from its stored form (JSON of the policy), every field checked; undefined where a field is wrong. */
  parse(stored: Record<string, unknown>): P | undefined;
  /** The policy with the load options that change it applied (a short side, a test scale, no centre crop, the image's own size). */
  withOptions(p: P, opts: LoadOptions): InputPolicy;
  /** The network's input size [height, width] for an image of width x height at a scale. */
  networkSize(p: P, width: number, height: number, scale: number): [number, number];
  /**
   * The zeros around the image in the network's normalised input, for a policy that pads the image
   * to the network's size rather than resizing it to fill it; absent where the image fills it.
   */
  padding?(p: P, width: number, height: number, scale: number): PadParams;
  /** The image resized to the size it takes in the network's input (all of it, less any padding) as the policy's pipeline does. */
  resize(p: P, img: RgbImage, height: number, width: number): RgbImage;
  /** The resize the frame kernels run (src/kernels/frame): the policy's own where they can reproduce it. */
  resample(p: P): Resample;
  /** The normalisation of the network's input (src/io/input-normalization.ts): every input path asks this. */
  normalization(p: P, config: DeepLabConfig): InputNormalizationName;
  /** How logits at the network's size are resized to the image's size. */
  outputResize(p: P, config: DeepLabConfig): ResizeMode;
  /**
   * Whether the policy's pipeline resizes the head's own logits (at its stride) once, to the image
   * (transformers' post_process_semantic_segmentation), rather than the logits at the network's
   * input: segment() then post-processes the network's 'logits_raw'. Absent: the logits at the input.
   */
  resizesHeadLogits?: true;
  /**
   * Whether the labels of an image the policy resized come back to its size by nearest neighbour
   * with aligned corners from the labels at its size in the network's input (TF DeepLab's
   * export_model.py), rather than from the logits resized: segment() of a still image then
   * post-processes at that size and enlarges the result. Absent: the logits are resized.
   */
  nearestLabels?: true;
  /** A size to build the network at when none is given. */
  square(p: P): { height: number; width: number };
  /** The one size the network runs at where the policy fixes it; null where the size follows the image. */
  fixedSize(p: P): { height: number; width: number } | null;
  /** What the policy does to an image, in words, for reports and file metadata. */
  describe(p: P): string;
  /** The policy that runs an image of width x height at its own resolution (a training run's evaluation). */
  atOwnSize(p: P, width: number, height: number): InputPolicy;
  /** The resize fields of a hub folder's preprocessor_config.json, or why the policy has none. */
  hubProcessor(p: P): { fields: Record<string, unknown> } | { why: string };
}

export const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** The short side resized to `size` (torchvision's, and how a model is evaluated at its data's own size). */
export function shortSideAt(width: number, height: number): InputPolicy {
  return { kind: 'short-side', size: Math.min(width, height) };
}
