// The ways of segmenting still images, chosen by segment()'s options: mmseg's sliding windows
// (a model whose reference tests so), tiles (`tile`), averaged passes (several scales or a flip),
// or, by default, images grouped by network input size and run `batchSize` at a time. Each
// image's device work is one turn; an aborted signal stops between images.
import { type StillImage, isBandImage } from '../io/band-image.js';
import type { RgbImage } from '../io/rgb-image.js';
import { normalizeInput, resizeForNetwork } from './input-policy.js';
import type { LoadedWeights } from './loading/load-weights.js';
import type { SlideWindows } from './loading/options.js';
import { segmentAveraged } from './averaged.js';
import { segmentSplitting } from './batched.js';
import type { SegmentHost } from './segment-host.js';
import type { SegmentOptions, SegmentResult, StillImagePlan } from './segment-options.js';
import { type SlideHost, segmentSlide } from './slide.js';
import { segmentTiled } from './tiled.js';
import { DEFAULT_OVERLAP } from './tiling.js';

/** What the still-image modes need of a model. */
export interface StillImageHost {
  host: SegmentHost;
  /** The host of mmseg's sliding windows (windows go through the network at their own size). */
  slideHost: SlideHost;
  /** The model's default sliding windows (mmseg's test_cfg 'slide'), if any. */
  slide?: SlideWindows;
}

/** The still-image modes' view of a model, from its SegmentHost and its weights' input policy. */
export function stillImageHost(host: SegmentHost, weights: LoadedWeights): StillImageHost {
  const { inputPolicy: policy, config } = weights;
  const slideHost: SlideHost = {
    tensors: host.tensors,
    numClasses: host.numClasses,
    // Windows go through the network at their own size, already resized with the image.
    networkSize: (width, height) => [height, width],
    inputPadding: () => null,
    // mmseg's pipeline resizes the logits at the window's size.
    postLogits: (height, width) => ({ name: 'logits', height, width }),
    preprocess: (window) => ({ input: normalizeInput(policy, config, window), height: window.height, width: window.width }),
    forward: (input, height, width, batch) => host.forward(input, height, width, batch),
    postProgram: (key, build) => host.postProgram(key, build),
    testSize: (width, height) => host.networkSize(width, height),
    resize: (image, height, width) => resizeForNetwork(policy, image, height, width),
    resizeMode: config.resizeMode,
  };
  return { host, slideHost, slide: weights.slide };
}

/** Segments decoded images as `plan` (checkStillImageOptions of `opts`) says, in order. */
export async function segmentStillImages(m: StillImageHost, imgs: readonly StillImage[], opts: SegmentOptions, plan: StillImagePlan): Promise<SegmentResult[]> {
  const { include, scales, batchSize, averaged, tiled } = plan;
  const { host } = m;
  const { signal } = opts;
  const keepProbabilities = include.has('probabilities');
  const eachImage = async <T extends StillImage>(list: readonly T[], segmentOne: (img: T) => Promise<SegmentResult>): Promise<SegmentResult[]> => {
    const results: SegmentResult[] = [];
    for (const img of list) {
      signal?.throwIfAborted();
      results.push(await host.exclusive(() => segmentOne(img)));
    }
    return results;
  };
  const slide = !tiled && !averaged && scales[0] === 1 && opts.slide !== false ? m.slide : undefined;
  if (slide) {
    if (include.has('logits')) throw new Error(`segment: ${host.name} averages the logits of sliding windows; ask for probabilities, or pass slide: false for whole-image logits`);
    // mmseg's windows are resized with the image (RGB only); no band model slides.
    const rgb = imgs.filter((img): img is RgbImage => !isBandImage(img));
    if (rgb.length < imgs.length) throw new Error(`segment: ${host.name} slides windows over a resized image; bands are run at their own size: pass slide: false`);
    return eachImage(rgb, (img) => segmentSlide(m.slideHost, img, slide, { batchSize, keepProbabilities, onProgress: opts.onTileProgress }));
  }
  if (tiled) {
    const overlap = opts.overlap ?? DEFAULT_OVERLAP;
    return eachImage(imgs, (img) => segmentTiled(host, img, { tile: opts.tile!, overlap, batchSize, keepProbabilities, onProgress: opts.onTileProgress }));
  }
  if (averaged) return eachImage(imgs, (img) => segmentAveraged(host, img, scales, !!opts.flip, keepProbabilities));
  // Group by network input size, keeping each group's order.
  const groups = new Map<string, number[]>();
  imgs.forEach((img, i) => {
    const key = host.networkSize(img.width, img.height, scales[0]).join('x');
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const results: SegmentResult[] = new Array(imgs.length);
  for (const members of groups.values()) {
    for (let start = 0; start < members.length; start += batchSize) {
      signal?.throwIfAborted();
      const chunk = members.slice(start, start + batchSize);
      const out = await segmentSplitting(host, chunk.map((i) => imgs[i]), scales[0], include);
      chunk.forEach((i, k) => (results[i] = out[k]));
    }
  }
  return results;
}
