// Inverted dropout with a mask that is a hash of (seed, salt, element index, or image and
// channel): nothing is stored between the forward and backward passes, and the CPU reference
// draws the same mask.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import { Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, shapeString } from '../../gpu/tensor.js';
import { expectShape } from '../checks.js';

const WG = 256;

export interface DropoutParams {
  /** Probability of dropping an element, in [0, 1). */
  p: number;
  /** Distinguishes one dropout layer's mask from another's under the same seed. */
  salt: number;
  /**
   * Drop whole channels (PyTorch's Dropout2d, mmseg's heads): one draw per image and channel of
   * an NHWC tensor, shared by all its pixels. Default: one draw per element.
   */
  channelwise?: boolean;
}

/**
 * What a draw is keyed by: element i draws at floor(i / plane) * channels + i % channels, so
 * channelwise draws are per (image, channel), and channels = plane = size keys by element.
 */
function maskLayout(shape: readonly number[], d: DropoutParams): { channels: number; plane: number } {
  const size = shape.reduce((a, b) => a * b, 1);
  if (!d.channelwise) return { channels: size, plane: size };
  if (shape.length !== 4) throw new Error(`dropout: channelwise dropout needs an NHWC tensor, got ${shapeString(shape)}`);
  return { channels: shape[3], plane: size / shape[0] };
}

export function checkDropout({ p, salt }: DropoutParams): void {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!Number.isInteger(salt) || salt < 0 || salt > 0xffffffff) throw new Error(`dropout: salt must be a u32, got ${salt}`);
}

/** Elements whose hash falls below this are dropped. */
function threshold(p: number): number {
  return Math.min(0xffffffff, Math.round(p * 2 ** 32));
}

/** The shader's mixer in JavaScript (u32 arithmetic). */
export function mix32(v: number): number {
  let h = v >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function dropoutSpec(): KernelSpec {
  return { shader: 'dropout.wgsl', constants: { WG } };
}

export function prepareDropout(ctx: GpuContext, t: { x: GpuTensor; seed: GpuTensor; out: GpuTensor }, d: DropoutParams): Dispatch {
  checkDropout(d);
  expectShape(t.out.shape, t.x.shape, 'dropout', 'out');
  expectShape(t.seed.shape, [1], 'dropout', 'seed');
  const layout = maskLayout(t.x.shape, d);
  return makeDispatch(ctx, {
    label: `dropout(p=${d.p}${d.channelwise ? ', channels' : ''}) ${shapeString(t.x.shape)}`,
    spec: dropoutSpec(),
    uniforms: new Uniforms().u32(t.x.size).u32(threshold(d.p)).u32(d.salt).f32(1 / (1 - d.p)).u32(layout.channels).u32(layout.plane),
    buffers: [t.seed, t.x, t.out],
    workgroups: linearGrid(ctx, t.x.size, WG),
  });
}

/**
 * CPU reference: the same mask; Float64Array in, Float64Array out (gradient checks). `shape` is
 * needed for channelwise dropout only.
 */
export function dropoutCpu<T extends Float32Array | Float64Array>(x: T, seed: number, d: DropoutParams, shape: readonly number[] = [x.length]): T {
  checkDropout(d);
  const { channels, plane } = maskLayout(shape, d);
  const limit = threshold(d.p);
  const base = mix32(seed ^ mix32(d.salt));
  const scale = d.p === 0 ? 1 : Math.fround(1 / (1 - d.p));
  const out = new (x.constructor as { new (n: number): T })(x.length);
  for (let i = 0; i < x.length; i++) {
    const key = Math.floor(i / plane) * channels + (i % channels);
    out[i] = mix32(key ^ base) >= limit ? x[i] * scale : 0;
  }
  return out;
}
