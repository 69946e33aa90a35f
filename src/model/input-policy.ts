// How an image becomes the network's input under a model's input policy (src/model/loading/
// options.ts): its size at the network, the resize, the normalisation, and the mode of the final
// resize of the logits back to the image. Each kind of policy is a record
// (src/model/input-policies/); these are the calls the model, the frame path, training, the
// loaders and the exports make, each answered by the policy's record.
import { type StillImage, isBandImage } from '../io/band-image.js';
import { grayscaleOf, normalizeBands } from '../io/grayscale.js';
import { type InputNormalizationName, inputNormalization } from '../io/input-normalization.js';
import type { Resample } from '../io/resize-cpu.js';
import type { RgbImage } from '../io/rgb-image.js';
import { type PadParams, padCpu } from '../kernels/layout/pad.js';
import type { ResizeMode } from '../kernels/resize/resize.js';
import type { InputPolicy, LoadOptions } from './loading/options.js';
import type { DeepLabConfig } from './networks/config.js';
import { policyRecord } from './input-policies/registry.js';

export { readInputPolicy } from './input-policies/registry.js';

/** The network's input size [height, width] for an image of width x height at a scale. */
export function networkInputSize(p: InputPolicy, width: number, height: number, scale = 1): [number, number] {
  return policyRecord(p).networkSize(p, width, height, scale);
}

/**
 * The normalisation of the network's input under the policy: what the CPU path, the frame
 * kernel's table, training samples and ONNX metadata all use.
 */
export function policyNormalization(p: InputPolicy, config: DeepLabConfig): InputNormalizationName {
  return policyRecord(p).normalization(p, config);
}

/** The normalised NHWC input of an image already at the network's size (band images are normalised already). */
export function normalizeInput(p: InputPolicy, config: DeepLabConfig, img: StillImage): Float32Array {
  if (isBandImage(img)) return img.normalized;
  const norm = inputNormalization(policyNormalization(p, config));
  const channels = config.inChannels ?? 3;
  if (channels === 3) return norm.normalize(img);
  if (channels === 1) return normalizeBands(grayscaleOf(img), 1, norm);
  throw new Error(`a network of ${channels} input channels takes ${channels} bands ({ data, width, height, channels: ${channels}, layout }), not an RGB image`);
}

/** The image resized to the size [height, width] it takes in the network's input, as the policy's pipeline does. */
export function resizeForNetwork(p: InputPolicy, img: RgbImage, height: number, width: number): RgbImage {
  return policyRecord(p).resize(p, img, height, width);
}

/**
 * The zeros around an image of width x height in the network's normalised input at a scale, for
 * a policy that pads the image rather than resizing it to fill the input; null where it fills it.
 * The logits are cropped by the same amounts (inversePad) before any resize back to the image.
 */
export function inputPadding(p: InputPolicy, width: number, height: number, scale = 1): PadParams | null {
  const record = policyRecord(p);
  const pad = record.padding?.(p, width, height, scale);
  return pad && (pad.top || pad.bottom || pad.left || pad.right) ? pad : null;
}

/** The size [height, width] an image takes inside the network's input: all of it, less any padding. */
export function imageSizeInInput(p: InputPolicy, width: number, height: number, scale = 1): [number, number] {
  const [h, w] = networkInputSize(p, width, height, scale);
  const pad = inputPadding(p, width, height, scale);
  return pad ? [h - pad.top - pad.bottom, w - pad.left - pad.right] : [h, w];
}

/** The normalised NHWC network input of an image at a scale: resized, normalised, and padded where the policy pads. */
export function networkInput(p: InputPolicy, config: DeepLabConfig, img: StillImage, scale = 1): { input: Float32Array; height: number; width: number } {
  const [height, width] = networkInputSize(p, img.width, img.height, scale);
  const [ih, iw] = imageSizeInInput(p, img.width, img.height, scale);
  if (isBandImage(img) && (ih !== img.height || iw !== img.width)) {
    // Bands are never resampled: what resize would a band of another meaning take?
    throw new Error(`segment: bands (and images given with mean and std) are run at their own size; ${describeInputPolicy(p)} makes a ${img.width}x${img.height} image ${iw}x${ih} at scale ${scale} (they take models that pad, as smp's do, at scale 1)`);
  }
  const input = normalizeInput(p, config, isBandImage(img) ? img : resizeForNetwork(p, img, ih, iw));
  const pad = inputPadding(p, img.width, img.height, scale);
  return { input: pad ? padCpu(input, [1, ih, iw, input.length / (ih * iw)], pad) : input, height, width };
}

/** The policy's resize as the frame kernels run it. */
export function policyResample(p: InputPolicy): Resample {
  return policyRecord(p).resample(p);
}

/** How logits at the network's size are resized to the image's size. */
export function outputResizeMode(p: InputPolicy, config: DeepLabConfig): ResizeMode {
  return policyRecord(p).outputResize(p, config);
}

/** A size to build the network at when none is given: the policy's own, or a square at its short side. */
export function policySquare(p: InputPolicy): { height: number; width: number } {
  return policyRecord(p).square(p);
}

/** The one size the network runs at where the policy fixes it (TF's models); null where it follows the image. */
export function fixedInputSize(p: InputPolicy): { height: number; width: number } | null {
  return policyRecord(p).fixedSize(p);
}

/** What the policy does to an image, in words, for reports and file metadata. */
export function describeInputPolicy(p: InputPolicy): string {
  return policyRecord(p).describe(p);
}

/** The policy with the load options that change it applied (shortSide, testScale, centerCrop, ownSize). */
export function policyWithOptions(p: InputPolicy, opts: LoadOptions): InputPolicy {
  return policyRecord(p).withOptions(p, opts);
}

/** The policy that runs an image of width x height at its own resolution, as the policy's pipeline would. */
export function policyAtOwnSize(p: InputPolicy, width: number, height: number): InputPolicy {
  return policyRecord(p).atOwnSize(p, width, height);
}

/** The resize fields of a hub folder's preprocessor_config.json, or why the policy has none. */
export function hubProcessorResize(p: InputPolicy): { fields: Record<string, unknown> } | { why: string } {
  return policyRecord(p).hubProcessor(p);
}

/** Whether segment() takes a still image's labels at its size in the input and enlarges them by nearest neighbour (TF DeepLab's zoo). */
export function takesNearestLabels(p: InputPolicy): boolean {
  return policyRecord(p).nearestLabels === true;
}

/** Whether segment() resizes the head's own logits once, to the image, as the policy's pipeline does (hub models). */
export function resizesHeadLogits(p: InputPolicy): boolean {
  return policyRecord(p).resizesHeadLogits === true;
}
