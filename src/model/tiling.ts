// Sliding-window inference (segment's `tile` option): where the windows go, how much a window's
// prediction counts at each of its pixels, and the blend as a plain CPU reference.
//
// Windows are tile x tile image pixels. Along each axis they start every
// round(tile * (1 - overlap)) pixels from 0, and the last one is shifted back to end on the
// image's edge, so no window reaches past the image and nothing is padded. Along an axis where
// the image is no longer than the tile there is one window, as long as the image: an image
// within the tile is one window, the image itself.
//
// A window's weight is separable, w(y) * w(x), each a tent over the window's pixel centres
// (largest in the middle, 1/n at the outermost pixels, never zero, so every pixel of a window
// counts and every image pixel is covered). Along an axis with a single window the weight is
// flat (1): there is no neighbour to hand over to, and an image within the tile then blends to
// exactly its untiled probabilities.

/** Smallest tile: a window of fewer pixels carries too little context for the networks here. */
export const MIN_TILE = 32;
export const DEFAULT_OVERLAP = 0.25;

export interface TileWindow {
  /** Top-left corner in the image. */
  x: number;
  y: number;
  /** Index into TilePlan.ys: windows come row by row, left to right. */
  row: number;
}

export interface TilePlan {
  width: number;
  height: number;
  /** Every window's size: the tile, or the image's size along an axis shorter than the tile. */
  windowWidth: number;
  windowHeight: number;
  /** Window starts along each axis, increasing; the last ends on the image's edge. */
  xs: number[];
  ys: number[];
  /** Row-major: all windows of ys[0], then of ys[1], ... */
  windows: TileWindow[];
}

/** Throws an error naming the bad value unless tile and overlap are usable. */
export function checkTileOptions(tile: number, overlap: number, what = 'segment'): void {
  if (!Number.isInteger(tile) || tile < MIN_TILE) {
    throw new Error(`${what}: tile must be a whole number of pixels, at least ${MIN_TILE}, got ${tile}`);
  }
  if (typeof overlap !== 'number' || !Number.isFinite(overlap) || overlap < 0 || overlap >= 1) {
    throw new Error(`${what}: overlap must be a share of the tile, at least 0 and below 1, got ${overlap}`);
  }
}

/**
 * Window starts along one axis of `length` pixels, every `stride` pixels when given (mmseg's
 * slide: its grid of ceil((length - tile) / stride) + 1 windows, the last moved back to end on
 * the edge, is this one), else every round(tile * (1 - overlap)).
 */
export function windowStarts(length: number, tile: number, overlap: number, stride?: number): number[] {
  checkTileOptions(tile, overlap);
  if (!Number.isInteger(length) || length < 1) throw new Error(`windowStarts: length must be a positive integer, got ${length}`);
  if (stride !== undefined && (!Number.isInteger(stride) || stride < 1 || stride > tile)) {
    throw new Error(`windowStarts: stride must be a whole number of pixels from 1 to the tile (${tile}), got ${stride}`);
  }
  if (length <= tile) return [0];
  stride ??= Math.max(1, Math.round(tile * (1 - overlap)));
  // (count - 2) * stride < length - tile: the shifted last window starts after the one before it.
  const count = Math.ceil((length - tile) / stride) + 1;
  const starts: number[] = [];
  for (let i = 0; i < count - 1; i++) starts.push(i * stride);
  starts.push(length - tile);
  return starts;
}

/** The windows covering a width x height image (every `stride` pixels when given, else by `overlap`). */
export function planTiles(width: number, height: number, tile: number, overlap = DEFAULT_OVERLAP, stride?: number): TilePlan {
  const xs = windowStarts(width, tile, overlap, stride);
  const ys = windowStarts(height, tile, overlap, stride);
  const windows: TileWindow[] = [];
  ys.forEach((y, row) => xs.forEach((x) => windows.push({ x, y, row })));
  return { width, height, windowWidth: Math.min(tile, width), windowHeight: Math.min(tile, height), xs, ys, windows };
}

/**
 * A window's weight along one axis of `length` pixels: the tent 1 - |2i + 1 - n| / n over pixel
 * centres (in [1/n, 1]), or all ones where the window is alone on the axis.
 */
export function axisWeights(length: number, alone: boolean): Float32Array {
  const w = new Float32Array(length);
  for (let i = 0; i < length; i++) w[i] = alone ? 1 : 1 - Math.abs(2 * i + 1 - length) / length;
  return w;
}

/** The row and column weights every window of a plan shares. */
export function planWeights(plan: TilePlan): { rows: Float32Array; cols: Float32Array } {
  return { rows: axisWeights(plan.windowHeight, plan.ys.length === 1), cols: axisWeights(plan.windowWidth, plan.xs.length === 1) };
}

/**
 * CPU reference of the whole blend, at the image's size in float64: `windowProbs[k]` are window
 * k's probabilities [windowHeight, windowWidth, C]. Returns the weighted average [H, W, C] and
 * its argmax (ties to the lowest class).
 */
export function blendWindowsCpu(
  plan: TilePlan,
  windowProbs: readonly Float32Array[],
  C: number,
  weights = planWeights(plan),
): { probabilities: Float32Array; classes: Uint8Array } {
  const { width: W, height: H, windowWidth: ww, windowHeight: wh } = plan;
  if (windowProbs.length !== plan.windows.length) throw new Error(`blendWindowsCpu: ${windowProbs.length} windows' probabilities for ${plan.windows.length} windows`);
  const acc = new Float64Array(H * W * C);
  const sum = new Float64Array(H * W);
  plan.windows.forEach(({ x, y }, k) => {
    const p = windowProbs[k];
    if (p.length !== wh * ww * C) throw new Error(`blendWindowsCpu: window ${k} has ${p.length} values, expected ${wh}x${ww}x${C}`);
    for (let j = 0; j < wh; j++)
      for (let i = 0; i < ww; i++) {
        const w = weights.rows[j] * weights.cols[i];
        const at = (y + j) * W + x + i;
        sum[at] += w;
        for (let c = 0; c < C; c++) acc[at * C + c] += w * p[(j * ww + i) * C + c];
      }
  });
  const probabilities = new Float32Array(H * W * C);
  const classes = new Uint8Array(H * W);
  for (let at = 0; at < H * W; at++) {
    if (!(sum[at] > 0)) throw new Error(`blendWindowsCpu: pixel (${at % W}, ${Math.floor(at / W)}) is in no window`);
    let best = 0;
    for (let c = 0; c < C; c++) {
      const v = acc[at * C + c] / sum[at];
      probabilities[at * C + c] = v;
      if (v > acc[at * C + best] / sum[at]) best = c;
    }
    classes[at] = best;
  }
  return { probabilities, classes };
}
