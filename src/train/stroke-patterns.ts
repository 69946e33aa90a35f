// Strokes as a user would paint them, made from a label map (a data set's ground truth): what the
// teaching benchmark teaches with and what the demo paints from a sample's labels, so teaching can
// be tried and measured without a brush. Each painted pixel takes the label map's own class:
//  - 'bands': every `bandEvery` rows, `bandRows` rows painted across the image;
//  - 'scribbles': in each region (a connected area of one class, at least `minRegion` pixels) a
//    brush stroke of `radius` through up to four points well inside it, kept inside the region;
//  - 'clicks': in each region a dot of `radius` at its most inside point, and one more in a region
//    of over 40 times the dot's area.
// Pixels the label map ignores (its `ignore` value) and regions too small to paint are left
// unlabelled. Deterministic from `seed`.
// correctionsFromLabels clicks where a model is wrong instead, as interactive segmentation's
// benchmarks simulate a user's clicks (each in the largest error region, at the point farthest
// from its edge): the same clicks, in the largest regions where the model's labels differ from
// the label map's.
import { Rng } from '../util/random.js';
import { strokeComponents } from './stroke-split.js';
import { UNLABELLED } from './teach-samples.js';

export const STROKE_PATTERNS = ['bands', 'scribbles', 'clicks'] as const;
export type StrokePattern = (typeof STROKE_PATTERNS)[number];

export interface StrokePatternOptions {
  /** The label map's value of pixels it does not label (default 255). */
  ignore?: number;
  /** Brush radius of scribbles and clicks in pixels (default 3). */
  radius?: number;
  /** Bands: rows painted, and the period (default 5 every 24). */
  bandRows?: number;
  bandEvery?: number;
  /** Regions smaller than this are not scribbled on or clicked (default 100 pixels). */
  minRegion?: number;
  seed?: number;
}

export interface CorrectionOptions extends Omit<StrokePatternOptions, 'bandRows' | 'bandEvery' | 'seed'> {
  /** Error regions clicked at most, the largest first (default 5). */
  maxRegions?: number;
}

/** Each pixel's city-block distance to the nearest pixel outside its region (the image's edge counting as outside). */
function insideDistance(component: Int32Array, width: number, height: number): Uint16Array {
  const d = new Uint16Array(component.length);
  const far = 65535;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (component[p] < 0) continue;
      const up = y > 0 && component[p - width] === component[p] ? d[p - width] : 0;
      const left = x > 0 && component[p - 1] === component[p] ? d[p - 1] : 0;
      d[p] = Math.min(far, Math.min(up, left) + 1);
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const p = y * width + x;
      if (component[p] < 0) continue;
      const down = y + 1 < height && component[p + width] === component[p] ? d[p + width] : 0;
      const right = x + 1 < width && component[p + 1] === component[p] ? d[p + 1] : 0;
      d[p] = Math.min(d[p], Math.min(down, right) + 1);
    }
  }
  return d;
}

/** Paints a disc of `radius` at (cx, cy) with the class of region `id`, inside that region only. */
function stamp(out: Uint8Array, component: Int32Array, id: number, cls: number, width: number, height: number, cx: number, cy: number, radius: number): void {
  for (let y = Math.max(0, Math.ceil(cy - radius)); y <= Math.min(height - 1, Math.floor(cy + radius)); y++) {
    for (let x = Math.max(0, Math.ceil(cx - radius)); x <= Math.min(width - 1, Math.floor(cx + radius)); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius && component[y * width + x] === id) out[y * width + x] = cls;
    }
  }
}

/** A click of `radius` at the region's most inside point, and a second well inside a region of over 40 times the click's area, the farthest such point from the first. */
function clickRegion(out: Uint8Array, component: Int32Array, inside: Uint16Array, region: readonly number[], id: number, cls: number, width: number, height: number, radius: number): void {
  const at = (p: number): [number, number] => [p % width, Math.floor(p / width)];
  const deepest = region.reduce((a, p) => (inside[p] > inside[a] ? p : a), region[0]);
  stamp(out, component, id, cls, width, height, ...at(deepest), radius);
  const deep = region.filter((p) => inside[p] >= Math.max(radius, inside[deepest] / 2));
  if (region.length > 40 * Math.PI * radius * radius && deep.length > 0) {
    const [dx, dy] = at(deepest);
    const away = (p: number): number => Math.hypot(at(p)[0] - dx, at(p)[1] - dy);
    stamp(out, component, id, cls, width, height, ...at(deep.reduce((a, p) => (away(p) > away(a) ? p : a), deep[0])), radius);
  }
}

/** Each connected region's pixels (by its id in `component`). */
function regionPixels(component: Int32Array, regions: number): number[][] {
  const pixels: number[][] = Array.from({ length: regions }, () => []);
  for (let p = 0; p < component.length; p++) if (component[p] >= 0) pixels[component[p]].push(p);
  return pixels;
}

