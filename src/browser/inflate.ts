// The browser's stand-in for src/io/inflate.ts: a zlib (RFC 1950) / DEFLATE (RFC 1951) decoder
// written from the two RFCs, synchronous as the label readers are (the browser's own
// DecompressionStream is asynchronous only). Huffman codes are decoded a bit at a time, in
// canonical order: plenty fast for label PNGs, which inflate to a few hundred KB.

/** Codes 257..285: the base match length and its extra bits (RFC 1951, 3.2.5). */
const LENGTH_BASE: number[] = [];
const LENGTH_EXTRA: number[] = [];
/** Distance codes 0..29: the base distance and its extra bits. */
const DIST_BASE: number[] = [];
const DIST_EXTRA: number[] = [];
for (let i = 0, base = 3; i < 28; i++) {
  LENGTH_EXTRA.push(i < 8 ? 0 : (i >> 2) - 1);
  LENGTH_BASE.push(base);
  base += 1 << LENGTH_EXTRA[i];
}
LENGTH_BASE.push(258);
LENGTH_EXTRA.push(0);
for (let i = 0, base = 1; i < 30; i++) {
  DIST_EXTRA.push(i < 4 ? 0 : (i >> 1) - 1);
  DIST_BASE.push(base);
  base += 1 << DIST_EXTRA[i];
}
/** The order the code-length code's lengths are stored in a dynamic block's header. */
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const MAX_BITS = 15;

/** A canonical Huffman code: how many codes of each length, and the symbols in code order. */
interface Huffman {
  counts: Uint16Array;
  symbols: Uint16Array;
}

function huffman(lengths: ArrayLike<number>, what: string): Huffman {
  const counts = new Uint16Array(MAX_BITS + 1);
  for (let s = 0; s < lengths.length; s++) counts[lengths[s]]++;
  counts[0] = 0;
  // More codes of some length than the shorter ones leave room for: no prefix code.
  let left = 1;
  for (let len = 1; len <= MAX_BITS; len++) {
    left = 2 * left - counts[len];
    if (left < 0) throw new Error(`invalid ${what} code lengths (over-subscribed)`);
  }
  const offsets = new Uint16Array(MAX_BITS + 2);
  for (let len = 1; len <= MAX_BITS; len++) offsets[len + 1] = offsets[len] + counts[len];
  const symbols = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) if (lengths[s]) symbols[offsets[lengths[s]]++] = s;
  return { counts, symbols };
}

const FIXED_LITERALS = huffman(
  Array.from({ length: 288 }, (_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8)),
  'literal/length',
);
const FIXED_DISTANCES = huffman(new Array(30).fill(5), 'distance');

class Inflater {
  private pos = 0;
  private bitBuf = 0;
  private bitCount = 0;
  private out: Uint8Array;
  private size = 0;

  constructor(
    private readonly data: Uint8Array,
    private readonly maxOutput: number,
  ) {
    this.out = new Uint8Array(Math.min(maxOutput, Math.max(1024, 4 * data.length)));
  }

  /** The next n bits (n <= 16), least significant first, as DEFLATE packs its fields. */
  private bits(n: number): number {
    while (this.bitCount < n) {
      if (this.pos >= this.data.length) throw new Error('unexpected end of the compressed data');
      this.bitBuf |= this.data[this.pos++] << this.bitCount;
      this.bitCount += 8;
    }
    const v = this.bitBuf & ((1 << n) - 1);
    this.bitBuf >>>= n;
    this.bitCount -= n;
    return v;
  }

  /** Drops the rest of the current byte (stored blocks and the trailer start on a byte). */
  private alignToByte(): void {
    this.bitBuf = 0;
    this.bitCount = 0;
  }

  /** One symbol: Huffman codes are packed starting with their most significant bit. */
  private decode(h: Huffman): number {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len <= MAX_BITS; len++) {
      code |= this.bits(1);
      const count = h.counts[len];
      if (code - first < count) return h.symbols[index + code - first];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw new Error('invalid Huffman code in the compressed data');
  }

  private reserve(n: number): void {
    if (this.size + n <= this.out.length) return;
    if (this.size + n > this.maxOutput) throw new Error(`the data inflates to more than ${this.maxOutput} bytes`);
    const grown = new Uint8Array(Math.min(this.maxOutput, Math.max(2 * this.out.length, this.size + n)));
    grown.set(this.out.subarray(0, this.size));
    this.out = grown;
  }

