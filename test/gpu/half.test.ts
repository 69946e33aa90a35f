// Host-side binary16 conversion (src/gpu/half.ts), against values worked out by hand from the
// IEEE 754 binary16 format: 1 sign, 5 exponent (bias 15), 10 fraction bits.
import { expect } from 'chai';
import { bindingBytes, fromHalfBits, halfBits, halfValue, roundToHalf, toHalfBits } from '../../src/gpu/half.js';

describe('half precision on the host', () => {
  it('encodes exact values, the range limits, subnormals, infinities and NaN', () => {
    expect(halfBits(0)).to.equal(0x0000);
    expect(halfBits(-0)).to.equal(0x8000);
    expect(halfBits(1)).to.equal(0x3c00);
    expect(halfBits(-2)).to.equal(0xc000);
    expect(halfBits(0.5)).to.equal(0x3800);
    expect(halfBits(65504)).to.equal(0x7bff); // the largest finite half
    expect(halfBits(65520)).to.equal(0x7c00); // rounds past it: infinity
    expect(halfBits(Infinity)).to.equal(0x7c00);
    expect(halfBits(-Infinity)).to.equal(0xfc00);
    expect(halfBits(2 ** -14)).to.equal(0x0400); // the smallest normal
    expect(halfBits(2 ** -24)).to.equal(0x0001); // the smallest subnormal
    expect(halfBits(2 ** -25)).to.equal(0x0000); // a tie with zero: to even
    expect(halfBits(3 * 2 ** -25)).to.equal(0x0002); // a tie between 1 and 2 ulps: to even
    const nan = halfBits(NaN);
    expect(nan & 0x7c00).to.equal(0x7c00);
    expect(nan & 0x3ff).to.not.equal(0);
  });

  it('rounds to nearest, ties to even, and decodes what it encodes', () => {
    expect(halfValue(halfBits(1 + 2 ** -11))).to.equal(1); // tie, 1 is even
    expect(halfValue(halfBits(1 + 3 * 2 ** -11))).to.equal(1 + 2 ** -9); // tie, rounds up to even
    expect(halfValue(halfBits(1 + 2 ** -11 + 2 ** -20))).to.equal(1 + 2 ** -10); // just past the tie
    expect(halfValue(halfBits(2047.5))).to.equal(2048); // the mantissa carries into the exponent
    expect(halfValue(0x3555)).to.be.closeTo(1 / 3, 1e-4);
    for (let h = 0; h < 0x7c00; h += 7) {
      expect(halfBits(halfValue(h)), `bits ${h.toString(16)}`).to.equal(h);
      expect(halfBits(-halfValue(h))).to.equal(h | 0x8000);
    }
    expect(Number.isNaN(halfValue(0x7e00))).to.equal(true);
  });

  it('array conversions pad to whole 4-byte words and round-trip', () => {
    const x = new Float32Array([1.5, -0.1, 3e-6]);
    const bits = toHalfBits(x);
    expect(bits.length).to.equal(4);
    expect(bits.byteLength % 4).to.equal(0);
    const back = fromHalfBits(bits, 3);
    expect(Array.from(back)).to.deep.equal(Array.from(roundToHalf(x)));
    expect(back[0]).to.equal(1.5);
    expect(Math.abs(back[1] + 0.1)).to.be.lessThan(0.1 * 2 ** -11);
    expect(bindingBytes(3, 2)).to.equal(8);
    expect(bindingBytes(4, 2)).to.equal(8);
    expect(bindingBytes(3, 4)).to.equal(12);
  });
});
