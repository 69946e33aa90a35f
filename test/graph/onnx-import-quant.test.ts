// The import of onnxruntime's dynamic quantisation (what its q8 files run: DynamicQuantizeLinear,
// ConvInteger, MatMulInteger, a Transpose of codes and DequantizeLinear) against onnxruntime-node
// on small graphs written here, in the chains its quantizer writes: the quantised ops are exact
// where the float values they read are the same, so the CPU interpreter's and the GPU program's
// outputs are onnxruntime's to the bit. Also what is refused: any other reader of the codes, a
// product by something other than constant weights, zero points that are not the codes' own,
// and fine-tuning or half precision of such a graph, naming its quantised layers.
import { expect } from 'chai';
import { compile } from '../../src/graph/compile.js';
import { differentiate } from '../../src/graph/autograd.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { OnnxTensor } from '../../src/graph/onnx/model.js';
import { readOnnx } from '../../src/graph/onnx/read.js';
import { writeOnnx } from '../../src/graph/onnx/write.js';
import { permuteAxes } from '../../src/graph/onnx/lower.js';
import { Program } from '../../src/graph/program.js';
import { expectThrows, numel, randomArray, rng, testContext } from '../helpers.js';
import { runOnnx } from '../onnx-runtime.js';
import { type GraphSpec, floats, imported, int64s, modelOf, node } from './onnx-graphs.js';

const X = [1, 6, 9, 11];

/** 8-bit integer constants: random codes in [lo, hi] (7-bit weights by default, as reduce_range makes them). */
function codes(name: string, dims: number[], dtype: 'uint8' | 'int8' = 'uint8', lo = 0, hi = 127): OnnxTensor {
  const r = rng();
  return { name, dtype, dims, data: Float64Array.from({ length: numel(dims) }, () => lo + Math.floor(r() * (hi - lo + 1))) };
}

/**
 * onnxruntime (optimisations off) on `theirs` and our import of `ours` (the same graph, or one
 * computing the same values), on the CPU interpreter and on the GPU, of one random input: all
 * three outputs in ONNX's layout.
 */
async function runAll(ours: GraphSpec, theirs = ours, dims = X): Promise<{ theirs: Float32Array; cpu: Float32Array; gpu: Float32Array }> {
  const bytes = writeOnnx(modelOf(ours));
  const x = randomArray(numel(dims), -2, 3, rng());
  const reference = (await runOnnx(writeOnnx(modelOf(theirs)), { x: { dims, data: x } }, { exact: true })).get('y')!.data;
  const { graph, params } = imported(readOnnx(bytes, 'test.onnx'), dims);
  const image = permuteAxes(x, dims, [0, 2, 3, 1]).data;
  const logits = graph.outputs.get('logits')!;
  const back = (v: Float32Array) => permuteAxes(v, logits.shape, [0, 3, 1, 2]).data;
  const compiled = compile(graph, { mode: 'inference' });
  const cpu = back(runGraphCpu(compiled, params, { image }).get('logits') as Float32Array);
  const program = await Program.create(await testContext(), compiled, params);
  try {
    return { theirs: reference, cpu, gpu: back((await program.run({ image })).get('logits') as Float32Array) };
  } finally {
    program.dispose();
  }
}

/** Every output bit for bit onnxruntime's (of `theirs`, where it runs another form of the same graph). */
async function expectExact(s: GraphSpec, theirs = s): Promise<void> {
  const { theirs: reference, cpu, gpu } = await runAll(s, theirs);
  expect(cpu.length, 'output size').to.equal(reference.length);
  expect(new Set(reference).size, 'distinct output values').to.be.greaterThan(reference.length / 4);
  const differing = (v: Float32Array) => v.reduce((n, x, i) => n + (x === reference[i] ? 0 : 1), 0);
  expect(differing(cpu), 'CPU interpreter values differing from onnxruntime').to.equal(0);
  expect(differing(gpu), 'GPU program values differing from onnxruntime').to.equal(0);
}

/** DynamicQuantizeLinear of `x`, as onnxruntime's quantizer names it. */
const quantize = (x: string) => node('DynamicQuantizeLinear', [x], [`${x}_q`, `${x}_scale`, `${x}_zp`], {}, `${x}_QuantizeLinear`);

/** The float ops after an integer product: Cast, the scales' product, Mul, and a bias. */
function rescale(int: string, x: string, wScale: string, bias: string, out: string) {
  return [
    node('Cast', [int], [`${int}_f`], { to: { i: 1 } }),
    node('Mul', [`${x}_scale`, wScale], [`${int}_s`]),
    node('Mul', [`${int}_f`, `${int}_s`], [`${int}_scaled`]),
    node('Add', [`${int}_scaled`, bias], [out]),
  ];
}

