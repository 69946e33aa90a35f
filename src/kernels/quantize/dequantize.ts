// Compact weights widened to f32 on the GPU (dequantize.wgsl): per-output-channel int8
// with one f32 scale per channel, or f16. What a quantized checkpoint holds (src/model/weights/
// quantize.ts writes it); Session uploads the compact bytes and runs this once per tensor.
import type { GpuContext } from '../../gpu/context.js';
import { type Dispatch, Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import { fromHalfBits } from '../../gpu/half.js';
import { type GpuTensor, shapeString } from '../../gpu/tensor.js';

export type QuantizedValues =
  /** values[i] * scales[i % scales.length]: the scale of the last axis' channel. */
  | { kind: 'int8'; values: Int8Array; scales: Float32Array }
  /** IEEE half-precision bit patterns. */
  | { kind: 'f16'; bits: Uint16Array };

const WG = 256;

/** Number of values a quantized tensor holds. */
export function quantizedCount(q: QuantizedValues): number {
  return q.kind === 'int8' ? q.values.length : q.bits.length;
}

/** The packed words the shader reads: the stored bytes, zero-padded to whole u32 words. */
export function packedWords(q: QuantizedValues): Uint32Array<ArrayBuffer> {
  const bytes = q.kind === 'int8' ? new Uint8Array(q.values.buffer, q.values.byteOffset, q.values.byteLength) : new Uint8Array(q.bits.buffer, q.bits.byteOffset, q.bits.byteLength);
  const words = new Uint32Array(Math.max(1, Math.ceil(bytes.byteLength / 4)));
  new Uint8Array(words.buffer).set(bytes);
  return words;
}

/**
 * The dispatch widening `packed` (a buffer holding packedWords(q)) into `out`; `scales` holds the
 * int8 channel scales. Checks the counts against `out`'s shape (its last axis is the channel).
 */
export function prepareDequantize(
  ctx: GpuContext,
  t: { kind: QuantizedValues['kind']; packed: GPUBuffer; scales?: GPUBuffer; channels?: number; out: GpuTensor },
): Dispatch {
  if (t.out.dtype !== 'f32') throw new Error(`dequantize: the output must be f32, got ${t.out.dtype}`);
  const total = t.out.size;
  const minBytes = t.kind === 'int8' ? total : 2 * total;
  if (t.packed.size < minBytes) throw new Error(`dequantize: ${t.packed.size} packed bytes cannot hold ${total} ${t.kind} values`);
  const label = `dequantize ${t.kind} ${shapeString(t.out.shape)}`;
  if (t.kind === 'f16') {
    return makeDispatch(ctx, {
      label,
      spec: { shader: 'dequantize.wgsl', entryPoint: 'widen_half', constants: { WG } },
      uniforms: new Uniforms().u32(total).u32(1),
      buffers: [t.packed, t.out],
      workgroups: linearGrid(ctx, total, WG),
    });
  }
  const channels = t.channels ?? 0;
  const last = t.out.shape[t.out.shape.length - 1];
  if (!t.scales || channels !== last) {
    throw new Error(`dequantize: int8 needs one scale per channel of the last axis (${last}), got ${t.scales ? channels : 'none'}`);
  }
  return makeDispatch(ctx, {
    label,
    spec: { shader: 'dequantize.wgsl', entryPoint: 'dequantize_int8', constants: { WG } },
    uniforms: new Uniforms().u32(total).u32(channels),
    buffers: [t.packed, t.out, t.scales],
    workgroups: linearGrid(ctx, total, WG),
  });
}

/** CPU reference: the f32 values a quantized tensor stands for. */
export function dequantizeCpu(q: QuantizedValues): Float32Array {
  if (q.kind === 'f16') return fromHalfBits(q.bits);
  const out = new Float32Array(q.values.length);
  const channels = q.scales.length;
  for (let i = 0; i < out.length; i++) out[i] = q.values[i] * q.scales[i % channels];
  return out;
}
