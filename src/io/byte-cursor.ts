// The one rule every file reader follows: a size, count, offset or shape read from a file is
// checked against the bytes that remain (and a sane bound) before anything is allocated or looped
// over. A ByteCursor reads fixed-width integers, varints and byte runs within its range; the free
// functions check a count, a range, a shape and the bytes a tensor of that shape needs. Every
// error starts with `what` (the file, and the part of it being read) and names the field, so a
// damaged or hostile file is refused with one line, never an engine message (RangeError,
// "Invalid typed array length") or an allocation the file asked for.

/** Checks `n` is an integer in [0, max]; returns it. */
export function checkCount(n: number, max: number, field: string, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what}: ${field} is ${n}, not a count (a non-negative integer)`);
  if (n > max) throw new Error(`${what}: ${field} ${n} is more than the ${max} the data allows`);
  return n;
}

/** Checks that bytes [offset, offset + length) lie within the `size` bytes of `within`; returns the end. */
export function checkRange(offset: number, length: number, size: number, field: string, what: string, within = 'the file'): number {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`${what}: ${field} starts at ${offset}, not a byte offset`);
  if (!Number.isSafeInteger(length) || length < 0) throw new Error(`${what}: ${field} has length ${length}, not a byte count`);
  if (offset > size || length > size - offset) {
    throw new Error(`${what}: ${field} (bytes ${offset}..${offset + length}) runs past the end of ${within} (${size} bytes): truncated or damaged`);
  }
  return offset + length;
}

/** A value from a file as a message shows it (never "NaN", "undefined" or "[object Object]"). */
function shown(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'not a number' : String(v);
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v);
  return v === null ? 'null' : v === undefined ? 'missing' : `a ${typeof v === 'object' ? (Array.isArray(v) ? 'list' : 'structure') : typeof v}`;
}

/**
 * A tensor shape from a file: a list of non-negative integers (at most `maxRank` of them), whose
 * element count is a safe integer. Returns it as numbers.
 */
export function checkShape(dims: unknown, field: string, what: string, maxRank = 32): number[] {
  if (!Array.isArray(dims)) throw new Error(`${what}: ${field} is not a list of dimensions`);
  if (dims.length > maxRank) throw new Error(`${what}: ${field} has ${dims.length} dimensions (at most ${maxRank})`);
  let count = 1;
  dims.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new Error(`${what}: ${field} [${dims.map(shown).join(',')}] is a bad shape: dimension ${i} is ${shown(d)}, not a non-negative integer`);
    }
    count *= d;
  });
  if (!Number.isSafeInteger(count)) throw new Error(`${what}: ${field} [${dims.join(',')}] has more elements than can be counted (overflow)`);
  return dims as number[];
}

/** Elements of a checked shape. */
export function shapeCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The bytes a tensor of `shape` and `elementBytes` per element needs, checked to be at most
 * `available` (the bytes the file gives it): a shape claiming more than its file holds is refused
 * before anything of that size exists. Returns the element count and the bytes.
 */
export function checkTensorBytes(shape: unknown, elementBytes: number, available: number, field: string, what: string): { count: number; bytes: number } {
  const dims = checkShape(shape, `${field} shape`, what);
  const count = shapeCount(dims);
  const bytes = count * elementBytes;
  if (!Number.isSafeInteger(bytes)) throw new Error(`${what}: ${field} shape [${dims.join(',')}] needs more bytes than can be counted (overflow)`);
  if (bytes > available) {
    throw new Error(`${what}: ${field} shape [${dims.join(',')}] needs ${bytes} bytes, but only ${available} are there`);
  }
  return { count, bytes };
}

/** Little-endian reads within [start, end) of `bytes`, each checked first. */
export class ByteCursor {
  pos: number;
  readonly end: number;
  private readonly view: DataView;

  /** `what` starts every error: the file and the part of it being read. */
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
    start = 0,
    end = bytes.length,
  ) {
    checkRange(start, end - start, bytes.length, 'the range read', what, 'the data');
    this.pos = start;
    this.end = end;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Throws unless `n` more bytes (a count) remain for `field`. */
  need(n: number, field: string): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${this.what}: ${field} has length ${n}, not a byte count`);
    if (n > this.end - this.pos) {
      throw new Error(`${this.what}: ${field} (${n} bytes at byte ${this.pos}) runs past the end (${this.end - this.pos} bytes remain): truncated or damaged`);
    }
  }

  /** The next `n` bytes (a view, not a copy). */
  take(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.pos++];
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A 64-bit unsigned integer, which must be a safe integer. */
  u64(field: string): number {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${this.what}: ${field} ${v} at byte ${this.pos} is too large`);
    this.pos += 8;
    return Number(v);
  }

  /** A base-128 varint (protobuf, LevelDB) of at most 10 bytes, which must be a safe integer. */
  varint(field: string): number {
    const at = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error(`${this.what}: ${field} (a varint at byte ${at}) runs past the end: truncated or damaged`);
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * scale;
      if (!(b & 0x80)) {
        if (!Number.isSafeInteger(result)) throw new Error(`${this.what}: ${field} at byte ${at} is too large (2^53 or more)`);
        return result;
      }
      scale *= 128;
    }
    throw new Error(`${this.what}: ${field} at byte ${at} is not a varint (more than 10 bytes)`);
  }

  /** A varint length of a run that must fit in what remains (`unit` bytes per counted item). */
  length(field: string, unit = 1): number {
    const n = this.varint(field);
    checkCount(n, Math.floor(this.remaining / unit), field, this.what);
    return n;
  }

  /** Moves to `pos`, which must lie within the range. */
  seek(pos: number, field: string): void {
    if (!Number.isSafeInteger(pos) || pos < 0 || pos > this.end) throw new Error(`${this.what}: ${field} ${pos} is outside the ${this.end} bytes there are`);
    this.pos = pos;
  }
}
