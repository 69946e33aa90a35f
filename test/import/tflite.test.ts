import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { sha256File } from '../../src/util/sha256.js';
import { type TfliteModel, type TfliteOperator, readTflite, tfliteTensorMap } from '../../src/model/weights/import/tflite.js';
import { rng, expectThrows } from '../helpers.js';
import { FlatBuilder } from './builders.js';
import { sharedPath } from '../shared.js';

const MODEL = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');

function describeOp(m: TfliteModel, op: TfliteOperator): string {
  const t = (i: number): string => (i < 0 ? '-' : `${m.tensors[i].name}[${m.tensors[i].shape.join(',')}]`);
  const opts = Object.entries(op.options).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${op.opcode}(${op.inputs.map(t).join(', ')}) -> ${op.outputs.map(t).join(', ')} {${opts}}`;
}

interface ModelVariant {
  badInput?: boolean;
  shortBias?: boolean;
}

/**
 * A tiny TFLite model written byte by byte: CONV_2D (deprecated code), GELU (extended code
 * 150, deprecated field saturated at 127) and a custom op; one weight inline, one bias stored
 * outside the flatbuffer through Buffer.offset/size as >2 GB models do.
 */
function buildModel(w: Float32Array, bias: Float32Array, v: ModelVariant = {}): Uint8Array {
  const b = new FlatBuilder();
  let model = 0, opcodes = 0, oc0 = 0, oc1 = 0, oc2 = 0, custom = 0, subgraphs = 0, sg = 0, desc = 0, buffers = 0;
  const bufs: number[] = [];
  const tensors: number[] = [];
  const ops: number[] = [];
  const later: Record<string, number> = {};
  b.header('TFL3', () => model);
  const biasBytes = new Uint8Array(bias.buffer, bias.byteOffset, bias.byteLength);
  const external = b.raw(biasBytes);

  model = b.table([[4, 3], () => opcodes, () => subgraphs, () => desc, () => buffers]);
  opcodes = b.vector([() => oc0, () => oc1, () => oc2]);
  oc0 = b.table([[1, 3]]);
  oc1 = b.table([[1, 127], null, [4, 1], [4, 150]]);
  oc2 = b.table([[1, 32], () => custom]);
  custom = b.string('MyOp');
  desc = b.string('hand built');
  subgraphs = b.vector([() => sg]);
  sg = b.table([() => later.tensors, () => later.inputs, () => later.outputs, () => later.ops, () => later.name]);
  later.tensors = b.vector([0, 1, 2, 3, 4, 5].map((i) => () => tensors[i]));
  later.inputs = b.vector([0]);
  later.outputs = b.vector([5]);
  later.ops = b.vector([0, 1, 2].map((i) => () => ops[i]));
  later.name = b.string('main');
  const tensor = (shape: number[], type: number, buffer: number, name: string): number => {
    let s = 0, n = 0;
    const t = b.table([() => s, [1, type], [4, buffer], () => n]);
    s = b.vector(shape);
    n = b.string(name);
    return t;
  };
  tensors.push(
    tensor([1, 4, 5, 2], 0, 0, 'in'),
    tensor([3, 1, 1, 2], 0, 1, 'w'),
    tensor([3], 0, 2, 'b'),
    tensor([1, 2, 2, 3], 0, 0, 'conv_out'),
    tensor([2], 2, 3, 'size'),
    tensor([1, 2, 2, 3], 0, 0, 'out'),
  );
  const op = (index: number, inputs: number[], outputs: number[], optionsType = 0, options?: () => number): number => {
    let i = 0, o = 0;
    const fields: Array<null | [1 | 4, number] | (() => number)> = [[4, index], () => i, () => o];
    if (options) fields.push([1, optionsType], options);
    const t = b.table(fields);
    i = b.vector(inputs);
    o = b.vector(outputs);
    return t;
  };
  let convOptions = 0;
  ops.push(
    op(0, v.badInput ? [0, 1, 9] : [0, 1, 2], [3], 1, () => convOptions),
    op(1, [3], [5]),
    op(2, [5, -1, 4], [5]),
  );
  // Conv2DOptions: padding VALID, stride_w 2, stride_h 3, RELU6, dilation_w absent (default 1), dilation_h 2.
  convOptions = b.table([[1, 1], [4, 2], [4, 3], [1, 3], null, [4, 2]]);

  buffers = b.vector([0, 1, 2, 3].map((i) => () => bufs[i]));
  let wData = 0, sizeData = 0;
  bufs.push(
    b.table([]),
    b.table([() => wData]),
    b.table([null, [8, external], [8, v.shortBias ? biasBytes.length - 4 : biasBytes.length]]),
    b.table([() => sizeData]),
  );
  wData = b.byteVector(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  sizeData = b.byteVector(new Uint8Array(new Int32Array([2, 2]).buffer));
  return b.finish();
}

describe('import: tflite', () => {
  it('reads the DeepLabv3 257 MobileNetV2 GPU model: ops, input, output, weights', () => {
    const m = readTflite(MODEL);
    const counts: Record<string, number> = {};
    for (const op of m.operators) counts[op.opcode] = (counts[op.opcode] ?? 0) + 1;
    expect(counts).to.deep.equal({
      CONV_2D: 38,
      DEPTHWISE_CONV_2D: 17,
      ADD: 10,
      RESIZE_BILINEAR: 3,
      AVERAGE_POOL_2D: 1,
      CONCATENATION: 1,
    });
    expect(m.inputs.map((i) => [m.tensors[i].name, m.tensors[i].shape])).to.deep.equal([['sub_7', [1, 257, 257, 3]]]);
    expect(m.outputs.map((i) => [m.tensors[i].name, m.tensors[i].shape])).to.deep.equal([['ResizeBilinear_3', [1, 257, 257, 21]]]);

    const weights = tfliteTensorMap(m);
    const first = weights.get('MobilenetV2/Conv/weights')!;
    // OHWI: 3x3 kernel over the 3 RGB input channels; the first conv reads the image.
    expect(first.shape.slice(1)).to.deep.equal([3, 3, 3]);
    expect(m.operators[0].inputs[1]).to.equal(m.tensors.findIndex((t) => t.name === 'MobilenetV2/Conv/weights'));
    // Every conv's weight and bias is a constant float tensor with data of the right size.
    for (const op of m.operators.filter((o) => o.opcode.includes('CONV_2D'))) {
      const [, wi, bi] = op.inputs;
      const wt = weights.get(m.tensors[wi].name)!;
      const bt = weights.get(m.tensors[bi].name)!;
      const out = m.tensors[op.outputs[0]].shape;
      if (op.opcode === 'CONV_2D') expect(wt.shape[0], m.tensors[wi].name).to.equal(out[3]); // O of OHWI
      else expect(wt.shape, m.tensors[wi].name).to.deep.equal([1, 3, 3, out[3]]); // [1,H,W,C]
      expect(bt.shape).to.deep.equal([out[3]]);
      expect(wt.data.every(Number.isFinite) && wt.data.some((x) => x !== 0)).to.equal(true);
    }
    // Integer constants (the resize size tensors) keep their type, and their values travel with it.
    const size = m.tensors.find((t) => t.name === 'ResizeBilinear_1/size')!;
    expect(size.type).to.equal('INT32');
    expect(weights.get('ResizeBilinear_1/size')!.sourceDType).to.equal('i32');
    expect(first.sourceDType).to.equal('f32');
  });

  it('decodes operator options (strided conv, dilated depthwise, pooling, concat, resize)', () => {
    const m = readTflite(MODEL);
    const strided = m.operators.find((o) => o.opcode === 'CONV_2D' && o.options.strideW === 2)!;
    const dilated = m.operators.filter((o) => o.opcode === 'DEPTHWISE_CONV_2D' && o.options.dilationWFactor !== 1);
    const resizes = m.operators.filter((o) => o.opcode === 'RESIZE_BILINEAR');
    const pool = m.operators.find((o) => o.opcode === 'AVERAGE_POOL_2D')!;
    const concat = m.operators.find((o) => o.opcode === 'CONCATENATION')!;
    for (const op of [strided, ...dilated, pool, concat, ...resizes]) console.log(`      ${describeOp(m, op)}`);

    expect(strided.options).to.deep.equal({
      padding: 'SAME', strideW: 2, strideH: 2, fusedActivationFunction: 'RELU6', dilationWFactor: 1, dilationHFactor: 1,
    });
    expect(m.tensors[strided.inputs[1]].name).to.equal('MobilenetV2/Conv/weights');
    // Output stride 8: blocks 7-13 use rate 2 and blocks 14-16 rate 4.
    expect(dilated.map((o) => o.options.dilationWFactor)).to.deep.equal([2, 2, 2, 2, 2, 2, 2, 4, 4, 4]);
    expect(dilated.every((o) => o.options.dilationHFactor === o.options.dilationWFactor && o.options.strideW === 1)).to.equal(true);
    expect(pool.options).to.deep.equal({
      padding: 'VALID', strideW: 33, strideH: 33, filterWidth: 33, filterHeight: 33, fusedActivationFunction: 'NONE',
    });
    expect(concat.options).to.deep.equal({ axis: 3, fusedActivationFunction: 'NONE' });
    for (const r of resizes) expect(r.options).to.deep.equal({ alignCorners: true, halfPixelCenters: false });
  });

  it('matches the published sha256', async () => {
    expect(await sha256File(MODEL)).to.equal('68a539782c2c6a72f8aac3724600124a85ed977162b44e84cbae5db717c933c6');
  });

  it('reads a hand-built model: extended op codes, custom ops, inline and external buffers', () => {
    const r = rng();
    const w = Float32Array.from({ length: 6 }, () => r() * 2 - 1);
    const bias = Float32Array.from({ length: 3 }, () => r() * 2 - 1);
    const m = readTflite(buildModel(w, bias));
    expect(m.description).to.equal('hand built');
    expect(m.operators.map((o) => o.opcode)).to.deep.equal(['CONV_2D', 'GELU', 'CUSTOM']);
    expect(m.operators[0].options).to.deep.equal({
      padding: 'VALID', strideW: 2, strideH: 3, fusedActivationFunction: 'RELU6', dilationWFactor: 1, dilationHFactor: 2,
    });
    expect(m.operators[1].options).to.deep.equal({});
    expect(m.operators[2].options).to.deep.equal({ customCode: 'MyOp' });
    expect(m.operators[2].inputs).to.deep.equal([5, -1, 4]);
    expect(m.inputs).to.deep.equal([0]);
    expect(m.outputs).to.deep.equal([5]);
    expect(m.tensors.map((t) => t.name)).to.deep.equal(['in', 'w', 'b', 'conv_out', 'size', 'out']);
    expect(m.tensors[4].type).to.equal('INT32');
    const map = tfliteTensorMap(m);
    expect([...map.keys()]).to.deep.equal(['w', 'b', 'size']);
    expect([map.get('w')!.sourceDType, map.get('size')!.sourceDType]).to.deep.equal(['f32', 'i32']);
    expect([...map.get('size')!.data]).to.deep.equal([2, 2]);
    expect(map.get('w')!.shape).to.deep.equal([3, 1, 1, 2]);
    expect([...map.get('w')!.data]).to.deep.equal([...w]);
    expect([...map.get('b')!.data]).to.deep.equal([...bias]);
  });

  it('rejects corrupt and non-TFLite input with clear errors', () => {
    const r = rng();
    const w = Float32Array.from({ length: 6 }, () => r() * 2 - 1);
    const bias = Float32Array.from({ length: 3 }, () => r() * 2 - 1);
    const good = buildModel(w, bias);
    const random = Uint8Array.from({ length: 4096 }, () => Math.floor(r() * 256));
    random.set([0x54, 0x46, 0x4c, 0x00], 4); // "TFL\0"
    expectThrows(() => readTflite(random), /^tflite: not a TFLite flatbuffer \(file identifier 'TFL\\x00'\)/);
    expectThrows(() => readTflite(good.subarray(0, 5)), /truncated TFLite file/);
    expectThrows(() => readTflite(good.subarray(0, good.length - 64)), /truncated or corrupt TFLite flatbuffer/);
    expectThrows(() => readTflite(buildModel(w, bias, { badInput: true })), /operator 0 \(CONV_2D\) input refers to tensor 9 of 6/);
    expectThrows(() => readTflite(buildModel(w, bias, { shortBias: true })), /tensor b shape \[3\] needs 12 bytes, its buffer has 8/);
    const real = readFileSync(MODEL);
    expectThrows(() => readTflite(real.subarray(0, real.length >> 1)), /truncated or corrupt TFLite flatbuffer/);
    expectThrows(() => readTflite(sharedPath('weights', 'README.md')), /README\.md: not a TFLite flatbuffer/);
  });
});
