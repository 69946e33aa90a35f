// The common currency of every weight reader: named host tensors whose values are already
// float32, plus the dtype they were stored in (so a caller can tell an i64 counter from a weight).
// Also the exact element decoders the readers share (f16, bf16, f64, integers -> f32).
import { fromHalfBits } from '../../../gpu/half.js';

export type SourceDType = 'f32' | 'f16' | 'bf16' | 'f64' | 'i64' | 'i32' | 'u8' | 'i8' | 'bool';

export interface HostTensor {
  shape: number[];
  /** Row-major (C order) values converted to f32. */
  data: Float32Array;
  sourceDType: SourceDType;
  /**
   * The stored bytes, where a reader keeps them (safetensors' I8 and F16 tensors): a loader can
   * upload them as they are and widen them on the GPU; `data` is then decoded only if read.
   */
  raw?: Uint8Array;
}

export type TensorMap = Map<string, HostTensor>;

/** Bytes per element of each stored dtype. */
export const DTYPE_SIZE: Readonly<Record<SourceDType, number>> = {
  f32: 4,
  f16: 2,
  bf16: 2,
  f64: 8,
  i64: 8,
  i32: 4,
  u8: 1,
  i8: 1,
  bool: 1,
};

/**
 * Caps the values one file may decode to at one per byte of the file (4 bytes of f32 per stored
 * byte, what the widest conversion, u8 -> f32, needs). Without it a small hostile file could
 * make many tensors out of one stored block (views of one storage, a pickle memo repeating one
 * tensor, flatbuffer tensors sharing a buffer) and be decoded into gigabytes.
 */
export class DecodeBudget {
  private left: number;
  /** `what` prefixes the error (the file); left out where the caller adds its own context. */
  constructor(
    private readonly fileBytes: number,
    private readonly what?: string,
  ) {
    this.left = fileBytes;
  }
  /** Takes `count` values for `tensor`, or throws naming the tensor (and the file). */
  take(count: number, tensor: string): void {
    if (!(count <= this.left)) {
      throw new Error(
        `${this.what ? `${this.what}: ` : ''}${tensor} would bring the decoded values to more than the file's ${this.fileBytes} bytes allow ` +
          `(one value per stored byte; tensors repeating the same stored data?)`,
      );
    }
    this.left -= count;
  }
}

export function shapeNumel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

// The decoders view raw bytes through typed arrays, which use the host's byte order.
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies `byteLength` bytes starting at `byteOffset` into a fresh, 8-byte aligned buffer. */
function alignedCopy(src: Uint8Array, byteOffset: number, byteLength: number): ArrayBuffer {
  const out = new Uint8Array(byteLength);
  out.set(src.subarray(byteOffset, byteOffset + byteLength));
  return out.buffer;
}

/**
 * Decodes `count` little-endian elements of `dtype` starting at `byteOffset` in `src` into a new
 * Float32Array. Typed-array views over an aligned copy keep this fast for 10^7+ elements.
 */
export function decodeToF32(src: Uint8Array, byteOffset: number, count: number, dtype: SourceDType): Float32Array {
  if (!LITTLE_ENDIAN_HOST) throw new Error('weight import: big-endian hosts are not supported');
  const bytes = count * DTYPE_SIZE[dtype];
  if (byteOffset < 0 || byteOffset + bytes > src.length) {
    throw new Error(`decode ${dtype}: range [${byteOffset}, ${byteOffset + bytes}) is outside ${src.length} bytes (truncated data)`);
  }
  switch (dtype) {
    case 'f32':
      return new Float32Array(alignedCopy(src, byteOffset, bytes));
    case 'f16':
      return fromHalfBits(new Uint16Array(alignedCopy(src, byteOffset, bytes)), count);
    case 'bf16': {
      // A bfloat16 is the top half of a float32: shifting the bits up is exact.
      const h = new Uint16Array(alignedCopy(src, byteOffset, bytes));
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = h[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case 'f64':
      return new Float32Array(new Float64Array(alignedCopy(src, byteOffset, bytes)));
    case 'i64': {
      // Two 32-bit halves per element avoid one BigInt per value.
      const w = new Int32Array(alignedCopy(src, byteOffset, bytes));
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = w[2 * i + 1] * 4294967296 + (w[2 * i] >>> 0);
      return out;
    }
    case 'i32':
      return new Float32Array(new Int32Array(alignedCopy(src, byteOffset, bytes)));
    case 'u8':
      return new Float32Array(src.subarray(byteOffset, byteOffset + bytes));
    case 'i8':
      return new Float32Array(new Int8Array(src.buffer, src.byteOffset + byteOffset, bytes));
    case 'bool': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = src[byteOffset + i] !== 0 ? 1 : 0;
      return out;
    }
  }
}


/**
 * A tensor that keeps its stored bytes and decodes them to f32 only when `data` is first read
 * (a quantized checkpoint's weights, widened on the GPU when a model loads).
 */
export function lazyTensor(shape: number[], sourceDType: SourceDType, raw: Uint8Array): HostTensor {
  let decoded: Float32Array | undefined;
  return {
    shape,
    sourceDType,
    raw,
    get data(): Float32Array {
      decoded ??= decodeToF32(raw, 0, shapeNumel(shape), sourceDType);
      return decoded;
    },
  };
}
