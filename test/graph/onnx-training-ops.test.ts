// The ONNX rules of a training step's ops (gradients, losses, batch norm in training mode,
// dropout, the optimizer), each checked against its CPU reference through onnxruntime-node on
// small random shapes off every tile: what the CPU device's trainer runs.
import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph, NodeOp, Value } from '../../src/graph/ir.js';
import { HWIO_TO_OIHW } from '../../src/graph/onnx/emitter.js';
import type { ConvAttrs } from '../../src/graph/ops/conv2d.js';
import type { HostParams } from '../../src/graph/params.js';
import { withNodes } from '../../src/graph/passes.js';
import type { Activation } from '../../src/kernels/activation/activation.js';
import { conv2dOutputShape } from '../../src/kernels/conv2d/params.js';
import type { Pool2dParams } from '../../src/kernels/pool/pool.js';
import { pool2dOutputShape } from '../../src/kernels/pool/pool.js';
import type { ResizeMode } from '../../src/kernels/resize/resize.js';
import { numel, randomArray, rng } from '../helpers.js';
import { separatedValues } from '../gradcheck.js';
import { type Feeds, expectTrainingMatches } from './onnx-training.js';

/** A graph of one node on inputs named after `inputs`, its first output (or those named) as outputs. */
function oneNode(inputs: Record<string, { shape: number[]; dtype?: 'u32' }>, op: (v: Record<string, Value>) => NodeOp, outputs: Record<string, number> = { out: 0 }): Graph {
  const b = new GraphBuilder();
  const vs = Object.fromEntries(Object.entries(inputs).map(([name, i]) => [name, b.input(name, i.shape, i.dtype ?? 'f32')]));
  const outs = b.node('layer', op(vs));
  for (const [name, k] of Object.entries(outputs)) b.output(name, outs[k]);
  return b.build();
}

const floats = (shape: readonly number[], lo = -1, hi = 1): Float32Array => randomArray(numel(shape), lo, hi);

function convAttrs(a: Partial<ConvAttrs>): ConvAttrs {
  return { strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1, activation: 'none', ...a };
}

