// The gradient rules of the ops MobileViTV2 adds (group norm with one group; pad, which crops a
// map to whole patches and pads it back), and of the transposed conv an imported ConvTranspose runs, as autograd uses them: float64 central differences of
// a small graph, then group norm at sizes off its kernels' workgroups, the GPU's float32 run
// against the float64 CPU interpreter.
import { randomArray } from '../helpers.js';
import { expectOpGradients, expectOpGradientsOnGpu } from './op-gradcheck.js';

describe('graph: gradients of group norm and pad', function () {
  this.timeout(120_000);

  const groupNorm = (shape: number[]) => () =>
    expectOpGradients('group norm', (b) => b.groupNorm('norm', b.param('x', shape), { gamma: b.param('gamma', [shape[3]]), beta: b.param('beta', [shape[3]]) }, { eps: 1e-5 }), (name, n) =>
      randomArray(n, name === 'x' ? -2 : -1.5, 2));
  it('group norm of two items: input, weight and bias', groupNorm([2, 3, 2, 4]));

  it('pad: a crop to whole patches, zeros padded back, and a mixed crop and pad', () =>
    expectOpGradients('pad', (b) => {
      const cropped = b.pad('crop', b.param('x', [2, 5, 3, 2]), { top: 0, bottom: -1, left: 0, right: -1 });
      const back = b.pad('back', cropped, { top: 0, bottom: 1, left: 0, right: 1 });
      return b.pad('mixed', back, { top: 1, bottom: -2, left: -1, right: 2 });
    }));

  it("channel slice (DPN's split of a map into its paths): zeros around dy's channels", () =>
    expectOpGradients('channel slice', (b) => {
      const x = b.param('x', [2, 3, 2, 7]);
      return b.concat('paths', [b.channelSlice('dense', x, 4, 3), b.channelSlice('residual', x, 0, 2), b.channelSlice('middle', x, 1, 3)]);
    }));

  it("the transposed conv (ONNX's ConvTranspose, our conv's input gradient): its input and weight, stride 2, groups", () =>
    expectOpGradients('conv2d_grad_input', (b) => {
      const attrs = { strideH: 2, strideW: 2, padTop: 1, padBottom: 0, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 2, activation: 'none' as const };
      return b.node('convT', { type: 'conv2d_grad_input', dy: b.param('x', [2, 3, 4, 4]), weight: b.param('w', [3, 3, 2, 4]), attrs: { ...attrs, inputShape: [2, 6, 7, 4] } })[0];
    }));

  // Items past the statistics' 256 lanes, pixels past the parameter gradients' 64, a single pixel.
  for (const shape of [[2, 4, 37, 30], [3, 1, 300, 3], [1, 1, 1, 7]]) {
    it(`group norm of ${JSON.stringify(shape)} on the GPU against float64`, () =>
      expectOpGradientsOnGpu('group norm', (b) => b.groupNorm('norm', b.param('x', shape), { gamma: b.param('gamma', [shape[3]]), beta: b.param('beta', [shape[3]]) }, { eps: 1e-5 }), (name, n) =>
        randomArray(n, name === 'x' ? -2 : -1.5, 2)));
  }
});
