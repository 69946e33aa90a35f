// The ONNX importer's rules, op by op and in the chains exporters write, on small graphs written
// here and run by onnxruntime-node as the reference: every layout change between ONNX's NCHW and
// our NHWC (Transpose, Reshape, Flatten, Concat / Split / Slice / Pad / Softmax / reductions on
// each axis, matrix products on tokens), the shape sub-graphs folded for the size built, the
// patterns fused (GELU, SiLU), and the refusals naming the node and its op. Sizes are odd and
// no two axes share an extent, so a wrong axis cannot pass.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph } from '../../src/graph/ir.js';
import { readOnnx } from '../../src/graph/onnx/read.js';
import { expectClose, expectThrows, randomArray, rng } from '../helpers.js';
import { type GraphSpec, floats, imported, int64s, modelOf, node, runBoth } from './onnx-graphs.js';

const X = [1, 6, 5, 7];

async function expectMatches(s: GraphSpec, dims = X): Promise<void> {
  const { theirs, ours } = await runBoth(s, dims);
  expect(ours.length, 'output size').to.equal(theirs.length);
  expectClose(ours, theirs, 'imported graph against onnxruntime');
}

/** A conv of `x` to `cout` channels (3x3, pad 1): a map op between layout changes. */
function conv(x: string, y: string, cin: number, cout: number, init: GraphSpec['initializers'] & object, attrs = {}): ReturnType<typeof node> {
  const w = floats(`${y}.w`, [cout, cin, 3, 3]);
  const b = floats(`${y}.b`, [cout]);
  init.push(w, b);
  return node('Conv', [x, w.name, b.name], [y], { pads: { ints: [1, 1, 1, 1] }, ...attrs });
}