describe('graph: ONNX rules of the training ops against their CPU references', function () {
  this.timeout(120_000);

  const convCases: [string, number[], number[], Partial<ConvAttrs>][] = [
    ['3x3, pad 1', [1, 7, 9, 5], [3, 3, 5, 6], { padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }],
    ['3x3 stride 2, asymmetric pads, a row the windows leave unread, batch 2', [2, 10, 9, 3], [3, 3, 3, 7], { strideH: 2, strideW: 2, padTop: 0, padBottom: 1, padLeft: 1, padRight: 0 }],
    ['3x3 dilation 2x3 (atrous), batch 2', [2, 11, 13, 4], [3, 3, 4, 5], { dilationH: 2, dilationW: 3, padTop: 2, padBottom: 2, padLeft: 3, padRight: 3 }],
    ['rate larger than the map', [1, 5, 6, 3], [3, 3, 3, 4], { dilationH: 6, dilationW: 6, padTop: 6, padBottom: 6, padLeft: 6, padRight: 6 }],
    ['a rate past the map above only', [1, 7, 5, 3], [3, 3, 3, 4], { dilationH: 5, padTop: 5, padBottom: 0, padLeft: 1, padRight: 1 }],
    ['stride 2, a rate past the map', [1, 9, 9, 3], [3, 3, 3, 4], { strideH: 2, strideW: 2, dilationH: 10, dilationW: 10, padTop: 10, padBottom: 10, padLeft: 10, padRight: 10 }],
    ['1x1', [2, 6, 7, 9], [1, 1, 9, 5], {}],
    ['1x1 stride 2', [1, 9, 7, 6], [1, 1, 6, 10], { strideH: 2, strideW: 2 }],
    ['7x7 stride 2 pad 3 (ResNet stem)', [1, 13, 11, 3], [7, 7, 3, 4], { strideH: 2, strideW: 2, padTop: 3, padBottom: 3, padLeft: 3, padRight: 3 }],
    ['depthwise 3x3 stride 2', [2, 9, 10, 6], [3, 3, 1, 6], { groups: 6, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }],
    ['depthwise dilated, multiplier 2', [1, 8, 7, 5], [3, 3, 1, 10], { groups: 5, dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }],
    ['2 groups of 3 channels, batch 2', [2, 7, 6, 6], [3, 2, 3, 4], { groups: 2, padTop: 1, padBottom: 1, padLeft: 0, padRight: 1 }],
  ];
  for (const [what, xShape, weightShape, a] of convCases) {
    it(`conv2d_grad_weight: ${what}`, async () => {
      const attrs = convAttrs(a);
      const dyShape = conv2dOutputShape(xShape, weightShape, attrs);
      const g = oneNode({ x: { shape: xShape }, dy: { shape: dyShape } }, (v) => ({ type: 'conv2d_grad_weight', x: v.x, dy: v.dy, attrs: { ...attrs, weightShape } }));
      const ops = (await expectTrainingMatches(g, { x: floats(xShape), dy: floats(dyShape) })).map((n) => n.op_type);
      expect(ops).to.not.include('Conv');
    });
  }

  for (const [what, weightShape, a, onnxOp] of [
    ['1x1 as a MatMul', [1, 1, 6, 9], {}, 'MatMul'],
    ['1x1 stride 2 as ConvTranspose', [1, 1, 6, 9], { strideH: 2, strideW: 2 }, 'ConvTranspose'],
  ] as const) {
    it(`conv2d_grad_input: ${what}, batch 2, its weight held OIHW`, async () => {
      const attrs = convAttrs(a);
      const inputShape = [2, 7, 5, 6];
      const dyShape = conv2dOutputShape(inputShape, weightShape, attrs);
      const b = new GraphBuilder();
      const dy = b.input('dy', dyShape);
      b.output('dx', b.node('dx', { type: 'conv2d_grad_input', dy, weight: b.param('w', weightShape), attrs: { ...attrs, inputShape } })[0]);
      const g = b.build();
      const nodes = await expectTrainingMatches(g, { dy: floats(dyShape) }, stateOf(g), { stateLayout: (v) => (v.name === 'w' ? HWIO_TO_OIHW : undefined) });
      expect(nodes.map((n) => n.op_type)).to.include(onnxOp);
    });
  }

  // Taps whose windows read only padding add nothing: the step's convolutions leave them out.
  for (const [what, inputShape, weightShape, a, kernel] of [
    ['a rate past the map, a 1x1 conv', [2, 5, 6, 3], [3, 3, 3, 4], { dilationH: 6, dilationW: 6, padTop: 6, padBottom: 6, padLeft: 6, padRight: 6 }, [1, 1]],
    ['a rate past the map above only', [1, 7, 5, 3], [3, 3, 3, 4], { dilationH: 5, padTop: 5, padBottom: 0, padLeft: 1, padRight: 1 }, [2, 3]],
    ['stride 2, a rate past the map', [1, 9, 9, 3], [3, 3, 3, 4], { strideH: 2, strideW: 2, dilationH: 10, dilationW: 10, padTop: 10, padBottom: 10, padLeft: 10, padRight: 10 }, [1, 1]],
  ] as const) {
    it(`conv2d and conv2d_grad_input over the taps that read the input: ${what}`, async () => {
      const attrs = convAttrs(a);
      const dyShape = conv2dOutputShape(inputShape, weightShape, attrs);
      const b = new GraphBuilder();
      const [x, dy, w] = [b.input('x', [...inputShape]), b.input('dy', dyShape), b.param('w', [...weightShape])];
      b.output('y', b.node('conv', { type: 'conv2d', input: x, weight: w, attrs })[0]);
      b.output('dx', b.node('dx', { type: 'conv2d_grad_input', dy, weight: w, attrs: { ...attrs, inputShape: [...inputShape] } })[0]);
      const g = b.build();
      const nodes = await expectTrainingMatches(g, { x: floats(inputShape), dy: floats(dyShape) }, stateOf(g), { stateLayout: (v) => (v.name === 'w' ? HWIO_TO_OIHW : undefined) });
      const kernels = nodes.filter((n) => n.op_type.startsWith('Conv')).map((n) => n.attribute.find((t) => t.name === 'kernel_shape')?.ints);
      expect(kernels.length).to.be.greaterThan(0);
      for (const k of kernels) expect(k).to.deep.equal(kernel);
    });
  }

  it('conv2d_grad_weight straight into an OIHW accumulator, and conv2d_grad_bias', async () => {
    const xShape = [2, 6, 5, 4];
    const weightShape = [3, 3, 4, 3];
    const attrs = convAttrs({ padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
    const b = new GraphBuilder();
    const x = b.input('x', xShape);
    const dy = b.input('dy', conv2dOutputShape(xShape, weightShape, attrs));
    const acc = b.stateValue('w#grad', weightShape, 'gradient');
    const [dw] = b.node('dw', { type: 'conv2d_grad_weight', x, dy, attrs: { ...attrs, weightShape } });
    b.output('db', b.node('db', { type: 'conv2d_grad_bias', dy })[0]);
    // As the training step has it: the gradient's producer writes the accumulator.
    const built = b.build();
    const graph = withNodes(built, built.nodes.map((n) => ({ ...n, outputs: n.outputs.map((v) => (v === dw ? acc : v)) })));
    const inputs = { x: floats(xShape), dy: floats(dy.shape) };
    const nodes = await expectTrainingMatches(graph, inputs, new Map(), { stateLayout: (v) => (v.name === 'w#grad' ? HWIO_TO_OIHW : undefined) });
    // Written by the rule in the accumulator's layout: no transpose of the lowering's on its way out.
    expect(nodes.find((n) => n.output.includes('w#grad@next'))?.name).to.match(/^dw/);
  });

  const activations: Activation[] = ['none', 'relu', 'relu6', 'hardswish', 'hardsigmoid', 'silu', 'sigmoid', 'gelu', 'tanh', 'erf'];
  for (const activation of activations) {
    it(`activation_grad: ${activation}`, async () => {
      const shape = [2, 5, 7, 3];
      const g = oneNode({ x: { shape }, dy: { shape } }, (v) => ({ type: 'activation_grad', x: v.x, dy: v.dy, attrs: { activation } }));
      // Over every piece of each function, no input within a kink's rounding.
      await expectTrainingMatches(g, { x: Float32Array.from(separatedValues(numel(shape), -8, 8)), dy: floats(shape) });
    });
  }

  it('global_avg_pool_grad', async () => {
    const inputShape = [2, 5, 7, 6];
    const g = oneNode({ dy: { shape: [2, 1, 1, 6] } }, (v) => ({ type: 'global_avg_pool_grad', dy: v.dy, attrs: { inputShape } }));
    await expectTrainingMatches(g, { dy: floats([2, 1, 1, 6]) });
  });

  const poolCases: [string, number[], Pool2dParams][] = [
    ['max 3x3 stride 2 pad 1 (ResNet)', [2, 9, 11, 5], { kind: 'max', kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }],
    ['max 2x2 stride 2, a row left unread', [1, 7, 8, 3], { kind: 'max', kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }],
    ['avg 3x3 stride 1, padding counted', [1, 6, 7, 4], { kind: 'avg', kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, countIncludePad: true }],
    ['avg 3x2 stride 2, padding not counted', [2, 7, 9, 3], { kind: 'avg', kernelH: 3, kernelW: 2, strideH: 2, strideW: 2, padTop: 1, padBottom: 0, padLeft: 1, padRight: 1, countIncludePad: false }],
  ];
  for (const [what, shape, p] of poolCases) {
    it(`pool2d_grad: ${what}`, async () => {
      const attrs = { countIncludePad: true, ...p };
      const dyShape = pool2dOutputShape(shape, attrs);
      const g = oneNode({ x: { shape }, dy: { shape: dyShape } }, (v) => ({ type: 'pool2d_grad', input: v.x, dy: v.dy, attrs }));
      // Distinct inputs: each window has one maximum.
      await expectTrainingMatches(g, { x: Float32Array.from(separatedValues(numel(shape), -2, 2)), dy: floats(dyShape) });
    });
  }

  const resizeCases: [ResizeMode, number[], number, number][] = [
    ['half_pixel', [2, 5, 7, 3], 17, 13],
    ['align_corners', [1, 9, 6, 4], 33, 11],
    ['asymmetric', [1, 8, 9, 2], 4, 5],
  ];
  for (const [mode, inputShape, outH, outW] of resizeCases) {
    it(`resize_grad: ${mode}, ${inputShape[1]}x${inputShape[2]} to ${outH}x${outW}`, async () => {
      const dyShape = [inputShape[0], outH, outW, inputShape[3]];
      const g = oneNode({ dy: { shape: dyShape } }, (v) => ({ type: 'resize_grad', dy: v.dy, attrs: { outH, outW, mode, inputShape } }));
      expect((await expectTrainingMatches(g, { dy: floats(dyShape) })).map((n) => n.op_type)).to.include('MatMul');
    });
  }

  it('softmax_grad over a map\'s channels and over tokens', async () => {
    for (const shape of [[2, 5, 3, 7], [3, 5, 6]]) {
      const g = oneNode({ y: { shape }, dy: { shape } }, (v) => ({ type: 'softmax_grad', y: v.y, dy: v.dy }));
      await expectTrainingMatches(g, { y: floats(shape, 0, 1), dy: floats(shape) });
    }
  });

  for (const [what, type, shape] of [
    ['layer_norm_grad over a map\'s channels', 'layer_norm_grad', [2, 5, 3, 7]],
    ['layer_norm_grad over tokens', 'layer_norm_grad', [2, 6, 9]],
    ['group_norm_grad (one group an item)', 'group_norm_grad', [2, 4, 5, 6]],
  ] as const) {
    it(what, async () => {
      const b = new GraphBuilder();
      const [x, dy] = [b.input('x', shape), b.input('dy', shape)];
      const C = shape[shape.length - 1];
      const outs = b.node('norm', { type, x, dy, gamma: b.param('g', [C]), attrs: { eps: 1e-5 } } as NodeOp);
      ['dx', 'dgamma', 'dbeta'].forEach((name, k) => b.output(name, outs[k]));
      const g = b.build();
      await expectTrainingMatches(g, { x: floats(shape, -2, 3), dy: floats(shape) }, stateOf(g));
    });
  }

  /** A graph with state: the op reads graph inputs and state, updates state. */
  function withState(build: (b: GraphBuilder) => void): Graph {
    const b = new GraphBuilder();
    build(b);
    return b.build();
  }
  const stateOf = (g: Graph, positive: (name: string) => boolean = () => false): HostParams =>
    new Map(g.state.map((v) => [v.name, { shape: [...v.shape], data: floats(v.shape, positive(v.name) ? 0.2 : -1, positive(v.name) ? 2 : 1) }]));

  it('batchnorm_train: the batch statistics and the running ones updated as PyTorch updates them', async () => {
    const shape = [2, 5, 7, 6];
    const g = withState((b) => {
      const x = b.input('x', shape);
      const [gamma, beta, mean, variance] = [b.param('g', [6]), b.param('b', [6]), b.statistic('m', [6]), b.statistic('v', [6])];
      const outs = b.node('bn', { type: 'batchnorm_train', input: x, gamma, beta, mean, variance, attrs: { eps: 1e-5, momentum: 0.1 } }, [mean, variance]);
      b.output('y', outs[0]);
      b.output('batch_mean', outs[1]);
      b.output('batch_var', outs[2]);
    });
    await expectTrainingMatches(g, { x: floats(shape, -2, 3) }, stateOf(g, (n) => n === 'v'));
  });

  for (const mode of ['train', 'frozen'] as const) {
    it(`batchnorm_grad: ${mode}`, async () => {
      const shape = [2, 4, 5, 3];
      const g = withState((b) => {
        const [x, dy] = [b.input('x', shape), b.input('dy', shape)];
        const [mean, variance] = [b.input('mean', [3]), b.input('variance', [3])];
        const outs = b.node('bng', { type: 'batchnorm_grad', x, dy, gamma: b.param('g', [3]), mean, variance, attrs: { eps: 1e-3, mode } });
        ['dx', 'dgamma', 'dbeta'].forEach((name, k) => b.output(name, outs[k]));
      });
      await expectTrainingMatches(g, { x: floats(shape), dy: floats(shape), mean: floats([3], -0.2, 0.2), variance: floats([3], 0.3, 1) }, stateOf(g));
    });
  }

  /** Labels of `classes` classes, with some pixels ignored (255) and some invalid (a class past the last). */
  function labels(n: number, classes: number, o: { ignored?: number; invalid?: number } = {}): Uint32Array {
    const r = rng();
    return Uint32Array.from({ length: n }, () => {
      const u = r();
      if (u < (o.ignored ?? 0)) return 255;
      if (u < (o.ignored ?? 0) + (o.invalid ?? 0)) return classes + 3;
      return Math.floor(r() * classes);
    });
  }
  const lossOutputs = { loss: 0, dlogits: 1, invalid: 2 };

  const ceCases: [string, { weights?: boolean; hardFraction?: number; scale?: number; invalid?: number }][] = [
    ['plain, pixels ignored', {}],
    ['class weights, scale 0.5, invalid labels counted', { weights: true, scale: 0.5, invalid: 0.05 }],
    ['hard-pixel mining of a third, with class weights', { weights: true, hardFraction: 1 / 3 }],
  ];
  for (const [what, o] of ceCases) {
    it(`softmax_cross_entropy: ${what}`, async () => {
      const shape = [2, 5, 7, 4];
      const inputs: Record<string, { shape: number[]; dtype?: 'u32' }> = { logits: { shape }, labels: { shape: [2, 5, 7], dtype: 'u32' } };
      if (o.weights) inputs.weights = { shape: [4] };
      const hard = o.hardFraction ? { hardFraction: o.hardFraction } : {};
      const g = oneNode(inputs, (v) => ({ type: 'softmax_cross_entropy', logits: v.logits, labels: v.labels, weights: v.weights, attrs: { ignoreIndex: 255, scale: o.scale ?? 1, ...hard } }), lossOutputs);
      const feeds: Feeds = { logits: floats(shape, -3, 3), labels: labels(70, 4, { ignored: 0.2, invalid: o.invalid }) };
      if (o.weights) feeds.weights = floats([4], 0.2, 2);
      await expectTrainingMatches(g, feeds);
    });
  }

  it('softmax_cross_entropy: every pixel ignored gives a loss and gradient of 0', async () => {
    const shape = [1, 3, 4, 3];
    const g = oneNode({ logits: { shape }, labels: { shape: [1, 3, 4], dtype: 'u32' } }, (v) => ({ type: 'softmax_cross_entropy', logits: v.logits, labels: v.labels, attrs: { ignoreIndex: 255, scale: 1 } }), lossOutputs);
    await expectTrainingMatches(g, { logits: floats(shape), labels: new Uint32Array(12).fill(255) });
  });

  for (const binary of [false, true]) {
    it(`softmax_dice: ${binary ? 'binary' : 'multi-class, a class without target pixels'}`, async () => {
      const C = binary ? 2 : 5;
      const shape = [2, 4, 6, C];
      const g = oneNode({ logits: { shape }, labels: { shape: [2, 4, 6], dtype: 'u32' } }, (v) => ({ type: 'softmax_dice', logits: v.logits, labels: v.labels, attrs: { ignoreIndex: 255, scale: 0.7, ...(binary ? { binary } : {}) } }), lossOutputs);
      // Class C - 1 never labelled.
      await expectTrainingMatches(g, { logits: floats(shape, -2, 2), labels: labels(48, C - (binary ? 0 : 1), { ignored: 0.15, invalid: 0.05 }) });
    });
  }

  for (const [what, shape, attrs] of [
    ['elementwise p 0.3', [2, 3, 5, 7], { p: 0.3, salt: 2 }],
    ['channelwise (Dropout2d) p 0.5', [3, 4, 3, 6], { p: 0.5, salt: 1, channelwise: true }],
    ['tokens, p 0.1', [2, 6, 5], { p: 0.1, salt: 0 }],
  ] as const) {
    it(`dropout: ${what}, the kernel's mask from the same seed; its gradient the same mask`, async () => {
      const g = withState((b) => {
        const x = b.input('x', shape);
        const seed = b.input('dropout_seed', [1], 'u32');
        const y = b.node('drop', { type: 'dropout', input: x, seed, attrs: { ...attrs } })[0];
        b.output('y', y);
        b.output('dx', b.node('drop_grad', { type: 'dropout', input: y, seed, attrs: { ...attrs } })[0]);
      });
      const seed = Math.floor(rng()() * 2 ** 32);
      const nodes = await expectTrainingMatches(g, { x: floats(shape, 0.5, 1.5), dropout_seed: Uint32Array.of(seed) });
      // One mask for both.
      expect(nodes.filter((n) => n.op_type === 'GreaterOrEqual')).to.have.length(1);
    });
  }

  for (const first of [1, 0]) {
    it(`accumulate: first micro-batch ${first === 1 ? 'overwrites' : 'adds'}, in the accumulator's OIHW layout`, async () => {
      const g = withState((b) => {
        const grad = b.input('g', [3, 3, 2, 4]);
        const acc = b.stateValue('w#grad', [3, 3, 2, 4], 'gradient');
        b.node('acc', { type: 'accumulate', g: grad, first: b.input('first', [1], 'u32'), acc }, [acc]);
        b.output('g', grad);
      });
      await expectTrainingMatches(g, { g: floats([3, 3, 2, 4]), first: Uint32Array.of(first) }, stateOf(g), { stateLayout: (v) => (v.shape.length === 4 ? HWIO_TO_OIHW : undefined) });
    });
  }

  for (const first of [1, 0]) {
    it(`sgd: momentum, weight decay, lr and decay scales, first step ${first === 1}`, async () => {
      const g = withState((b) => {
        const hyper = b.input('sgd', [4]);
        for (const [name, shape, group] of [['w', [3, 3, 2, 5], { lrScale: 10 }], ['b', [5], { decayScale: 0 }]] as const) {
          const [param, grad, momentum] = [b.stateValue(name, shape, 'param'), b.stateValue(`${name}#grad`, shape, 'gradient'), b.stateValue(`${name}#momentum`, shape, 'optimizer')];
          b.node(`${name}:sgd`, { type: 'sgd', grad, hyper, param, momentum, attrs: group }, [param, momentum]);
        }
        b.output('sgd', hyper);
      });
      const hyper = Float32Array.of(0.013, 0.9, 1e-3, first);
      await expectTrainingMatches(g, { sgd: hyper }, stateOf(g), { stateLayout: (v) => (v.shape.length === 4 ? HWIO_TO_OIHW : undefined) });
    });
  }
});
