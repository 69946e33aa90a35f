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
  // Each region's pixels, by how far inside they are.
  const pixels: number[][] = classes.map(() => []);
  for (let p = 0; p < labels.length; p++) if (component[p] >= 0) pixels[component[p]].push(p);
  const rng = Rng.derive(o.seed ?? 0, 0x57a0);
  for (const [id, region] of pixels.entries()) {
    if (region.length < minRegion) continue;
    const cls = classes[id];
    const deepest = region.reduce((a, p) => (inside[p] > inside[a] ? p : a), region[0]);
    const at = (p: number): [number, number] => [p % width, Math.floor(p / width)];
    if (pattern === 'clicks') {
      stamp(out, component, id, cls, width, height, ...at(deepest), radius);
      const deep = region.filter((p) => inside[p] >= Math.max(radius, inside[deepest] / 2));
      if (region.length > 40 * Math.PI * radius * radius && deep.length > 0) {
        // A second click well inside, the farthest such point from the first.
        const [dx, dy] = at(deepest);
        const away = (p: number): number => Math.hypot(at(p)[0] - dx, at(p)[1] - dy);
        stamp(out, component, id, cls, width, height, ...at(deep.reduce((a, p) => (away(p) > away(a) ? p : a), deep[0])), radius);
      }
      continue;
    }
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
