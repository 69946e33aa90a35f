// The gradient rules of the ops MobileViTV2 adds (pad, which crops a map to whole patches and
// pads it back), as autograd uses them: float64 central differences of a small graph.
import { expectOpGradients } from './op-gradcheck.js';

describe('graph: gradients of group norm and pad', function () {
  this.timeout(120_000);

  it('pad: a crop to whole patches, zeros padded back, and a mixed crop and pad', () =>
    expectOpGradients('pad', (b) => {
      const cropped = b.pad('crop', b.param('x', [2, 5, 3, 2]), { top: 0, bottom: -1, left: 0, right: -1 });
      const back = b.pad('back', cropped, { top: 0, bottom: 1, left: 0, right: 1 });
      return b.pad('mixed', back, { top: 1, bottom: -2, left: -1, right: 2 });
    }));
});
