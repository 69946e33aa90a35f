// smp's MobileOne encoders as graphs, without a device: mobileone_s0's convs against the fixture's
// modules.txt (smp's geometry after its output-stride surgery) and its state against the
// manifest; the variants without a fixture (s1..s4) against smp's out_channels, the surgery's
// rates at both output strides, the state dict smp's modules hold (derived here from
// mobileone.py's MobileOne / MobileOneBlock / SEBlock) and timm's published parameter counts of the
// same networks.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { SMP_ENCODERS, smpEncoder } from '../../src/model/backbones/smp-encoders.js';
import { encoderTraining, expectEncoderAsCpu, mobileOneGain } from './smp-encoder-run.js';
import { encoderGraph, readSmpManifest, smpFixture } from './smp-fixture.js';

const FOLDER = 'deeplabv3plus-mobileone_s0';

/** The encoder's graph on a 64x64 RGB image, and its features' shapes. */
const mobileOneGraph = (name: string, outputStride: number, depth = 5) => encoderGraph(name, { outputStride, depth });

interface TorchConv {
  in_ch: number;
  out_ch: number;
  k: [number, number];
  s: [number, number];
  p: [number, number];
  d: [number, number];
  groups: number;
}

/** modules.txt's encoder convs by name. */
function fixtureConvs(): Map<string, TorchConv> {
  const out = new Map<string, TorchConv>();
  for (const line of readFileSync(smpFixture(FOLDER, 'modules.txt'), 'utf8').split('\n')) {
    const m = /^(encoder\.\S+)\s+Conv2d\s+(\{.*\})$/.exec(line);
    if (m) out.set(m[1], JSON.parse(m[2]) as TorchConv);
  }
  return out;
}

