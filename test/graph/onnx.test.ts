// ONNX lowering, op by op: small graphs of each op (odd, non-square sizes, every variant the
// networks use and more) exported, run by onnxruntime-node and compared with our CPU
// interpreter; errors for what ONNX export does not take.
import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import { compile } from '../../src/graph/compile.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { lowerToOnnx, onnxModelOf, permuteAxes } from '../../src/graph/onnx/lower.js';
import { decodeModel, encodeModel } from '../../src/graph/onnx/proto.js';
import type { HostParams } from '../../src/graph/params.js';
import type { ResizeMode } from '../../src/kernels/resize/resize.js';
import { conv2dOutputShape } from '../../src/kernels/conv2d/params.js';
import type { ConvAttrs } from '../../src/graph/ops/conv2d.js';
import { expectClose, numel, randomArray, relativeError, rng, expectThrows } from '../helpers.js';
import { runOnnx, runOursNchw } from '../onnx-runtime.js';

/** Random weights for a graph's state; names ending in 'var' get positive values. */
function randomParams(graph: Graph): HostParams {
  const r = rng();
  return new Map(graph.state.map((v) => [v.name, { shape: [...v.shape], data: randomArray(numel(v.shape), v.name.endsWith('var') ? 0.5 : -1, 1.5, r) }]));
}

/** A one-input graph: 'image' [1,H,W,C] through `body`, output 'logits'. */
function graphOf(h: number, w: number, c: number, body: (b: GraphBuilder, x: Value) => Value): Graph {
  const b = new GraphBuilder();
  b.output('logits', body(b, b.input('image', [1, h, w, c])));
  return b.build();
}

function bn(b: GraphBuilder, name: string, x: Value, eps = 1e-3): Value {
  const c = x.shape[3];
  const p = { gamma: b.param(`${name}.gamma`, [c]), beta: b.param(`${name}.beta`, [c]), mean: b.statistic(`${name}.mean`, [c]), variance: b.statistic(`${name}.var`, [c]) };
  return b.batchNorm(name, x, p, { eps });
}

/** Exports `graph`, runs it in onnxruntime and in our interpreter, and compares every output. */
async function expectOnnxMatches(graph: Graph): Promise<string[]> {
  const params = randomParams(graph);
  const bytes = encodeModel(onnxModelOf(lowerToOnnx(graph, params, 'test')));
  const [input] = graph.inputs;
  const [n, h, w, c] = input.shape;
  const image = { dims: [n, c, h, w], data: randomArray(numel(input.shape), -2, 2) };
  const theirs = await runOnnx(bytes, { image });
  const ours = runOursNchw(graph, params, image);
  for (const [name, t] of ours) {
    const got = theirs.get(name);
    expect(got, `onnxruntime output ${name}`).to.not.equal(undefined);
    expect(got!.dims, name).to.deep.equal(t.dims);
    expectClose(got!.data, t.data, name);
  }
  return decodeModel(bytes).graph.node.map((nd) => nd.op_type);
}

