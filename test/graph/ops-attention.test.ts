// The gradient rules of the ops MobileViT adds (permute, softmax, layer norm, batched matmul),
// as autograd uses them: float64 central differences of a small graph, and the backward graph
// on the GPU against the CPU interpreter.
import { randomArray } from '../helpers.js';
import { expectOpGradients } from './op-gradcheck.js';

describe('graph: gradients of the attention ops', function () {
  this.timeout(60_000);

  it('permute: unfolding into patches, then a transpose of the tokens', () =>
    expectOpGradients('permute', (b) => {
      const x = b.param('x', [1, 4, 6, 3]);
      const patches = b.permute('unfold', x, { view: [1, 2, 2, 3, 2, 3], perm: [0, 2, 4, 1, 3, 5], shape: [4, 6, 3] });
      return b.transpose('tokens', patches, [0, 2, 1]);
    }));

  it('softmax over the last axis', () =>
    expectOpGradients('softmax', (b) => b.softmax('weights', b.param('scores', [2, 5, 7])), (_n, n) => randomArray(n, -3, 3)));

  it('layer norm: input, weight and bias', () =>
    expectOpGradients('layer norm', (b) => b.layerNorm('norm', b.param('x', [2, 3, 6]), { gamma: b.param('gamma', [6]), beta: b.param('beta', [6]) }, { eps: 1e-5 }), (name, n) =>
      randomArray(n, name === 'x' ? -2 : -1.5, 2)));

  for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]) {
    it(`matmul${transA ? ', a transposed' : ''}${transB ? ', b transposed' : ''}, scaled`, () =>
      expectOpGradients('matmul', (b) => {
        const a = b.param('a', transA ? [2, 4, 3] : [2, 3, 4]);
        const w = b.param('b', transB ? [2, 5, 4] : [2, 4, 5]);
        return b.matmul('product', a, w, { transA, transB, alpha: 0.5 });
      }));
  }

  it('one attention head: softmax(Q K^T / sqrt(d)) V, every input differentiated', () =>
    expectOpGradients('attention', (b) => {
      const [q, k, v] = ['q', 'k', 'v'].map((n) => b.param(n, [2, 5, 3]));
      const weights = b.softmax('weights', b.matmul('scores', q, k, { transB: true, alpha: 1 / Math.sqrt(3) }));
      return b.matmul('context', weights, v);
    }));
});