describe('smp MobileOne encoders (graph)', () => {
  it("mobileone_s0 at OS 16 has every encoder conv of smp's modules.txt with its kernel, stride, padding, dilation and groups", () => {
    const expected = fixtureConvs();
    const { graph } = mobileOneGraph('mobileone_s0', 16);
    const convs = graph.nodes.filter((n) => n.op.type === 'conv2d');
    expect(convs.map((n) => n.name).sort()).to.deep.equal([...expected.keys()].sort());
    for (const n of convs) {
      if (n.op.type !== 'conv2d') continue;
      const t = expected.get(n.name)!;
      const a = n.op.attrs;
      const got = [n.op.weight.shape, a.strideH, a.strideW, a.padTop, a.padLeft, a.dilationH, a.dilationW, a.groups];
      const want = [[t.k[0], t.k[1], t.in_ch / t.groups, t.out_ch], t.s[0], t.s[1], t.p[0], t.p[1], t.d[0], t.d[1], t.groups];
      expect(got, n.name).to.deep.equal(want);
    }
  });

  it("mobileone_s0 declares exactly the manifest's encoder tensors (counters aside), at their sizes", () => {
    const { graph } = mobileOneGraph('mobileone_s0', 16);
    const numel = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
    const ours = new Map(graph.state.map((v) => [v.name, numel(v.shape)]));
    const rows = readSmpManifest(FOLDER).rows.filter(([name]) => name.startsWith('encoder.') && !name.endsWith('.num_batches_tracked'));
    expect([...ours.keys()].sort()).to.deep.equal(rows.map(([name]) => name).sort());
    for (const [name, shape] of rows) expect(ours.get(name), name).to.equal(numel(shape));
  });

  // smp's mobileone_encoders out_channels, the input's 3 aside.
  const OUT_CHANNELS: [string, number[]][] = [
    ['mobileone_s0', [48, 48, 128, 256, 1024]],
    ['mobileone_s1', [64, 96, 192, 512, 1280]],
    ['mobileone_s2', [64, 96, 256, 640, 2048]],
    ['mobileone_s3', [64, 128, 320, 768, 2048]],
    ['mobileone_s4', [64, 192, 448, 896, 2048]],
  ];
  for (const [name, channels] of OUT_CHANNELS) {
    it(`${name}: smp's out_channels at OS 16 and 8, the stages past the output stride dilated`, () => {
      for (const [os, sides, rates] of [
        [16, [32, 16, 8, 4, 4], [1, 2]],
        [8, [32, 16, 8, 8, 8], [2, 4]],
      ] as const) {
        const { graph, features } = mobileOneGraph(name, os);
        expect(features, `OS ${os}`).to.deep.equal(channels.map((c, i) => [1, sides[i], sides[i], c]));
        const dilation = (conv: string) => {
          const n = graph.nodes.find((m) => m.name === conv);
          return n?.op.type === 'conv2d' ? n.op.attrs.dilationH : undefined;
        };
        expect(dilation('encoder.stage3.0.rbr_conv.0.conv'), `OS ${os} stage3`).to.equal(rates[0]);
        expect(dilation('encoder.stage4.1.rbr_conv.0.conv'), `OS ${os} stage4`).to.equal(rates[1]);
      }
      expect(mobileOneGraph(name, 16, 3).features.map((s) => s[3])).to.deep.equal(channels.slice(0, 3));
    });
  }

  it('mobileone_s1..s4 have one conv branch per block, s0 four', () => {
    const branches = (name: string) => mobileOneGraph(name, 16).graph.nodes.filter((n) => n.name.startsWith('encoder.stage2.3.rbr_conv.') && n.op.type === 'conv2d').length;
    expect(['mobileone_s0', 'mobileone_s1', 'mobileone_s2', 'mobileone_s3', 'mobileone_s4'].map(branches)).to.deep.equal([4, 1, 1, 1, 1]);
  });

  // smp's mobileone_encoders params: width_multipliers, num_conv_branches, use_se.
  const PARAMS: [string, number[], number, boolean][] = [
    ['mobileone_s0', [0.75, 1, 1, 2], 4, false],
    ['mobileone_s1', [1.5, 1.5, 2, 2.5], 1, false],
    ['mobileone_s2', [1.5, 2, 2.5, 4], 1, false],
    ['mobileone_s3', [2, 2.5, 3, 4], 1, false],
    ['mobileone_s4', [3, 3.5, 3.5, 4], 1, true],
  ];

  /**
   * smp's encoder state (PyTorch shapes, num_batches_tracked aside) from mobileone.py: stage0 one
   * block; _make_stage's pairs (depthwise 3x3 then pointwise 1x1), `use_se` on pair ix >=
   * num_blocks - num_se_blocks (num_blocks // 2 in stage3, all of stage4) for both blocks of the
   * pair; a block's rbr_skip (BN) when out == in and stride 1, rbr_conv.0..n-1 (conv + BN),
   * rbr_scale (1x1 conv + BN) when k > 1, se.reduce / se.expand (1x1 with bias, int(out * 0.0625)).
   */
  function smpMobileOneState(widths: number[], branches: number, useSe: boolean): Map<string, number[]> {
    const out = new Map<string, number[]>();
    const bn = (p: string, c: number) => ['weight', 'bias', 'running_mean', 'running_var'].forEach((t) => out.set(`${p}.${t}`, [c]));
    const block = (p: string, cin: number, cout: number, k: number, stride: number, groups: number, n: number, se: boolean) => {
      if (se) {
        const rd = Math.trunc(cout * 0.0625);
        out.set(`${p}.se.reduce.weight`, [rd, cout, 1, 1]).set(`${p}.se.reduce.bias`, [rd]);
        out.set(`${p}.se.expand.weight`, [cout, rd, 1, 1]).set(`${p}.se.expand.bias`, [cout]);
      }
      if (cout === cin && stride === 1) bn(`${p}.rbr_skip`, cin);
      for (let i = 0; i < n; i++) {
        out.set(`${p}.rbr_conv.${i}.conv.weight`, [cout, cin / groups, k, k]);
        bn(`${p}.rbr_conv.${i}.bn`, cout);
      }
      if (k > 1) {
        out.set(`${p}.rbr_scale.conv.weight`, [cout, cin / groups, 1, 1]);
        bn(`${p}.rbr_scale.bn`, cout);
      }
    };
    let inPlanes = Math.min(64, Math.trunc(64 * widths[0]));
    block('encoder.stage0', 3, inPlanes, 3, 2, 1, 1, false);
    [2, 8, 10, 1].forEach((numBlocks, s) => {
      const planes = Math.trunc([64, 128, 256, 512][s] * widths[s]);
      const numSe = !useSe ? 0 : s === 2 ? Math.trunc(numBlocks / 2) : s === 3 ? numBlocks : 0;
      for (let ix = 0; ix < numBlocks; ix++) {
        const se = ix >= numBlocks - numSe;
        block(`encoder.stage${s + 1}.${2 * ix}`, inPlanes, inPlanes, 3, ix === 0 ? 2 : 1, inPlanes, branches, se);
        block(`encoder.stage${s + 1}.${2 * ix + 1}`, inPlanes, planes, 1, 1, 1, branches, se);
        inPlanes = planes;
      }
    });
    return out;
  }

  /** timm's published parameter counts (M; results/results-imagenet.csv, mobileone_s*.apple_in1k: the train-time branches, classifier included). */
  const TIMM_PARAM_COUNT_M: Record<string, string> = { mobileone_s0: '5.29', mobileone_s1: '4.83', mobileone_s2: '7.88', mobileone_s3: '10.17', mobileone_s4: '14.95' };

  for (const [name, widths, branches, useSe] of PARAMS) {
    it(`${name}: the state dict smp's modules hold (names, shapes); timm's parameter count`, () => {
      const expected = smpMobileOneState(widths, branches, useSe);
      const { graph } = mobileOneGraph(name, 16);
      const declared = new Map(graph.state.map((v) => [v.name, [...v.shape]]));
      expect([...declared.keys()].sort()).to.deep.equal([...expected.keys()].sort());
      const ours = (s: number[]) => (s.length === 4 ? [s[2], s[3], s[1], s[0]] : s);
      for (const [k, shape] of expected) expect(declared.get(k), k).to.deep.equal(ours(shape));
      const numel = (s: number[]) => s.reduce((x, y) => x * y, 1);
      const params = [...expected].filter(([k]) => !/running_(mean|var)$/.test(k)).reduce((n, [, s]) => n + numel(s), 0);
      const classes = Math.trunc(512 * widths[3]);
      expect(((params + classes * 1000 + 1000) / 1e6).toFixed(2)).to.equal(TIMM_PARAM_COUNT_M[name]);
    });
  }

  it("mobileone_s4's squeeze-excite: both blocks of stage3's pairs 5..9 (blocks 10..19) and of stage4, before the ReLU; 896 -> 56, 2048 -> 128", () => {
    const { graph } = mobileOneGraph('mobileone_s4', 16);
    const gated = [...new Set(graph.state.filter((v) => v.name.includes('.se.')).map((v) => v.name.replace(/\.se\..*$/, '')))];
    const want = [...Array.from({ length: 10 }, (_, i) => `encoder.stage3.${10 + i}`), 'encoder.stage4.0', 'encoder.stage4.1'];
    expect(gated.sort()).to.deep.equal(want.sort());
    const shape = (n: string) => graph.state.find((v) => v.name === n)?.shape;
    expect(shape('encoder.stage3.10.se.reduce.weight')).to.deep.equal([1, 1, 896, 56]);
    expect(shape('encoder.stage4.1.se.expand.weight')).to.deep.equal([1, 1, 128, 2048]);
    // The block is ReLU(sum of branches * gate), the gate a sigmoid of the expand conv.
    const types = (prefix: string) => graph.nodes.filter((m) => m.name === prefix || m.name.startsWith(`${prefix}:`) || m.name.startsWith(`${prefix}.se`)).map((m) => `${m.name.slice(prefix.length)} ${m.op.type}`);
    expect(types('encoder.stage3.10')).to.deep.equal([
      '.se.pool global_avg_pool',
      '.se.reduce conv2d',
      '.se.reduce:relu activation',
      '.se.expand conv2d',
      '.se.expand:sigmoid activation',
      ' mul',
      ':relu activation',
    ]);
    expect(types('encoder.stage3.9').filter((t) => t.includes('.se'))).to.deep.equal([]);
  });

  it("mobileone_s0 trains as built: every branch's conv and batch norm (skip branches too) gets a gradient", () => {
    const { network, encoder, withoutGradient } = encoderTraining('mobileone_s0');
    expect(encoder).to.include('encoder.stage2.2.rbr_skip.weight');
    expect(withoutGradient).to.deep.equal([]);
    expect(network.nodes.filter((n) => n.op.type === 'batchnorm').map((n) => n.name)).to.deep.equal([]);
  });

  it("mobileone_s4 runs on the device as the CPU interpreter computes its graph (random weights with the fixtures' MobileOne gain, OS 16 and 8)", async function () {
    this.timeout(180_000);
    await expectEncoderAsCpu('mobileone_s4', 16, mobileOneGain);
    await expectEncoderAsCpu('mobileone_s4', 8, mobileOneGain);
  });

  it('mobileone_s4 is built (no longer refused)', () => {
    expect(smpEncoder('mobileone_s4', 'test')).to.equal(SMP_ENCODERS.mobileone_s4);
  });
});
