// A small bounds-checked FlatBuffers reader (the TF Lite reader's, tflite.ts): tables, vectors and
// strings, every access checked against the buffer, a damaged file named as such.
import { checkRange } from '../../../io/reader-rules.js';

/** Reads flatbuffer tables, vectors and strings; every access is checked against the buffer. */
export class FlatBuffer {
  private readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(pos: number, n: number, what: string): void {
    checkRange(pos, n, this.buf.length, what, `${this.what}: truncated or corrupt TFLite flatbuffer`);
  }
  u8(p: number): number {
    this.need(p, 1, 'byte');
    return this.buf[p];
  }
  i8(p: number): number {
    this.need(p, 1, 'byte');
    return this.view.getInt8(p);
  }
  u16(p: number): number {
    this.need(p, 2, 'ushort');
    return this.view.getUint16(p, true);
  }
  i32(p: number): number {
    this.need(p, 4, 'int');
    return this.view.getInt32(p, true);
  }
  u32(p: number): number {
    this.need(p, 4, 'uint');
    return this.view.getUint32(p, true);
  }
  f32(p: number): number {
    this.need(p, 4, 'float');
    return this.view.getFloat32(p, true);
  }
  i64(p: number): number {
    this.need(p, 8, 'long');
    const v = this.view.getBigInt64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) this.corrupt(`64-bit value ${v} at ${p} is too large`);
    return Number(v);
  }
  u64(p: number): number {
    this.need(p, 8, 'ulong');
    const v = this.view.getBigUint64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.corrupt(`64-bit value ${v} at ${p} is too large`);
    return Number(v);
  }

  /** Follows a uoffset stored at `p` to a table, vector or string (all 4-aligned, as writers place them). */
  deref(p: number): number {
    const target = p + this.u32(p);
    if (target % 4 !== 0) this.corrupt(`offset at ${p} points to ${target}, which is not 4-aligned`);
    return target;
  }
  /**
   * Absolute position of field `slot` in the table at `t`, or 0 when the field is absent. The
   * table's vtable and its whole inline object (whose size every flatbuffers builder writes into
   * the vtable) must lie in the buffer, and the field inside that object: stricter than
   * flatbuffers' verifier (which checks only the fields read), so a file cut inside a table is
   * refused even where the fields read lie before the cut.
   */
  field(t: number, slot: number): number {
    const vt = t - this.i32(t);
    const vtSize = this.u16(vt);
    if (vt % 2 !== 0 || vtSize < 4 || vtSize % 2 !== 0) this.corrupt(`table at ${t} has a bad vtable (at ${vt}, ${vtSize} bytes)`);
    this.need(vt, vtSize, 'vtable');
    const objSize = this.u16(vt + 2);
    if (objSize < 4) this.corrupt(`table at ${t} claims ${objSize} bytes`);
    this.need(t, objSize, 'table');
    const at = 4 + 2 * slot;
    if (at + 2 > vtSize) return 0;
    const off = this.u16(vt + at);
    if (off === 0) return 0;
    if (off < 4 || off >= objSize) this.corrupt(`field ${slot} of the table at ${t} lies at +${off}, outside its ${objSize} bytes`);
    return t + off;
  }
  corrupt(why: string): never {
    throw new Error(`${this.what}: corrupt TFLite flatbuffer: ${why}`);
  }
  scalar(t: number, slot: number, kind: 'i8' | 'u8' | 'i32' | 'u32' | 'f32' | 'u64', def: number): number {
    const p = this.field(t, slot);
    return p === 0 ? def : this[kind](p);
  }
  table(t: number, slot: number): number | null {
    const p = this.field(t, slot);
    return p === 0 ? null : this.deref(p);
  }
  /** [first element position, length] of a vector field, or null when absent. */
  vector(t: number, slot: number, elemSize: number): [number, number] | null {
    const p = this.field(t, slot);
    if (p === 0) return null;
    const v = this.deref(p);
    const len = this.u32(v);
    this.need(v + 4, len * elemSize, 'vector');
    return [v + 4, len];
  }
  string(t: number, slot: number): string | undefined {
    const vec = this.vector(t, slot, 1);
    return vec ? new TextDecoder().decode(this.buf.subarray(vec[0], vec[0] + vec[1])) : undefined;
  }
  i32s(t: number, slot: number): number[] {
    const vec = this.vector(t, slot, 4);
    const out: number[] = [];
    if (vec) for (let i = 0; i < vec[1]; i++) out.push(this.i32(vec[0] + 4 * i));
    return out;
  }
  tables(t: number, slot: number): number[] {
    const vec = this.vector(t, slot, 4);
    const out: number[] = [];
    if (vec) for (let i = 0; i < vec[1]; i++) out.push(this.deref(vec[0] + 4 * i));
    return out;
  }
  bytes(t: number, slot: number): Uint8Array | undefined {
    const vec = this.vector(t, slot, 1);
    return vec ? this.buf.subarray(vec[0], vec[0] + vec[1]) : undefined;
  }
}
