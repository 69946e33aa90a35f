// smp's SENet encoders beyond the one fixture (deeplabv3plus-se_resnext50_32x4d, smp.test.ts):
// layer0's ceil-mode max pool as a padded pool, and each encoder's widths and stride placement
// against what the SENet ports publish and what _senet.py says.
import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Conv2dOp } from '../../src/graph/ops/conv2d.js';
import { ceilModeExtraPadding } from '../../src/model/networks/smp-senet.js';
import { pool2dCpu } from '../../src/kernels/pool/pool.js';
import { randomArray } from '../helpers.js';
import { everyFeature } from './smp-fixture.js';

/** A ceil-mode max pool of padding 0 by its definition: windows every `stride` until the input is covered, the last one clipped. */
function ceilModeMaxPool1d(x: Float32Array, kernel: number, stride: number): number[] {
  const out: number[] = [];
  for (let start = 0; start < x.length; start += stride) {
    out.push(Math.max(...x.subarray(start, start + kernel)));
    if (start + kernel >= x.length) break;
  }
  return out;
}

describe('smp SENet encoders', () => {
  it("layer0's ceil-mode pool: the extra padding after the input gives PyTorch's windows and maxima", () => {
    // The fixture's 48x64 (96x128 input) needs one row and column; an odd size none.
    expect(ceilModeExtraPadding(48, 3, 2)).to.equal(1);
    expect(ceilModeExtraPadding(49, 3, 2)).to.equal(0);
    expect(ceilModeExtraPadding(112, 3, 2)).to.equal(1);
    for (const kernel of [2, 3]) {
      for (const stride of [1, 2, 3]) {
        for (let size = kernel; size <= 33; size++) {
          const x = randomArray(size);
          const pad = ceilModeExtraPadding(size, kernel, stride);
          const got = pool2dCpu(x, [1, size, 1, 1], { kind: 'max', kernelH: kernel, kernelW: 1, strideH: stride, strideW: 1, padTop: 0, padBottom: pad, padLeft: 0, padRight: 0 });
          expect(Array.from(got), `size ${size}, kernel ${kernel}, stride ${stride}`).to.deep.equal(ceilModeMaxPool1d(x, kernel, stride));
        }
      }
    }
  });

  // The ImageNet classifiers' parameter counts as published (with last_linear, 2048 x 1000 + 1000).
  const published: [string, number][] = [
    ['se_resnet50', 28.09],
    ['se_resnet101', 49.33],
    ['se_resnet152', 66.82],
    ['se_resnext50_32x4d', 27.56],
    ['se_resnext101_32x4d', 48.96],
    ['senet154', 115.09],
  ];
  for (const [name, millions] of published) {
    it(`${name}: ${millions} M parameters with the classifier; the first block of layer2 strides where _senet.py puts it`, () => {
      const b = new GraphBuilder();
      const features = everyFeature(b, name, b.input('image', [1, 64, 96, 3]), { outputStride: 16, depth: 5 });
      features.forEach((f, i) => b.output(`f${i}`, f));
      const g = b.build();
      const params = g.state.filter((v) => v.role === 'param').reduce((n, v) => n + v.shape.reduce((a, d) => a * d, 1), 0);
      expect(((params + 2048 * 1000 + 1000) / 1e6).toFixed(2)).to.equal(millions.toFixed(2));
      expect(features.map((f) => f.shape.slice(1))).to.deep.equal([
        [32, 48, name === 'senet154' ? 128 : 64],
        [16, 24, 256],
        [8, 12, 512],
        [4, 6, 1024],
        [4, 6, 2048],
      ]);
      const stride = (layer: string) => (g.nodes.find((n) => n.name === `encoder.layer2.0.${layer}`)?.op as Conv2dOp).attrs.strideH;
      // SEResNetBottleneck strides its 1x1 conv1 (Caffe's placement), the others their 3x3 conv2.
      const onConv1 = name.startsWith('se_resnet');
      expect([stride('conv1'), stride('conv2')]).to.deep.equal(onConv1 ? [2, 1] : [1, 2]);
    });
  }
});
