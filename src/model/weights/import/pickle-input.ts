// The bytes of a pickle as the unpickler (pickle.ts) reads its opcodes' arguments: bounded reads
// that name the offset of the opcode being read when the pickle ends early or holds bad text.
import { checkRange } from '../../../io/reader-rules.js';

export class PickleInput {
  /** The next byte to read. */
  pos = 0;
  /** Where the opcode being read starts (error messages name it). */
  opStart = 0;
  private readonly view: DataView;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(msg: string): never {
    throw new Error(`${this.what}: ${msg} at offset ${this.opStart}`);
  }

  take(n: number): Uint8Array {
    checkRange(this.pos, n, this.buf.length, `an argument of ${n} bytes`, `${this.what}: truncated pickle at offset ${this.opStart}`, 'the pickle');
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  u8(): number {
    return this.take(1)[0];
  }
  u16(): number {
    const p = this.pos;
    this.take(2);
    return this.view.getUint16(p, true);
  }
  u32(): number {
    const p = this.pos;
    this.take(4);
    return this.view.getUint32(p, true);
  }
  i32(): number {
    const p = this.pos;
    this.take(4);
    return this.view.getInt32(p, true);
  }
  u64(): number {
    const p = this.pos;
    this.take(8);
    const v = this.view.getBigUint64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} is too large`);
    return Number(v);
  }
  /** A newline-terminated ASCII argument (protocol 0 style and GLOBAL). */
  line(): string {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated pickle (unterminated line argument)');
    const s = new TextDecoder('latin1').decode(this.buf.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  str(n: number): string {
    const bytes = this.take(n);
    try {
      return this.utf8.decode(bytes);
    } catch {
      return this.fail('invalid UTF-8 in a string');
    }
  }

  /** BINFLOAT's argument: a big-endian double. */
  f64be(): number {
    const p = this.pos;
    this.take(8);
    return this.view.getFloat64(p, false);
  }
}
