// Test-only: a tiny baseline JPEG encoder for grey images made of flat 8x8 blocks (DC
// coefficients only). jpeg-js can only write 3-component files without restart markers; this
// covers the 1-component (grey) path and restart intervals, with exactly known pixel values:
// quantiser 8 makes a block's DC value v decode to the flat level 128 + v.

class BitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;

  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }

  /** Pads the partial byte with 1-bits, as T.81 asks before a marker. */
  pad(): void {
    while (this.n !== 0) this.write(1, 1);
  }

  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0x00); // byte stuffing
    this.acc = 0;
    this.n = 0;
  }
}

function segment(marker: number, payload: number[]): number[] {
  const len = payload.length + 2;
  return [0xff, marker, len >> 8, len & 0xff, ...payload];
}

/**
 * `levels[b]` (in -127..127) is block b's value minus 128, blocks in row-major order over the
 * ceil(w/8) x ceil(h/8) grid. `restartInterval` > 0 inserts RST markers every that many blocks.
 */
export function buildGreyDcJpeg(width: number, height: number, levels: number[], restartInterval = 0): Uint8Array {
  const bits = new BitWriter();
  let pred = 0;
  let rst = 0;
  levels.forEach((level, b) => {
    if (restartInterval > 0 && b > 0 && b % restartInterval === 0) {
      bits.pad();
      bits.bytes.push(0xff, 0xd0 + rst);
      rst = (rst + 1) & 7;
      pred = 0;
    }
    const diff = level - pred;
    pred = level;
    const cat = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
    bits.write(cat, 4); // DC table: category c has the 4-bit code c
    if (cat > 0) bits.write(diff > 0 ? diff : diff + (1 << cat) - 1, cat);
    bits.write(0, 1); // AC table: EOB has the 1-bit code 0
  });
  bits.pad();
  const dcCounts = new Array(16).fill(0);
  dcCounts[3] = 12; // twelve 4-bit codes: categories 0..11
  const acCounts = new Array(16).fill(0);
  acCounts[0] = 1; // one 1-bit code: EOB
  return Uint8Array.from([
    0xff,
    0xd8,
    ...segment(0xdb, [0x00, ...new Array(64).fill(8)]),
    ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]),
    ...segment(0xc4, [0x00, ...dcCounts, ...Array.from({ length: 12 }, (_, i) => i)]),
    ...segment(0xc4, [0x10, ...acCounts, 0x00]),
    ...(restartInterval > 0 ? segment(0xdd, [restartInterval >> 8, restartInterval & 0xff]) : []),
    ...segment(0xda, [1, 1, 0x00, 0, 63, 0]),
    ...bits.bytes,
    0xff,
    0xd9,
  ]);
}
