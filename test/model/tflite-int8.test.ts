// int8 TF Lite export without TF (TF runs the files in tflite-export-tf.test.ts): the file holds
// what TF Lite's quantization specification asks, read back by our reader: weights int8 per
// output channel, symmetric; biases int32 at input scale x weight scale; activations int8 from
// the calibrated ranges, the tensors of CONCATENATION and RESIZE_BILINEAR sharing one scale;
// QUANTIZE and DEQUANTIZE at float edges, uint8 in and int8 out with int8Io (the input's
// quantization the pixels' own); our reader loads the file; an op without an int8 form, or a
// value with no calibrated range, is refused by layer.
import { expect } from 'chai';
import { int8Params } from '../../src/graph/tflite/quantize.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { loadModel } from '../../src/model/model.js';
import { tfliteFile } from '../../src/model/tflite-export.js';
import { type TfliteModel, readTflite } from '../../src/model/weights/import/tflite.js';
import { expectThrows, randomRgbImage, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { TF_MNV2_257 } from './tflite-fixtures.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
const SIZE = 65;
const images = [randomRgbImage(80, 60, 1), randomRgbImage(SIZE, SIZE, 2)];

describe('TF Lite export: int8', function () {
  this.timeout(120_000);
  let tfl: TfliteModel;
  let bytes: Uint8Array;
  before(async () => {
    bytes = tfliteFile(await loadWeights(TF_MNV2_257), { height: SIZE, width: SIZE, precision: 'int8', calibrate: images }).bytes;
    tfl = readTflite(bytes);
  });

  it('int8Params: the range with 0 in it spread over 256 levels, 0 exact', () => {
    expect(int8Params(0, 6)).to.deep.equal({ scale: 6 / 255, zeroPoint: -128 });
    expect(int8Params(-1, 1)).to.deep.include({ scale: 2 / 255, zeroPoint: 0 });
    const { scale, zeroPoint } = int8Params(2, 5); // widened to [0, 5]
    expect([scale, zeroPoint]).to.deep.equal([5 / 255, -128]);
    expect(int8Params(-3, -1)).to.deep.equal({ scale: 3 / 255, zeroPoint: 127 });
  });

  it("weights int8 per output channel (symmetric), biases int32 at input x weight scale, activations int8; float edges by QUANTIZE and DEQUANTIZE", () => {
    const convs = tfl.operators.filter((o) => o.opcode === 'CONV_2D' || o.opcode === 'DEPTHWISE_CONV_2D');
    expect(convs.length).to.equal(55);
    for (const op of convs) {
      const [x, w, b] = op.inputs.map((i) => tfl.tensors[i]);
      const axis = op.opcode === 'CONV_2D' ? 0 : 3;
      expect([x.type, w.type, b.type], w.name).to.deep.equal(['INT8', 'INT8', 'INT32']);
      expect(w.quantization!.axis, w.name).to.equal(axis);
      expect(w.quantization!.scale.length, w.name).to.equal(w.shape[axis]);
      expect(w.quantization!.zeroPoint.every((z) => z === 0), w.name).to.equal(true);
      // Symmetric: each channel's largest magnitude is 127 levels.
      const peak = new Array<number>(w.shape[axis]).fill(0);
      w.data!.forEach((v, i) => {
        const c = channelOf(i, w.shape, axis);
        peak[c] = Math.max(peak[c], Math.abs(v));
      });
      const levels = peak.map((p, c) => p / w.quantization!.scale[c]);
      expect(levels.every((l) => l === 0 || Math.abs(l - 127) < 1e-3), `${w.name} spans -127..127 in each channel`).to.equal(true);
      const inScale = x.quantization!.scale[0];
      // Stored as float32: the product to float32's precision.
      b.quantization!.scale.forEach((s, c) => expect(Math.abs(s / (inScale * w.quantization!.scale[c]) - 1), b.name).to.be.below(1e-6));
    }
    expect(tfl.operators[0].opcode).to.equal('QUANTIZE');
    expect(tfl.operators[tfl.operators.length - 1].opcode).to.equal('DEQUANTIZE');
    expect(tfl.tensors[tfl.inputs[0]]).to.deep.include({ name: 'image', type: 'FLOAT32' });
    expect(tfl.tensors[tfl.outputs[0]]).to.deep.include({ name: 'logits', type: 'FLOAT32' });
    const activations = tfl.tensors.filter((t) => !t.data && t !== tfl.tensors[tfl.inputs[0]] && t !== tfl.tensors[tfl.outputs[0]]);
    expect(activations.every((t) => t.type === 'INT8' && t.quantization?.scale.length === 1)).to.equal(true);
  });

  it('CONCATENATION and RESIZE_BILINEAR keep one scale and zero point over their tensors; the input takes the pixels\' own (1/127.5, the mean)', () => {
    for (const op of tfl.operators.filter((o) => o.opcode === 'CONCATENATION' || o.opcode === 'RESIZE_BILINEAR')) {
      const maps = op.opcode === 'CONCATENATION' ? op.inputs : [op.inputs[0]];
      const params = [...maps, ...op.outputs].map((i) => JSON.stringify([tfl.tensors[i].quantization!.scale, tfl.tensors[i].quantization!.zeroPoint]));
      expect(new Set(params).size, op.opcode).to.equal(1);
    }
    const quantized = tfl.tensors[tfl.operators[0].outputs[0]].quantization!;
    expect(quantized.scale[0]).to.be.closeTo(1 / 127.5, 1e-9);
    expect(quantized.zeroPoint).to.deep.equal([0]);
  });

  it('int8Io: uint8 input taking the pixels as they are (scale 1/127.5, zero point 128), int8 output', async () => {
    const io = readTflite(tfliteFile(await loadWeights(TF_MNV2_257), { height: SIZE, width: SIZE, precision: 'int8', calibrate: images, int8Io: true }).bytes);
    const input = io.tensors[io.inputs[0]];
    expect(input).to.deep.include({ name: 'image', type: 'UINT8' });
    expect(input.quantization!.zeroPoint).to.deep.equal([128]);
    expect(input.quantization!.scale[0]).to.be.closeTo(1 / 127.5, 1e-9);
    expect(io.tensors[io.outputs[0]]).to.deep.include({ type: 'INT8', shape: [1, SIZE, SIZE, 21] });
    expect(io.operators.some((o) => o.opcode === 'DEQUANTIZE')).to.equal(false);
  });

  it('our reader loads the int8 file: its weights the real values they stand for, segmenting as the float32 model does on most pixels', async () => {
    const float = await loadModel(TF_MNV2_257, { ctx: await testContext() });
    const int8 = await loadModel(bytes, { ctx: await testContext(), name: 'int8.tflite' });
    try {
      const [a, b] = [await float.segment(images[1]), await int8.segment(images[1])];
      const same = a.classes.reduce((n, c, i) => n + (c === b.classes[i] ? 1 : 0), 0) / a.classes.length;
      expect(same).to.be.at.least(0.9);
    } finally {
      float.dispose();
      int8.dispose();
    }
  });

  it("refused by layer: a value computed inside a layer has no calibrated range (MobileNetV3's hard-swish after a convolution)", async () => {
    const w = await loadWeights(MNV3_RANDOM);
    expectThrows(() => tfliteFile(w, { height: 33, width: 33, precision: 'int8', calibrate: images }), /int8: layer backbone\.\S+: tensor \S+pre_activation has no calibrated range/);
    expectThrows(() => tfliteFile(w, { height: 33, width: 33, precision: 'int8' }), /needs calibration images/);
    expectThrows(() => tfliteFile(w, { height: 33, width: 33, calibrate: images }), /apply to int8 TF Lite files only, not float32/);
  });
});

/** The index along `axis` of flat element `i` of a tensor of `shape`. */
function channelOf(i: number, shape: readonly number[], axis: number): number {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return Math.floor(i / inner) % shape[axis];
}
