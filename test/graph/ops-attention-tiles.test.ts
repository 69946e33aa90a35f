// The gradient graphs of the attention ops at sizes off every tile and block of their kernels
// (issue 44): the matrix product's default tiles (4x4 blocks on 8x8 invocations, 32x32 a
// workgroup; lavapipe's 8x8 blocks on 8x1, 8 rows by 64 columns), softmax's 256 rows a
// workgroup, layer norm's 64 rows a workgroup (input gradient) and 64 lanes a channel
// (parameter gradients), permute's 256 elements a workgroup, and head sizes that are not
// multiples of 4 (MobileViT x-small's 120 channels over 4 heads: 30). The GPU's float32 run
// against the float64 CPU interpreter; test/graph/ops-attention.test.ts checks the same
// rules against central differences at small sizes.
import { randomArray } from '../helpers.js';
import { expectOpGradientsOnGpu } from './op-gradcheck.js';

describe('graph: gradients of the attention ops at sizes off their kernels\' tiles', function () {
  this.timeout(120_000);

  // [batch, M, N, K]: M and N past one workgroup and off the blocks, K = 30 (a head size off
  // 4); K = 1; one row and one column.
  const products: [number, number, number, number][] = [
    [3, 37, 70, 30],
    [2, 33, 6, 1],
    [5, 1, 38, 7],
  ];
  for (const [batch, M, N, K] of products) {
    for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]) {
      it(`matmul ${batch} x (${M}x${K})${transA ? '^T' : ''} (${K}x${N})${transB ? '^T' : ''}`, () =>
        expectOpGradientsOnGpu('matmul', (b) => {
          const a = b.param('a', transA ? [batch, K, M] : [batch, M, K]);
          const w = b.param('b', transB ? [batch, N, K] : [batch, K, N]);
          return b.matmul('product', a, w, { transA, transB, alpha: 0.7 });
        }));
    }
  }

  for (const shape of [[3, 97, 13], [2, 3, 301], [259, 3]]) {
    it(`softmax over the last axis of ${JSON.stringify(shape)}`, () =>
      expectOpGradientsOnGpu('softmax', (b) => b.softmax('weights', b.param('scores', shape)), (_n, n) => randomArray(n, -3, 3)));
  }

  for (const shape of [[5, 29, 30], [67, 120], [3, 1, 7]]) {
    it(`layer norm of ${JSON.stringify(shape)}: input, weight and bias`, () => {
      const C = shape[shape.length - 1];
      return expectOpGradientsOnGpu('layer norm', (b) => b.layerNorm('norm', b.param('x', shape), { gamma: b.param('gamma', [C]), beta: b.param('beta', [C]) }, { eps: 1e-5 }), (name, n) =>
        randomArray(n, name === 'x' ? -2 : -1.5, 2));
    });
  }

  it('permute: 120 channels split into 4 heads of 30 and merged back through a transpose', () =>
    expectOpGradientsOnGpu('permute', (b) => {
      const [T, N, heads, d] = [3, 37, 4, 30];
      const x = b.param('x', [T, N, 1, heads * d]);
      const split = b.permute('heads', x, { view: [T, N, heads, d], perm: [0, 2, 1, 3], shape: [T * heads, N, d] });
      return b.transpose('tokens', split, [0, 2, 1]);
    }));

  it('attention with 4 heads of 30 over 37 tokens: softmax(Q K^T / sqrt(30)) V, every input differentiated', () =>
    expectOpGradientsOnGpu('attention', (b) => {
      const [T, N, heads, d] = [3, 37, 4, 30];
      const split = (name: string) => b.permute(`${name}.heads`, b.param(name, [T, N, 1, heads * d]), { view: [T, N, heads, d], perm: [0, 2, 1, 3], shape: [T * heads, N, d] });
      const [q, k, v] = ['q', 'k', 'v'].map(split);
      const weights = b.softmax('weights', b.matmul('scores', q, k, { transB: true, alpha: 1 / Math.sqrt(d) }));
      const context = b.matmul('context', weights, v);
      return b.permute('merge', context, { view: [T, heads, N, d], perm: [0, 2, 1, 3], shape: [T, N, 1, heads * d] });
    }));
});
