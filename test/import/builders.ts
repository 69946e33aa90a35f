// Byte-level builders for the import tests: zip archives, pickle opcode streams, npy files and
// flatbuffers, so each reader is checked on inputs whose every byte the test controls.
import { crc32, deflateRawSync } from 'node:zlib';

export function concat(parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function le(bytes: number, value: number | bigint): Uint8Array {
  const b = new Uint8Array(bytes);
  const v = new DataView(b.buffer);
  if (bytes === 2) v.setUint16(0, Number(value), true);
  else if (bytes === 4) v.setUint32(0, Number(value), true);
  else v.setBigUint64(0, BigInt(value), true);
  return b;
}

// ---------------------------------------------------------------- zip

export interface ZipEntryIn {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** Bytes of padding in the local extra field (torch uses this to align data). */
  pad?: number;
}

/**
 * A zip archive. `zip64` writes every size/offset through zip64 extra fields and zip64 end
 * records, with the classic fields saturated, as a >4 GB archive would.
 */
export function buildZip(entries: ZipEntryIn[], opts: { zip64?: boolean } = {}): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = ascii(e.name);
    const body = e.deflate ? new Uint8Array(deflateRawSync(e.data)) : e.data;
    const crc = crc32(e.data);
    const localExtra = e.pad ? concat([le(2, 0x4246), le(2, e.pad), new Uint8Array(e.pad)]) : new Uint8Array(0);
    const local = concat([
      le(4, 0x04034b50), le(2, 20), le(2, 0), le(2, e.deflate ? 8 : 0), le(4, 0), le(4, crc),
      le(4, body.length), le(4, e.data.length), le(2, name.length), le(2, localExtra.length), name, localExtra,
    ]);
    const sat = (v: number): number => (opts.zip64 ? 0xffffffff : v);
    const centralExtra = opts.zip64
      ? concat([le(2, 0x0001), le(2, 24), le(8, e.data.length), le(8, body.length), le(8, offset)])
      : new Uint8Array(0);
    centrals.push(concat([
      le(4, 0x02014b50), le(2, 45), le(2, 20), le(2, 0), le(2, e.deflate ? 8 : 0), le(4, 0), le(4, crc),
      le(4, sat(body.length)), le(4, sat(e.data.length)), le(2, name.length), le(2, centralExtra.length),
      le(2, 0), le(2, 0), le(2, 0), le(4, 0), le(4, sat(offset)), name, centralExtra,
    ]));
    locals.push(local, body);
    offset += local.length + body.length;
  }
  const cd = concat(centrals);
  const tail: Uint8Array[] = [];
  if (opts.zip64) {
    const z64 = offset + cd.length;
    tail.push(concat([
      le(4, 0x06064b50), le(8, 44), le(2, 45), le(2, 45), le(4, 0), le(4, 0),
      le(8, entries.length), le(8, entries.length), le(8, cd.length), le(8, offset),
    ]));
    tail.push(concat([le(4, 0x07064b50), le(4, 0), le(8, z64), le(4, 1)]));
  }
  const count = opts.zip64 ? 0xffff : entries.length;
  tail.push(concat([
    le(4, 0x06054b50), le(2, 0), le(2, 0), le(2, count), le(2, count),
    le(4, opts.zip64 ? 0xffffffff : cd.length), le(4, opts.zip64 ? 0xffffffff : offset), le(2, 0),
  ]));
  return concat([...locals, cd, ...tail]);
}

// ---------------------------------------------------------------- pickle opcodes

/** Emitters for single pickle opcodes; a test pickle is `concat([...])` of these. */
export const P = {
  proto: (v: number) => [0x80, v],
  frame: (n: number) => [0x95, ...le(8, n)],
  stop: [0x2e],
  mark: [0x28],
  none: [0x4e],
  newTrue: [0x88],
  newFalse: [0x89],
  emptyDict: [0x7d],
  emptyList: [0x5d],
  emptyTuple: [0x29],
  emptySet: [0x8f],
  addItems: [0x90],
  tuple: [0x74],
  tuple1: [0x85],
  tuple2: [0x86],
  tuple3: [0x87],
  list: [0x6c],
  append: [0x61],
  appends: [0x65],
  setItem: [0x73],
  setItems: [0x75],
  reduce: [0x52],
  build: [0x62],
  binPersId: [0x51],
  memoize: [0x94],
  stackGlobal: [0x93],
  global: (module: string, name: string) => [0x63, ...ascii(`${module}\n${name}\n`)],
  str: (s: string) => {
    const b = ascii(s);
    return [0x58, ...le(4, b.length), ...b];
  },
  shortStr: (s: string) => {
    const b = ascii(s);
    return [0x8c, b.length, ...b];
  },
  bytes: (b: Uint8Array) => [0x42, ...le(4, b.length), ...b],
  int: (n: number): number[] => {
    if (n >= 0 && n < 256) return [0x4b, n];
    if (n >= 0 && n < 65536) return [0x4d, ...le(2, n)];
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, n, true);
    return [0x4a, ...b];
  },
  long1: (bytes: number[]) => [0x8a, bytes.length, ...bytes],
  float: (x: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false);
    return [0x47, ...b];
  },
  binPut: (i: number) => [0x71, i],
  binGet: (i: number) => [0x68, i],
};