describe('graph: ONNX dynamic quantisation (q8 files) against onnxruntime', function () {
  this.timeout(60_000);

  it("ConvInteger (3x3, padded unevenly: onnxruntime pads with the zero point) then Cast, the scales' Mul and the bias, as its quantizer writes a Conv", async () => {
    const init = [codes('w', [4, 6, 3, 3]), codes('wz', [], 'uint8', 60, 66), floats('ws', []), floats('b', [1, 4, 1, 1])];
    const nodes = [quantize('x'), node('ConvInteger', ['x_q', 'w', 'x_zp', 'wz'], ['c'], { pads: { ints: [1, 0, 1, 2] } }), ...rescale('c', 'x', 'ws', 'b', 'y')];
    await expectExact({ input: X, nodes, initializers: init });
  });

  it('ConvInteger with a zero point per output channel (which onnxruntime does not run): as its weights shifted to one zero point', async () => {
    const w = codes('w', [4, 6, 3, 3]);
    const zp = [61, 64, 58, 66];
    // w - zp[m] == (w - zp[m] + 128) - 128: the same integers, with one zero point for onnxruntime.
    const shifted: OnnxTensor = { ...w, data: w.data.map((v, k) => v - zp[Math.floor(k / 54)] + 128) };
    const rest = [floats('ws', []), floats('b', [1, 4, 1, 1])];
    const nodes = [quantize('x'), node('ConvInteger', ['x_q', 'w', 'x_zp', 'wz'], ['c'], { pads: { ints: [1, 1, 1, 1] } }), ...rescale('c', 'x', 'ws', 'b', 'y')];
    const ours = { input: X, nodes, initializers: [w, { name: 'wz', dtype: 'uint8' as const, dims: [4], data: Float64Array.from(zp) }, ...rest] };
    const theirs = { input: X, nodes, initializers: [shifted, { name: 'wz', dtype: 'uint8' as const, dims: [], data: Float64Array.of(128) }, ...rest] };
    await expectExact(ours, theirs);
  });

  it('a depthwise ConvInteger (group = channels, dilation 2) and a chain of two, the second quantising the first output', async () => {
    const init = [codes('w1', [6, 1, 3, 3]), codes('z1', [], 'uint8', 60, 66), floats('s1', []), floats('b1', [1, 6, 1, 1]), codes('w2', [5, 6, 1, 1]), codes('z2', [], 'uint8', 60, 66), floats('s2', []), floats('b2', [1, 5, 1, 1])];
    const nodes = [
      quantize('x'),
      node('ConvInteger', ['x_q', 'w1', 'x_zp', 'z1'], ['c1'], { group: { i: 6 }, pads: { ints: [2, 2, 2, 2] }, dilations: { ints: [2, 2] } }),
      ...rescale('c1', 'x', 's1', 'b1', 'a'),
      node('Relu', ['a'], ['r']),
      quantize('r'),
      node('ConvInteger', ['r_q', 'w2', 'r_zp', 'z2'], ['c2']),
      ...rescale('c2', 'r', 's2', 'b2', 'y'),
    ];
    await expectExact({ input: X, nodes, initializers: init });
  });

  it('MatMulInteger on tokens with a zero point per column, and an int8 weight; the codes moved by Transpose and read by DequantizeLinear', async () => {
    const init = [
      codes('wa', [6, 7]),
      codes('za', [7], 'uint8', 55, 70),
      floats('sa', [7]),
      floats('ba', [7]),
      codes('wb', [7, 6], 'int8', -64, 63),
      codes('zb', [], 'int8', -3, 3),
      floats('sb', []),
      floats('bb', [6]),
      int64s('tokens', [1, 6, 99]),
      int64s('map', [1, 6, 9, 11]),
    ];
    const nodes = [
      node('Reshape', ['x', 'tokens'], ['t']),
      node('Transpose', ['t'], ['tt'], { perm: { ints: [0, 2, 1] } }),
      quantize('tt'),
      node('MatMulInteger', ['tt_q', 'wa', 'tt_zp', 'za'], ['m1']),
      ...rescale('m1', 'tt', 'sa', 'ba', 'h'),
      quantize('h'),
      node('MatMulInteger', ['h_q', 'wb', 'h_zp', 'zb'], ['m2']),
      ...rescale('m2', 'h', 'sb', 'bb', 'o'),
      // SegFormer's sequence reduction: the quantised tokens transposed as codes, then dequantised.
      node('Transpose', ['tt_q'], ['back_q'], { perm: { ints: [0, 2, 1] } }),
      node('DequantizeLinear', ['back_q', 'tt_scale', 'tt_zp'], ['back']),
      node('Transpose', ['o'], ['ot'], { perm: { ints: [0, 2, 1] } }),
      node('Add', ['ot', 'back'], ['sum']),
      node('Reshape', ['sum', 'map'], ['y']),
    ];
    await expectExact({ input: X, nodes, initializers: init });
  });

  describe('refusals name the node and its op', () => {
    const refuse = (s: GraphSpec, message: string | RegExp) => expectThrows(() => imported(modelOf(s), X), message);
    const init = () => [codes('w', [4, 6, 1, 1]), codes('wz', [], 'uint8', 60, 66), floats('ws', []), floats('b', [1, 4, 1, 1])];

    it('an op other than the quantised products, DequantizeLinear and layout ops reading the codes', () => {
      refuse({ input: X, nodes: [quantize('x'), node('Cast', ['x_q'], ['y'], { to: { i: 1 } }, 'cast')] }, "test.onnx: node 'cast' (Cast): reads the uint8 codes of DynamicQuantizeLinear 'x_QuantizeLinear', which only ConvInteger, MatMulInteger, DequantizeLinear, Transpose, Reshape, Squeeze, Unsqueeze, Flatten, Identity read here");
    });

    it('zero points that are not those of the codes, a product of a float input, weights from the image, static quantisation', () => {
      const conv = (inputs: string[]) => [quantize('x'), node('ConvInteger', inputs, ['c'], {}, 'ci'), ...rescale('c', 'x', 'ws', 'b', 'y')];
      refuse({ input: X, nodes: conv(['x_q', 'w', 'wz', 'wz']), initializers: init() }, "test.onnx: node 'ci' (ConvInteger): its zero point (input 2) is not that of its input's DynamicQuantizeLinear 'x_QuantizeLinear'");
      refuse({ input: X, nodes: conv(['x_q', 'w']), initializers: init() }, /node 'ci' \(ConvInteger\): its zero point \(input 2\) is not that/);
      refuse({ input: X, nodes: conv(['x', 'w', 'x_zp', 'wz']), initializers: init() }, "test.onnx: node 'ci' (ConvInteger): its input 'x' is not the uint8 output of a DynamicQuantizeLinear (only dynamically quantised inputs are run)");
      refuse({ input: X, nodes: [quantize('x'), node('DequantizeLinear', ['x_q', 'ws', 'x_zp'], ['y'], {}, 'dq')], initializers: init() }, "test.onnx: node 'dq' (DequantizeLinear): its scale (input 1) is not that of its input's DynamicQuantizeLinear 'x_QuantizeLinear'");
      refuse({ input: X, nodes: [quantize('x'), node('MatMulInteger', ['x_q', 'x_q', 'x_zp', 'x_zp'], ['y'], {}, 'mm')] }, "test.onnx: node 'mm' (MatMulInteger): multiplies by something other than a constant matrix [K, N]: only dynamically quantised Linear layers are run");
      refuse({ input: X, nodes: [node('QuantizeLinear', ['x', 'ws', 'wz'], ['q'], {}, 'static'), node('DequantizeLinear', ['q', 'ws', 'wz'], ['y'])], initializers: init() }, /^test\.onnx: node 'static' \(QuantizeLinear\): not run \(the operators run: .*ConvInteger, .*DynamicQuantizeLinear, .*MatMulInteger/);
    });

    it('fine-tuning and half precision, naming the quantised layers and the fp32 file', () => {
      const nodes = [quantize('x'), node('ConvInteger', ['x_q', 'w', 'x_zp', 'wz'], ['c']), ...rescale('c', 'x', 'ws', 'b', 'a'), node('Relu', ['a'], ['r']), quantize('r'), node('ConvInteger', ['r_q', 'w', 'r_zp', 'wz'], ['c2']), ...rescale('c2', 'r', 'ws', 'b', 'y')];
      const { graph } = imported(modelOf({ input: [1, 4, 5, 7], nodes, initializers: [codes('w', [4, 4, 1, 1]), ...init().slice(1)] }), [1, 4, 5, 7]);
      const bias = graph.state.find((v) => v.name === 'b')!;
      const logits = graph.outputs.get('logits')!;
      // The bias before the second quantisation moves what it quantises: its gradient would pass through it.
      expectThrows(() => differentiate(graph, new Map([[logits, logits]]), [bias]), "differentiate: 1 layer runs only in f32 inference ('r_QuantizeLinear'): quantize_dynamic: a q8 file's dynamic quantisation (DynamicQuantizeLinear, ConvInteger, MatMulInteger) has no gradient and is exact only in f32: fine-tune, or run in half precision, the fp32 file it was made from (model.onnx beside it)");
      expectThrows(() => compile(graph, { mode: 'inference', precision: 'f16' }), /^compile: half precision: 2 layers run only in f32 inference \('x_QuantizeLinear', 'r_QuantizeLinear'\): quantize_dynamic: .*the fp32 file it was made from/);
    });
  });
});
