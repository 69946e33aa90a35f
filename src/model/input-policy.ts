// How an image becomes the network's input under a model's input policy (src/model/loading/
// options.ts): its size at the network, the resize, the normalisation, and the mode of the
// final resize of the logits back to the image. The three reference pipelines:
//  - 'fixed' (TF's models): PIL's bilinear resize to the fixed size;
//  - 'short-side' (torchvision's): PIL's bilinear resize of the short side to `size`;
//  - 'keep-ratio' (mmseg's): OpenCV's bilinear resize by min(long / long side, short / short
//    side), sides rounded to the nearest pixel as mmcv's rescale_size does, mean/std on 0..255
//    values, and the logits resized back with the network's own align_corners (mmseg resizes
//    seg_logits with the head's setting).
import { normalizeMeanStd255, resizeRgbBilinear } from '../io/mmseg-input.js';
import { inputNormalization } from '../io/input-normalization.js';
import { resizeRgbPil } from '../io/resize-cpu.js';
import type { RgbImage } from '../io/rgb-image.js';
import type { ResizeMode } from '../kernels/resize/resize.js';
import type { InputPolicy } from './loading/options.js';
import type { DeepLabConfig } from './networks/config.js';

/** The network's input size [height, width] for an image of width x height at a scale. */
export function networkInputSize(p: InputPolicy, width: number, height: number, scale = 1): [number, number] {
  if (p.kind === 'fixed') return [Math.max(1, Math.round(p.height * scale)), Math.max(1, Math.round(p.width * scale))];
  if (p.kind === 'short-side') {
    const k = (p.size * scale) / Math.min(width, height);
    return [Math.max(1, Math.round(height * k)), Math.max(1, Math.round(width * k))];
  }
  // mmcv's rescale_size: int(side * factor + 0.5).
  const k = Math.min(p.long / Math.max(width, height), p.short / Math.min(width, height)) * scale;
  return [Math.max(1, Math.floor(height * k + 0.5)), Math.max(1, Math.floor(width * k + 0.5))];
}

/** The normalised NHWC input of an image already at the network's size. */
export function normalizeInput(p: InputPolicy, config: DeepLabConfig, img: RgbImage): Float32Array {
  if (p.kind === 'keep-ratio') return normalizeMeanStd255(img);
  return inputNormalization(config.normalization).normalize(img);
}

/** The image resized to the network's input size [height, width] as the policy's pipeline does. */
export function resizeForNetwork(p: InputPolicy, img: RgbImage, height: number, width: number): RgbImage {
  if (img.width === width && img.height === height) return img;
  return p.kind === 'keep-ratio' ? resizeRgbBilinear(img, width, height) : resizeRgbPil(img, width, height);
}

/** How logits at the network's size are resized to the image's size. */
export function outputResizeMode(p: InputPolicy, config: DeepLabConfig): ResizeMode {
  return p.kind === 'keep-ratio' ? config.resizeMode : 'half_pixel';
}

/** A size to build the network at when none is given: the policy's own, or a square at its short side. */
export function policySquare(p: InputPolicy): { height: number; width: number } {
  if (p.kind === 'fixed') return { height: p.height, width: p.width };
  const side = p.kind === 'short-side' ? p.size : p.short;
  return { height: side, width: side };
}

/** What the policy does to an image, in words, for reports and file metadata. */
export function describeInputPolicy(p: InputPolicy): string {
  if (p.kind === 'fixed') return `resizes the image to ${p.width}x${p.height}`;
  if (p.kind === 'short-side') return `resizes the short side to ${p.size} keeping the aspect ratio`;
  return `resizes the image to fit ${p.long}x${p.short} (long x short side) keeping the aspect ratio`;
}
