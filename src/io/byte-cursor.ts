// A bounded cursor over a file's bytes: fixed-width integers, varints and byte runs, each checked
// against the bytes that remain before it is read, so a length or offset a file states is never
// followed past its end. The rules it applies, and the free checks of counts, ranges and shapes,
// are src/io/reader-rules.ts'. Every error starts with `what` (the file, and the part of it being
// read) and names the field.
import { checkCount, checkRange } from './reader-rules.js';

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
