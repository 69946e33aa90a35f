// CRC-32 in Node (zlib's, where Node has it) and the table-driven loop the page bundles: the
// check values of the standard, any split of the bytes into parts, and each other on random data.
import { expect } from 'chai';
import { crc32 } from '../../src/util/crc32.js';
import { crc32Table } from '../../src/util/crc32-table.js';
import { makeRng, RUN_SEED } from '../helpers.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('util: CRC-32, Node and the page alike', () => {
  for (const [what, f] of [['crc32 (Node)', crc32], ['crc32Table (the page)', crc32Table]] as const) {
    it(`${what}: the standard's check values, and any split into parts`, () => {
      expect(f(ascii('123456789'))).to.equal(0xcbf43926);
      expect(f(ascii('The quick brown fox jumps over the lazy dog'))).to.equal(0x414fa339);
      expect(f(new Uint8Array(0))).to.equal(0);
      expect(f()).to.equal(0);
      expect(f(ascii('1234'), new Uint8Array(0), ascii('5'), ascii('6789'))).to.equal(0xcbf43926);
    });
  }

  it('the page\'s, eight bytes a step, agrees with Node\'s at every length to 40 at every offset to 8, and over 1 MB', () => {
    const rng = makeRng(RUN_SEED);
    const bytes = Uint8Array.from({ length: 1 << 20 }, () => Math.floor(rng() * 256));
    for (let at = 0; at < 8; at++) {
      for (let n = 0; n <= 40; n++) {
        const b = bytes.subarray(at, at + n);
        expect(crc32Table(b), `${n} bytes at ${at}`).to.equal(crc32(b));
      }
    }
    expect(crc32Table(bytes)).to.equal(crc32(bytes));
    expect(crc32Table(new Uint8Array(1000).fill(0xff))).to.equal(crc32(new Uint8Array(1000).fill(0xff)));
  });

  it('the two agree on random bytes of random lengths, split at random', () => {
    const rng = makeRng(RUN_SEED);
    for (let k = 0; k < 20; k++) {
      const bytes = Uint8Array.from({ length: Math.floor(rng() * 5000) }, () => Math.floor(rng() * 256));
      const cut = Math.floor(rng() * (bytes.length + 1));
      const parts = [bytes.subarray(0, cut), bytes.subarray(cut)];
      expect(crc32(...parts), `${bytes.length} bytes cut at ${cut}`).to.equal(crc32Table(bytes));
      // Unsigned, as zip and PNG store it.
      expect(crc32(bytes)).to.be.at.least(0);
    }
  });
});