describe('graph: ONNX import against onnxruntime', function () {
  this.timeout(60_000);

  describe('maps', () => {
    it('Conv: groups, dilations, strides, auto_pad SAME_UPPER and SAME_LOWER, then Relu, Sigmoid, HardSwish', async () => {
      const init: GraphSpec['initializers'] & object = [];
      const dw = floats('dw', [6, 1, 3, 3]);
      const w2 = floats('w2', [4, 6, 3, 3]);
      init.push(dw, w2);
      const nodes = [
        node('Conv', ['x', 'dw'], ['a'], { group: { i: 6 }, dilations: { ints: [2, 1] }, pads: { ints: [2, 1, 2, 1] } }),
        node('Relu', ['a'], ['b']),
        node('Conv', ['b', 'w2'], ['c'], { strides: { ints: [2, 2] }, auto_pad: { s: 'SAME_UPPER' } }),
        node('Sigmoid', ['c'], ['d']),
        node('Conv', ['d', 'w3'], ['e'], { strides: { ints: [2, 1] }, auto_pad: { s: 'SAME_LOWER' } }),
        node('HardSwish', ['e'], ['f']),
        node('Resize', ['f', '', '', 'sizes'], ['y'], { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'half_pixel' } }),
      ];
      init.push(floats('w3', [4, 4, 3, 3]), int64s('sizes', [1, 4, 5, 7]));
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it('ConvTranspose: stride 2 with output_padding, groups and dilation, explicit pads, SAME_UPPER, output_shape; a bias', async () => {
      const init = [floats('w1', [6, 2, 3, 3]), floats('b1', [4]), floats('w2', [4, 3, 2, 2]), floats('w3', [3, 3, 3, 3])];
      const nodes = [
        node('ConvTranspose', ['x', 'w1', 'b1'], ['a'], { strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] }, output_padding: { ints: [1, 0] }, group: { i: 2 }, dilations: { ints: [1, 2] } }),
        node('ConvTranspose', ['a', 'w2'], ['b'], { strides: { ints: [2, 1] }, auto_pad: { s: 'SAME_UPPER' } }),
        node('ConvTranspose', ['b', 'w3'], ['c'], { strides: { ints: [1, 1] }, output_shape: { ints: [20, 15] } }),
        node('AveragePool', ['c'], ['y'], { kernel_shape: { ints: [4, 3] }, strides: { ints: [4, 2] } }),
      ];
      // a: H 2*4+1+2+1-2 = 10, W 2*6+0+4+1-2 = 15; b: 20x15; c: 20x15 (pads from output_shape); y: 5x7.
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it('BatchNormalization, MaxPool (ceil_mode), AveragePool (with and without pads counted), GlobalAveragePool broadcast back', async () => {
      const init = [floats('g', [6]), floats('be', [6]), floats('m', [6]), floats('v', [6], [0.5, 1, 1.5, 2, 0.7, 1.1]), int64s('sizes', [1, 6, 5, 7])];
      const nodes = [
        node('BatchNormalization', ['x', 'g', 'be', 'm', 'v'], ['a'], { epsilon: { f: 1e-3 } }),
        node('MaxPool', ['a'], ['b'], { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, ceil_mode: { i: 1 } }),
        node('AveragePool', ['b'], ['c'], { kernel_shape: { ints: [2, 3] }, pads: { ints: [1, 1, 0, 1] }, count_include_pad: { i: 0 } }),
        node('AveragePool', ['c'], ['d'], { kernel_shape: { ints: [2, 2] }, pads: { ints: [1, 0, 0, 1] }, count_include_pad: { i: 1 } }),
        node('GlobalAveragePool', ['a'], ['gp']),
        node('Resize', ['d', '', '', 'sizes'], ['r'], { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'align_corners' } }),
        node('Mul', ['r', 'gp'], ['y']),
      ];
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it('Resize by scales (asymmetric, pytorch_half_pixel), Upsample, back to size by pooling', async () => {
      const init = [floats('scales', [4], [1, 1, 2, 2]), floats('empty', [0], [])];
      const nodes = [
        node('Resize', ['x', 'empty', 'scales'], ['a'], { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'asymmetric' } }),
        node('Resize', ['a', 'empty', 'scales'], ['b'], { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'pytorch_half_pixel' } }),
        node('AveragePool', ['b'], ['y'], { kernel_shape: { ints: [4, 4] }, strides: { ints: [4, 4] } }),
      ];
      await expectMatches({ input: X, nodes, initializers: init });
      const up = [node('Upsample', ['x', 'scales'], ['a'], { mode: { s: 'linear' } }), node('MaxPool', ['a'], ['y'], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } })];
      await expectMatches({ input: X, nodes: up, initializers: [init[0]], opset: 9 });
    });

    it('nearest Resize that repeats pixels: x2 by scales (asymmetric, floor: PyTorch), x3 by sizes (half_pixel, round_prefer_floor), Upsample x2', async () => {
      // A conv after each upscale reads across the repeated blocks' edges; pooling brings the logits back to the input's size.
      const init = [floats('scales', [4], [1, 1, 2, 2]), floats('empty', [0], []), int64s('sizes', [1, 6, 30, 42])];
      const nodes = [
        node('Resize', ['x', 'empty', 'scales'], ['a'], { mode: { s: 'nearest' }, coordinate_transformation_mode: { s: 'asymmetric' }, nearest_mode: { s: 'floor' } }),
        conv('a', 'b', 6, 4, init),
        node('Resize', ['b', 'empty', 'empty', 'sizes'], ['c'], { mode: { s: 'nearest' } }),
        conv('c', 'd', 4, 3, init),
        node('AveragePool', ['d'], ['y'], { kernel_shape: { ints: [6, 6] }, strides: { ints: [6, 6] } }),
      ];
      init[2] = int64s('sizes', [1, 4, 30, 42]);
      await expectMatches({ input: X, nodes, initializers: init });
      const up: GraphSpec['initializers'] & object = [init[0]];
      const upsample = [node('Upsample', ['x', 'scales'], ['a'], { mode: { s: 'nearest' } }), conv('a', 'b', 6, 3, up), node('MaxPool', ['b'], ['y'], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } })];
      await expectMatches({ input: X, nodes: upsample, initializers: up, opset: 9 });
      const refused = [node('Resize', ['x', 'empty', 'empty', 'sizes'], ['y'], { mode: { s: 'nearest' } }, 'up')];
      expectThrows(
        () => imported(modelOf({ input: X, nodes: refused, initializers: [init[1], int64s('sizes', [1, 6, 8, 7])] }), X),
        "test.onnx: node 'up' (Resize): nearest resize of 5x7 to 8x7 (half_pixel, round_prefer_floor) does not repeat each pixel a whole number of times",
      );
    });

    it("Clip to [0, 6] and [0, inf), HardSigmoid (PyTorch's) times x, LeakyRelu (alpha 0.2 and the default)", async () => {
      const init = [floats('zero', [], [0]), floats('six', [], [6])];
      const nodes = [
        node('Clip', ['x', 'zero', 'six'], ['a']),
        node('Clip', ['x', 'zero'], ['b']),
        node('HardSigmoid', ['x'], ['c'], { alpha: { f: 1 / 6 }, beta: { f: 0.5 } }),
        node('Mul', ['x', 'c'], ['d']),
        node('Add', ['a', 'b'], ['e']),
        node('Add', ['e', 'd'], ['f']),
        node('LeakyRelu', ['f'], ['g'], { alpha: { f: 0.2 } }),
        node('Sub', ['g', 'x'], ['h']),
        node('LeakyRelu', ['h'], ['y']),
      ];
      await expectMatches({ input: X, nodes, initializers: init });
    });
  });

  describe('arithmetic with broadcasting', () => {
    it('per-channel constants [C,1,1] on either side of Sub and Div, a scalar Add, a row constant [W]', async () => {
      const init = [floats('mean', [6, 1, 1]), floats('std', [6, 1, 1], [0.5, 0.6, 0.7, 0.8, 0.9, 1.1]), floats('k', [], [0.25]), floats('row', [7])];
      const nodes = [
        node('Sub', ['x', 'mean'], ['a']),
        node('Div', ['a', 'std'], ['b']),
        node('Sub', ['mean', 'b'], ['c']),
        node('Add', ['c', 'k'], ['d']),
        node('Mul', ['d', 'row'], ['e']),
        node('Div', ['e', 'k'], ['y']),
      ];
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it('two values broadcast against each other: a [N,1,H,W] channel mean and the map', async () => {
      const init = [int64s('axes', [1])];
      const nodes = [node('ReduceMean', ['x', 'axes'], ['m'], { keepdims: { i: 1 } }, 'mean'), node('Sub', ['x', 'm'], ['c']), node('Mul', ['m', 'c'], ['y'])];
      await expectMatches({ input: X, nodes, initializers: init, opset: 18 });
    });
  });

  describe('layouts', () => {
    it('Transpose to NHWC, Reshape to tokens, MatMul by a [C,K] constant, Add a bias, back to a map (a Linear on tokens)', async () => {
      const init = [floats('w', [6, 4]), floats('b', [4]), int64s('tokens', [1, 35, 6]), int64s('map', [1, 5, 7, 4])];
      const nodes = [
        node('Transpose', ['x'], ['t'], { perm: { ints: [0, 2, 3, 1] } }),
        node('Reshape', ['t', 'tokens'], ['tok']),
        node('MatMul', ['tok', 'w'], ['lin']),
        node('Add', ['lin', 'b'], ['biased']),
        node('Reshape', ['biased', 'map'], ['m']),
        node('Transpose', ['m'], ['y'], { perm: { ints: [0, 3, 1, 2] } }),
      ];
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it('attention: heads split by Reshape and Transpose, Q K^T scaled, Softmax over keys, times V, merged back', async () => {
      // tokens [1, 35, 6]; 2 heads of 3.
      const init = [floats('wq', [6, 6]), floats('wk', [6, 6]), floats('wv', [6, 6]), int64s('tokens', [1, 6, 35]), int64s('heads', [1, 35, 2, 3]), int64s('merged', [1, 35, 6]), floats('scale', [], [Math.sqrt(3)]), int64s('map', [1, 5, 7, 6])];
      const proj = (w: string, out: string) => [node('MatMul', ['tok', w], [`${out}_lin`]), node('Reshape', [`${out}_lin`, 'heads'], [`${out}_h`])];
      const nodes = [
        node('Reshape', ['x', 'tokens'], ['cf']),
        node('Transpose', ['cf'], ['tok'], { perm: { ints: [0, 2, 1] } }),
        ...proj('wq', 'q'),
        ...proj('wk', 'k'),
        ...proj('wv', 'v'),
        node('Transpose', ['q_h'], ['q'], { perm: { ints: [0, 2, 1, 3] } }),
        node('Transpose', ['k_h'], ['kt'], { perm: { ints: [0, 2, 3, 1] } }),
        node('Transpose', ['v_h'], ['v'], { perm: { ints: [0, 2, 1, 3] } }),
        node('MatMul', ['q', 'kt'], ['scores']),
        node('Div', ['scores', 'scale'], ['scaled']),
        node('Softmax', ['scaled'], ['attn'], { axis: { i: -1 } }),
        node('MatMul', ['attn', 'v'], ['ctx']),
        node('Transpose', ['ctx'], ['ctx_t'], { perm: { ints: [0, 2, 1, 3] } }),
        node('Reshape', ['ctx_t', 'merged'], ['out']),
        node('Reshape', ['out', 'map'], ['m']),
        node('Transpose', ['m'], ['y'], { perm: { ints: [0, 3, 1, 2] } }),
      ];
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it('Concat on the channel, height and width axes, with a constant joined in', async () => {
      const init = [floats('c1', [1, 2, 5, 7]), int64s('split', [3, 5]), int64s('split_w', [7, 7])];
      const nodes = [
        node('Concat', ['x', 'c1'], ['a'], { axis: { i: 1 } }),
        node('Concat', ['a', 'a'], ['b'], { axis: { i: 2 } }),
        node('Concat', ['b', 'x2'], ['c'], { axis: { i: -1 } }),
        node('Split', ['c', 'split_w'], ['c0', 'c1x'], { axis: { i: 3 } }),
        node('MaxPool', ['c0'], ['p'], { kernel_shape: { ints: [2, 1] }, strides: { ints: [2, 1] } }),
        node('Split', ['p', 'split'], ['s0', 's1'], { axis: { i: 1 } }),
        node('Concat', ['s1', 's0', 'x'], ['cat'], { axis: { i: 1 } }),
        node('Slice', ['cat', 'starts', 'ends', 'axes'], ['y']),
      ];
      init.push(floats('x2', [1, 8, 10, 7]), int64s('starts', [-6, 0]), int64s('ends', [100, 7]), int64s('axes', [1, 3]));
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it('Slice on tokens (a channel range of a rank-3 value), Pad of height and width, Flatten and Unsqueeze', async () => {
      const init = [int64s('tokens', [1, 6, 35]), int64s('starts', [1]), int64s('ends', [4]), int64s('axes', [1]), int64s('map', [1, 3, 5, 7]), int64s('pads', [0, 0, 1, 2, 0, 0, 0, 1])];
      const nodes = [
        node('Reshape', ['x', 'tokens'], ['t']),
        node('Slice', ['t', 'starts', 'ends', 'axes'], ['s']),
        node('Reshape', ['s', 'map'], ['m']),
        node('Pad', ['m', 'pads'], ['p']),
        node('AveragePool', ['p'], ['q'], { kernel_shape: { ints: [2, 4] } }),
        node('Flatten', ['q'], ['f'], { axis: { i: 2 } }),
        node('Unsqueeze', ['f', 'unsq'], ['u']),
        node('Reshape', ['u', 'map'], ['y']),
      ];
      init.push(int64s('unsq', [0]));
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it("Gather by constant indices: attention's k and v taken from one tensor (a scalar index drops its axis), channels picked out of order", async () => {
      const init = [int64s('heads', [1, 2, 3, 35]), int64s('zero', [0], []), int64s('one', [1], []), int64s('pick', [2, 0, 1, 2]), int64s('map', [1, 3, 5, 7])];
      const nodes = [
        node('Reshape', ['x', 'heads'], ['kv']),
        node('Transpose', ['kv'], ['t'], { perm: { ints: [1, 0, 3, 2] } }),
        node('Gather', ['t', 'zero'], ['k'], { axis: { i: 0 } }),
        node('Gather', ['t', 'one'], ['v'], { axis: { i: 0 } }),
        node('Add', ['k', 'v'], ['s']),
        node('Transpose', ['s'], ['st'], { perm: { ints: [0, 2, 1] } }),
        node('Reshape', ['st', 'map'], ['m']),
        node('Gather', ['m', 'pick'], ['y'], { axis: { i: 1 } }),
      ];
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it('a channels-last file (tf2onnx): [N,H,W,C] in, transposed to NCHW and back, [N,H,W,K] out', async () => {
      const init: GraphSpec['initializers'] & object = [];
      const nodes = [node('Transpose', ['x'], ['t'], { perm: { ints: [0, 3, 1, 2] } }), conv('t', 'c', 3, 4, init), node('Transpose', ['c'], ['y'], { perm: { ints: [0, 2, 3, 1] } })];
      await expectMatches({ input: [1, 9, 11, 3], nodes, initializers: init }, [1, 9, 11, 3]);
    });
  });

  describe('normalisations and reductions', () => {
    it('LayerNormalization over the last axis of tokens and over [C,H,W] of a map', async () => {
      const init = [floats('g', [6]), floats('b', [6]), int64s('tokens', [1, 6, 35]), int64s('back', [1, 6, 5, 7]), floats('g3', [6, 5, 7]), floats('b3', [6, 5, 7])];
      const nodes = [
        node('Reshape', ['x', 'tokens'], ['t']),
        node('Transpose', ['t'], ['tt'], { perm: { ints: [0, 2, 1] } }),
        node('LayerNormalization', ['tt', 'g', 'b'], ['ln'], { axis: { i: -1 }, epsilon: { f: 1e-5 } }),
        node('Transpose', ['ln'], ['lt'], { perm: { ints: [0, 2, 1] } }),
        node('Reshape', ['lt', 'back'], ['m']),
        node('LayerNormalization', ['m', 'g3', 'b3'], ['y'], { axis: { i: 1 }, epsilon: { f: 1e-6 } }),
      ];
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it('layer norm spelled out before opset 17 (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) runs as our layer norm', async () => {
      const init = [int64s('tokens', [1, 6, 35]), floats('two', [], [2]), floats('eps', [], [1e-5]), floats('g', [35]), floats('b', [35]), int64s('back', [1, 6, 5, 7])];
      const nodes = [
        node('Reshape', ['x', 'tokens'], ['t']),
        node('ReduceMean', ['t'], ['mean'], { axes: { ints: [-1] }, keepdims: { i: 1 } }),
        node('Sub', ['t', 'mean'], ['d']),
        node('Pow', ['d', 'two'], ['sq']),
        node('ReduceMean', ['sq'], ['var'], { axes: { ints: [-1] }, keepdims: { i: 1 } }),
        node('Add', ['var', 'eps'], ['ve']),
        node('Sqrt', ['ve'], ['sd']),
        node('Div', ['d', 'sd'], ['n']),
        node('Mul', ['n', 'g'], ['s']),
        node('Add', ['s', 'b'], ['ln']),
        node('Reshape', ['ln', 'back'], ['y']),
      ];
      const { theirs, ours, graph } = await runBoth({ input: X, nodes, initializers: init, opset: 13 }, X);
      expectClose(ours, theirs, 'layer norm pattern');
      expect(graph.nodes.filter((n) => n.op.type === 'layer_norm').length).to.equal(1);
    });

    it("PyTorch's GroupNorm: Reshape [N,G,-1], InstanceNormalization (ones, zeros), Reshape back, a per-channel Mul and Add", async () => {
      const init = [int64s('groups', [1, 3, -1]), floats('ones', [3], [1, 1, 1]), floats('zeros', [3], [0, 0, 0]), int64s('shape', [1, 6, 5, 7]), floats('gamma', [6, 1, 1]), floats('beta', [6, 1, 1])];
      const nodes = [
        node('Reshape', ['x', 'groups'], ['g']),
        node('InstanceNormalization', ['g', 'ones', 'zeros'], ['n'], { epsilon: { f: 1e-5 } }),
        node('Reshape', ['n', 'shape'], ['m']),
        node('Mul', ['m', 'gamma'], ['s']),
        node('Add', ['s', 'beta'], ['y']),
      ];
      await expectMatches({ input: X, nodes, initializers: init });
    });

    it('ReduceMean over H and W (kept and not), ReduceSum over channels, Softmax over channels (opsets 13 and 11)', async () => {
      const init = [int64s('c', [1]), int64s('shape', [1, 6, 1, 1])];
      const nodes = [
        node('ReduceMean', ['x'], ['gm'], { axes: { ints: [2, 3] }, keepdims: { i: 0 } }),
        node('Reshape', ['gm', 'shape'], ['g']),
        node('ReduceSum', ['x', 'c'], ['cs'], { keepdims: { i: 1 } }),
        node('Softmax', ['x'], ['sm'], { axis: { i: 1 } }),
        node('Mul', ['sm', 'g'], ['a']),
        node('Add', ['a', 'cs'], ['y']),
      ];
      await expectMatches({ input: X, nodes, initializers: init, opset: 13 });
      // Before opset 13, Softmax's axis 1 means everything from it on, flattened.
      await expectMatches({ input: X, nodes: [node('Softmax', ['x'], ['y'], { axis: { i: 1 } })], opset: 11 });
    });

    it('Gemm of a pooled vector (Flatten, transB), Unsqueezed back and multiplied in (squeeze-and-excite)', async () => {
      const init = [floats('w', [6, 6]), floats('b', [6]), int64s('axes', [2, 3])];
      const nodes = [
        node('GlobalAveragePool', ['x'], ['p']),
        node('Flatten', ['p'], ['f']),
        node('Gemm', ['f', 'w', 'b'], ['g'], { transB: { i: 1 } }),
        node('Sigmoid', ['g'], ['s']),
        node('Unsqueeze', ['s', 'axes'], ['u']),
        node('Mul', ['x', 'u'], ['y']),
      ];
      await expectMatches({ input: X, nodes, initializers: init });
    });
  });

  describe('shape sub-graphs and patterns', () => {
    it('Shape -> Gather -> Unsqueeze -> Concat -> Resize sizes and Reshape shapes, folded for the size built (two sizes)', async () => {
      const init = [int64s('i2', [2], []), int64s('i3', [3], []), int64s('zero', [0]), int64s('nc', [1, 6]), floats('half', [], [0.5]), int64s('minus1', [-1])];
      const nodes = [
        node('Shape', ['x'], ['shape']),
        node('Gather', ['shape', 'i2'], ['h'], { axis: { i: 0 } }),
        node('Gather', ['shape', 'i3'], ['w'], { axis: { i: 0 } }),
        node('Unsqueeze', ['h', 'zero'], ['h1']),
        node('Unsqueeze', ['w', 'zero'], ['w1']),
        node('Concat', ['nc', 'h1', 'w1'], ['sizes'], { axis: { i: 0 } }),
        node('AveragePool', ['x'], ['small'], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }),
        node('Resize', ['small', '', '', 'sizes'], ['big'], { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'pytorch_half_pixel' } }),
        node('Cast', ['h'], ['hf'], { to: { i: 1 } }),
        node('Mul', ['hf', 'half'], ['hh']),
        node('Concat', ['nc', 'minus1'], ['flat'], { axis: { i: 0 } }),
        node('Reshape', ['big', 'flat'], ['tokens']),
        node('Reshape', ['tokens', 'shape'], ['y']),
      ];
      await expectMatches({ input: [1, 6, null, null], nodes, initializers: init });
      await expectMatches({ input: [1, 6, null, null], nodes, initializers: init }, [1, 6, 9, 4]);
    });

    it("Tanh and Erf on their own; GELU spelled out (PyTorch's Div, Erf, Add, Mul, Mul) as our gelu; x * Sigmoid(x) as silu", async () => {
      const init = [floats('sqrt2', [], [Math.SQRT2]), floats('one', [], [1]), floats('half', [], [0.5])];
      const nodes = [
        node('Tanh', ['x'], ['th']),
        node('Erf', ['th'], ['x1']),
        node('Div', ['x1', 'sqrt2'], ['d']),
        node('Erf', ['d'], ['e']),
        node('Add', ['e', 'one'], ['a']),
        node('Mul', ['x1', 'a'], ['m']),
        node('Mul', ['m', 'half'], ['g']),
        node('Sigmoid', ['g'], ['s']),
        node('Mul', ['g', 's'], ['y']),
      ];
      const { theirs, ours, graph } = await runBoth({ input: X, nodes, initializers: init }, X);
      expectClose(ours, theirs, 'tanh, erf, gelu, silu');
      expect(graph.nodes.map((n) => (n.op.type === 'activation' ? n.op.attrs.activation : n.op.type))).to.deep.equal(['tanh', 'erf', 'gelu', 'silu']);
    });
  });

  it("compiles as our own networks do: an exported file's batch norms folded into its convs, ReLUs and residual adds fused, the CPU interpreter's numbers unchanged", () => {
    const model = readOnnx(readFileSync('test/fixtures/onnx-train/model.onnx'), 'model.onnx');
    const { graph, params } = imported(model, [1, 3, 17, 23]);
    const count = (g: Graph, f: (n: Graph['nodes'][number]) => boolean) => g.nodes.filter(f).length;
    const bns = count(graph, (n) => n.op.type === 'batchnorm');
    expect(bns, 'batch norms in the file').to.be.greaterThan(10);
    const compiled = compile(graph, { mode: 'inference' });
    expect(count(compiled.graph, (n) => n.op.type === 'batchnorm'), 'batch norms left').to.equal(0);
    expect(count(compiled.graph, (n) => n.op.type === 'activation' && n.op.attrs.activation === 'relu'), 'ReLUs left unfused').to.equal(0);
    expect(count(compiled.graph, (n) => n.op.type === 'add'), 'residual adds left unfused').to.equal(0);
    const image = randomArray(17 * 23 * 3, -2, 2, rng());
    const before = runGraphCpu(graph, params, { image }).get('logits')!;
    expectClose(runGraphCpu(compiled, params, { image }).get('logits')!, before, 'compiled against canonical');
  });

  describe('refusals name the node and its op', () => {
    const refuse = (s: GraphSpec, message: string | RegExp) => expectThrows(() => imported(modelOf(s), X), message);

    it('an op we do not run, an attribute we do not read, another domain, a sub-graph', () => {
      refuse({ input: X, nodes: [node('NonMaxSuppression', ['x'], ['y'], {}, 'nms')] }, /^test\.onnx: node 'nms' \(NonMaxSuppression\): not run \(the operators run: .*Conv.*\)/);
      refuse({ input: X, nodes: [node('Relu', ['x'], ['a'], {}, 'r'), node('MaxPool', ['a'], ['y'], { kernel_shape: { ints: [2, 2] }, dilations: { ints: [2, 2] } }, 'pool')] }, "test.onnx: node 'pool' (MaxPool): dilated pooling windows are not run");
      refuse({ input: X, nodes: [node('Resize', ['x', '', 'scales'], ['y'], { mode: { s: 'cubic' } }, 'up')], initializers: [floats('scales', [4], [1, 1, 2, 2])] }, "test.onnx: node 'up' (Resize): mode 'cubic': only linear (bilinear) and nearest resizing are run");
      refuse({ input: X, nodes: [{ ...node('Relu', ['x'], ['y']), domain: 'com.microsoft', name: 'fused' }] }, "test.onnx: node 'fused' (Relu): an operator of domain 'com.microsoft'");
      refuse({ input: X, nodes: [node('Conv', ['x', 'w'], ['y'], { foo: { i: 1 } }, 'c')], initializers: [floats('w', [2, 6, 1, 1])] }, "test.onnx: node 'c' (Conv): attribute 'foo' is not read");
      const loop = node('Relu', ['x'], ['y'], {}, 'branch');
      loop.attrs = new Map([['body', { kind: 'graph' }]]);
      refuse({ input: X, nodes: [loop] }, "test.onnx: node 'branch' (Relu): has a sub-graph (control flow), which is not run");
    });

    it('a weight computed from the image, an output that is no map, an unknown input', () => {
      refuse({ input: X, nodes: [node('Conv', ['x', 'x'], ['y'], {}, 'c')] }, "test.onnx: node 'c' (Conv): its weight (input 'x') is computed from the image's values, not known when the graph is built");
      refuse({ input: X, nodes: [node('ReduceMean', ['x'], ['y'], { axes: { ints: [1, 2, 3] }, keepdims: { i: 0 } }, 'm')] }, "the output 'y' [1] is not class scores of a map ([N,classes,H,W])");
      refuse({ input: X, nodes: [node('Add', ['x', 'ghost'], ['y'], {}, 'a')] }, "test.onnx: node 'a' (Add): input 'ghost' is computed by no node before it");
    });
  });
});
