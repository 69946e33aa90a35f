// The importer's rules for what picks or places elements by indices known when the graph is built
// (Slice with steps, GatherND, Where by a constant condition, Col2Im), a Resize of a constant, the
// InstanceNormalization affine and a symbolic channel axis, on small graphs run by onnxruntime as
// the reference (as onnx-import.test.ts): the constructs of the dynamo and TorchScript exports of
// transformers' segmentation networks (test/fixtures/hub-onnx). Sizes are odd and no two axes share
// an extent, so a wrong axis cannot pass.
import { expect } from 'chai';
import { expectClose, expectThrows } from '../helpers.js';
import { type GraphSpec, floats, imported, int64s, modelOf, node, runBoth } from './onnx-graphs.js';

const X = [1, 6, 5, 7];

async function expectMatches(s: GraphSpec, dims = X): Promise<void> {
  const { theirs, ours } = await runBoth(s, dims);
  expect(ours.length, 'output size').to.equal(theirs.length);
  expectClose(ours, theirs, 'imported graph against onnxruntime');
}

const bools = (name: string, dims: number[], values: number[]) => ({ name, dtype: 'bool' as const, dims, data: Float64Array.from(values) });

describe('graph: ONNX import of indexed picks against onnxruntime', function () {
  this.timeout(60_000);

  it('Slice with steps: 2 over rows (gathered: the steps overrun the axis), 3 over columns (split into [count, step]), -2 over channels', async () => {
    const init = [int64s('s1', [0]), int64s('e1', [5]), int64s('a1', [2]), int64s('p1', [2]), int64s('s2', [1, -1]), int64s('e2', [7, -100]), int64s('a2', [3, 1]), int64s('p2', [3, -2])];
    const nodes = [node('Slice', ['x', 's1', 'e1', 'a1', 'p1'], ['a']), node('Relu', ['a'], ['r']), node('Slice', ['r', 's2', 'e2', 'a2', 'p2'], ['y'])];
    await expectMatches({ input: X, nodes, initializers: init });
    // Swin's patch merging: x[:, 1::2, 0::2, :] of a [N,H,W,C] view, two steps tiling their axes.
    const merge = [int64s('s', [1, 0]), int64s('e', [100, 100]), int64s('a', [1, 2]), int64s('p', [2, 2]), int64s('pads', [0, 0, 0, 0, 0, 1, 1, 0])];
    const swin = [
      node('Transpose', ['x'], ['t'], { perm: { ints: [0, 2, 3, 1] } }),
      node('Pad', ['t', 'pads'], ['tp']),
      node('Slice', ['tp', 's', 'e', 'a', 'p'], ['m']),
      node('Transpose', ['m'], ['y'], { perm: { ints: [0, 3, 1, 2] } }),
    ];
    // [1,5,7,6] padded to [1,6,8,6], then rows 1,3,5 and columns 0,2,4,6.
    await expectMatches({ input: X, nodes: swin, initializers: merge });
  });

  it("GatherND of a map's windows (index pairs of [H,W,N,C]), masked by Where, averaged: the dynamo exporter's adaptive average pooling", async () => {
    // Windows of rows {0,1},{1,2},{3,4} and columns {0,1},{5,6}: idx[i][a][j][b] = (row, column).
    const rows = [
      [0, 1],
      [1, 2],
      [3, 4],
    ];
    const cols = [
      [0, 1],
      [5, 6],
    ];
    const idx: number[] = [];
    for (const r of rows) for (const a of r) for (const c of cols) for (const b of c) idx.push(a, b);
    // The mask drops the second row of the last window (a window of one row).
    const mask = [0, 0, 0, 0, 0, 1];
    const init = [int64s('idx', idx, [3, 2, 2, 2, 2]), bools('mask', [3, 2, 1, 1], mask), floats('zero', [], [0]), int64s('axes', [-3, -1])];
    const nodes = [
      node('Transpose', ['x'], ['t'], { perm: { ints: [2, 3, 0, 1] } }),
      node('GatherND', ['t', 'idx'], ['g']),
      node('Transpose', ['g'], ['gt'], { perm: { ints: [4, 5, 0, 1, 2, 3] } }),
      node('Where', ['mask', 'zero', 'gt'], ['w']),
      node('ReduceSum', ['w', 'axes'], ['y'], { keepdims: { i: 0 } }),
    ];
    await expectMatches({ input: X, nodes, initializers: init, opset: 18 });
    // Whole rows (index tuples of one axis) of a rank-3 value; a scalar-tuple index drops the axis.
    const one = [int64s('tokens', [35, 1, 6]), int64s('r', [4, 0, 1, 2, 30, 31, 5], [7, 1]), int64s('map', [1, 6, 7, 1])];
    const gather1 = [
      node('Transpose', ['x'], ['t'], { perm: { ints: [2, 3, 0, 1] } }),
      node('Reshape', ['t', 'tokens'], ['tok']),
      node('GatherND', ['tok', 'r'], ['g']),
      node('Transpose', ['g'], ['gt'], { perm: { ints: [1, 2, 0] } }),
      node('Reshape', ['gt', 'map'], ['y']),
    ];
    await expectMatches({ input: X, nodes: gather1, initializers: one });
  });

  it('Where by a constant condition: value and value, constant and value (broadcast both ways), all constants folded', async () => {
    const init = [bools('rows', [1, 1, 5, 1], [1, 0, 0, 1, 0]), bools('cols', [7], [0, 1, 1, 0, 0, 1, 0]), floats('big', [], [-100]), floats('k', [6, 1, 1], [1, 2, 3, 4, 5, 6]), bools('all', [1], [1])];
    const nodes = [
      node('Relu', ['x'], ['r']),
      node('Where', ['rows', 'x', 'r'], ['a']),
      node('Where', ['cols', 'big', 'a'], ['b']),
      node('Where', ['rows', 'b', 'k'], ['c']),
      // A condition true everywhere of a constant: folded, then added.
      node('Where', ['all', 'k', 'big'], ['d']),
      node('Add', ['c', 'd'], ['y']),
    ];
    await expectMatches({ input: X, nodes, initializers: init });
  });

  it("Col2Im whose blocks tile the map: MobileViTV2's fold (2x2 blocks of 3 channels) and 2x3 blocks with padding cropped", async () => {
    // A conv to 12 channels read as [N, C*kh*kw, L] = [1, 12, 35]: 3 channels of 2x2 blocks, 5x7 of them.
    const init = [floats('w', [12, 6, 1, 1]), int64s('cols', [1, 12, 35]), int64s('image', [10, 14]), int64s('block', [2, 2])];
    const nodes = [
      node('Conv', ['x', 'w'], ['c']),
      node('Reshape', ['c', 'cols'], ['r']),
      node('Col2Im', ['r', 'image', 'block'], ['y'], { strides: { ints: [2, 2] } }),
    ];
    await expectMatches({ input: X, nodes, initializers: init, opset: 18 });
    const padded = [int64s('cols', [1, 6, 35]), int64s('image', [9, 20]), int64s('block', [2, 3])];
    const crop = [node('Reshape', ['x', 'cols'], ['r']), node('Col2Im', ['r', 'image', 'block'], ['y'], { strides: { ints: [2, 3] }, pads: { ints: [1, 0, 0, 1] } })];
    await expectMatches({ input: X, nodes: crop, initializers: padded, opset: 18 });
  });

  it("Resize of a constant (DPT's position embeddings for the grid built): linear and any nearest, on the host", async () => {
    const init = [floats('pos', [1, 6, 3, 4]), int64s('sizes', [1, 6, 5, 7])];
    const nodes = [
      node('Resize', ['pos', '', '', 'sizes'], ['p'], { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'half_pixel' } }),
      node('Resize', ['pos', '', '', 'sizes'], ['q'], { mode: { s: 'nearest' }, coordinate_transformation_mode: { s: 'asymmetric' }, nearest_mode: { s: 'round_prefer_ceil' } }),
      node('Add', ['x', 'p'], ['a']),
      node('Mul', ['a', 'q'], ['y']),
    ];
    await expectMatches({ input: X, nodes, initializers: init });
  });

  it('InstanceNormalization with a per-channel scale and bias, over a map and over tokens', async () => {
    const init = [floats('s', [6]), floats('b', [6]), int64s('tokens', [1, 6, 35]), int64s('map', [1, 6, 5, 7])];
    const nodes = [
      node('InstanceNormalization', ['x', 's', 'b'], ['n'], { epsilon: { f: 1e-4 } }),
      node('Reshape', ['n', 'tokens'], ['t']),
      node('InstanceNormalization', ['t', 's', 'b'], ['u']),
      node('Reshape', ['u', 'map'], ['y']),
    ];
    await expectMatches({ input: X, nodes, initializers: init });
  });

  it("a symbolic channel axis (optimum's num_channels): the channels the first Conv takes", async () => {
    const init = [floats('w', [4, 6, 3, 3])];
    const nodes = [node('Conv', ['x', 'w'], ['y'], { pads: { ints: [1, 1, 1, 1] } })];
    await expectMatches({ input: [null, null, null, null], nodes, initializers: init });
    expectThrows(() => imported(modelOf({ input: [1, null, 5, 7], nodes: [node('Relu', ['x'], ['y'])] }), X), "input 'x' [1,d1,5,7] does not fix its channels, and no Conv reading it says them");
  });

  it('refusals name the node: overlapping Col2Im blocks, GatherND batch_dims, a condition computed from the image', () => {
    const refuse = (s: GraphSpec, message: string) => expectThrows(() => imported(modelOf(s), X), message);
    refuse(
      { input: X, nodes: [node('Reshape', ['x', 'cols'], ['r']), node('Col2Im', ['r', 'image', 'block'], ['y'], {}, 'fold')], initializers: [int64s('cols', [1, 6, 35]), int64s('image', [6, 8]), int64s('block', [2, 3])], opset: 18 },
      "test.onnx: node 'fold' (Col2Im): strides [1,1] other than the block [2,3] (overlapping or gapped blocks) are not run",
    );
    refuse({ input: X, nodes: [node('GatherND', ['x', 'i'], ['y'], { batch_dims: { i: 1 } }, 'g')], initializers: [int64s('i', [0, 1], [1, 2])] }, "test.onnx: node 'g' (GatherND): batch_dims 1 is not run (only 0)");
    refuse({ input: X, nodes: [node('Where', ['x', 'x', 'x'], ['y'], {}, 'w')] }, "test.onnx: node 'w' (Where): its condition (input 'x') is computed from the image's values, not known when the graph is built");
  });
});