/** Strokes of `pattern` made from `labels` (width x height): the class where painted, UNLABELLED elsewhere. */
export function strokesFromLabels(labels: Uint8Array, width: number, height: number, pattern: StrokePattern, o: StrokePatternOptions = {}): Uint8Array {
  if (!STROKE_PATTERNS.includes(pattern)) throw new Error(`strokesFromLabels: pattern must be one of ${STROKE_PATTERNS.join(', ')}, got ${JSON.stringify(pattern)}`);
  if (!(labels instanceof Uint8Array) || labels.length !== width * height) throw new Error(`strokesFromLabels: labels must be a Uint8Array of ${width}x${height} values`);
  const ignore = o.ignore ?? 255;
  const out = new Uint8Array(labels.length).fill(UNLABELLED);
  if (pattern === 'bands') {
    const rows = o.bandRows ?? 5;
    const every = o.bandEvery ?? 24;
    for (let p = 0; p < labels.length; p++) if (Math.floor(p / width) % every < rows && labels[p] !== ignore) out[p] = labels[p];
    return out;
  }
  const radius = o.radius ?? 3;
  const minRegion = o.minRegion ?? 100;
  const { component, classes } = strokeComponents(labels, width, height, ignore);
  const inside = insideDistance(component, width, height);
  const pixels = regionPixels(component, classes.length);
  const rng = Rng.derive(o.seed ?? 0, 0x57a0);
  for (const [id, region] of pixels.entries()) {
    if (region.length < minRegion) continue;
    const cls = classes[id];
    if (pattern === 'clicks') {
      clickRegion(out, component, inside, region, id, cls, width, height, radius);
      continue;
    }
    const deepest = region.reduce((a, p) => (inside[p] > inside[a] ? p : a), region[0]);
    const at = (p: number): [number, number] => [p % width, Math.floor(p / width)];
    // A scribble: the deepest point and up to three more well inside, joined in order along the region's longer side.
    const deep = region.filter((p) => inside[p] >= Math.max(radius, inside[deepest] / 2));
    const points = [deepest, ...Array.from({ length: Math.min(3, deep.length) }, () => deep[rng.int(deep.length)])].map(at);
    const xs = points.map(([x]) => x);
    const ys = points.map(([, y]) => y);
    const alongX = Math.max(...xs) - Math.min(...xs) >= Math.max(...ys) - Math.min(...ys);
    points.sort((a, b) => (alongX ? a[0] - b[0] : a[1] - b[1]));
    for (let k = 0; k < points.length; k++) {
      const [x1, y1] = points[k];
      const [x0, y0] = points[Math.max(0, k - 1)];
      const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) / Math.max(0.5, radius / 2)));
      for (let j = 0; j <= n; j++) stamp(out, component, id, cls, width, height, x0 + ((x1 - x0) * j) / n, y0 + ((y1 - y0) * j) / n, radius);
    }
  }
  return out;
}

/**
 * Clicks where a model is wrong: the label map's class clicked (as 'clicks' clicks a region) in
 * each of the largest `maxRegions` regions where `predicted` (the model's classes at the label
 * map's size) differs from `labels`, those of at least `minRegion` pixels. Nothing is painted where
 * the model is right everywhere but in smaller regions.
 */
export function correctionsFromLabels(labels: Uint8Array, predicted: Uint8Array, width: number, height: number, o: CorrectionOptions = {}): Uint8Array {
  if (!(labels instanceof Uint8Array) || labels.length !== width * height) throw new Error(`correctionsFromLabels: labels must be a Uint8Array of ${width}x${height} values`);
  if (!(predicted instanceof Uint8Array) || predicted.length !== labels.length) throw new Error(`correctionsFromLabels: predicted must be a Uint8Array of ${width}x${height} values, the model's classes at the labels' size`);
  const ignore = o.ignore ?? 255;
  const radius = o.radius ?? 3;
  const minRegion = o.minRegion ?? 100;
  const maxRegions = o.maxRegions ?? 5;
  const wrong = labels.map((c, p) => (predicted[p] === c ? ignore : c));
  const { component, classes } = strokeComponents(wrong, width, height, ignore);
  const inside = insideDistance(component, width, height);
  const regions = regionPixels(component, classes.length)
    .map((pixels, id) => ({ pixels, id }))
    .filter((r) => r.pixels.length >= minRegion)
    .sort((a, b) => b.pixels.length - a.pixels.length || a.id - b.id)
    .slice(0, maxRegions);
  const out = new Uint8Array(labels.length).fill(UNLABELLED);
  for (const { pixels, id } of regions) clickRegion(out, component, inside, pixels, id, classes[id], width, height, radius);
  return out;
}
