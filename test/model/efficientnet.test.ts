// EfficientNet's scaling and lukemelas' static padding (src/model/networks/efficientnet.ts,
// smp-efficientnet.ts) against the numbers smp and the fixture README state: the variants beyond
// b0 have no logits reference, so their widths and block counts are checked here.
import { expect } from 'chai';
import { efficientNetStages } from '../../src/model/networks/efficientnet.js';
import { LUKEMELAS_EFFICIENTNETS, staticSamePadding } from '../../src/model/networks/smp-efficientnet.js';
import { TIMM_EFFICIENTNETS } from '../../src/model/networks/smp-timm-efficientnet.js';

/** smp's out_channels (stem, /4, /8, /16, /32) per variant, the same for both libraries. */
const SMP_OUT_CHANNELS: Record<string, number[]> = {
  b0: [32, 24, 40, 112, 320],
  b1: [32, 24, 40, 112, 320],
  b2: [32, 24, 48, 120, 352],
  b3: [40, 32, 48, 136, 384],
  b4: [48, 32, 56, 160, 448],
  b5: [48, 40, 64, 176, 512],
  b6: [56, 40, 72, 200, 576],
  b7: [64, 48, 80, 224, 640],
  b8: [72, 56, 88, 248, 704],
};

describe('EfficientNet scaling (smp efficientnet-* and timm-efficientnet-*)', () => {
  for (const [name, v] of Object.entries(LUKEMELAS_EFFICIENTNETS)) {
    it(`${name}: smp's out_indexes pick its feature widths; the last is the last block`, () => {
      const blocks = efficientNetStages(v).flat();
      expect([blocks[0].cin, ...v.outIndexes.map((i) => blocks[i].cout)]).to.deep.equal(SMP_OUT_CHANNELS[name.slice(-2)]);
      expect(v.outIndexes[3]).to.equal(blocks.length - 1);
    });
  }

  for (const [name, v] of Object.entries(TIMM_EFFICIENTNETS)) {
    it(`${name}: the widths after stages 1, 2, 4 and 6 are smp's`, () => {
      const stages = efficientNetStages(v);
      expect([stages[0][0].cin, ...[1, 2, 4, 6].map((s) => stages[s].at(-1)!.cout)]).to.deep.equal(SMP_OUT_CHANNELS[name.slice(-2)]);
    });
  }

  it("b0 has 16 blocks, b7 55 (ceil of the repeats times the depth multiplier, 3.1 x 1 = 4)", () => {
    expect(efficientNetStages(LUKEMELAS_EFFICIENTNETS['efficientnet-b0']).flat()).to.have.length(16);
    expect(efficientNetStages(LUKEMELAS_EFFICIENTNETS['efficientnet-b7']).map((s) => s.length)).to.deep.equal([4, 7, 7, 10, 10, 13, 4]);
  });

  it("lukemelas' static padding: b0's stride-2 convs (0, 1) for k3, (1, 2) for k5; stride 1 symmetric; an odd nominal size symmetric", () => {
    expect(staticSamePadding(224, 3, 2)).to.deep.equal([0, 1, 0, 1]);
    expect(staticSamePadding(56, 5, 2)).to.deep.equal([1, 2, 1, 2]);
    expect(staticSamePadding(14, 5, 1)).to.deep.equal([2, 2, 2, 2]);
    expect(staticSamePadding(65, 5, 2)).to.deep.equal([2, 2, 2, 2]);
  });
});
