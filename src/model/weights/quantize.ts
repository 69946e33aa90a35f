// Smaller checkpoints (`deeplab export --quantize int8|f16`): the convolution weights, which are
// nearly all of a model's bytes, stored as per-output-channel symmetric int8 (one f32 scale per
// channel: the channel's largest magnitude / 127) or as f16. Biases and batch-norm tensors stay
// f32: they are a few kilobytes, and BN variances can fall below what f16 resolves. A model loads
// them by uploading the compact bytes and widening them on the GPU (src/kernels/quantize/dequantize.ts).
import { toHalfBits } from '../../gpu/half.js';
import type { HostParam, HostParams } from '../../graph/params.js';
import { type QuantizedValues, dequantizeCpu } from '../../kernels/quantize/dequantize.js';
import type { HostTensor, TensorMap } from './import/tensor-map.js';
import { checkFinite } from '../../io/reader-rules.js';
import { checkFloatWeight, checkVariance, isCounter } from './weight-checks.js';

export type Quantization = 'int8' | 'f16';
export const QUANTIZATIONS: readonly Quantization[] = ['int8', 'f16'];

/** The name under which an int8 tensor's channel scales are stored. */
export const scaleName = (name: string): string => `${name}:scale`;

/** Whether a parameter is quantized: the convolution weights (4-D, HWIO). */
export function isQuantizable(shape: readonly number[]): boolean {
  return shape.length === 4;
}

/** Per-output-channel symmetric int8 along the last axis. */
export function quantizeInt8(data: Float32Array, channels: number): { values: Int8Array; scales: Float32Array } {
  if (channels < 1 || data.length % channels !== 0) throw new Error(`quantizeInt8: ${data.length} values are not a whole number of ${channels} channels`);
  const scales = new Float32Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = i % channels;
    const a = Math.abs(data[i]);
    if (!Number.isFinite(a)) throw new Error(`quantizeInt8: value ${data[i]} at ${i} is not finite`);
    if (a > scales[c]) scales[c] = a;
  }
  for (let c = 0; c < channels; c++) scales[c] /= 127;
  const values = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const s = scales[i % channels];
    values[i] = s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(data[i] / s)));
  }
  return { values, scales };
}

/** A parameter's compact form. */
export function quantize(p: { shape: readonly number[]; data: Float32Array }, kind: Quantization): QuantizedValues {
  if (kind === 'f16') return { kind, bits: toHalfBits(p.data).subarray(0, p.data.length) };
  return { kind, ...quantizeInt8(p.data, p.shape[p.shape.length - 1]) };
}

const bytesOf = (a: Int8Array | Uint16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * The tensors a quantized checkpoint stores: each convolution weight as I8 (with its scales as
 * F32 `<name>:scale`) or F16, everything else as F32.
 */
export function quantizedTensors(params: HostParams, kind: Quantization): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, p] of params) {
    if (!isQuantizable(p.shape)) {
      out.set(name, { shape: p.shape, data: p.data, sourceDType: 'f32' });
      continue;
    }
    const q = quantize(p, kind);
    const decoded = dequantizeCpu(q);
    if (q.kind === 'int8') {
      out.set(name, { shape: p.shape, data: decoded, sourceDType: 'i8', raw: bytesOf(q.values) });
      out.set(scaleName(name), { shape: [q.scales.length], data: q.scales, sourceDType: 'f32' });
    } else {
      out.set(name, { shape: p.shape, data: decoded, sourceDType: 'f16', raw: bytesOf(q.bits) });
    }
  }
  return out;
}

/** Copies stored bytes (perhaps a view into a file's Buffer) to an aligned array of their element type. */
function aligned<T extends Int8Array | Uint16Array>(raw: Uint8Array, make: (b: ArrayBuffer) => T): T {
  return make(new Uint8Array(raw).buffer);
}

/**
 * A quantized checkpoint's tensors back as parameters: those stored compactly carry
 * `quantized` (and decode `data` on the host only if it is read). Throws, naming the tensor,
 * where a stored I8 tensor has no scales or the scales do not fit, and where a value is not what
 * a weight may be (weight-checks.ts): int8 is read only as a quantized weight with its scales
 * (finite), f16 weights must hold finite values, every other tensor is a finite float.
 */
export function paramsFromQuantized(tensors: ReadonlyMap<string, HostTensor>, kind: Quantization, what: string): HostParams {
  const params: HostParams = new Map();
  for (const [name, t] of tensors) {
    if (name.endsWith(':scale')) {
      if (!tensors.has(name.slice(0, -':scale'.length))) throw new Error(`${what}: ${name} scales no tensor`);
      continue;
    }
    if (!t.raw || (t.sourceDType !== 'i8' && t.sourceDType !== 'f16')) {
      if (!isCounter(name)) checkFloatWeight(name, t, what);
      if (name.endsWith('.running_var')) checkVariance(name, t.data, what);
      params.set(name, { shape: t.shape, data: t.data });
      continue;
    }
    if (t.sourceDType !== (kind === 'int8' ? 'i8' : 'f16')) throw new Error(`${what}: ${name} is stored as ${t.sourceDType} in a checkpoint quantized to ${kind}`);
    let q: QuantizedValues;
    if (kind === 'int8') {
      const scales = tensors.get(scaleName(name));
      const channels = t.shape[t.shape.length - 1];
      if (!scales) throw new Error(`${what}: int8 tensor ${name} has no ${scaleName(name)}`);
      if (scales.shape.length !== 1 || scales.shape[0] !== channels) {
        throw new Error(`${what}: ${scaleName(name)} has shape [${scales.shape.join(',')}], ${name} needs [${channels}]`);
      }
      checkFinite(scaleName(name), scales.data, what);
      q = { kind, values: aligned(t.raw, (b) => new Int8Array(b)), scales: scales.data };
    } else {
      q = { kind, bits: aligned(t.raw, (b) => new Uint16Array(b)) };
      checkHalfFinite(name, q.bits, what);
    }
    params.set(name, quantizedParam(t.shape, q));
  }
  return params;
}

/** Throws unless every half-precision value is finite (exponent bits not all ones), without widening them. */
function checkHalfFinite(name: string, bits: Uint16Array, what: string): void {
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i] & 0x7c00) === 0x7c00) throw new Error(`${what}: tensor '${name}' holds a float16 value that is not finite at element ${i}: weights must be finite`);
  }
}

/** A parameter held compactly; `data` is widened on the host only if something reads it. */
export function quantizedParam(shape: number[], quantized: QuantizedValues): HostParam {
  let decoded: Float32Array | undefined;
  return {
    shape,
    quantized,
    get data(): Float32Array {
      decoded ??= dequantizeCpu(quantized);
      return decoded;
    },
  };
}