describe('graph: ONNX lowering against onnxruntime', function () {
  this.timeout(60_000);

  const convCases: [string, (b: GraphBuilder, x: Value) => Value][] = [
    ['3x3, bias, symmetric pad 1', (b, x) => b.conv2d('c', x, b.param('c.w', [3, 3, 5, 7]), { padding: 1, bias: b.param('c.b', [7]) })],
    ['3x3 stride 2, asymmetric pads', (b, x) => b.conv2d('c', x, b.param('c.w', [3, 3, 5, 6]), { stride: 2, padding: [0, 1, 2, 1] })],
    ["3x3 stride 2, TF 'same'", (b, x) => b.conv2d('c', x, b.param('c.w', [3, 3, 5, 4]), { stride: 2, padding: 'same' })],
    ['dilation 2x3 (atrous), stride 1', (b, x) => b.conv2d('c', x, b.param('c.w', [3, 3, 5, 3]), { dilation: [2, 3], padding: [2, 2, 3, 3] })],
    ['rate larger than the map (ASPP at a small input)', (b, x) => b.conv2d('c', x, b.param('c.w', [3, 3, 5, 4]), { dilation: 12, padding: 12 })],
    ['depthwise, channel multiplier 2, stride 2', (b, x) => b.conv2d('c', x, b.param('c.w', [3, 3, 1, 10]), { groups: 5, stride: 2, padding: 'same' })],
    ['depthwise dilated with bias', (b, x) => b.conv2d('c', x, b.param('c.w', [3, 3, 1, 5]), { groups: 5, dilation: 2, padding: 'same', bias: b.param('c.b', [5]) })],
    ['1x1, stride 2', (b, x) => b.conv2d('c', x, b.param('c.w', [1, 1, 5, 8]), { stride: 2 })],
    ['7x7 stride 2 pad 3 (ResNet stem)', (b, x) => b.conv2d('c', x, b.param('c.w', [7, 7, 5, 4]), { stride: 2, padding: 3 })],
  ];
  for (const [what, body] of convCases) {
    it(`conv2d: ${what}`, async () => {
      expect(await expectOnnxMatches(graphOf(13, 11, 5, body))).to.deep.equal(['Conv']);
    });
  }

  it('conv2d: grouped (2 groups of 3 channels)', async () => {
    expect(await expectOnnxMatches(graphOf(9, 12, 6, (b, x) => b.conv2d('c', x, b.param('c.w', [3, 3, 3, 4]), { groups: 2, padding: 1 })))).to.deep.equal(['Conv']);
  });

  // ONNX's ConvTranspose, imported as our conv's input gradient (DPT's and BEiT's upsampling).
  const transposedCases: [string, number[], Omit<ConvAttrs, 'activation'>, number[]][] = [
    ['4x4 stride 4 (DPT)', [4, 4, 3, 5], { strideH: 4, strideW: 4, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 }, [1, 28, 20, 3]],
    ['3x3 stride 2, pads and a row and a column the forward windows left unread', [3, 3, 3, 5], { strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 }, [1, 14, 9, 3]],
    ['3x2 strides 2x1, dilation 1x2, 2 groups', [3, 2, 2, 6], { strideH: 2, strideW: 1, padTop: 0, padBottom: 1, padLeft: 2, padRight: 0, dilationH: 1, dilationW: 2, groups: 2 }, [1, 13, 6, 4]],
  ];
  for (const [what, weight, attrs, inputShape] of transposedCases) {
    it(`transposed conv (conv2d_grad_input) as ConvTranspose: ${what}`, async () => {
      const full = { ...attrs, activation: 'none' as const };
      const [, oh, ow] = conv2dOutputShape(inputShape, weight, full);
      const g = graphOf(oh, ow, weight[3], (b, x) => b.node('up', { type: 'conv2d_grad_input', dy: x, weight: b.param('up.w', weight), attrs: { ...full, inputShape } })[0]);
      expect(g.outputs.get('logits')!.shape).to.deep.equal(inputShape);
      expect(await expectOnnxMatches(g)).to.deep.equal(['ConvTranspose']);
    });
  }

  it('batch norm', async () => {
    expect(await expectOnnxMatches(graphOf(7, 10, 6, (b, x) => bn(b, 'bn', x)))).to.deep.equal(['BatchNormalization']);
  });

  const activations = [
    ['relu', 'Relu'],
    ['relu6', 'Clip'],
    ['hardswish', 'HardSwish'],
    ['hardsigmoid', 'HardSigmoid'],
    ['sigmoid', 'Sigmoid'],
    ['none', 'Identity'],
  ] as const;
  for (const [act, onnxType] of activations) {
    it(`activation: ${act} as ${onnxType}`, async () => {
      // A 1x1 conv spreads inputs in [-2, 2) over about [-12, 12]: every piece of each function.
      const g = graphOf(6, 7, 4, (b, x) => b.activation(`act`, b.conv2d('scale', x, b.param('scale.w', [1, 1, 4, 4]), { bias: b.param('scale.b', [4]) }), act));
      expect(await expectOnnxMatches(g)).to.deep.equal(['Conv', onnxType]);
    });
  }

  it('scale by a constant (TF\'s hard sigmoid 0.16667 over ours) as Mul', async () => {
    expect(await expectOnnxMatches(graphOf(6, 7, 4, (b, x) => b.node('s', { type: 'scale', input: x, attrs: { factor: 6 * 0.16667 } })[0]))).to.deep.equal(['Mul']);
  });

  it('activation: silu as Sigmoid and Mul (opset 17 has no SiLU)', async () => {
    const g = graphOf(6, 7, 4, (b, x) => b.activation('act', b.conv2d('scale', x, b.param('scale.w', [1, 1, 4, 4]), { bias: b.param('scale.b', [4]) }), 'silu'));
    expect(await expectOnnxMatches(g)).to.deep.equal(['Conv', 'Sigmoid', 'Mul']);
  });

  it('activation: gelu as Erf of x / sqrt 2, plus one, times x / 2 (opset 17 has no Gelu)', async () => {
    const g = graphOf(6, 7, 4, (b, x) => b.activation('act', b.conv2d('scale', x, b.param('scale.w', [1, 1, 4, 4]), { bias: b.param('scale.b', [4]) }), 'gelu'));
    expect(await expectOnnxMatches(g)).to.deep.equal(['Conv', 'Mul', 'Erf', 'Add', 'Mul', 'Mul']);
  });

  it('permute: a map unfolded into patch sequences, the tokens transposed, reshaped back into a map', async () => {
    const g = graphOf(6, 8, 5, (b, x) => {
      const patches = b.permute('unfold', x, { view: [1, 3, 2, 4, 2, 5], perm: [0, 2, 4, 1, 3, 5], shape: [4, 12, 5] });
      return b.reshape('map', b.transpose('tokens', patches, [0, 2, 1]), [1, 4, 5, 12]);
    });
    expect(await expectOnnxMatches(g)).to.deep.equal(['Transpose', 'Reshape', 'Transpose', 'Reshape', 'Reshape', 'Transpose', 'Reshape', 'Reshape', 'Reshape', 'Transpose']);
  });

  it('softmax over the channels of a map (axis 1) and over the last axis of tokens', async () => {
    const g = graphOf(5, 6, 7, (b, x) => {
      const tokens = b.softmax('keys', b.reshape('tokens', x, [5, 6, 7]));
      return b.softmax('classes', b.reshape('map', tokens, [1, 5, 6, 7]));
    });
    expect(await expectOnnxMatches(g)).to.deep.equal(['Transpose', 'Reshape', 'Reshape', 'Softmax', 'Reshape', 'Reshape', 'Transpose', 'Softmax']);
  });

  it('layer norm over the channels of a map, and of tokens', async () => {
    const g = graphOf(5, 6, 8, (b, x) => {
      const affine = (name: string) => ({ gamma: b.param(`${name}.weight`, [8]), beta: b.param(`${name}.bias`, [8]) });
      const map = b.layerNorm('map_norm', x, affine('map_norm'), { eps: 1e-5 });
      const tokens = b.layerNorm('token_norm', b.reshape('tokens', map, [1, 30, 8]), affine('token_norm'), { eps: 1e-3 });
      return b.reshape('back', tokens, [1, 5, 6, 8]);
    });
    const types = await expectOnnxMatches(g);
    expect(types.filter((t) => t === 'LayerNormalization')).to.have.length(2);
  });

  it('group norm with one group: each of two items over all its values, an affine map per channel', async () => {
    const b = new GraphBuilder();
    const x = b.input('image', [2, 5, 6, 8]);
    b.output('logits', b.groupNorm('norm', x, { gamma: b.param('norm.weight', [8]), beta: b.param('norm.bias', [8]) }, { eps: 1e-5 }));
    expect(await expectOnnxMatches(b.build())).to.deep.equal(['Reshape', 'InstanceNormalization', 'Reshape', 'Reshape', 'Mul', 'Reshape', 'Add']);
  });

  it('pad: a crop to whole 2x2 patches, zeros padded back, and a crop and a pad at once', async () => {
    const g = graphOf(7, 9, 3, (b, x) => {
      const cropped = b.pad('crop', x, { top: 0, bottom: -1, left: 0, right: -1 });
      const back = b.pad('back', cropped, { top: 0, bottom: 1, left: 0, right: 1 });
      return b.pad('mixed', back, { top: 2, bottom: -3, left: -1, right: 1 });
    });
    expect(await expectOnnxMatches(g)).to.deep.equal(['Slice', 'Pad', 'Slice', 'Pad']);
  });

  it('matmul: one attention head over the pixels of a map, softmax(Q K^T / sqrt(d)) V', async () => {
    const g = graphOf(4, 5, 6, (b, x) => {
      const tokens = b.reshape('tokens', x, [1, 20, 6]);
      const weights = b.softmax('weights', b.matmul('scores', tokens, tokens, { transB: true, alpha: 1 / Math.sqrt(6) }));
      const context = b.matmul('context', weights, tokens);
      const transposed = b.matmul('transposed', context, tokens, { transA: true });
      return b.reshape('map', b.matmul('back', tokens, transposed), [1, 4, 5, 6]);
    });
    const types = await expectOnnxMatches(g);
    expect(types.filter((t) => t === 'MatMul')).to.have.length(4);
  });

  it('add, mul, and the squeeze-and-excite mul broadcast over H and W', async () => {
    const g = graphOf(9, 5, 4, (b, x) => {
      const y = b.conv2d('y', x, b.param('y.w', [3, 3, 4, 4]), { padding: 1 });
      const sum = b.addValues('sum', y, x);
      const product = b.mulValues('product', sum, y);
      const gate = b.activation('gate', b.conv2d('fc', b.globalAvgPool('pool', product), b.param('fc.w', [1, 1, 4, 4])), 'hardsigmoid');
      return b.mulValues('se', product, gate);
    });
    expect(await expectOnnxMatches(g)).to.deep.equal(['Conv', 'Add', 'Mul', 'GlobalAveragePool', 'Conv', 'HardSigmoid', 'Mul']);
  });

  it('a rank-4 weight as an operand (a layer scale, a position bias) is laid out as the maps are', async () => {
    const g = graphOf(5, 7, 4, (b, x) => {
      const scaled = b.mulValues('layer_scale', x, b.param('gamma', [1, 1, 1, 4]));
      const biased = b.addValues('position', scaled, b.param('position.bias', [1, 5, 7, 4]));
      return b.binary('shift', 'sub', biased, b.param('shift.rows', [1, 5, 1, 4]));
    });
    expect(await expectOnnxMatches(g)).to.deep.equal(['Mul', 'Add', 'Sub']);
  });

  const pools = [
    ['max 3x3 stride 2 pad 1 (ResNet)', { kind: 'max', kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, countIncludePad: true }, 'MaxPool'],
    ['max 2x3, asymmetric pads', { kind: 'max', kernelH: 2, kernelW: 3, strideH: 1, strideW: 2, padTop: 0, padBottom: 1, padLeft: 2, padRight: 0, countIncludePad: true }, 'MaxPool'],
    ['avg 3x3, padding counted', { kind: 'avg', kernelH: 3, kernelW: 3, strideH: 2, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, countIncludePad: true }, 'AveragePool'],
    ['avg 3x2, padding not counted', { kind: 'avg', kernelH: 3, kernelW: 2, strideH: 1, strideW: 2, padTop: 1, padBottom: 0, padLeft: 1, padRight: 1, countIncludePad: false }, 'AveragePool'],
  ] as const;
  for (const [what, attrs, onnxType] of pools) {
    it(`pool2d: ${what}`, async () => {
      expect(await expectOnnxMatches(graphOf(11, 8, 3, (b, x) => b.pool2d('pool', x, { ...attrs })))).to.deep.equal([onnxType]);
    });
  }

  const resizes: [number, number, number, number][] = [
    [7, 9, 20, 13], // up, by different factors
    [13, 11, 5, 4], // down
    [1, 1, 6, 5], // the pooled branch's broadcast
    [6, 8, 6, 8], // same size
    [5, 9, 1, 3], // to a single row
  ];
  for (const mode of ['half_pixel', 'align_corners', 'asymmetric'] as ResizeMode[]) {
    for (const [h, w, oh, ow] of resizes) {
      it(`resize ${mode}: ${h}x${w} -> ${oh}x${ow}`, async () => {
        expect(await expectOnnxMatches(graphOf(h, w, 3, (b, x) => b.resize('up', x, oh, ow, mode)))).to.deep.equal(['Resize']);
      });
    }
  }

  it('concat of three maps on the channel axis', async () => {
    const g = graphOf(5, 6, 2, (b, x) => {
      const a = b.conv2d('a', x, b.param('a.w', [1, 1, 2, 3]));
      const c = b.conv2d('c', x, b.param('c.w', [3, 3, 2, 4]), { padding: 1 });
      return b.concat('cat', [a, x, c]);
    });
    expect(await expectOnnxMatches(g)).to.deep.equal(['Conv', 'Conv', 'Concat']);
  });

  it('one value under two output names, and an output that is the input, become Identity nodes', async () => {
    const b = new GraphBuilder();
    const x = b.input('image', [1, 4, 5, 3]);
    const y = b.activation('relu', x, 'relu');
    b.output('logits', y);
    b.output('copy', y);
    b.output('same', x);
    const types = await expectOnnxMatches(b.build());
    expect(types).to.deep.equal(['Relu', 'Identity', 'Identity']);
  });

  it('an op with no ONNX mapping is an error naming the layer and the op', () => {
    const g = graphOf(4, 6, 3, (b, x) => b.flipWidth('mirror', b.activation('act', x, 'relu')));
    expectThrows(() => lowerToOnnx(g, randomParams(g), 'test'), /layer mirror: op 'flip_w' has no ONNX mapping \(the ops ONNX export writes, of those in this graph: activation\)/);
  });

  it('a compiled graph (fused epilogues, derived weights) is refused: ONNX export takes the canonical graph', () => {
    const g = graphOf(6, 6, 3, (b, x) => b.activation('relu', bn(b, 'bn', b.conv2d('conv', x, b.param('conv.w', [3, 3, 3, 4]), { padding: 1 })), 'relu'));
    const params = randomParams(g);
    const compiled = compile(g, { mode: 'inference' });
    expect(compiled.graph.nodes.length, 'the compile fused something').to.be.lessThan(g.nodes.length);
    expectThrows(() => lowerToOnnx(compiled.graph, params, 'test'), /layer conv: has a fused epilogue .*canonical graph/);
    const half = compile(g, { mode: 'inference', precision: 'f16', fuse: false });
    expectThrows(() => lowerToOnnx(half.graph, params, 'test'), /op 'cast' has no ONNX mapping/);
  });

  it('missing or mis-shaped weights are named', () => {
    const g = graphOf(4, 4, 3, (b, x) => b.conv2d('conv', x, b.param('conv.w', [1, 1, 3, 2])));
    expectThrows(() => lowerToOnnx(g, new Map(), 'test'), /layer conv: no weights for conv\.w/);
    const wrong: HostParams = new Map([['conv.w', { shape: [1, 1, 2, 3], data: new Float32Array(6) }]]);
    expectThrows(() => lowerToOnnx(g, wrong, 'test'), /weights conv\.w are \[1,1,2,3\], the graph declares \[1,1,3,2\]/);
  });

  it('permuteAxes reorders axes of ranks 1 to 4 (index by index)', () => {
    const cases: [number[], number[]][] = [
      [[3, 4, 5, 6], [3, 2, 0, 1]],
      [[2, 3, 4, 5], [0, 3, 1, 2]],
      [[2, 3, 4, 5], [0, 2, 3, 1]],
      [[4, 7, 3], [2, 0, 1]],
      [[5, 6], [1, 0]],
      [[9], [0]],
    ];
    for (const [shape, perm] of cases) {
      const data = randomArray(numel(shape));
      const { dims, data: out } = permuteAxes(data, shape, perm);
      expect(dims).to.deep.equal(perm.map((p) => shape[p]));
      const strides = shape.map((_, i) => numel(shape.slice(i + 1)));
      // Output element at multi-index idx reads input element whose axis perm[i] is idx[i].
      for (let o = 0; o < out.length; o++) {
        let rest = o;
        let src = 0;
        for (let i = dims.length - 1; i >= 0; i--) {
          src += (rest % dims[i]) * strides[perm[i]];
          rest = Math.floor(rest / dims[i]);
        }
        if (out[o] !== data[src]) expect.fail(`shape [${shape}] perm [${perm}]: element ${o} is ${out[o]}, expected ${data[src]}`);
      }
      expect(relativeError(permuteAxes(out, dims, perm.map((_, i) => perm.indexOf(i))).data, data)).to.equal(0);
    }
    expectThrows(() => permuteAxes(new Float32Array(6), [2, 3], [0, 0]), /does not fit/);
  });
});