// ---------------------------------------------------------------- npy

/** An .npy file: the header dict padded with spaces + '\n' to a multiple of 64 bytes. */
export function buildNpy(header: string, data: Uint8Array, version = 1): Uint8Array {
  const lenBytes = version === 1 ? 2 : 4;
  const pre = 6 + 2 + lenBytes;
  let h = header;
  while ((pre + h.length + 1) % 64 !== 0) h += ' ';
  h += '\n';
  const hb = version === 3 ? ascii(h) : Uint8Array.from(h, (c) => c.charCodeAt(0));
  return concat([[0x93, ...ascii('NUMPY'), version, 0], le(lenBytes, hb.length), hb, data]);
}

// ---------------------------------------------------------------- flatbuffers

/**
 * A forward-only flatbuffer writer: every object is appended after the one referring to it,
 * so uoffsets stay positive. Tables are written as [soffset][fields...] with the vtable just
 * before them.
 */
export class FlatBuilder {
  private bytes: number[] = [];
  private patches: Array<{ at: number; target: () => number }> = [];

  get length(): number {
    return this.bytes.length;
  }
  private align(n: number): void {
    while (this.bytes.length % n !== 0) this.bytes.push(0);
  }
  /** Root offset + file identifier; returns the position of the root uoffset's target later. */
  header(ident: string, root: () => number): void {
    this.patches.push({ at: 0, target: root });
    this.bytes.push(0, 0, 0, 0, ...ascii(ident));
  }
  /**
   * A table whose fields are given per slot: inline scalars as [size, value] (size 1/4/8),
   * references as a function returning the referenced object's position (written later).
   */
  table(fields: Array<null | [1 | 4 | 8, number | bigint] | (() => number)>): number {
    const sizes = fields.map((f) => (f === null ? 0 : typeof f === 'function' ? 4 : f[0]));
    const layout: number[] = [];
    let size = 4;
    sizes.forEach((s, i) => {
      if (s === 0) {
        layout[i] = 0;
        return;
      }
      while (size % s !== 0) size++;
      layout[i] = size;
      size += s;
    });
    this.align(8);
    const vt = this.bytes.length;
    this.bytes.push(...le(2, 4 + 2 * fields.length), ...le(2, size));
    for (const o of layout) this.bytes.push(...le(2, o));
    this.align(8);
    const t = this.bytes.length;
    const body = new Array<number>(size).fill(0);
    const sOff = new Uint8Array(4);
    new DataView(sOff.buffer).setInt32(0, t - vt, true);
    body.splice(0, 4, ...sOff);
    fields.forEach((f, i) => {
      if (f === null) return;
      if (typeof f === 'function') this.patches.push({ at: t + layout[i], target: f });
      else body.splice(layout[i], f[0], ...le(f[0] === 1 ? 8 : f[0], f[1]).subarray(0, f[0]));
    });
    this.bytes.push(...body);
    return t;
  }
  /** A vector of int32 (or of uoffsets to objects given by functions); returns its position. */
  vector(items: Array<number | (() => number)>): number {
    this.align(4);
    const v = this.bytes.length;
    this.bytes.push(...le(4, items.length));
    items.forEach((it, i) => {
      const at = v + 4 + 4 * i;
      if (typeof it === 'function') {
        this.patches.push({ at, target: it });
        this.bytes.push(0, 0, 0, 0);
      } else {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setInt32(0, it, true);
        this.bytes.push(...b);
      }
    });
    return v;
  }
  byteVector(data: ArrayLike<number>): number {
    // Pad so the data (after the 4-byte length) starts 16-aligned, as TFLite's force_align does.
    while ((this.bytes.length + 4) % 16 !== 0) this.bytes.push(0);
    const v = this.bytes.length;
    this.bytes.push(...le(4, data.length));
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]); // no spread: data can be large
    return v;
  }
  string(s: string): number {
    this.align(4);
    const v = this.bytes.length;
    const b = ascii(s);
    this.bytes.push(...le(4, b.length), ...b, 0);
    return v;
  }
  raw(data: ArrayLike<number>): number {
    this.align(16);
    const p = this.bytes.length;
    this.bytes.push(...Array.from(data));
    return p;
  }
  finish(): Uint8Array {
    const out = Uint8Array.from(this.bytes);
    const view = new DataView(out.buffer);
    for (const { at, target } of this.patches) {
      const t = target();
      if (t <= at) throw new Error(`FlatBuilder: object at ${t} must follow its reference at ${at}`);
      view.setUint32(at, t - at, true);
    }
    return out;
  }
}
