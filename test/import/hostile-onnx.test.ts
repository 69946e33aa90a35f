// Hostile ONNX files (the readers' fuzz rules of test/hostile.ts): a file PyTorch's exporter wrote
// (test/fixtures/onnx's LR-ASPP), truncated, its bytes mutated, and messages written with
// inconsistent fields (dims against the data, types, external data outside the model's folder),
// through readOnnx and, where the reader accepts, through the loader. Each is refused with a clear
// error naming the file, or read consistently, quickly, without allocating what a field claims.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { readOnnx } from '../../src/graph/onnx/read.js';
import type { OnnxModel } from '../../src/graph/onnx/model.js';
import { type ModelProto, decodeModel, encodeModel } from '../../src/graph/onnx/proto.js';
import { onnxMessage } from '../../src/graph/onnx/write.js';
import { weightsFromBytes } from '../../src/model/loading/weights-from-bytes.js';
import { HOSTILE_SEED, Rand, Tally, truncationLengths, withPatch } from '../hostile.js';
import { expectThrows } from '../helpers.js';
import { onnxCasePath } from '../onnx-fixture.js';

const FILE = onnxCasePath('tv-lraspp-mobilenetv3', 'model.onnx');

/** The end of the ModelProto's graph field (7), walking the top-level fields' tags and lengths. */
function graphFieldEnd(b: Uint8Array): number {
  let at = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 1; ; shift *= 128) {
      const byte = b[at++];
      v += (byte & 0x7f) * shift;
      if (byte < 0x80) return v;
    }
  };
  while (at < b.length) {
    const tag = varint();
    if ((tag & 7) === 0) varint();
    else if ((tag & 7) === 2) {
      const length = varint();
      at += length;
      if (tag >>> 3 === 7) return at;
    } else throw new Error(`unexpected wire type at the top level: ${tag & 7}`);
  }
  throw new Error('no graph field');
}

/** Null where every tensor holds the values its dims say. */
function consistent(m: OnnxModel): string | null {
  for (const [k, t] of m.graph.initializers) {
    if (t.data.length !== t.dims.reduce((a, b) => a * b, 1)) return `${k} has ${t.data.length} values for [${t.dims.join(',')}]`;
  }
  return null;
}

