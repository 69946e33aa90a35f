// Sliding-window blending (tile_blend.wgsl, tile_finalize.wgsl): windows'
// probabilities, weighted towards each window's centre, are added into an accumulator of image
// rows on the GPU; rows no later window touches are then normalised and argmaxed there, and
// cleared. The accumulator is a ring of image rows (row y in slot y % ringRows), so it needs
// only a window's height of rows, not the image's (src/model/tiled.ts drives it).
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, type Shape, numel, shapeString } from '../../gpu/tensor.js';
import { expectRank, expectShape } from '../checks.js';

const WG = 256;

export interface TileBlendParams {
  /** Which window of the probabilities' batch. */
  item: number;
  /** The window's top-left corner in the image. */
  x0: number;
  y0: number;
}

export interface TileFinalizeParams {
  /** First image row to finalise, and how many. */
  row0: number;
  rows: number;
}

export function tileBlendSpec(): KernelSpec {
  return { shader: 'tile_blend.wgsl', constants: { WG } };
}

export function tileFinalizeSpec(withProbabilities: boolean): KernelSpec {
  return { shader: 'tile_finalize.wgsl', entryPoint: withProbabilities ? 'main_probs' : 'main', constants: { WG } };
}

function expectF32(t: GpuTensor, kernel: string, operand: string): void {
  if (t.dtype !== 'f32') throw new Error(`${kernel}: ${operand} ${shapeString(t.shape)} must be f32, got ${t.dtype}`);
}

/** Checks a blend's shapes and placement; returns [N, winH, winW, C, ringRows, width]. */
function checkBlend(probs: Shape, acc: Shape, p: TileBlendParams): number[] {
  const K = 'tileBlend';
  expectRank(probs, 4, K, 'probs');
  expectRank(acc, 3, K, 'acc');
  const [N, wh, ww, C] = probs;
  const [ringRows, W, accC] = acc;
  if (accC !== C) throw new Error(`${K}: acc ${shapeString(acc)} has ${accC} classes, probs ${shapeString(probs)} ${C}`);
  if (!Number.isInteger(p.item) || p.item < 0 || p.item >= N) throw new Error(`${K}: item ${p.item} outside a batch of ${N}`);
  if (!Number.isInteger(p.x0) || p.x0 < 0 || p.x0 + ww > W) throw new Error(`${K}: a window ${ww} wide at x ${p.x0} leaves the image's ${W} columns`);
  if (!Number.isInteger(p.y0) || p.y0 < 0) throw new Error(`${K}: y0 must be a non-negative integer, got ${p.y0}`);
  // Fewer slots than window rows would fold a window onto itself.
  if (ringRows < wh) throw new Error(`${K}: an accumulator of ${ringRows} rows cannot hold a window ${wh} rows high`);
  return [N, wh, ww, C, ringRows, W];
}

/** Adds window `p.item` of probs [N, winH, winW, C] at (x0, y0) into acc [ringRows, W, C] and weightSum [ringRows, W]. */
export function prepareTileBlend(
  ctx: GpuContext,
  t: { probs: GpuTensor; rowWeights: GpuTensor; colWeights: GpuTensor; acc: GpuTensor; weightSum: GpuTensor },
  p: TileBlendParams,
): Dispatch {
  const [, wh, ww, C, ringRows, W] = checkBlend(t.probs.shape, t.acc.shape, p);
  expectShape(t.rowWeights.shape, [wh], 'tileBlend', 'rowWeights');
  expectShape(t.colWeights.shape, [ww], 'tileBlend', 'colWeights');
  expectShape(t.weightSum.shape, [ringRows, W], 'tileBlend', 'weightSum');
  for (const [name, x] of Object.entries(t)) expectF32(x, 'tileBlend', name);
  return makeDispatch(ctx, {
    label: `tileBlend ${shapeString(t.probs.shape)}[${p.item}] at ${p.x0},${p.y0}`,
    spec: tileBlendSpec(),
    uniforms: new Uniforms().u32(wh * ww).u32(ww).u32(p.item * wh * ww * C).u32(p.x0).u32(p.y0).u32(W).u32(ringRows).u32(C),
    buffers: [t.probs, t.rowWeights, t.colWeights, t.acc, t.weightSum],
    workgroups: linearGrid(ctx, wh * ww, WG),
  });
}

/**
 * Finalises image rows [row0, row0 + rows): labels [>= rows, W] (u32) from its start, and the
 * normalised probabilities [>= rows, W, C] when given; clears those rows of the accumulator.
 */
