// smp's MobileOne encoders as graphs, without a device: mobileone_s0's convs against the fixture's
// modules.txt (smp's geometry after its output-stride surgery) and its state against the
// manifest; the variants without a fixture (s1..s3) against smp's out_channels and the surgery's
// rates at both output strides.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import { SMP_ENCODERS, smpEncoder } from '../../src/model/backbones/smp-encoders.js';
import { conv } from '../../src/model/networks/layers.js';
import { buildTrainingGraphs, gradName, trainingBatchNorms } from '../../src/train/training-graph.js';
import { readSmpManifest, smpFixture } from './smp-fixture.js';

const FOLDER = 'deeplabv3plus-mobileone_s0';

/** The encoder's graph on a 64x64 RGB image, and its features' shapes. */
function encoderGraph(name: string, outputStride: number, depth = 5): { graph: Graph; features: number[][] } {
  const b = new GraphBuilder();
  // MobileOne hands on every feature (no null).
  const f = SMP_ENCODERS[name].build(b, b.input('image', [1, 64, 64, 3]), { outputStride, depth }).map((v) => v!);
  f.forEach((v, i) => b.output(`f${i}`, v));
  return { graph: b.build(), features: f.map((v) => [...v.shape]) };
}

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
    const { graph } = encoderGraph('mobileone_s0', 16);
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
    const { graph } = encoderGraph('mobileone_s0', 16);
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
  ];
  for (const [name, channels] of OUT_CHANNELS) {
    it(`${name}: smp's out_channels at OS 16 and 8, the stages past the output stride dilated`, () => {
      for (const [os, sides, rates] of [
        [16, [32, 16, 8, 4, 4], [1, 2]],
        [8, [32, 16, 8, 8, 8], [2, 4]],
      ] as const) {
        const { graph, features } = encoderGraph(name, os);
        expect(features, `OS ${os}`).to.deep.equal(channels.map((c, i) => [1, sides[i], sides[i], c]));
        const dilation = (conv: string) => {
          const n = graph.nodes.find((m) => m.name === conv);
          return n?.op.type === 'conv2d' ? n.op.attrs.dilationH : undefined;
        };
        expect(dilation('encoder.stage3.0.rbr_conv.0.conv'), `OS ${os} stage3`).to.equal(rates[0]);
        expect(dilation('encoder.stage4.1.rbr_conv.0.conv'), `OS ${os} stage4`).to.equal(rates[1]);
      }
      expect(encoderGraph(name, 16, 3).features.map((s) => s[3])).to.deep.equal(channels.slice(0, 3));
    });
  }

  it('mobileone_s1..s3 have one conv branch per block, s0 four', () => {
    const branches = (name: string) => encoderGraph(name, 16).graph.nodes.filter((n) => n.name.startsWith('encoder.stage2.3.rbr_conv.') && n.op.type === 'conv2d').length;
    expect(['mobileone_s0', 'mobileone_s1', 'mobileone_s2', 'mobileone_s3'].map(branches)).to.deep.equal([4, 1, 1, 1]);
  });

  it("mobileone_s0 trains as built: every branch's conv and batch norm (skip branches too) gets a gradient", () => {
    const b = new GraphBuilder();
    const f = SMP_ENCODERS.mobileone_s0.build(b, b.input('image', [2, 64, 64, 3]), { outputStride: 16, depth: 5 }).map((v) => v!);
    b.output('logits', conv(b, f[4], { name: 'classifier', kernel: 1, cout: 3, bias: true }));
    const network = trainingBatchNorms(b.build());
    const { step, trainable } = buildTrainingGraphs(network, { ignoreIndex: 255 }, () => ({}));
    const accumulators = new Set(step.state.filter((v) => v.role === 'gradient').map((v) => v.name));
    const encoder = trainable.filter((p) => p.name.startsWith('encoder.'));
    expect(encoder.some((p) => p.name === 'encoder.stage2.2.rbr_skip.weight')).to.equal(true);
    expect(encoder.filter((p) => !accumulators.has(gradName(p.name))).map((p) => p.name)).to.deep.equal([]);
    expect(network.nodes.filter((n) => n.op.type === 'batchnorm').map((n) => n.name)).to.deep.equal([]);
  });

  it('mobileone_s4 is refused by name with the reason', () => {
    expect(() => smpEncoder('mobileone_s4', 'test')).to.throw(/squeeze-and-excite.*sigmoid/);
  });
});
