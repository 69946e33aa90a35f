// IEEE half precision (binary16) on the host: the bits a `array<f16>` buffer holds. Node 20 has
// neither Float16Array nor Math.f16round, so conversion goes through the f32 bit pattern.
// Rounding is to nearest, ties to even, as WGSL's f32 -> f16 conversion of finite values.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bits of `x` rounded to nearest-even (overflow to infinity, NaN kept). */
export function halfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full significand into place, rounding.
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let h = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent: still correct
  return sign | h;
}

/** The value of binary16 bits. */
export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Values as binary16 bits, padded to a whole number of 4-byte words (what a buffer binds). */
export function toHalfBits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length + (values.length % 2));
  for (let i = 0; i < values.length; i++) out[i] = halfBits(values[i]);
  return out;
}

let halfTable: Float32Array | undefined;

/** The values of all 65536 binary16 bit patterns (each exact in f32), computed once. */
export function halfValues(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfValue(h);
  }
  return halfTable;
}

/** `count` binary16 values from raw bytes, widened to f32 (into `out` where given). */
export function fromHalfBits(bits: Uint16Array, count = bits.length, out: Float32Array = new Float32Array(count)): Float32Array {
  const table = halfValues();
  for (let i = 0; i < count; i++) out[i] = table[bits[i]];
  return out;
}

/** Each value rounded to the nearest half-precision value (the CPU reference of f16 storage). */
export function roundToHalf(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = halfValue(halfBits(values[i]));
  return out;
}

/** Bytes a tensor of `count` elements of `bytesPerElement` occupies in a binding (whole words). */
export function bindingBytes(count: number, bytesPerElement: number): number {
  return Math.ceil((count * bytesPerElement) / 4) * 4;
}
