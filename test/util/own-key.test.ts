// Tables looked up by a key from a file or an option (src/util/own-key.ts): only their own keys
// count, so the names of Object.prototype's members find nothing.
import { expect } from 'chai';
import { ownValue } from '../../src/util/own-key.js';

describe('util: own keys of a table', () => {
  it("finds a table's own entries, by string or number, and nothing for inherited names or other kinds of key", () => {
    const filters: Readonly<Record<number, string>> = { 2: 'bilinear', 3: 'bicubic' };
    const rules: Readonly<Record<string, number>> = { Conv: 1, Relu: 2 };
    expect([ownValue(filters, 2), ownValue(filters, '3'), ownValue(rules, 'Conv')]).to.deep.equal(['bilinear', 'bicubic', 1]);
    for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'Relu ', ''] as const) expect(ownValue(rules, key), key).to.equal(undefined);
    for (const key of [undefined, null, {}, ['Conv'], true]) expect(ownValue(rules, key), String(key)).to.equal(undefined);
  });
});