export function prepareTileFinalize(
  ctx: GpuContext,
  t: { acc: GpuTensor; weightSum: GpuTensor; labels: GpuTensor; probabilities?: GpuTensor },
  p: TileFinalizeParams,
): Dispatch {
  const K = 'tileFinalize';
  expectRank(t.acc.shape, 3, K, 'acc');
  const [ringRows, W, C] = t.acc.shape;
  expectShape(t.weightSum.shape, [ringRows, W], K, 'weightSum');
  if (!Number.isInteger(p.row0) || p.row0 < 0) throw new Error(`${K}: row0 must be a non-negative integer, got ${p.row0}`);
  if (!Number.isInteger(p.rows) || p.rows < 1 || p.rows > ringRows) throw new Error(`${K}: rows must be 1 to the accumulator's ${ringRows}, got ${p.rows}`);
  if (t.labels.dtype !== 'u32' || t.labels.size < p.rows * W) throw new Error(`${K}: labels must be u32 with room for ${p.rows}x${W}, got ${t.labels.dtype} ${shapeString(t.labels.shape)}`);
  expectF32(t.acc, K, 'acc');
  expectF32(t.weightSum, K, 'weightSum');
  if (t.probabilities) {
    expectF32(t.probabilities, K, 'probabilities');
    if (t.probabilities.size < p.rows * W * C) throw new Error(`${K}: probabilities ${shapeString(t.probabilities.shape)} has no room for ${p.rows}x${W}x${C}`);
  }
  const pixels = p.rows * W;
  return makeDispatch(ctx, {
    label: `${K} rows ${p.row0}..${p.row0 + p.rows - 1} of ${shapeString(t.acc.shape)}`,
    spec: tileFinalizeSpec(!!t.probabilities),
    uniforms: new Uniforms().u32(pixels).u32(W).u32(p.row0).u32(ringRows).u32(C),
    buffers: t.probabilities ? [t.acc, t.weightSum, t.labels, t.probabilities] : [t.acc, t.weightSum, t.labels],
    workgroups: linearGrid(ctx, pixels, WG),
  });
}

/** CPU reference of prepareTileBlend, in float32: updates acc and weightSum in place. */
export function tileBlendCpu(
  acc: Float32Array,
  weightSum: Float32Array,
  accShape: Shape,
  probs: Float32Array,
  probsShape: Shape,
  rowWeights: Float32Array,
  colWeights: Float32Array,
  p: TileBlendParams,
): void {
  const [, wh, ww, C, ringRows, W] = checkBlend(probsShape, accShape, p);
  if (acc.length !== numel(accShape) || weightSum.length !== ringRows * W || probs.length !== numel(probsShape)) {
    throw new Error('tileBlendCpu: array lengths do not match the shapes');
  }
  const f = Math.fround;
  for (let y = 0; y < wh; y++)
    for (let x = 0; x < ww; x++) {
      const w = f(rowWeights[y] * colWeights[x]);
      const at = ((p.y0 + y) % ringRows) * W + p.x0 + x;
      const from = ((p.item * wh + y) * ww + x) * C;
      for (let c = 0; c < C; c++) acc[at * C + c] = f(acc[at * C + c] + f(w * probs[from + c]));
      weightSum[at] = f(weightSum[at] + w);
    }
}

/** CPU reference of prepareTileFinalize: the rows' labels and probabilities; clears them in acc and weightSum. */
export function tileFinalizeCpu(
  acc: Float32Array,
  weightSum: Float32Array,
  accShape: Shape,
  p: TileFinalizeParams,
): { labels: Uint32Array; probabilities: Float32Array } {
  const [ringRows, W, C] = accShape;
  if (p.rows < 1 || p.rows > ringRows) throw new Error(`tileFinalizeCpu: rows must be 1 to ${ringRows}, got ${p.rows}`);
  const labels = new Uint32Array(p.rows * W);
  const probabilities = new Float32Array(p.rows * W * C);
  for (let i = 0; i < p.rows * W; i++) {
    const at = ((p.row0 + Math.floor(i / W)) % ringRows) * W + (i % W);
    const inv = Math.fround(1 / weightSum[at]);
    let best = 0;
    for (let c = 0; c < C; c++) {
      const v = Math.fround(acc[at * C + c] * inv);
      probabilities[i * C + c] = v;
      if (v > probabilities[i * C + best]) best = c;
      acc[at * C + c] = 0;
    }
    labels[i] = best;
    weightSum[at] = 0;
  }
  return { labels, probabilities };
}