  private stored(): void {
    this.alignToByte();
    const d = this.data;
    if (this.pos + 4 > d.length) throw new Error('unexpected end of the compressed data');
    const len = d[this.pos] | (d[this.pos + 1] << 8);
    const nlen = d[this.pos + 2] | (d[this.pos + 3] << 8);
    if ((len ^ 0xffff) !== nlen) throw new Error('invalid stored block lengths');
    this.pos += 4;
    if (this.pos + len > d.length) throw new Error('unexpected end of the compressed data');
    this.reserve(len);
    this.out.set(d.subarray(this.pos, this.pos + len), this.size);
    this.size += len;
    this.pos += len;
  }

  private codes(literals: Huffman, distances: Huffman): void {
    for (;;) {
      const sym = this.decode(literals);
      if (sym < 256) {
        this.reserve(1);
        this.out[this.size++] = sym;
      } else if (sym === 256) {
        return;
      } else {
        const l = sym - 257;
        if (l >= 29) throw new Error(`invalid length code ${sym}`);
        const length = LENGTH_BASE[l] + this.bits(LENGTH_EXTRA[l]);
        const d = this.decode(distances);
        if (d >= 30) throw new Error(`invalid distance code ${d}`);
        const distance = DIST_BASE[d] + this.bits(DIST_EXTRA[d]);
        if (distance > this.size) throw new Error(`invalid distance ${distance}: only ${this.size} bytes written`);
        this.reserve(length);
        // Byte by byte: a match may overlap the bytes it writes (a run).
        for (let k = 0; k < length; k++, this.size++) this.out[this.size] = this.out[this.size - distance];
      }
    }
  }

  private dynamic(): void {
    const nlen = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncode = this.bits(4) + 4;
    if (nlen > 286 || ndist > 30) throw new Error('invalid dynamic block header (too many codes)');
    const codeLengths = new Uint8Array(19);
    for (let i = 0; i < ncode; i++) codeLengths[CODE_LENGTH_ORDER[i]] = this.bits(3);
    const lengthCode = huffman(codeLengths, 'code length');
    const lengths = new Uint8Array(nlen + ndist);
    for (let i = 0; i < nlen + ndist; ) {
      const sym = this.decode(lengthCode);
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let value = 0;
      let repeat: number;
      if (sym === 16) {
        if (i === 0) throw new Error('invalid dynamic block: a repeat with no length before it');
        value = lengths[i - 1];
        repeat = 3 + this.bits(2);
      } else if (sym === 17) {
        repeat = 3 + this.bits(3);
      } else {
        repeat = 11 + this.bits(7);
      }
      if (i + repeat > nlen + ndist) throw new Error('invalid dynamic block: code lengths repeat past the end');
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
    if (lengths[256] === 0) throw new Error('invalid dynamic block: no end-of-block code');
    this.codes(huffman(lengths.subarray(0, nlen), 'literal/length'), huffman(lengths.subarray(nlen), 'distance'));
  }

  /** The raw DEFLATE blocks from the current position. */
  run(): void {
    let last = 0;
    while (!last) {
      last = this.bits(1);
      const type = this.bits(2);
      if (type === 0) this.stored();
      else if (type === 1) this.codes(FIXED_LITERALS, FIXED_DISTANCES);
      else if (type === 2) this.dynamic();
      else throw new Error('invalid block type 3');
    }
  }

  /** A zlib stream: header, DEFLATE blocks, Adler-32 of the output. */
  zlib(): Uint8Array {
    const d = this.data;
    if (d.length < 2) throw new Error('unexpected end of the compressed data');
    const cmf = d[0];
    const flg = d[1];
    if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) throw new Error('incorrect header check (not a zlib stream)');
    if (flg & 0x20) throw new Error('a preset dictionary is needed (not used by PNG)');
    this.pos = 2;
    this.run();
    this.alignToByte();
    if (this.pos + 4 > d.length) throw new Error('unexpected end of the compressed data (no Adler-32 checksum)');
    const stored = ((d[this.pos] << 24) | (d[this.pos + 1] << 16) | (d[this.pos + 2] << 8) | d[this.pos + 3]) >>> 0;
    const out = this.out.subarray(0, this.size);
    if (adler32(out) !== stored) throw new Error('incorrect data check (Adler-32 mismatch)');
    return out;
  }
}

/** Adler-32 (RFC 1950, 8.2). */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; ) {
    // 5552 bytes is the most that cannot overflow before the modulo (RFC 1950's NMAX).
    const end = Math.min(bytes.length, i + 5552);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** The zlib stream `data` inflated; more than `maxOutputLength` bytes is an error. */
export function inflateZlib(data: Uint8Array, maxOutputLength: number): Uint8Array {
  return new Inflater(data, maxOutputLength).zlib();
}
