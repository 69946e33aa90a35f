// A result taken at the size an image had in the network's input, brought to the image's own size
// by nearest neighbour with aligned corners, as TF DeepLab's export_model.py brings back the labels
// of an image its graph resized (`_resize_label`: tf.image.resize_images, NEAREST_NEIGHBOR,
// align_corners=True). TF's kernel computes in float32: scale (in - 1) / (out - 1), source index
// roundf(out_index * scale) (half away from zero), clamped to the last row or column.
import type { StillImage } from '../io/band-image.js';
import type { SegmentHost } from './segment-host.js';
import type { SegmentResult } from './segment-options.js';

/** The source index of each output index along one axis, as TF's resize_nearest_neighbor with aligned corners. */
export function nearestSources(inSize: number, outSize: number): Int32Array {
  const scale = outSize > 1 ? Math.fround((inSize - 1) / (outSize - 1)) : 0;
  return Int32Array.from({ length: outSize }, (_, o) => Math.min(Math.floor(Math.fround(o * scale) + 0.5), inSize - 1));
}

/** Per pixel values (`per` of them) of an [h, w] map at [outH, outW], by nearest neighbour with aligned corners. */
function enlarge<T extends Uint8Array | Float32Array>(data: T, h: number, w: number, outH: number, outW: number, per: number): T {
  const rows = nearestSources(h, outH);
  const cols = nearestSources(w, outW);
  const out = new (data.constructor as new (n: number) => T)(outH * outW * per);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const from = (rows[y] * w + cols[x]) * per;
      out.set(data.subarray(from, from + per), (y * outW + x) * per);
    }
  }
  return out;
}

/** A result at [height, width] of the network's input brought to the image's width x height (the class map and what it holds besides). */
export function enlargeResult(r: SegmentResult, width: number, height: number): SegmentResult {
  if (r.width === width && r.height === height) return r;
  const C = r.numClasses;
  const out: SegmentResult = { ...r, width, height, classes: enlarge(r.classes, r.height, r.width, height, width, 1) };
  if (r.probabilities) out.probabilities = enlarge(r.probabilities, r.height, r.width, height, width, C);
  if (r.logits) out.logits = enlarge(r.logits, r.height, r.width, height, width, C);
  return out;
}

/**
 * The size [height, width] an image's labels are taken at: its own, or where the model takes
 * them by nearest neighbour (TF DeepLab's zoo), its size in the network's input of height x width.
 */
export function labelsSize(host: SegmentHost, img: StillImage, height: number, width: number, scale: number): [number, number] {
  if (!host.nearestLabels) return [img.height, img.width];
  const pad = host.inputPadding(img.width, img.height, scale);
  return pad ? [height - pad.top - pad.bottom, width - pad.left - pad.right] : [height, width];
}
