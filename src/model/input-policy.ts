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
import { type RgbImage, cropRgb } from '../io/rgb-image.js';
import type { ResizeMode } from '../kernels/resize/resize.js';
import type { InputPolicy } from './loading/options.js';
import type { DeepLabConfig } from './networks/config.js';

/** transformers' shortest-edge resize: the short side to `size`, the long one int(size * long / short). */
function shortestEdgeSize(size: number, width: number, height: number): [number, number] {
  const short = Math.min(width, height);
  const long = Math.max(1, Math.trunc((size * Math.max(width, height)) / short));
  return width <= height ? [long, size] : [size, long];
}

/** The network's input size [height, width] for an image of width x height at a scale. */
export function networkInputSize(p: InputPolicy, width: number, height: number, scale = 1): [number, number] {
  if (p.kind === 'shortest-edge') {
    if (p.crop) return [Math.max(1, Math.round(p.crop.height * scale)), Math.max(1, Math.round(p.crop.width * scale))];
    return shortestEdgeSize(Math.max(1, Math.round(p.size * scale)), width, height);
  }
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
  if (p.kind === 'shortest-edge' && p.crop) {
    // The processor's pipeline at the crop's scale: shortest edge, then the centre cut out
    // (transformers' center_crop: the top-left corner at (side - crop) // 2).
    const [h, w] = shortestEdgeSize(Math.max(1, Math.round((p.size * height) / p.crop.height)), img.width, img.height);
    if (h < height || w < width) throw new Error(`a ${img.width}x${img.height} image resized to ${w}x${h} is smaller than the ${width}x${height} centre crop`);
    const resized = img.width === w && img.height === h ? img : resizeRgbPil(img, w, h, p.filter);
    return cropRgb(resized, Math.floor((w - width) / 2), Math.floor((h - height) / 2), width, height);
  }
  if (img.width === width && img.height === height) return img;
  if (p.kind === 'shortest-edge') return resizeRgbPil(img, width, height, p.filter);
  return p.kind === 'keep-ratio' ? resizeRgbBilinear(img, width, height) : resizeRgbPil(img, width, height);
}

/** How logits at the network's size are resized to the image's size. */
export function outputResizeMode(p: InputPolicy, config: DeepLabConfig): ResizeMode {
  return p.kind === 'keep-ratio' ? config.resizeMode : 'half_pixel';
}

/** A size to build the network at when none is given: the policy's own, or a square at its short side. */
export function policySquare(p: InputPolicy): { height: number; width: number } {
  if (p.kind === 'fixed') return { height: p.height, width: p.width };
  if (p.kind === 'shortest-edge') return p.crop ? { ...p.crop } : { height: p.size, width: p.size };
  const side = p.kind === 'short-side' ? p.size : p.short;
  return { height: side, width: side };
}

/** What the policy does to an image, in words, for reports and file metadata. */
export function describeInputPolicy(p: InputPolicy): string {
  if (p.kind === 'fixed') return `resizes the image to ${p.width}x${p.height}`;
  if (p.kind === 'short-side') return `resizes the short side to ${p.size} keeping the aspect ratio`;
  if (p.kind === 'shortest-edge') {
    const crop = p.crop ? `, then cuts out the centre ${p.crop.width}x${p.crop.height}` : '';
    return `resizes the shortest edge to ${p.size} keeping the aspect ratio (${p.filter}, as the hub processor)${crop}`;
  }
  return `resizes the image to fit ${p.long}x${p.short} (long x short side) keeping the aspect ratio`;
}
