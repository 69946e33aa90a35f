import { expect } from 'chai';
import { unpickle } from '../../src/model/weights/import/pickle.js';
import { isPickleTuple } from '../../src/model/weights/import/pickle-values.js';
import { P, concat } from './builders.js';
import { expectThrows } from '../helpers.js';

const noGlobals = { globals: {} };

describe('import: pickle', () => {
  it('builds containers, scalars and memo references (protocol 4 framing)', () => {
    const body = concat([
      P.emptyDict, P.memoize,
      P.mark,
      P.shortStr('list'), P.emptyList, P.memoize, P.mark, P.int(7), P.int(300), P.int(-70000), P.int(100000), P.appends,
      P.shortStr('tuple'), P.none, P.newTrue, P.newFalse, P.tuple3,
      P.shortStr('pair'), P.float(-1.25), P.bytes(Uint8Array.from([1, 2, 255])), P.tuple2,
      P.shortStr('longs'), P.long1([0xff]), P.long1([0x00, 0x80]), P.long1([0, 0, 0, 0, 0, 0, 0, 0x40]), P.tuple3,
      P.shortStr('set'), P.emptySet, P.mark, P.int(1), P.int(2), P.addItems,
      P.shortStr('again'), P.binGet(1), // the list, by memo
      P.setItems,
      P.stop,
    ]);
    const buf = concat([P.proto(4), P.frame(body.length), body]);
    const v = unpickle(buf, noGlobals) as Map<string, unknown>;
    expect(v).to.be.instanceOf(Map);
    expect(v.get('list')).to.deep.equal([7, 300, -70000, 100000]);
    expect(v.get('again')).to.equal(v.get('list'));
    const t = v.get('tuple') as unknown[];
    expect(isPickleTuple(t)).to.equal(true);
    expect(t).to.deep.equal([null, true, false]);
    const pair = v.get('pair') as [number, Uint8Array];
    expect(pair[0]).to.equal(-1.25);
    expect([...pair[1]]).to.deep.equal([1, 2, 255]);
    expect(v.get('longs')).to.deep.equal([-1, -32768, 2n ** 62n]);
    expect([...(v.get('set') as Set<number>)]).to.deep.equal([1, 2]);
  });

  it('resolves globals only through the table and calls them on REDUCE', () => {
    const calls: unknown[][] = [];
    const globals = { 'mod.fn': (...args: unknown[]) => (calls.push(args), { made: args.length }) };
    const buf = concat([P.proto(2), P.global('mod', 'fn'), P.int(1), P.str('a'), P.tuple2, P.reduce, P.stop]);
    expect(unpickle(buf, { globals })).to.deep.equal({ made: 2 });
    expect(calls).to.deep.equal([[1, 'a']]);
    const stackGlobal = concat([P.proto(4), P.shortStr('mod'), P.shortStr('fn'), P.stackGlobal, P.emptyTuple, P.reduce, P.stop]);
    expect(unpickle(stackGlobal, { globals })).to.deep.equal({ made: 0 });
    const evil = concat([P.proto(2), P.global('os', 'system'), P.str('rm -rf /'), P.tuple1, P.reduce, P.stop]);
    expectThrows(() => unpickle(evil, { globals, what: 'evil.pkl' }), /evil\.pkl: unsupported global os\.system .* at offset 2/);
  });

  it('BUILD sets attributes without touching prototypes', () => {
    const state = concat([P.emptyDict, P.shortStr('__proto__'), P.emptyDict, P.setItem, P.shortStr('_metadata'), P.int(3), P.setItem]);
    const buf = concat([P.proto(2), P.global('c', 'Obj'), P.emptyTuple, P.reduce, state, P.build, P.stop]);
    const obj = unpickle(buf, { globals: { 'c.Obj': () => new Map() } }) as Map<unknown, unknown> & { _metadata: number };
    expect(obj._metadata).to.equal(3);
    expect(Object.getPrototypeOf(obj)).to.equal(Map.prototype);
    expect(Object.getOwnPropertyDescriptor(obj, '__proto__')?.value).to.be.instanceOf(Map);
  });

  it('hands persistent ids to the callback', () => {
    const buf = concat([P.proto(2), P.str('storage'), P.str('7'), P.tuple2, P.binPersId, P.stop]);
    expect(unpickle(buf, { globals: {}, persistentLoad: (pid) => ({ loaded: pid }) })).to.deep.equal({ loaded: ['storage', '7'] });
    expectThrows(() => unpickle(buf, noGlobals), /persistent id found but no persistent_load/);
  });

  it('rejects unsupported opcodes, truncation and bad structure with offsets', () => {
    const inst = concat([P.proto(2), [0x69], P.stop]);
    expectThrows(() => unpickle(inst, { globals: {}, what: 'x' }), /x: unsupported pickle opcode INST \(0x69\) at offset 2/);
    expectThrows(() => unpickle(Uint8Array.from([0x80, 2, 0xff]), noGlobals), /unsupported pickle opcode unknown \(0xff\) at offset 2/);
    expectThrows(() => unpickle(concat([P.proto(2), P.str('abc')]).subarray(0, 7), noGlobals), /truncated pickle/);
    expectThrows(() => unpickle(concat([P.proto(2), P.emptyDict]), noGlobals), /no STOP opcode/);
    expectThrows(() => unpickle(concat([P.proto(2), P.tuple, P.stop]), noGlobals), /no MARK/);
    expectThrows(() => unpickle(concat([P.proto(2), P.binGet(4), P.stop]), noGlobals), /memo key 4/);
    expectThrows(() => unpickle(concat([P.proto(6), P.none, P.stop]), noGlobals), /unsupported pickle protocol 6/);
    expectThrows(() => unpickle(concat([P.proto(2), P.emptyTuple, P.int(1), P.append, P.stop]), noGlobals), /not a list/);
  });
});