describe('hostile files: ONNX', function () {
  this.timeout(300_000);
  const orig = new Uint8Array(readFileSync(FILE));
  const name = 'hostile.onnx';

  it('truncations and mutated bytes: refused by name, or read consistently; what is read loads or is refused by name', () => {
    const r = new Rand(HOSTILE_SEED + 11);
    const tally = new Tally(FILE, 1000, 4 * orig.length);
    // The graph is the ModelProto's one large field: a cut before its end leaves it incomplete.
    const model = readOnnx(orig, name);
    expect(model.graph.nodes.length).to.be.greaterThan(50);
    const graphEnd = graphFieldEnd(orig);
    for (const n of truncationLengths(orig.length, 256, 60, r)) {
      tally.check('truncation', `to ${n}`, () => readOnnx(orig.subarray(0, n), name), { name, mustRefuse: n < graphEnd, consistent });
    }
    const work = orig.slice();
    const accepted: { at: number; patch: Uint8Array }[] = [];
    for (let k = 0; k < 600; k++) {
      // Tags and lengths sit everywhere in a protobuf: any byte may be one.
      const at = r.int(orig.length);
      const patch = Uint8Array.of(r.pick([0, 0x7f, 0x80, 0xff, r.int(256), orig[at] ^ (1 << r.int(8))]));
      const outcome = withPatch(work, at, patch, () => tally.check('byte', `at ${at} -> ${patch[0]}`, () => readOnnx(work, name), { name, consistent }));
      if (outcome === 'accepted') accepted.push({ at, patch });
    }
    tally.assert();
    const loads = new Tally(`${FILE} (accepted mutants through the loader)`, 3000, 8 * orig.length);
    for (const [i, { at, patch }] of r.sample(accepted, 40).entries()) {
      const source = `accepted-${i}.onnx`;
      withPatch(work, at, patch, () => loads.check('accepted by readOnnx', `${i} (at ${at})`, () => weightsFromBytes(work, 'onnx', source, {}, source), { name: source }));
    }
    loads.assert();
  });

  it('fields that disagree: dims against the data, types, counts, external data outside the folder', () => {
    const tally = new Tally(`${FILE} (rewritten messages)`, 1000, 4 * orig.length);
    const base = readOnnx(orig, name);
    const conv = [...base.graph.initializers.values()].find((t) => t.dims.length === 4)!;
    /** The file with its first 4-D initializer's TensorProto edited. */
    const edited = (edit: (t: Record<string, unknown>) => void): Uint8Array => {
      const m = onnxMessage(base);
      const t = m.graph.initializer.find((x) => x.name === conv.name)!;
      edit(t);
      return encodeModel(m as never);
    };
    const cases: [string, (t: Record<string, unknown>) => void][] = [
      ['dims past the data', (t) => (t.dims = [2 ** 31, 2 ** 31])],
      ['dims of 2^40 values', (t) => (t.dims = [2 ** 20, 2 ** 20])],
      ['a negative dim', (t) => (t.dims = [-1, 4])],
      ['nine dims', (t) => (t.dims = [1, 1, 1, 1, 1, 1, 1, 1, 1])],
      ['a zero dim, data kept', (t) => (t.dims = [0, 3])],
      ['string type', (t) => (t.data_type = 8)],
      ['an unknown type', (t) => (t.data_type = 99)],
      ['float64 over float32 data', (t) => (t.data_type = 11)],
      ['raw data short by a byte', (t) => (t.raw_data = (t.raw_data as Uint8Array).subarray(1))],
      ['typed values one short', (t) => Object.assign(t, { raw_data: new Uint8Array(0), float_data: new Array<number>(conv.data.length - 1).fill(0) })],
      ['external data at ../', (t) => Object.assign(t, { data_location: 1, raw_data: new Uint8Array(0), external_data: [{ key: 'location', value: '../weights.bin' }] })],
      ['external data at an absolute path', (t) => Object.assign(t, { data_location: 1, raw_data: new Uint8Array(0), external_data: [{ key: 'location', value: '/etc/passwd' }] })],
      ['external data with no location', (t) => Object.assign(t, { data_location: 1, raw_data: new Uint8Array(0), external_data: [{ key: 'offset', value: '0' }] })],
      ['external data in bytes, no folder', (t) => Object.assign(t, { data_location: 1, raw_data: new Uint8Array(0), external_data: [{ key: 'location', value: 'weights.bin' }] })],
      ['segments', (t) => (t.segment = new Uint8Array([8, 0, 16, 4]))],
    ];
    for (const [kind, edit] of cases) tally.check(kind, conv.name, () => readOnnx(edited(edit), name), { name, mustRefuse: true });
    const opset = (v: number) => () => {
      const m = onnxMessage(base);
      (m.opset_import as { version: number }[])[0].version = v;
      return readOnnx(encodeModel(m as never), name);
    };
    tally.check('opset', '0', opset(0), { name, mustRefuse: true });
    tally.check('opset', '1000', opset(1000), { name, mustRefuse: true });
    tally.check('empty', '0 bytes', () => readOnnx(new Uint8Array(0), name), { name, mustRefuse: true });
    tally.check('not protobuf', 'text', () => readOnnx(new TextEncoder().encode('{"not": "onnx"}'), name), { name, mustRefuse: true });
    tally.assert();
  });

  it('values and names a file must hold (issue 81): finite float initializers, integers within their type, graph inputs and outputs that name values, op types of its own', () => {
    const base = readOnnx(orig, name);
    const conv = [...base.graph.initializers.values()].find((t) => t.dims.length === 4)!;
    /** The file's message edited, encoded again. */
    const edited = (edit: (m: ModelProto) => void): Uint8Array => {
      const m = decodeModel(orig);
      edit(m);
      return encodeModel(m);
    };
    const convWith = (value: number, at: number) =>
      edited((m) => {
        const t = m.graph.initializer.find((x) => x.name === conv.name)!;
        const data = Float32Array.from(conv.data);
        t.data_type = 1;
        data[at] = value;
        t.raw_data = new Uint8Array(data.buffer);
      });
    expectThrows(() => readOnnx(convWith(NaN, 7), name), `${name}: tensor '${conv.name}' holds a value that is not a number at element 7: weights must be finite`);
    expectThrows(() => readOnnx(convWith(-Infinity, 0), name), `${name}: tensor '${conv.name}' holds -infinity at element 0: weights must be finite`);
    // Integers stored in int32_data (as onnx.helper writes them): a uint8 zero point of 300, an int8 of -129, float16 bits of 2^16, bool 2.
    const extra = (dataType: number, values: number[]) =>
      edited((m) => m.graph.initializer.push({ name: 'zero_point', dims: [values.length], data_type: dataType, int32_data: values } as never));
    expectThrows(() => readOnnx(extra(2, [0, 300]), name), `${name}: initializer 'zero_point' int32_data holds 300 at element 1, outside the range of uint8 (0..255)`);
    expectThrows(() => readOnnx(extra(3, [-129]), name), 'outside the range of int8 (-128..127)');
    expectThrows(() => readOnnx(extra(10, [65536]), name), "outside the range of float16's bits (0..65535)");
    expectThrows(() => readOnnx(extra(9, [2]), name), 'outside the range of bool (0..1)');
    expect([...readOnnx(extra(2, [0, 255]), name).graph.initializers.get('zero_point')!.data]).to.deep.equal([0, 255]);
    // Graph inputs and outputs name values; an output one the graph makes.
    const output = base.graph.outputs[0].name;
    expectThrows(() => readOnnx(edited((m) => (m.graph.output[0].name = '')), name), `${name}: graph output 0 names no value (an empty name)`);
    expectThrows(() => readOnnx(edited((m) => (m.graph.output[0].name = 'nowhere')), name), `${name}: graph output 0 'nowhere' is no value of the graph (no node, initializer or input makes it)`);
    expectThrows(() => readOnnx(edited((m) => (m.graph.input[0].name = '')), name), `${name}: graph input 0 names no value (an empty name)`);
    expect(readOnnx(orig, name).graph.outputs[0].name).to.equal(output);
    // An op type that is an inherited key of a plain object finds no import rule.
    for (const op of ['__proto__', 'constructor', 'toString']) {
      const bytes = edited((m) => {
        const n = m.graph.node.find((x) => x.output.includes(output))!;
        n.op_type = op;
      });
      expectThrows(() => weightsFromBytes(bytes, 'onnx', name, {}, name), new RegExp(`^${name}: node '.*' \\(${op}\\): not run \\(the operators run: `));
    }
  });

  it('external data is read beside the file only, its range checked', () => {
    const base = readOnnx(orig, name);
    const conv = [...base.graph.initializers.values()].find((t) => t.dims.length === 4)!;
    const m = onnxMessage(base);
    const t = m.graph.initializer.find((x) => x.name === conv.name)!;
    Object.assign(t, { data_location: 1, raw_data: new Uint8Array(0), external_data: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '16' }] });
    const bytes = encodeModel(m as never);
    const data = new Uint8Array(16 + conv.data.length * 4);
    data.set(new Uint8Array(Float32Array.from(conv.data).buffer), 16);
    const read = readOnnx(bytes, name, { externalData: (loc) => (loc === 'weights.bin' ? data : new Uint8Array(0)) });
    expect([...read.graph.initializers.get(conv.name)!.data]).to.deep.equal([...conv.data]);
    expectThrows(() => readOnnx(bytes, name, { externalData: () => data.subarray(0, data.length - 1) }), `${name}: tensor '${conv.name}' external data (bytes 16..${data.length}) runs past the end of weights.bin`);
  });
});
